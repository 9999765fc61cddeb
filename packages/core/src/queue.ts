import type { Driver } from "./driver.js";
import {
  collapseKeys,
  type EnqueueOptions,
  type EnqueueResult,
  type JobOptions,
  prepareJob,
} from "./enqueue.js";
import { QError } from "./errors.js";
import { Emitter, type Listener, type QueueEventName } from "./events.js";
import { assertJobId } from "./ids.js";
import type { JobFilter, JobPage, PageOptions, QueueStats, StateCount } from "./inspect.js";
import { listQuery } from "./inspect-query.js";
import type { Job } from "./job.js";
import { consoleLogger, type Logger } from "./logger.js";
import { assertQueueName } from "./names.js";
import type { Plugin, PluginQueue } from "./plugin.js";
import { PluginHost, pluginMigrations } from "./plugin-host.js";
import type { Migration } from "./postgres/migrations.js";
import { PostgresStorage } from "./postgres/storage.js";
import type { CancelOutcome, KeyConflict, Storage } from "./storage.js";
import type { PayloadOf, TaskMap } from "./task.js";
import { type Telemetry, telemetryOf } from "./telemetry/telemetry.js";
import type { EnqueueTrace, TelemetryOptions } from "./telemetry/types.js";
import type { WorkOptions } from "./worker/options.js";
import { Worker } from "./worker/worker.js";

/** Options of {@link createQueue}. Give a `driver` (PostgreSQL) or a `storage`. */
export interface QueueOptions<T extends TaskMap, Tx = unknown> {
  /** The driver made from your pool or ORM by `@q/pg`, `@q/postgres`, `@q/drizzle` or `@q/kysely`. */
  driver?: Driver<Tx>;
  /** A storage of your own, such as `MemoryStorage` from `@q/core/testing`. */
  storage?: Storage;
  /** Schema of q's tables. Default `"q"`. */
  schema?: string;
  /** The tasks, by name. Their names and payload types type `enqueue`. */
  tasks: T;
  /** pino or anything pino-shaped. Default: console, warnings and errors only. */
  logger?: Logger;
  /** Extra migrations applied by `migrate()` (plugins bring theirs). */
  migrations?: readonly Migration[];
  /**
   * Plugins such as `@q/cron` and `@q/cleanup`. `migrate()` applies their
   * migrations; they start with the first `work()` (or `start()`) and stop
   * with `close()`, or when the last worker stops unless `start()` was called.
   */
  plugins?: readonly Plugin[];
  /**
   * OpenTelemetry spans and metrics, recorded when the app has
   * `@opentelemetry/api` installed (through the global providers unless given
   * others). `false` turns them off.
   */
  telemetry?: false | TelemetryOptions;
}

/** One job for {@link Queue.enqueueMany}. */
export type JobSpec<T extends TaskMap> = {
  [K in keyof T & string]: { task: K; payload: PayloadOf<T[K]> } & JobOptions;
}[keyof T & string];

/**
 * A queue: enqueue jobs, run workers, inspect and steer jobs. `Tx` is the
 * transaction handle its driver accepts as `{ tx }`.
 */
