/** The states of a job. `finished` and `failed` are terminal. */
export type JobState = "ready" | "claimed" | "finished" | "failed";

/** One recorded failure of a job. */
export interface JobError {
  /**
   * The attempt that failed (1-based), or 0 when no attempt had run: a job
   * cancelled while it waited.
   */
  attempt: number;
  /** When it failed, by the database clock. */
  at: string;
  message: string;
  /** The error's `name` or q's code (`TIMEOUT`, `CANCELLED`, `WORKER_LOST`, …). */
  code?: string;
  stack?: string;
}

/** A job as stored. Ids are decimal strings (PostgreSQL `bigint`). */
export interface Job<Payload = unknown> {
  id: string;
  queue: string;
  task: string;
  payload: Payload;
  state: JobState;
  priority: number;
  runAt: Date;
  /** Attempts charged so far; charged when a worker claims the job. */
  attempt: number;
  maxAttempts: number;
  key: string | null;
  /**
   * What the enqueuer attached (`{}` when nothing): a plain JSON object that q
   * stores and hands back but never reads. `@q/cron` puts `{ cron: { schedule,
   * tick } }` here.
   */
  meta: Record<string, unknown>;
  /** The worker holding the claim, while `claimed`. */
  claimedBy: string | null;
  claimedAt: Date | null;
  errors: JobError[];
  result: unknown;
  /** Set when someone asked to cancel the job while it ran. */
  cancelRequestedAt: Date | null;
  /**
   * The latest value a handler passed to `ctx.progress()` (`null` before the
   * first). It outlives the run: a retried job shows where its last run got to
   * until the new run reports.
   */
  progress: unknown;
  /** When `progress` was last written, by the database clock. */
  progressAt: Date | null;
  /**
   * What a handler last stored with `ctx.checkpoint()` (`null` when none). Kept
   * across retries, rescues, shutdown hand-backs, snoozes and a `retry()` by
   * hand, so the next run resumes where this one was.
   */
  checkpoint: unknown;
  createdAt: Date;
  finishedAt: Date | null;
}

/** A job handed to a worker, with the token that guards its settlement. */
export interface ClaimedJob extends Job {
  state: "claimed";
  /** Proves the claim; a settle with a stale token changes nothing. */
  token: string;
}
