import {
  createQueue,
  type Driver,
  defineTask,
  type Queue,
  silentLogger,
  type Worker,
} from "@q/core";
import { createPgDriver } from "@q/pg";
import type pg from "pg";
import type { Adapter, Variant } from "../adapter.js";
import { type DriverName, driverNames } from "../config.js";
import { openPool } from "../database.js";
import { measureDrain, measureLatency, type WorkerControl } from "../measure.js";
import { profilePool, type StatementStats } from "../profile.js";

/** How each driver is printed as a setting of q. */
export const driverSettings: Record<DriverName, string> = {
  pg: "default",
  postgres: "@q/postgres",
  "drizzle-pg": "@q/drizzle over pg",
  "drizzle-postgres": "@q/drizzle over postgres",
  "kysely-pg": "@q/kysely over pg",
  "kysely-postgres": "@q/kysely over postgres",
};

/** What a driver needs closed after q's own `close()`, in order. */
interface Opened {
  driver: Driver<unknown> & { close?(): Promise<void> };
  close(): Promise<void>;
}

/**
 * Opens the client of `kind` on `url` (a pool of 10 connections, both
 * clients' default) and q's driver over it; `onPool` sees a node-postgres
 * pool (for profiling). Every library but node-postgres and `@q/pg` is loaded
 * here, only when its driver runs, so that a worker process over one driver
 * holds none of the others in memory.
 */
async function openDriver(
  kind: DriverName,
  url: string,
  onPool: (pool: pg.Pool) => void,
): Promise<Opened> {
  const pgPool = () => {
    const pool = openPool(url, 10);
    onPool(pool);
    return pool;
  };
  const sqlClient = async () => {
    const { default: postgres } = await import("postgres");
    return postgres(url, { max: 10, onnotice: () => {} });
  };
  switch (kind) {
    case "pg": {
      const pool = pgPool();
      return { driver: createPgDriver(pool), close: () => pool.end() };
    }
    case "postgres": {
      const { createPostgresDriver } = await import("@q/postgres");
      const sql = await sqlClient();
      return { driver: createPostgresDriver(sql), close: () => sql.end() };
    }
    case "drizzle-pg": {
      const { createDrizzleDriver } = await import("@q/drizzle");
      const { drizzle } = await import("drizzle-orm/node-postgres");
      const pool = pgPool();
      return { driver: createDrizzleDriver(drizzle({ client: pool })), close: () => pool.end() };
    }
    case "drizzle-postgres": {
      const { createDrizzleDriver } = await import("@q/drizzle");
      const { drizzle } = await import("drizzle-orm/postgres-js");
      const sql = await sqlClient();
      return { driver: createDrizzleDriver(drizzle({ client: sql })), close: () => sql.end() };
    }
    case "kysely-pg": {
      const { createKyselyDriver } = await import("@q/kysely");
      const { Kysely, PostgresDialect } = await import("kysely");
      const pool = pgPool();
      const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
      // Kysely's destroy() ends the pool.
      return {
        driver: createKyselyDriver(db, { listener: createPgDriver(pool) }),
        close: () => db.destroy(),
      };
    }
    case "kysely-postgres": {
      const { createKyselyDriver } = await import("@q/kysely");
      const { createPostgresDriver } = await import("@q/postgres");
      const { Kysely } = await import("kysely");
      const { PostgresJSDialect } = await import("kysely-postgres-js");
      const sql = await sqlClient();
      const db = new Kysely<unknown>({ dialect: new PostgresJSDialect({ postgres: sql }) });
      // Kysely's destroy() ends the sql.
      return {
        driver: createKyselyDriver(db, { listener: createPostgresDriver(sql) }),
        close: () => db.destroy(),
      };
    }
  }
}

export interface QSettings {
  /** The driver q runs over (default `pg`). */
  driver?: DriverName;
  setting: string;
  /** A fixed prefetch; undefined leaves q's default. */
  prefetch: number | undefined;
  concurrency: number;
  /** Time every statement q sends (BENCH_PROFILE=1). */
  profile: boolean;
  /** The queues the worker serves; undefined leaves q's default (the tasks' queues). */
  queues?: string[];
}

function makeTasks(onJob: { current: (i: number) => void }) {
  return {
    noop: defineTask({
      handler: async ({ i }: { i: number }) => {
        onJob.current(i);
      },
    }),
  };
}

type Tasks = ReturnType<typeof makeTasks>;

/** q over node-postgres, in its own schema `q` of the fresh database. */
export class QAdapter implements Adapter {
  readonly library = "q";
  readonly setting: string;
  readonly #settings: QSettings;
  readonly #onJob = { current: (_i: number) => {} };
  #opened: Opened | undefined;
  /** The benchmark's own connection, for counting and history, apart from q's pool. */
  #probe: pg.Pool | undefined;
  #queue: Queue<Tasks, unknown> | undefined;
  #worker: Worker | undefined;
  /** Statement times since setup, when profiling. */
  statements: (() => StatementStats[]) | undefined;
  /**
   * What a drain waits for, when not every ready or claimed job counts (a
   * backlog larger than the drain, jobs scheduled for later).
   */
  pendingOverride: (() => Promise<number>) | undefined;