export class Queue<T extends TaskMap, Tx = unknown> {
  readonly storage: Storage;
  readonly tasks: T;
  readonly logger: Logger;
  readonly #events = new Emitter();
  readonly #workers = new Set<Worker>();
  readonly #plugins: PluginHost;
  readonly #pluginList: readonly Plugin[];
  readonly #telemetry: Telemetry | undefined;
  /** `start()` was called: plugins run until `close()`, workers or not. */
  #started = false;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: QueueOptions<T, Tx>) {
    if ((options.driver === undefined) === (options.storage === undefined)) {
      throw new QError("INVALID_OPTION", "give createQueue a driver or a storage (one of them)", {
        details: { option: "driver" },
      });
    }
    this.tasks = options.tasks;
    this.logger = options.logger ?? consoleLogger();
    this.#pluginList = [...(options.plugins ?? [])];
    this.#telemetry = telemetryOf(options.telemetry, this.logger);
    const migrations = [...(options.migrations ?? []), ...pluginMigrations(this.#pluginList)];
    const storageOptions: { schema?: string; migrations?: readonly Migration[] } = { migrations };
    if (options.schema !== undefined) storageOptions.schema = options.schema;
    const postgres =
      options.storage === undefined
        ? new PostgresStorage(options.driver!, storageOptions)
        : undefined;
    this.storage = postgres ?? options.storage!;
    this.#plugins = new PluginHost(this.#pluginList, {
      driver: options.driver,
      storage: this.storage,
      schema: postgres?.schema ?? options.schema ?? "q",
      events: this.#events,
      logger: this.logger,
      queue: this.#pluginQueue(),
    });
  }

  #pluginQueue(): PluginQueue {
    type AnyQueue = Queue<TaskMap>;
    const self = this as unknown as AnyQueue;
    return {
      enqueue: (task, payload, options) => self.enqueue(task, payload, options),
      enqueueMany: (jobs, options) =>
        self.enqueueMany(jobs as readonly JobSpec<TaskMap>[], options),
      getJob: (id) => self.getJob(id),
      taskNames: Object.keys(this.tasks),
    };
  }

  /** The queue's plugins, as given to `createQueue`. */
  get plugins(): readonly Plugin[] {
    return this.#pluginList;
  }

  /**
   * Starts the plugins without a worker (a process that only schedules cron
   * jobs, say). They run until `close()`. `work()` starts them too.
   */
  async start(): Promise<void> {
    this.#open();
    if (this.#closing !== undefined) throw new QError("QUEUE_CLOSED", "the queue is closing");
    this.#started = true;
    void this.#telemetry?.watch(() => this.stats());
    await this.#plugins.start();
  }

  #open(): void {
    if (this.#closed) throw new QError("QUEUE_CLOSED", "the queue is closed");
  }

  /** Creates or upgrades q's tables. Idempotent; safe when many processes run it at once. */
  async migrate(): Promise<void> {
    this.#open();
    await this.storage.migrate();
  }

  /**
   * Enqueues one job. With `{ tx }` it joins your transaction: the job exists
   * exactly when your transaction commits. Validation happens before any SQL.
   */
  async enqueue<K extends keyof T & string>(
    task: K,
    payload: PayloadOf<T[K]>,
    options: JobOptions & EnqueueOptions<Tx> = {},
  ): Promise<EnqueueResult> {
    const { tx, onConflict, ...jobOptions } = options;
    const batch: EnqueueOptions<Tx> = {};
    if (tx !== undefined) batch.tx = tx;
    if (onConflict !== undefined) batch.onConflict = onConflict;
    const [result] = await this.enqueueMany(
      [{ task, payload, ...jobOptions } as JobSpec<T>],
      batch,
    );
    return result!;
  }

  /** Enqueues many jobs in one statement; all or none (bad input writes nothing). */
  async enqueueMany(
    jobs: readonly JobSpec<T>[],
    options: EnqueueOptions<Tx> = {},
  ): Promise<EnqueueResult[]> {
    if (!Array.isArray(jobs)) {
      throw new QError("INVALID_OPTION", "enqueueMany takes an array of jobs", {
        details: { option: "jobs", value: jobs },
      });
    }
    this.#open();
    const conflict = options.onConflict ?? "skip";
    if (conflict !== "skip" && conflict !== "replace") {
      throw new QError("INVALID_OPTION", 'onConflict must be "skip" or "replace"', {
        details: { option: "onConflict", value: conflict },
      });
    }
    for (const job of jobs as readonly unknown[]) {
      if (typeof job !== "object" || job === null) {
        throw new QError("INVALID_OPTION", "each job of enqueueMany is an object", {
          details: { option: "jobs", value: job },
        });
      }
    }
    // Loaded once; until then the first enqueues wait for it.
    let tracing = this.#telemetry?.enqueueTracing();
    if (tracing instanceof Promise) tracing = await tracing;
    if (!tracing) return this.#insert(jobs, conflict, options.tx);
    return tracing.enqueue(jobs.length, (trace) => this.#insert(jobs, conflict, options.tx, trace));
  }

  async #insert(
    jobs: readonly JobSpec<T>[],
    conflict: KeyConflict,
    tx: Tx | undefined,
    trace?: EnqueueTrace,
  ): Promise<EnqueueResult[]> {
    const prepared = await Promise.all(
      jobs.map(({ task, payload, ...rest }) => prepareJob(this.tasks, task, payload, rest)),
    );
    const { unique, index } = collapseKeys(prepared, conflict);
    trace?.prepared(unique);
    const inserted = await this.storage.insert(unique, conflict, tx);
    const seen = new Set<number>();
    return index.map((i) => {
      const row = inserted[i]!;
      // A job folded into another of the same batch is a dedupe too.
      if (seen.has(i)) return { ...row, deduped: true };
      seen.add(i);
      return row;
    });
  }

  /** A job by id, or null when no job has it. A malformed id → `INVALID_JOB_ID`. */
  async getJob(id: string, options: { tx?: Tx } = {}): Promise<Job | null> {
    return this.storage.getJob(assertJobId(id), options.tx);
  }

  /** Moves a failed job back to ready with a fresh set of attempts. */
  async retry(id: string, options: { tx?: Tx } = {}): Promise<Job> {
    this.#open();
    return this.storage.retry(assertJobId(id), options.tx);
  }

  /**
   * Cancels a job. A waiting job fails (`CANCELLED`) at once; a running job's
   * worker is told to abort its signal, and it fails as cancelled.
   */
  async cancel(id: string, options: { tx?: Tx } = {}): Promise<CancelOutcome> {
    this.#open();
    return this.storage.cancel(assertJobId(id), options.tx);
  }

  /**
   * One page of jobs: every filter field narrows (queues, tasks, states, key,
   * created and finished ranges), newest first unless `order: "oldest"`, up
   * to `limit` (default 50, at most 1 000). Pass the page's `next` as `after`
   * for the next page (a keyset on the id: jobs enqueued meanwhile never
   * shift a page). A bad filter or cursor → `INVALID_OPTION`, before any SQL.
   *
   * @example
   * let page = await queue.listJobs({ queue: "mail", state: "failed" }, { limit: 100 });
   * while (page.next) page = await queue.listJobs({ queue: "mail", state: "failed" }, { after: page.next });
   */
  async listJobs(filter?: JobFilter, page?: PageOptions): Promise<JobPage> {
    listQuery(filter, page);
    return this.storage.listJobs(filter, page);
  }

  /**
   * How many jobs each queue holds in each state (states with none are left
   * out). Ready and claimed are exact; finished and failed beyond 100 000 rows
   * come from the planner's statistics, flagged `exact: false`.
   */
  async counts(): Promise<StateCount[]> {
    return this.storage.countJobs();
  }

  /**
   * Per queue: jobs due, scheduled for later and running, how long the oldest
   * due job has waited, jobs ended per second over the last minute, and
   * whether it is paused.
   */
  async stats(): Promise<QueueStats[]> {
    return this.storage.queueStats();
  }

  /**
   * Pauses a queue for every worker of every process: none claims from it
   * (the claim itself reads the pause), enqueue keeps working, and jobs
   * already running finish. Lasts until {@link Queue.resume}, restarts
   * included. A queue need not have jobs yet.
   */
  async pause(queue: string): Promise<void> {
    this.#open();
    await this.storage.pause(assertQueueName(queue));
  }

  /** Resumes a paused queue and wakes its workers, which claim at once. */
  async resume(queue: string): Promise<void> {
    this.#open();
    await this.storage.resume(assertQueueName(queue));
  }

  /** The names of the paused queues. */
  async paused(): Promise<string[]> {
    return this.storage.paused();
  }

  /** Starts a worker; resolves once it is registered and listening. */
  async work(options: WorkOptions = {}): Promise<Worker> {
    // Before the checks: nothing may come between them and the worker joining the set.
    const tracing = (await this.#telemetry?.runTracing()) ?? undefined;
    this.#open();
    if (this.#closing !== undefined) throw new QError("QUEUE_CLOSED", "the queue is closing");
    // A stopped worker is forgotten, so a long-lived queue does not keep every one.
    const worker: Worker = new Worker(
      this.storage,
      this.tasks,
      this.#events,
      this.logger,
      options,
      () => this.#forget(worker),
      tracing,
    );
    this.#workers.add(worker);
    try {
      await this.#plugins.start();
      await worker.start();
      void this.#telemetry?.watch(() => this.stats());
    } catch (error) {
      await this.#forget(worker);
      throw error;
    }
    return worker;
  }

  /** Drops a stopped worker; the plugins stop with the last one unless `start()` was called. */
  async #forget(worker: Worker): Promise<void> {
    this.#workers.delete(worker);
    if (this.#workers.size === 0 && !this.#started) this.#telemetry?.unwatch();
    if (this.#workers.size === 0 && !this.#started && !this.#closed) await this.#plugins.stop();
  }

  /** The workers of this queue that have not stopped. */
  get workers(): readonly Worker[] {
    return [...this.#workers];
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<E extends QueueEventName>(name: E, listener: Listener<E>): () => void {
    return this.#events.on(name, listener);
  }

  /**
   * Stops every worker of this queue gracefully and refuses further work. The
   * driver and your pool stay open: other queues may share them.
   */
  async close(): Promise<void> {
    if (this.#closed || this.#closing !== undefined) return this.#closing;
    this.#closing = (async () => {
      // Plugins first, while the queue still takes their jobs: a cron pass
      // under way ends with its transaction instead of failing on QUEUE_CLOSED.
      await this.#plugins.stop();
      this.#closed = true;
      await Promise.all([...this.#workers].map((w) => w.stop()));
      this.#telemetry?.unwatch();
    })();
    return this.#closing;
  }
}

/** Creates a queue over a driver (or a storage). */
export function createQueue<T extends TaskMap, Tx = unknown>(
  options: QueueOptions<T, Tx>,
): Queue<T, Tx> {
  return new Queue(options);
}
