import type { Attributes, Counter, Histogram, Meter } from "@opentelemetry/api";
import type { ClaimedJob } from "../job.js";
import type { Rescued } from "../storage.js";
import {
  DESTINATION,
  DURATION_BUCKETS,
  ERROR_TYPE,
  JOB_OUTCOME,
  METRIC_DURATION,
  METRIC_FAILED,
  METRIC_FINISHED,
  METRIC_RETRIED,
  OPERATION_NAME,
  type RunOutcome,
  SCOPE,
  SYSTEM,
  TASK,
} from "./attributes.js";

/** The attributes every job metric carries: the queue and the task. */
function jobAttributes(job: Pick<ClaimedJob, "queue" | "task">): Attributes {
  return { [SYSTEM]: SCOPE, [DESTINATION]: job.queue, [TASK]: job.task };
}

/** The counters and the histogram a worker records into. */
export class JobMetrics {
  readonly #finished: Counter;
  readonly #failed: Counter;
  readonly #retried: Counter;
  readonly #duration: Histogram;

  constructor(meter: Meter) {
    this.#finished = meter.createCounter(METRIC_FINISHED, {
      description: "Jobs a run finished",
      unit: "{job}",
    });
    this.#failed = meter.createCounter(METRIC_FAILED, {
      description:
        "Jobs that failed for good: attempts spent, a permanent error, cancelled while running, or their worker lost on the last attempt",
      unit: "{job}",
    });
    this.#retried = meter.createCounter(METRIC_RETRIED, {
      description: "Failed attempts of jobs that run again later",
      unit: "{job}",
    });
    this.#duration = meter.createHistogram(METRIC_DURATION, {
      description: "How long a job's handler ran",
      unit: "s",
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
  }

  /** One run ended with `outcome`; `durationMs` is undefined when its handler never ran. */
  run(
    job: ClaimedJob,
    outcome: RunOutcome,
    errorType: string | undefined,
    durationMs: number | undefined,
  ): void {
    const attributes = jobAttributes(job);
    if (outcome === "finished") this.#finished.add(1, attributes);
    const failure =
      errorType === undefined ? attributes : { ...attributes, [ERROR_TYPE]: errorType };
    if (outcome === "failed" || outcome === "cancelled") this.#failed.add(1, failure);
    else if (outcome === "retry") this.#retried.add(1, failure);
    if (durationMs !== undefined) {
      this.#duration.record(durationMs / 1000, {
        ...failure,
        [OPERATION_NAME]: "process",
        [JOB_OUTCOME]: outcome,
      });
    }
  }

  /** Jobs of a dead worker, back to ready or failed for good (`WORKER_LOST`). */
  rescued(jobs: readonly Rescued[]): void {
    for (const job of jobs) {
      const attributes = { ...jobAttributes(job), [ERROR_TYPE]: "WORKER_LOST" };
      (job.state === "failed" ? this.#failed : this.#retried).add(1, attributes);
    }
  }
}
