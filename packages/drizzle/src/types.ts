import type { PgTransaction } from "@q/pg";
import type { PostgresTransaction } from "@q/postgres";
import type { SQL } from "drizzle-orm";

/**
 * What the driver calls on a Drizzle database or transaction: `execute(sql)`.
 * Typed by shape, not by Drizzle's classes, so that drizzle-orm 0.45 and 1.0
 * (which renames `PgDatabase` / `PgTransaction`) both fit.
 */
export interface DrizzleExecutor {
  execute(query: SQL): PromiseLike<unknown>;
}

/**
 * What a queue over this driver takes as `{ tx }`: the `tx` of
 * `db.transaction(async (tx) => …)`, or the underlying client's own handle
 * (a node-postgres `PoolClient` inside `BEGIN`, a postgres.js `sql.begin` tx).
 */
export type DrizzleTransaction = DrizzleExecutor | PgTransaction | PostgresTransaction;

/**
 * What the driver calls on a Drizzle database: `execute`, `transaction`, and
 * `$client`, the node-postgres `Pool` or postgres.js `sql` it was made from.
 */
export interface DrizzleDatabase extends DrizzleExecutor {
  transaction<T>(fn: (tx: DrizzleExecutor) => Promise<T>): Promise<T>;
  readonly $client?: unknown;
}
