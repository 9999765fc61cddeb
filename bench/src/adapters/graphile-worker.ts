import {
  Logger,
  makeWorkerUtils,
  type Runner,
  run,
  runMigrations,
  type WorkerUtils,
} from "graphile-worker";
import type pg from "pg";
import type { Adapter, Variant } from "../adapter.js";
import { openPool } from "../database.js";
import { measureDrain, measureLatency, type WorkerControl } from "../measure.js";

const silent = new Logger(() => () => {});

/** graphile-worker's documented fast settings (worker.graphile.org/docs/performance). */
const fastPreset = {
  worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 },
};

/** The library runs on its own pools, made from the URL; `probe` is the benchmark's. */

export class GraphileWorkerAdapter implements Adapter {
  readonly library = "graphile-worker";
  readonly setting: string;
  readonly #fast: boolean;
  readonly #concurrency: number;
  #url = "";
  #probe: pg.Pool | undefined;
  /** The id of the first job queued for the drain being measured ("0": count them all). */
  #firstQueued = "0";
  #utils: WorkerUtils | undefined;
  #runner: Runner | undefined;

  constructor(setting: string, fast: boolean, concurrency: number) {
    this.setting = setting;
    this.#fast = fast;
    this.#concurrency = concurrency;
  }

  get #u(): WorkerUtils {
    if (this.#utils === undefined) throw new Error("setup() first");
    return this.#utils;
  }

  async setup(databaseUrl: string): Promise<void> {
    this.#url = databaseUrl;
    this.#probe = openPool(databaseUrl, 1);
    await runMigrations({ connectionString: databaseUrl, logger: silent });
    this.#utils = await makeWorkerUtils({ connectionString: databaseUrl, logger: silent });
  }

  async enqueueOne(i: number): Promise<void> {
    await this.#u.addJob("noop", { i });
  }

  async enqueueBulk(from: number, count: number): Promise<void> {
    await this.#u.addJobs(
      Array.from({ length: count }, (_, k) => ({ identifier: "noop", payload: { i: from + k } })),
    );
  }

  #control(): WorkerControl {
    return {
      start: async (onJob) => {
        this.#runner = await run({
          connectionString: this.#url,
          concurrency: this.#concurrency,
          // The documented fast setup gives the pool one connection more than the concurrency.
          ...(this.#fast ? { maxPoolSize: this.#concurrency + 1 } : {}),
          noHandleSignals: true,
          logger: silent,
          taskList: {
            noop: async (payload) => {
              onJob((payload as { i: number }).i);
            },
          },
          ...(this.#fast ? { preset: fastPreset } : {}),
        });
      },
      stop: async () => {
        await this.#runner?.stop();
        this.#runner = undefined;
      },
      pending: async () => {
        // Completed jobs are deleted; what is left is waiting or locked. Only
        // ids from the first queued job on: with no index on locked_at the
        // count would read a whole history (about 60 ms a poll beside
        // 1 000 000 failed jobs, counted as drain time).
        const { rows } = await this.#probe!.query<{ n: string }>(
          `SELECT count(*) AS n FROM graphile_worker._private_jobs
           WHERE id >= $1::bigint AND (is_available OR locked_at IS NOT NULL)`,
          [this.#firstQueued],
        );
        return Number(rows[0]?.n);
      },
    };
  }

  async drain(n: number, budgetMs: number) {
    // Before the clock starts: where the queued jobs begin (the partial index
    // of available jobs holds only them).
    const { rows } = await this.#probe!.query<{ id: string | null }>(
      "SELECT min(id)::text AS id FROM graphile_worker._private_jobs WHERE is_available",
    );
    this.#firstQueued = rows[0]?.id ?? "0";
    return measureDrain(this.#control(), n, budgetMs);
  }

  latency(options: Parameters<Adapter["latency"]>[0]) {
    return measureLatency(this.#control(), (i) => this.enqueueOne(i), options);
  }

  /**
   * graphile-worker deletes a job when it completes, so the only history it
   * keeps is permanently failed jobs (attempts spent): that is what is written.
   */
  async insertHistory(rows: number): Promise<string> {
    const pool = this.#probe!;
    await pool.query(
      "INSERT INTO graphile_worker._private_tasks (identifier) VALUES ('noop') ON CONFLICT DO NOTHING",
    );
    await pool.query(
      `INSERT INTO graphile_worker._private_jobs
         (task_id, payload, attempts, max_attempts, last_error, created_at, updated_at, run_at)
       SELECT t.id, json_build_object('i', -g), 25, 25, 'failed',
              now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour'
       FROM generate_series(1, $1::integer) AS g,
            (SELECT id FROM graphile_worker._private_tasks WHERE identifier = 'noop') AS t`,
      [rows],
    );
    return `${rows} permanently failed jobs (completed jobs are deleted)`;
  }

  async teardown(): Promise<void> {
    await this.#runner?.stop();
    await this.#utils?.release();
    await this.#probe?.end();
  }
}

export function graphileWorkerVariants(concurrency: number): Variant[] {
  return [
    {
      library: "graphile-worker",
      setting: "default",
      store: "postgres",
      workerOnly: false,
      create: () => new GraphileWorkerAdapter("default", false, concurrency),
    },
    {
      library: "graphile-worker",
      setting: "fast",
      store: "postgres",
      workerOnly: true,
      create: () => new GraphileWorkerAdapter("fast", true, concurrency),
    },
  ];
}
