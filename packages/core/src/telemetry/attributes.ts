// Names of q's spans, metrics and attributes. Where the OpenTelemetry
// messaging conventions have a name for a thing, it is that name; q's own
// live under `q.`.

/**
 * The key of a job's `meta` that holds the trace context of its enqueue
 * (W3C `traceparent` and `tracestate`, plus whatever else the app's
 * propagator writes, such as `baggage`). Reserved: q writes it whenever the
 * enqueue is traced, over a key of that name the enqueuer gave.
 */
export const TRACE_META_KEY = "otel";

/** The name and instrumentation scope of q's tracer and meter. */
export const SCOPE = "q";

export const SYSTEM = "messaging.system";
export const OPERATION_TYPE = "messaging.operation.type";
export const OPERATION_NAME = "messaging.operation.name";
export const DESTINATION = "messaging.destination.name";
export const MESSAGE_ID = "messaging.message.id";
export const BATCH_COUNT = "messaging.batch.message_count";
export const CLIENT_ID = "messaging.client.id";
export const ERROR_TYPE = "error.type";
export const TASK = "q.task";
export const JOB_ID = "q.job.id";
export const JOB_ATTEMPT = "q.job.attempt";
export const JOB_OUTCOME = "q.job.outcome";
export const JOB_DEDUPED = "q.job.deduped";

/** How a run ended, as `q.job.outcome` says. */
export type RunOutcome =
  /** The handler returned; the job is finished. */
  | "finished"
  /** The attempt failed and the job runs again later. */
  | "retry"
  /** The job failed for good: attempts spent, a permanent error. */
  | "failed"
  /** The job was cancelled while it ran. */
  | "cancelled"
  /** The handler asked to run again later. */
  | "snoozed"
  /** The claim was lost (rescued or cancelled elsewhere) before the outcome was written. */
  | "lost"
  /** The outcome could not be written; the job is handed back and runs again. */
  | "unsettled"
  /** Handed back at shutdown before its handler started. */
  | "released";

/** The run-duration histogram's buckets, in seconds, as the messaging conventions advise. */
export const DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

/** Metric names. */
export const METRIC_FINISHED = "q.jobs.finished";
export const METRIC_FAILED = "q.jobs.failed";
export const METRIC_RETRIED = "q.jobs.retried";
export const METRIC_DURATION = "messaging.process.duration";
export const METRIC_LAG = "q.queue.lag";
export const METRIC_READY = "q.queue.ready";
