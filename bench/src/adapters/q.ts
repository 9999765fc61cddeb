import { createQueue, defineTask, type Queue, silentLogger, type Worker } from "@q/core";
import { createPgDriver } from "@q/pg";
import type pg from "pg";
import type { Adapter, Variant } from "../adapter.js";
import { openPool } from "../database.js";
import { measureDrain, measureLatency, type WorkerControl } from "../measure.js";
import { profilePool, type StatementStats } from "../profile.js";

export interface QSettings {
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
  #pool: pg.Pool | undefined;
  /** The benchmark's own connection, for counting and history, apart from q's pool. */
  #probe: pg.Pool | undefined;
  #driver: ReturnType<typeof createPgDriver> | undefined;
  #queue: Queue<Tasks> | undefined;
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

  get queue(): Queue<Tasks> {
    if (this.#queue === undefined) throw new Error("setup() first");
    return this.#queue;
  }

  async setup(databaseUrl: string): Promise<void> {
    this.#pool = openPool(databaseUrl);
    this.#probe = openPool(databaseUrl, 1);
    if (this.#settings.profile) this.statements = profilePool(this.#pool);
    this.#driver = createPgDriver(this.#pool);
    this.#queue = createQueue({
      driver: this.#driver,
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
        // Both states have partial indexes, so this stays cheap beside a large history.
        const { rows } = await this.#probe!.query<{ n: string }>(
          "SELECT count(*) AS n FROM q.jobs WHERE state IN ('ready', 'claimed')",
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
    await this.#driver?.close?.();
    await this.#pool?.end();
    await this.#probe?.end();
  }
}

export function qVariants(options: { concurrency: number; profile: boolean }): Variant[] {
  const make = (setting: string, prefetch: number | undefined, workerOnly: boolean): Variant => ({
    library: "q",
    setting,
    store: "postgres",
    workerOnly,
    create: () => new QAdapter({ setting, prefetch, ...options }),
  });
  return [make("default", undefined, false), make("prefetch 10", 10, true)];
}
