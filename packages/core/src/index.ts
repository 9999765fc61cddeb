export {
  type Backoff,
  type ExponentialBackoffOptions,
  exponentialBackoff,
  fixedBackoff,
} from "./backoff.js";
export type { Driver, Executor, ListenHandlers, Row, Unlisten } from "./driver.js";
export * from "./driver-support.js";
export type { EnqueueOptions, EnqueueResult, JobOptions } from "./enqueue.js";
export { isQError, PermanentError, QError, type QErrorCode, Snooze, sqlState } from "./errors.js";
export type { Listener, QueueEventName, QueueEvents } from "./events.js";
export type { JobFilter, JobPage, PageOptions, QueueStats, StateCount } from "./inspect.js";
export type { ClaimedJob, Job, JobError, JobState } from "./job.js";
export { storableText } from "./json.js";
export { MAX_DELAY_MS, MAX_RUN_AT_MS, MIN_RUN_AT_MS } from "./limits.js";
export { consoleLogger, type Logger, type LogLevel, silentLogger } from "./logger.js";
export type { Plugin, PluginContext, PluginQueue } from "./plugin.js";
export { coreMigrations, type Migration, migrationScript } from "./postgres/migrations.js";
export {
  EXACT_COUNT_LIMIT,
  PostgresStorage,
  type PostgresStorageOptions,
} from "./postgres/storage.js";
export { createQueue, type JobSpec, Queue, type QueueOptions } from "./queue.js";
export type {
  Beat,
  CancelOutcome,
  Held,
  Inserted,
  KeyConflict,
  NewJob,
  Notice,
  Rescued,
  Settled,
  Settlement,
  Storage,
  WorkerInfo,
} from "./storage.js";
export {
  type AnyTask,
  defineTask,
  type JobContext,
  type PayloadOf,
  type Task,
  type TaskMap,
  type TaskOptions,
} from "./task.js";
export { type RunOutcome, TRACE_META_KEY } from "./telemetry/attributes.js";
export type {
  MeterProviderLike,
  TelemetryOptions,
  TracerProviderLike,
} from "./telemetry/types.js";
export type { WorkOptions } from "./worker/options.js";
export { Worker } from "./worker/worker.js";
