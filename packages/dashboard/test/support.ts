import { createQueue, defineTask, PermanentError, type Queue } from "@q/core";
import { createPgDriver } from "@q/pg";
import { freshSchemaName } from "@q/test-postgres";
import pg from "pg";
import { inject } from "vitest";

export const tasks = {
  sendReceipt: defineTask({ handler: async (_payload: { orderId: string }) => ({ sent: true }) }),
  chargeCard: defineTask({
    maxAttempts: 2,
    backoff: () => 10,
    handler: async (payload: { orderId: string }) => {
      throw new Error(`card declined for order ${payload.orderId}`);
    },
  }),
  backfill: defineTask({
    handler: async (_payload: Record<string, never>, ctx) => {
      await ctx.checkpoint({ cursor: "row-300" });
      ctx.progress({ done: 300, total: 400 });
    },
  }),
  neverWorks: defineTask({
    handler: async () => {
      throw new PermanentError("no such account");
    },
  }),
};

export type Tasks = typeof tasks;

/** A queue over a schema of its own, on the tests' PostgreSQL. */
export interface Fixture {
  pool: pg.Pool;
  schema: string;
  queue: Queue<Tasks, pg.PoolClient>;
  /** Runs a worker until `n` jobs failed for good. */
  failJobs(n: number): Promise<void>;
  close(): Promise<void>;
}

export async function fixture(): Promise<Fixture> {
  const pool = new pg.Pool({ connectionString: inject("databaseUrl"), max: 6 });
  const driver = createPgDriver(pool);
  const schema = freshSchemaName("dash");
  const queue = createQueue({ driver, schema, tasks, logger: silent });
  await queue.migrate();
  return {
    pool,
    schema,
    queue,
    async failJobs(n) {
      let failed = 0;
      const done = new Promise<void>((resolve) => {
        const off = queue.on("failed", () => {
          if (++failed === n) {
            off();
            resolve();
          }
        });
      });
      const worker = await queue.work({ pollInterval: 20, concurrency: 4 });
      await done;
      await worker.stop();
    },
    async close() {
      await queue.close();
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await driver.close?.();
      await pool.end();
    },
  };
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** A request to the dashboard at `path`, from its own origin. */
export function get(path: string, init: RequestInit = {}): Request {
  return new Request(`http://dash.test${path}`, init);
}

/** The CSRF cookie and token a page handed out. */
export async function tokenFrom(response: Response): Promise<{ cookie: string; token: string }> {
  const setCookie = response.headers.get("set-cookie") ?? "";
  const cookie = setCookie.split(";")[0]!;
  const body = await response.text();
  const token = /name="_csrf" value="([^"]+)"/.exec(body)?.[1];
  if (!token) throw new Error("the page has no CSRF token");
  return { cookie, token };
}

/** A form POST to `path`. */
export function post(
  path: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Request {
  return new Request(`http://dash.test${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      origin: "http://dash.test",
      ...headers,
    },
    body: new URLSearchParams(form).toString(),
  });
}
