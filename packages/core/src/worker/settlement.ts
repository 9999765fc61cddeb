import { exponentialBackoff } from "../backoff.js";
import { PermanentError, QError, Snooze } from "../errors.js";
import type { ClaimedJob, JobError } from "../job.js";
import { storableJsonText, storableText } from "../json.js";
import { MAX_DELAY_MS } from "../limits.js";
import type { Logger } from "../logger.js";
import type { Settlement } from "../storage.js";
import type { AnyTask } from "../task.js";
import type { Outcome } from "./run-handler.js";

const defaultBackoff = exponentialBackoff();

/** What a settlement tells the queue's listeners once it is written. */
export type Announcement =
  | { name: "finished"; result: unknown }
  | { name: "snoozed"; delayMs: number }
  | { name: "retried"; error: JobError; delayMs: number }
  | { name: "failed"; error: JobError }
  | { name: "released" };

/** A thrown value as a recorded job error. */
export function jobError(attempt: number, error: unknown): JobError {
  const e = error instanceof Error ? error : new Error(String(error));
  // What a handler throws is stored as it can be: NUL and lone surrogates,
  // which PostgreSQL refuses, become U+FFFD.
  const out: JobError = {
    attempt,
    at: "",
    message: storableText(String(e.message)),
    code: storableText(e instanceof QError ? e.code : String(e.name)),
  };
  if (e.stack !== undefined) out.stack = storableText(String(e.stack));
  return out;
}

/**
 * Decides how a run's outcome settles the job: finish, snooze, release (after a
 * shutdown), fail (permanent, cancelled or out of attempts) or retry after the
 * task's backoff.
 */
export function settlementOf(
  job: ClaimedJob,
  task: AnyTask | undefined,
  outcome: Outcome,
  logger: Logger,
): { settlement: Settlement; announce: Announcement } {
  const base = { id: job.id, token: job.token };
  if (outcome.ok) {
    let result: string | null = null;
    try {
      result = outcome.result === undefined ? null : storableJsonText(outcome.result, "result");
    } catch (error) {
      logger.warn({ jobId: job.id, err: error }, "handler result is not JSON; not stored");
    }
    return {
      settlement: { kind: "finish", ...base, result },
      announce: { name: "finished", result: outcome.result },
    };
  }
  const error = outcome.error;
  if (error instanceof Snooze) {
    return {
      settlement: { kind: "snooze", ...base, delayMs: error.delayMs },
      announce: { name: "snoozed", delayMs: error.delayMs },
    };
  }
  const failure = jobError(job.attempt, error);
  if (error instanceof QError && error.code === "SHUTDOWN") {
    // The handler had started: the attempt stands, so a job that hangs on
    // every run ends failed instead of looping across restarts.
    return job.attempt >= job.maxAttempts
      ? {
          settlement: { kind: "fail", ...base, error: failure },
          announce: { name: "failed", error: failure },
        }
      : {
          settlement: { kind: "retry", ...base, delayMs: 0, error: failure },
          announce: { name: "retried", error: failure, delayMs: 0 },
        };
  }
  const cancelled = error instanceof QError && error.code === "CANCELLED";
  if (cancelled || error instanceof PermanentError || job.attempt >= job.maxAttempts) {
    return {
      settlement: { kind: "fail", ...base, error: failure },
      announce: { name: "failed", error: failure },
    };
  }
  const delayMs = retryDelay(job, task, error, logger);
  return {
    settlement: { kind: "retry", ...base, delayMs, error: failure },
    announce: { name: "retried", error: failure, delayMs },
  };
}

/**
 * The delay before the next attempt. A backoff that throws or returns anything
 * but a finite number >= 0 (NaN, Infinity, a negative number, a string) is
 * replaced by the default backoff, with a warning; a delay beyond
 * `MAX_DELAY_MS` is clamped to it.
 */
export function retryDelay(
  job: ClaimedJob,
  task: AnyTask | undefined,
  error: unknown,
  logger: Logger,
): number {
  const backoff = task?.backoff;
  if (backoff === undefined) return Math.min(MAX_DELAY_MS, defaultBackoff(job.attempt, error));
  let value: unknown;
  try {
    value = backoff(job.attempt, error);
  } catch (e) {
    logger.error({ jobId: job.id, err: e }, "the task's backoff threw; using the default backoff");
    return defaultBackoff(job.attempt, error);
  }
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    logger.warn(
      { jobId: job.id, task: job.task, value: String(value) },
      "the task's backoff returned no finite delay >= 0; using the default backoff",
    );
    return defaultBackoff(job.attempt, error);
  }
  return Math.min(MAX_DELAY_MS, value);
}
