// Shared bits of the fault tests: a collector of unhandled rejections, job
// counts by state, bulk enqueueing, and roles of their own.
import { randomBytes } from "node:crypto";
import type { Queue, TaskMap } from "@q/core";
import pg from "pg";

/** Collects unhandled promise rejections from now until `stop()`. */
export function collectUnhandled(): { errors: unknown[]; stop(): void } {
  const errors: unknown[] = [];
  const onRejection = (reason: unknown) => void errors.push(reason);
  process.on("unhandledRejection", onRejection);
  return { errors, stop: () => void process.off("unhandledRejection", onRejection) };
}

/** Jobs of `schema` by state, such as `{ finished: 5000 }`. */
export async function countByState(
  db: pg.Pool | pg.Client,
  schema: string,
): Promise<Record<string, number>> {
  const { rows } = await db.query<{ state: string; n: number }>(
    `SELECT state, count(*)::int AS n FROM "${schema}".jobs GROUP BY state ORDER BY state`,
  );
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}

/** Enqueues `count` jobs of `task` (payload: their number) in batches; returns their ids. */
export async function enqueueJobs<T extends TaskMap>(
  queue: Queue<T>,
  task: keyof T & string,
  count: number,
  batch = 1000,
): Promise<string[]> {
  const ids: string[] = [];
  for (let from = 0; from < count; from += batch) {
    const specs = Array.from({ length: Math.min(batch, count - from) }, (_, i) => ({
      task,
      payload: from + i,
    }));
    // biome-ignore lint/suspicious/noExplicitAny: the payload type of a generic task map
    const results = await queue.enqueueMany(specs as any);
    ids.push(...results.map((r) => r.id));
  }
  return ids;
}

/** Per job id, how many times its handler started. */
export class RunLog {
  readonly #runs = new Map<string, number>();
  total = 0;

  record(id: string): void {
    this.#runs.set(id, (this.#runs.get(id) ?? 0) + 1);
    this.total++;
  }

  get distinct(): number {
    return this.#runs.size;
  }

  /** Ids that ran more than once, with their counts. */
  twice(): Record<string, number> {
    return Object.fromEntries([...this.#runs].filter(([, n]) => n > 1));
  }

  /** Ids among `ids` that never ran. */
  missing(ids: readonly string[]): string[] {
    return ids.filter((id) => !this.#runs.has(id));
  }
}

/** A LOGIN role with a random name and password, made by a superuser connection. */
export async function createLoginRole(
  admin: pg.Pool | pg.Client,
  url: string,
  prefix: string,
): Promise<{ name: string; url: string }> {
  const name = `${prefix}_${randomBytes(4).toString("hex")}`;
  const password = randomBytes(12).toString("hex");
  await admin.query(`CREATE ROLE "${name}" LOGIN PASSWORD '${password}'`);
  const next = new URL(url);
  next.username = name;
  next.password = password;
  return { name, url: next.toString() };
}

/** Drops a role made by {@link createLoginRole}: its connections, its grants here, the role. */
export async function dropRole(admin: pg.Pool | pg.Client, name: string): Promise<void> {
  await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", [
    name,
  ]);
  await admin.query(`DROP OWNED BY "${name}"`);
  await admin.query(`DROP ROLE IF EXISTS "${name}"`);
}

/** A pool with an `error` listener: a terminated idle connection must not kill the process. */
export function poolWithErrors(config: pg.PoolConfig): { pool: pg.Pool; errors: Error[] } {
  const pool = new pg.Pool(config);
  const errors: Error[] = [];
  pool.on("error", (error) => void errors.push(error));
  return { pool, errors };
}
