import { QError } from "../errors.js";
import type { ClaimedJob } from "../job.js";
import type { AnyTask, JobContext } from "../task.js";
import type { RunAbort } from "./run-abort.js";

/** How one run ended: the handler's result, or why it did not finish. */
export type Outcome = { ok: true; result: unknown } | { ok: false; error: unknown };

const isCancel = (reason: unknown): reason is QError =>
  reason instanceof QError && reason.code === "CANCELLED";

/**
 * Runs a job's handler with its context. A timeout or a cancel ends the run at
 * once (the handler's signal aborts and its late answer is ignored); a shutdown
 * aborts the signal and lets the handler answer it. One promise per run and no
 * listener on the signal: this is every job's path.
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
    let ended = false;
    let timer: NodeJS.Timeout | undefined;
    const end = (outcome: Outcome) => {
      if (ended) return;
      ended = true;
      if (timer !== undefined) clearTimeout(timer);
      abort.onAbort = undefined;
      resolve(outcome);
    };
    const failed = (error: unknown) => {
      // Once aborted, why the run ended is the abort's reason, whatever the handler threw.
      const reason = abort.aborted ? abort.reason : undefined;
      end({ ok: false, error: reason instanceof QError ? reason : error });
    };
    abort.onAbort = (reason) => {
      if (isCancel(reason)) end({ ok: false, error: reason });
    };
    if (abort.aborted && isCancel(abort.reason)) return end({ ok: false, error: abort.reason });
    if (task.timeout !== undefined) {
      const ms = task.timeout;
      timer = setTimeout(() => {
        const error = new QError("TIMEOUT", `timed out after ${ms} ms`);
        abort.abort(error);
        end({ ok: false, error });
      }, ms);
    }
    // The handler starts on a microtask, as after an `await`: never inside the
    // caller's own turn, and a synchronous throw is an outcome like a rejection.
    queueMicrotask(() => {
      if (ended) return;
      try {
        const result: unknown = task.handler(job.payload, ctx);
        if (
          result !== null &&
          (typeof result === "object" || typeof result === "function") &&
          typeof (result as PromiseLike<unknown>).then === "function"
        ) {
          (result as PromiseLike<unknown>).then(
            (value) => end({ ok: true, result: value }),
            failed,
          );
        } else {
          end({ ok: true, result });
        }
      } catch (error) {
        failed(error);
      }
    });
  });
}
