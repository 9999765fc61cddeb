// The names q's docs take as given: the reader's order id, pool, transaction,
// queue and helpers. Each doc snippet is checked as a module with these in
// scope; a snippet that declares one of them shadows it.
import type * as core from "@q/core";
import type * as qpg from "@q/pg";
import type pg from "pg";

declare global {
  type DocTasks = {
    sendReceipt: core.Task<{ orderId: string }>;
    chargeOrder: core.Task<{ orderId: string }>;
  };
  const orderId: string;
  const requestId: string;
  const id: string;
  const pool: pg.Pool;
  const tx: pg.PoolClient;
  const driver: core.Driver<qpg.PgTransaction>;
  const tasks: DocTasks;
  const queue: core.Queue<DocTasks, qpg.PgTransaction>;
  const defineTask: typeof core.defineTask;
  const createQueue: typeof core.createQueue;
  const createPgDriver: typeof qpg.createPgDriver;
  const mailer: { send(message: string, options: { signal: AbortSignal }): Promise<void> };
  function mailReceipt(orderId: string, signal?: AbortSignal): Promise<void>;
  function receiptFor(orderId: string): Promise<string>;
  function computeStats(userId: string): Promise<{ orders: number; total: number }>;
  function isDeleted(orderId: string): Promise<boolean>;
  function rateLimited(): Promise<boolean>;
  function log(...args: unknown[]): void;
}
