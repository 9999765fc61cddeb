import type pg from "pg";
import { type Job, PgBoss } from "pg-boss";
import type { Adapter, Variant } from "../adapter.js";
import { openPool } from "../database.js";
import { measureDrain, measureLatency, type WorkerControl } from "../measure.js";

const QUEUE = "noop";

interface PgBossSettings {
  setting: string;
  /** batchSize 10 with burst fetching and LISTEN/NOTIFY wake-ups, else every default. */
  fast: boolean;
  concurrency: number;
}

/** pg-boss in its own schema `pgboss` of the fresh database, on its own pool. */
export class PgBossAdapter implements Adapter {
  readonly library = "pg-boss";
  readonly setting: string;
  readonly #settings: PgBossSettings;
  #boss: PgBoss | undefined;
  #probe: pg.Pool | undefined;

  constructor(settings: PgBossSettings) {
    this.#settings = settings;
    this.setting = settings.setting;
  }

  get #b(): PgBoss {
    if (this.#boss === undefined) throw new Error("setup() first");
    return this.#boss;
  }

  async setup(databaseUrl: string): Promise<void> {
    this.#probe = openPool(databaseUrl, 1);
    const boss = new PgBoss({
      connectionString: databaseUrl,
      ...(this.#settings.fast ? { useListenNotify: true } : {}),
    });
    boss.on("error", (error) => console.error("pg-boss error:", error));
    this.#boss = boss;
    await boss.start();
    // v10+ needs the queue created before any send or work.
    await boss.createQueue(QUEUE, this.#settings.fast ? { notify: true } : {});
  }

  async enqueueOne(i: number): Promise<void> {
    await this.#b.send(QUEUE, { i });
  }

  async enqueueBulk(from: number, count: number): Promise<void> {
    await this.#b.insert(
      QUEUE,
      Array.from({ length: count }, (_, k) => ({ data: { i: from + k } })),
    );
  }

  #control(): WorkerControl {
    const { fast, concurrency } = this.#settings;
    return {
      start: async (onJob) => {
        const handler = async (jobs: Job<{ i: number }>[]) => {
          await Promise.all(
            jobs.map(async (job) => {
              onJob(job.data.i);
            }),
          );
        };
        // Ten jobs in flight either way: ten workers fetching one job each, or
        // one worker fetching batches of ten.
        const options = fast
          ? {
              batchSize: 10,
              burstWhenBatchFull: true,
              localConcurrency: Math.max(1, Math.round(concurrency / 10)),
            }
          : { localConcurrency: concurrency };
        await this.#b.work(QUEUE, options, handler);
      },
      stop: async () => {
        await this.#b.offWork(QUEUE, { wait: true });
      },
      pending: async () => {
        const { rows } = await this.#probe!.query<{ n: string }>(
          `SELECT count(*) AS n FROM pgboss.job WHERE name = $1 AND state < 'completed'`,
          [QUEUE],
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

  async insertHistory(rows: number): Promise<string> {
    await this.#probe!.query(
      `INSERT INTO pgboss.job (name, data, state, policy, created_on, start_after, started_on, completed_on)
       SELECT $1, jsonb_build_object('i', -g), 'completed', 'standard', now() - interval '1 hour',
              now() - interval '1 hour', now() - interval '1 hour',
              now() - interval '1 hour' + g * interval '1 millisecond'
       FROM generate_series(1, $2::integer) AS g`,
      [QUEUE, rows],
    );
    return `${rows} completed jobs in pgboss.job`;
  }

  async teardown(): Promise<void> {
    await this.#boss?.stop({ graceful: true, close: true, timeout: 10_000 });
    await this.#probe?.end();
  }
}

export function pgBossVariants(concurrency: number): Variant[] {
  const make = (setting: string, fast: boolean): Variant => ({
    library: "pg-boss",
    setting,
    // The fast setting turns on NOTIFY for the queue, which every send pays for.
    store: "postgres",
    workerOnly: false,
    create: () => new PgBossAdapter({ setting, fast, concurrency }),
  });
  return [make("default", false), make("fast", true)];
}
