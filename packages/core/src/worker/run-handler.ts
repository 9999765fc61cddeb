import { QError, Snooze } from "../errors.js";
import type { ClaimedJob } from "../job.js";
import type { Logger } from "../logger.js";
import type { AnyTask, JobContext } from "../task.js";
import type { Reporter } from "./reporter.js";

/** How one run ended: the handler's result, or why it did not finish. */
export type Outcome = { ok: true; result: unknown } | { ok: false; error: unknown };

/**
 * Runs a job's handler with its context. A timeout or a cancel ends the run at
 * once (the handler's signal aborts and its late answer is ignored); a shutdown
 * aborts the signal and lets the handler answer it.
 */
export async function runHandler(
  job: ClaimedJob,
  task: AnyTask | undefined,
  controller: AbortController,
  logger: Logger,
  reporter: Pick<Reporter, "progress" | "checkpoint">,
): Promise<Outcome> {
  if (task === undefined) {
    return {
      ok: false,
      error: new QError("UNKNOWN_TASK", `this worker has no handler for task "${job.task}"`),
    };
  }
  const ctx: JobContext = {
    job,
    signal: controller.signal,
    attempt: job.attempt,
    logger,
    snooze(delayMs: number): never {
      throw new Snooze(delayMs);
    },
    progress: (value) => reporter.progress(value),
    checkpoint: (data) => reporter.checkpoint(data),
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    const handler = Promise.resolve().then(() => task.handler(job.payload, ctx));
    handler.catch(() => {});
    const aborted = new Promise<unknown>((_, reject) => {
      const onAbort = () => reject(controller.signal.reason);
      if (controller.signal.aborted) onAbort();
      else controller.signal.addEventListener("abort", onAbort, { once: true });
    }).catch((reason: unknown) => {
      if (reason instanceof QError && reason.code === "CANCELLED") throw reason;
      return handler;
    });
    const racers: Promise<unknown>[] = [handler, aborted];
    if (task.timeout !== undefined) {
      const ms = task.timeout;
      racers.push(
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const error = new QError("TIMEOUT", `timed out after ${ms} ms`);
            controller.abort(error);
            reject(error);
          }, ms);
        }),
      );
    }
    return { ok: true, result: await Promise.race(racers) };
  } catch (error) {
    // Once aborted, why the run ended is the abort's reason, whatever the handler threw.
    const reason: unknown = controller.signal.aborted ? controller.signal.reason : undefined;
    return { ok: false, error: reason instanceof QError ? reason : error };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
