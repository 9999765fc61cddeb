import { QError } from "../errors.js";
import type { ClaimedJob } from "../job.js";
import type { AnyTask, JobContext } from "../task.js";
import type { AbortListener, RunAbort } from "./run-abort.js";

/** How one run ended: the handler's result, or why it did not finish. */
export type Outcome = { ok: true; result: unknown } | { ok: false; error: unknown };

const isCancel = (reason: unknown): reason is QError =>
  reason instanceof QError && reason.code === "CANCELLED";

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  value !== null &&
  (typeof value === "object" || typeof value === "function") &&
  typeof (value as PromiseLike<unknown>).then === "function";

/**
 * One handler call, from its start to its outcome. Its state lives in fields
 * and its reactions are methods: a run is every job's path, and closures kept
 * on long-lived objects per run cost the worker far more than they look.
 */
class HandlerCall implements AbortListener {
  readonly #job: ClaimedJob;
  readonly #task: AnyTask;
  readonly #abort: RunAbort;
  readonly #ctx: JobContext;
  readonly #resolve: (outcome: Outcome) => void;
  #ended = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    job: ClaimedJob,
    task: AnyTask,
    abort: RunAbort,
    ctx: JobContext,
    resolve: (outcome: Outcome) => void,
  ) {
    this.#job = job;
    this.#task = task;
    this.#abort = abort;
    this.#ctx = ctx;
    this.#resolve = resolve;
  }

  start(): void {
    this.#abort.listen(this);
    const ms = this.#task.timeout;
    if (ms !== undefined) this.#timer = setTimeout(() => this.#timedOut(ms), ms);
    // The handler starts on a microtask, as after an `await`: never inside the
    // caller's own turn, and a synchronous throw is an outcome like a rejection.
    queueMicrotask(() => this.#call());
  }

  /** A cancel ends the run at once; a shutdown lets the handler answer its signal. */
  aborted(reason: unknown): void {
    if (isCancel(reason)) this.#end({ ok: false, error: reason });
  }

  #call(): void {
    if (this.#ended) return;
    try {
      const result: unknown = this.#task.handler(this.#job.payload, this.#ctx);
      if (isThenable(result)) {
        result.then(
          (value) => this.#end({ ok: true, result: value }),
          (error: unknown) => this.#failed(error),
        );
      } else {
        this.#end({ ok: true, result });
      }
    } catch (error) {
      this.#failed(error);
    }
  }

  #timedOut(ms: number): void {
    const error = new QError("TIMEOUT", `timed out after ${ms} ms`);
    this.#abort.abort(error);
    this.#end({ ok: false, error });
  }

  #failed(error: unknown): void {
    // Once aborted, why the run ended is the abort's reason, whatever the handler threw.
    const reason = this.#abort.aborted ? this.#abort.reason : undefined;
    this.#end({ ok: false, error: reason instanceof QError ? reason : error });
  }

  #end(outcome: Outcome): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#abort.listen(undefined);
    this.#resolve(outcome);
  }
}

/**
 * Runs a job's handler with its context. A timeout or a cancel ends the run at
 * once (the handler's signal aborts and its late answer is ignored); a shutdown
 * aborts the signal and lets the handler answer it.
 */
export function runHandler(
  job: ClaimedJob,
  task: AnyTask | undefined,
  abort: RunAbort,
  ctx: JobContext,
): Promise<Outcome> {
  if (task === undefined) {
    return Promise.resolve({
      ok: false,
      error: new QError("UNKNOWN_TASK", `this worker has no handler for task "${job.task}"`),
    });
  }
  return new Promise<Outcome>((resolve) => {
    new HandlerCall(job, task, abort, ctx, resolve).start();
  });
}
