import { exponentialBackoff } from "../backoff.js";
import { PermanentError, QError, Snooze } from "../errors.js";
import type { ClaimedJob, JobError } from "../job.js";
import { toJsonText } from "../json.js";
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
  const out: JobError = {
    attempt,
    at: "",
    message: e.message,
    code: e instanceof QError ? e.code : e.name,
  };
  if (e.stack !== undefined) out.stack = e.stack;
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
      result = outcome.result === undefined ? null : toJsonText(outcome.result, "result");
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
  if (error instanceof QError && error.code === "SHUTDOWN") {
    return { settlement: { kind: "release", ...base }, announce: { name: "released" } };
  }
  const failure = jobError(job.attempt, error);
  const cancelled = error instanceof QError && error.code === "CANCELLED";
  if (cancelled || error instanceof PermanentError || job.attempt >= job.maxAttempts) {
    return {
      settlement: { kind: "fail", ...base, error: failure },
      announce: { name: "failed", error: failure },
    };
  }
  let delayMs: number;
  try {
    delayMs = Math.max(0, Number((task?.backoff ?? defaultBackoff)(job.attempt, error)) || 0);
  } catch (e) {
    logger.error({ jobId: job.id, err: e }, "the task's backoff threw; using the default");
    delayMs = defaultBackoff(job.attempt, error);
  }
  return {
    settlement: { kind: "retry", ...base, delayMs, error: failure },
    announce: { name: "retried", error: failure, delayMs },
  };
}
