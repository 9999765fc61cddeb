import type { StandardSchemaV1 } from "@standard-schema/spec";
import type { Backoff } from "./backoff.js";
import type { ClaimedJob } from "./job.js";
import type { Logger } from "./logger.js";

/** What a handler gets besides its payload. */
export interface JobContext<Payload = unknown> {
  /** The claimed job (its attempt, errors of earlier attempts, its checkpoint, …). */
  job: ClaimedJob & { payload: Payload };
  /** Aborted on timeout, on cancel and on shutdown; pass it to fetch, queries, … */
  signal: AbortSignal;
  /** This attempt's number, from 1. */
  attempt: number;
  logger: Logger;
  /** Ends this run and runs the job again after `delayMs`, without charging the attempt. */
  snooze(delayMs: number): never;
  /**
   * Records how far the run got (any JSON value: a number, `{ done, total }`, …)
   * for `getJob`, `listJobs` and the dashboard. Cheap to call in a tight loop:
   * it writes at most about once a second per job, and the last value is
   * written before the job settles. Stored like a result (NUL and lone
   * surrogates become U+FFFD); a value that is not JSON throws
   * `PAYLOAD_NOT_JSON`. Once the claim is lost it stops writing, silently.
   */
  progress(value: unknown): void;
  /**
   * Stores `data` (any JSON value) now, guarded by the claim. The job's next run
   * (after a retry, a rescue, a shutdown hand-back, a snooze or a `retry()` by
   * hand) gets it as `ctx.job.checkpoint`, so a handler that walks a large
   * table can resume where it was. Rejects with `CLAIM_LOST` when this run no
   * longer holds the job (stop working: another run has it), with
   * `PAYLOAD_NOT_JSON` for a value that is not JSON.
   */
  checkpoint(data: unknown): Promise<void>;
}

/** Per-task defaults; `enqueue` options override queue, priority and maxAttempts. */
export interface TaskOptions {
  /** Runs in all, including the first. Default 25. */
  maxAttempts?: number;
  /** Delay before the next attempt. Default: exponential from 1 s with jitter, capped at 1 h. */
  backoff?: Backoff;
  /** Milliseconds a run may take; then its signal aborts and the attempt fails with `TIMEOUT`. */
  timeout?: number;
  /** Queue the task's jobs go to. Default `"default"`. */
  queue?: string;
  /** Lower runs first. Default 0. */
  priority?: number;
}

/** A task: a handler plus its options and, optionally, a payload schema. */
export interface Task<Input = unknown, Output = Input, Result = unknown> extends TaskOptions {
  /** A Standard Schema (zod, valibot, arktype, …) checked at enqueue, before any SQL. */
  readonly schema?: StandardSchemaV1<Input, Output>;
  readonly handler: (payload: Output, ctx: JobContext<Output>) => Result | Promise<Result>;
}

/** Any task; `any` here only lets tasks of every payload type sit in one map. */
// biome-ignore lint/suspicious/noExplicitAny: variance of handler parameters needs it
export type AnyTask = Task<any, any, any>;

/** The tasks of a queue, by name. */
export type TaskMap = Record<string, AnyTask>;

/** The payload `enqueue` accepts for a task (the schema's input type). */
export type PayloadOf<T> =
  T extends Task<infer Input, infer _Output, infer _Result> ? Input : never;

/**
 * Defines a task. The payload type comes from the schema, or from the
 * handler's parameter when there is no schema.
 *
 * @example
 * const sendReceipt = defineTask({
 *   schema: z.object({ orderId: z.string() }),
 *   handler: async ({ orderId }, { signal }) => { await mail(orderId, { signal }); },
 * });
 */
export function defineTask<S extends StandardSchemaV1, Result = unknown>(
  task: TaskOptions & {
    schema: S;
    handler: (
      payload: StandardSchemaV1.InferOutput<S>,
      ctx: JobContext<StandardSchemaV1.InferOutput<S>>,
    ) => Result | Promise<Result>;
  },
): Task<StandardSchemaV1.InferInput<S>, StandardSchemaV1.InferOutput<S>, Result>;
export function defineTask<Payload, Result = unknown>(
  task: TaskOptions & {
    handler: (payload: Payload, ctx: JobContext<Payload>) => Result | Promise<Result>;
  },
): Task<Payload, Payload, Result>;
export function defineTask(task: AnyTask): AnyTask {
  return task;
}