  constructor(settings: QSettings) {
    this.#settings = { ...settings };
    this.setting = settings.setting;
  }

  /** Which queues the next worker serves (undefined: q's default). */
  serve(queues: string[] | undefined): void {
    if (queues === undefined) delete this.#settings.queues;
    else this.#settings.queues = queues;
  }

  get queue(): Queue<Tasks, unknown> {
    if (this.#queue === undefined) throw new Error("setup() first");
    return this.#queue;
  }

  async setup(databaseUrl: string): Promise<void> {
    this.#probe = openPool(databaseUrl, 1);
    this.#opened = await openDriver(this.#settings.driver ?? "pg", databaseUrl, (pool) => {
      // Only statements sent through the pool itself are seen (Kysely checks clients out).
      if (this.#settings.profile) this.statements = profilePool(pool);
    });
    this.#queue = createQueue({
      driver: this.#opened.driver,
      tasks: makeTasks(this.#onJob),
      logger: silentLogger,
    });
    await this.#queue.migrate();
  }

  async enqueueOne(i: number): Promise<void> {
    await this.queue.enqueue("noop", { i });
  }

  async enqueueBulk(from: number, count: number): Promise<void> {
    const jobs = Array.from({ length: count }, (_, k) => ({
      task: "noop" as const,
      payload: { i: from + k },
    }));
    await this.queue.enqueueMany(jobs);
  }

  #control(): WorkerControl {
    return {
      start: async (onJob) => {
        this.#onJob.current = onJob;
        const { concurrency, prefetch, queues } = this.#settings;
        this.#worker = await this.queue.work({
          concurrency,
          ...(prefetch === undefined ? {} : { prefetch }),
          ...(queues === undefined ? {} : { queues }),
        });
      },
      stop: async () => {
        await this.#worker?.stop();
        this.#worker = undefined;
      },
      pending: async () => {
        if (this.pendingOverride !== undefined) return this.pendingOverride();
        // One count per state, each matching its partial index. With
        // `state IN ('ready', 'claimed')` PostgreSQL scanned the table: about
        // 0.5 s a poll beside 10 000 000 finished jobs, counted as drain time.
        const { rows } = await this.#probe!.query<{ n: string }>(
          `SELECT (SELECT count(*) FROM q.jobs WHERE state = 'ready')
                + (SELECT count(*) FROM q.jobs WHERE state = 'claimed') AS n`,
        );
        return Number(rows[0]?.n);
      },
    };
  }

  drain(n: number, budgetMs: number) {
    return measureDrain(this.#control(), n, budgetMs);
  }

  latency(options: Parameters<Adapter["latency"]>[0]) {
    return measureLatency(this.#control(), (i) => this.enqueueOne(i), options);
  }

  /** The benchmark's own connection (not q's pool), for set-up and counting. */
  get probe(): pg.Pool {
    if (this.#probe === undefined) throw new Error("setup() first");
    return this.#probe;
  }

  async insertHistory(rows: number): Promise<string> {
    await this.#probe!.query(
      `INSERT INTO q.jobs (queue, task, payload, state, attempt, created_at, finished_at)
       SELECT 'default', 'noop', jsonb_build_object('i', -g), 'finished', 1,
              now() - interval '1 hour', now() - interval '1 hour' + g * interval '1 millisecond'
       FROM generate_series(1, $1::integer) AS g`,
      [rows],
    );
    return `${rows} finished jobs in q.jobs`;
  }

  async teardown(): Promise<void> {
    await this.#worker?.stop();
    await this.#queue?.close();
    await this.#opened?.driver.close?.();
    await this.#opened?.close();
    await this.#probe?.end();
  }
}

/** Scenarios the other drivers run in: the worker-side ones. */
const driverScenarios = ["drain", "latency", "history"] as const;

export function qVariants(options: {
  concurrency: number;
  profile: boolean;
  /** The drivers besides `@q/pg` to run (BENCH_DRIVERS); null: all. */
  drivers: ReadonlySet<string> | null;
}): Variant[] {
  const { concurrency, profile, drivers } = options;
  const make = (setting: string, prefetch: number | undefined, workerOnly: boolean): Variant => ({
    library: "q",
    setting,
    store: "postgres",
    workerOnly,
    create: () => new QAdapter({ setting, prefetch, concurrency, profile }),
  });
  const variants = [make("default", undefined, false), make("prefetch 10", 10, true)];
  for (const driver of driverNames) {
    if (driver === "pg" || (drivers !== null && !drivers.has(driver))) continue;
    const setting = driverSettings[driver];
    variants.push({
      library: "q",
      setting,
      store: "postgres",
      workerOnly: true,
      scenarios: driverScenarios,
      against: "default",
      create: () => new QAdapter({ setting, prefetch: undefined, concurrency, profile, driver }),
    });
  }
  return variants;
}
