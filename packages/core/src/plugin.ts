/**
 * The plugin interface: what a plugin brings (a name, its migrations, a start
 * and a stop) and what core lends it while it runs. `@q/cron` and
 * `@q/cleanup` use nothing but this, so a third plugin can do what they do.
 *
 * @module
 */
import type { Executor } from "./driver.js";
import type { EnqueueOptions, EnqueueResult, JobOptions } from "./enqueue.js";
import type { Listener, QueueEventName } from "./events.js";
import type { Job } from "./job.js";
import type { Logger } from "./logger.js";
import type { Migration } from "./postgres/migrations.js";

/**
 * A plugin: started with the queue's first worker (or by `queue.start()`),
 * stopped when the queue closes or its last worker stops.
 *
 * ```ts
 * const heartbeatLog: Plugin = {
 *   name: "heartbeat-log",
 *   start(ctx) {
 *     const timer = setInterval(async () => ctx.logger.info({ at: await ctx.now() }, "alive"), 60_000);
 *     ctx.signal.addEventListener("abort", () => clearInterval(timer));
 *   },
 * };
 * createQueue({ driver, tasks, plugins: [heartbeatLog] });
 * ```
 */
export interface Plugin {
  /**
   * Unique among the queue's plugins; a plain identifier (`[a-z][a-z0-9_-]*`)
   * so it can prefix log lines, events and the plugin's tables.
   */
  readonly name: string;
  /**
   * The plugin's own tables, applied by `queue.migrate()` after core's.
   * Versions count per `owner`, which must be the plugin's name.
   */
  readonly migrations?: readonly Migration[];
  /**
   * Called once when the plugin starts. Long-running work goes in the
   * background and ends when `ctx.signal` aborts; a throw fails the start
   * (`queue.start()` or `queue.work()` rejects).
   */
  start(ctx: PluginContext): void | Promise<void>;
  /** Called once when the plugin stops, after `ctx.signal` aborted: wait for its work to end. */
  stop?(): void | Promise<void>;
  /**
   * Deletes at most `limit` rows of the plugin's own tables that nothing
   * needs any more, and returns how many, by what. `@q/cleanup` calls it on
   * every pass, so a plugin keeps its tables small without a cleaner of its
   * own. Only called while the plugin runs.
   */
  prune?(limit: number): Promise<Record<string, number>>;
}

/** A queue as a plugin sees it: untyped task names, since a plugin knows no task map. */
export interface PluginQueue {
  /** As `queue.enqueue`. `tx` may also be the executor of {@link PluginContext.transaction}. */
  enqueue(
    task: string,
    payload: unknown,
    options?: JobOptions & EnqueueOptions,
  ): Promise<EnqueueResult>;
  /** As `queue.enqueueMany`, one statement for all. */
  enqueueMany(
    jobs: readonly ({ task: string; payload: unknown } & JobOptions)[],
    options?: EnqueueOptions,
  ): Promise<EnqueueResult[]>;
  getJob(id: string): Promise<Job | null>;
  /** The names of the queue's tasks. */
  readonly taskNames: readonly string[];
}

/** What core lends a running plugin. Nothing in it ties the plugin to one driver. */
export interface PluginContext {
  /** The plugin's name. */
  readonly name: string;
  /** q's schema, already validated: quote it as `"${schema}"` in SQL. */
  readonly schema: string;
  /** Runs statements on the driver's pool. Bind every value as a parameter. */
  readonly executor: Executor;
  /**
   * Runs `fn` in one transaction on one connection. The `tx` it gets also
   * works as `queue.enqueue(…, { tx })`, so the plugin's rows and its jobs
   * commit together.
   */
  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T>;
  /** Enqueue and read jobs. */
  readonly queue: PluginQueue;
  /** The database clock (`now()`), never the host's. */
  now(): Promise<Date>;
  /** The queue's logger, its lines tagged with `{ plugin: name }`. */
  readonly logger: Logger;
  /** Subscribes to the queue's events; the listener is removed when the plugin stops. */
  on<E extends QueueEventName>(name: E, listener: Listener<E>): () => void;
  /** Emits the queue event `plugin` as `{ plugin: name, event, data }`. */
  emit(event: string, data: Record<string, unknown>): void;
  /** The other plugins of the queue (for `prune`). */
  readonly plugins: readonly Plugin[];
  /** Aborts when the plugin is stopping: end timers, loops and waits. */
  readonly signal: AbortSignal;
}
