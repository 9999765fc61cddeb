/**
 * One error family with stable codes. Code strings never change meaning; new
 * situations get new codes.
 *
 * @module
 */

import { MAX_DELAY_MS } from "./limits.js";

/** Every code a {@link QError} can carry. */
export type QErrorCode =
  /** `enqueue` named a task the queue does not know. */
  | "UNKNOWN_TASK"
  /** The task's schema rejected the payload; `issues` holds the details. */
  | "INVALID_PAYLOAD"
  /** The payload cannot be stored as JSON (BigInt, a cycle, a function, NaN, …). */
  | "PAYLOAD_NOT_JSON"
  /** A schema name is not a lowercase SQL identifier. */
  | "INVALID_SCHEMA_NAME"
  /** A queue name is empty, too long or has characters outside `[A-Za-z0-9_.:-]`. */
  | "INVALID_QUEUE_NAME"
  /** A task name is empty, too long or has characters outside `[A-Za-z0-9_.:-]`. */
  | "INVALID_TASK_NAME"
  /** An option has the wrong type or range (priority, delay, maxAttempts, …). */
  | "INVALID_OPTION"
  /** The queue was closed; nothing more can be enqueued or worked. */
  | "QUEUE_CLOSED"
  /** No job has that id. */
  | "JOB_NOT_FOUND"
  /** The job is not in a state that allows the operation (retry a running job, …). */
  | "INVALID_STATE"
  /** A worker reported on a job whose claim it no longer holds. */
  | "CLAIM_LOST"
  /** The tables are missing: run `queue.migrate()` (or the printed SQL) first. */
  | "NOT_MIGRATED"
  /** The database schema is newer than this version of q knows. */
  | "SCHEMA_TOO_NEW"
  /** A `tx` or client handle that the driver does not understand, or that is closed. */
  | "INVALID_HANDLE"
  /** A handler ran longer than its task's `timeout`. */
  | "TIMEOUT"
  /** The job was cancelled. */
  | "CANCELLED"
  /** The worker that held the job stopped heartbeating and the job ran out of attempts. */
  | "WORKER_LOST"
  /**
   * The worker shut down while the handler was running. The attempt is charged
   * (the handler had started), so a job that never honours its signal ends
   * failed after `maxAttempts` instead of looping across restarts.
   */
  | "SHUTDOWN"
  /** A job id that no job can have: not a decimal integer from 1 to 2^63 - 1. */
  | "INVALID_JOB_ID"
  /** q's schema holds a table of the same name that is not q's (other columns). */
  | "SCHEMA_CONFLICT"
  /**
   * A call to the database did not answer within the worker's
   * `statementTimeout`; the worker abandoned it and carried on.
   */
  | "STATEMENT_TIMEOUT"
  /**
   * A plugin was asked to work (`cleanup.run()`, `schedules.list()`) while it
   * is not running: before its queue started it, or after the queue closed.
   */
  | "NOT_RUNNING"
  /** A plugin object already runs for another queue: make one per queue. */
  | "PLUGIN_IN_USE"
  /**
   * The outcome of a run could not be stored even row by row after bounded
   * retries; as a last resort the job failed with this code.
   */
  | "SETTLE_FAILED"
  /**
   * q's prepared statements failed the way they do behind a transaction-mode
   * pooler (SQLSTATE 42P05, 26000 or 08P01 on a named statement): set
   * `prepare: false` on the driver and point LISTEN at a direct connection.
   */
  | "POOLER_DETECTED"
  /**
   * The LISTEN connection did not hear q's own NOTIFY within a few seconds
   * (a LISTEN through a transaction-mode pooler hears nothing): workers find
   * new jobs by polling only. Point the driver's LISTEN at a direct connection.
   */
  | "LISTEN_DEAF"
  /**
   * `migrate()` found a PostgreSQL older than q supports (14); `details`
   * holds the server's version.
   */
  | "SERVER_TOO_OLD";

/** The error class of q. Match on `code`, never on `message`. */
export class QError extends Error {
  override readonly name = "QError";
  readonly code: QErrorCode;
  /** Structured details (validation issues, the offending name, …). */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: QErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
  }
}

/** True when `error` is a {@link QError}, optionally with the given code. */
export function isQError(error: unknown, code?: QErrorCode): error is QError {
  return error instanceof QError && (code === undefined || error.code === code);
}

/**
 * Thrown by a handler to fail the job at once, without further attempts.
 *
 * @example
 * throw new PermanentError("account deleted");
 */
export class PermanentError extends Error {
  override readonly name = "PermanentError";
}

/**
 * Thrown by a handler (or by `ctx.snooze(ms)`) to run the job again after
 * `delayMs` without charging the attempt.
 */
export class Snooze extends Error {
  override readonly name = "Snooze";
  readonly delayMs: number;
  constructor(delayMs: number) {
    super(`snoozed for ${delayMs} ms`);
    if (!Number.isFinite(delayMs) || delayMs < 0 || delayMs > MAX_DELAY_MS) {
      throw new QError(
        "INVALID_OPTION",
        `snooze delay must be a number of ms from 0 to ${MAX_DELAY_MS} (100 years)`,
        { details: { option: "snooze", value: delayMs } },
      );
    }
    this.delayMs = delayMs;
  }
}

/** SQLSTATE of an error thrown by any PostgreSQL client, if it has one. */
export function sqlState(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "code" in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}
