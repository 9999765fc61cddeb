import { createQueue, defineTask, type Job, PermanentError, type Queue } from "@q/core";
import { createPgDriver } from "@q/pg";
import { freshSchemaName } from "@q/test-postgres";
import pg from "pg";
import { inject } from "vitest";
import type { DashboardQueue } from "../src/index.js";

export const tasks = {
  sendReceipt: defineTask({ handler: async (_payload: { orderId: string }) => ({ sent: true }) }),
  chargeCard: defineTask({
    maxAttempts: 2,
    backoff: () => 10,
    handler: async (payload: { orderId: string }) => {
      throw new Error(`card declined for order ${payload.orderId}`);
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
  /** The queue as the dashboard takes it. */
  dashboardQueue: DashboardQueue;
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
    dashboardQueue: inspectable(queue, pool, schema),
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

/**
 * The queue, with the inspection calls read from the table where the core at
 * hand does not have them yet.
 */
function inspectable(
  queue: Queue<Tasks, pg.PoolClient>,
  pool: pg.Pool,
  schema: string,
): DashboardQueue {
  const q = queue as unknown as Partial<DashboardQueue>;
  if (typeof q.listJobs === "function") return queue as unknown as DashboardQueue;
  const paused = new Set<string>();
  const jobs = async (ids: string[]): Promise<Job[]> =>
    (await Promise.all(ids.map((id) => queue.getJob(id)))).filter((j): j is Job => j !== null);
  return {
    getJob: (id) => queue.getJob(id),
    retry: (id) => queue.retry(id),
    cancel: (id) => queue.cancel(id),
    async listJobs(filter = {}, page = {}) {
      const where: string[] = [];
      const params: unknown[] = [];
      const add = (sql: string, value: unknown) => {
        params.push(value);
        where.push(sql.replace("$", `$${params.length}`));
      };
      const one = (v: unknown) => (Array.isArray(v) ? v : [v]);
      if (filter.queue !== undefined) add("queue = ANY($)", one(filter.queue));
      if (filter.task !== undefined) add("task = ANY($)", one(filter.task));
      if (filter.state !== undefined) add("state::text = ANY($)", one(filter.state));
      if (filter.key !== undefined) add("key = $", filter.key);
      if (filter.createdFrom) add("created_at >= $", filter.createdFrom);
      if (filter.createdTo) add("created_at < $", filter.createdTo);
      if (filter.finishedFrom) add("finished_at >= $", filter.finishedFrom);
      if (filter.finishedTo) add("finished_at < $", filter.finishedTo);
      const oldest = page.order === "oldest";
      if (page.after) add(oldest ? "id > $" : "id < $", page.after);
      const limit = page.limit ?? 50;
      const { rows } = await pool.query<{ id: string }>(
        `SELECT id::text FROM ${schema}.jobs ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY id ${oldest ? "ASC" : "DESC"} LIMIT ${limit + 1}`,
        params,
      );
      const ids = rows.map((r) => r.id);
      const more = ids.length > limit;
      return { jobs: await jobs(ids.slice(0, limit)), next: more ? ids[limit - 1]! : null };
    },
    async counts() {
      const { rows } = await pool.query<{ queue: string; state: Job["state"]; n: number }>(
        `SELECT queue, state::text AS state, count(*)::int AS n FROM ${schema}.jobs GROUP BY 1, 2`,
      );
      return rows.map((r) => ({ queue: r.queue, state: r.state, count: r.n, exact: true }));
    },
    async stats() {
      const { rows } = await pool.query<{
        queue: string;
        ready: number;
        scheduled: number;
        claimed: number;
        lag: number;
      }>(
        `SELECT queue,
           count(*) FILTER (WHERE state = 'ready' AND run_at <= now())::int AS ready,
           count(*) FILTER (WHERE state = 'ready' AND run_at > now())::int AS scheduled,
           count(*) FILTER (WHERE state = 'claimed')::int AS claimed,
           coalesce(extract(epoch FROM now() - min(run_at) FILTER (WHERE state = 'ready' AND run_at <= now())) * 1000, 0)::float8 AS lag
         FROM ${schema}.jobs GROUP BY queue`,
      );
      const names = new Set([...rows.map((r) => r.queue), ...paused]);
      return [...names].map((name) => {
        const r = rows.find((x) => x.queue === name);
        return {
          queue: name,
          ready: r?.ready ?? 0,
          scheduled: r?.scheduled ?? 0,
          claimed: r?.claimed ?? 0,
          lagMs: r?.lag ?? 0,
          throughput: 0,
          paused: paused.has(name),
        };
      });
    },
    async pause(name) {
      paused.add(name);
    },
    async resume(name) {
      paused.delete(name);
    },
  };
}

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
