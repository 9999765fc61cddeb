import { isQError } from "@q/core";
import type { Access } from "./options.js";
import type { DashboardQueue } from "./queue.js";

type ActionAccess = Exclude<Access, { action: "view" }>;

/**
 * What an action did, carried to the next page as `?flash=…`. Fixed texts
 * only: nothing from the URL is ever shown as a message.
 */
export const FLASHES = {
  retried: { text: "Retried: the job is ready again, with a fresh set of attempts.", bad: false },
  "not-retryable": {
    text: "Not retried: only a failed job can be retried, and only while no live job holds its key.",
    bad: true,
  },
  cancelled: { text: "Cancelled: the job will not run.", bad: false },
  "cancel-requested": {
    text: "Cancel requested: the job is running, and its worker was told to abort it.",
    bad: false,
  },
  "already-ended": { text: "Nothing to cancel: the job had already ended.", bad: true },
  "no-job": { text: "No such job: it may have been deleted.", bad: true },
  paused: { text: "Paused: workers claim no job of this queue until it is resumed.", bad: false },
  resumed: { text: "Resumed: workers claim this queue's jobs again.", bad: false },
  "bad-queue": { text: "No queue can have that name.", bad: true },
} as const;

export type FlashCode = keyof typeof FLASHES;

/** Runs an action; the outcome is a flash code, and only unexpected errors throw. */
export async function perform(queue: DashboardQueue, access: ActionAccess): Promise<FlashCode> {
  try {
    switch (access.action) {
      case "retry":
        await queue.retry(access.job);
        return "retried";
      case "cancel": {
        const outcome = await queue.cancel(access.job);
        return outcome === "cancelled"
          ? "cancelled"
          : outcome === "requested"
            ? "cancel-requested"
            : "already-ended";
      }
      case "pause":
        await queue.pause(access.queue);
        return "paused";
      case "resume":
        await queue.resume(access.queue);
        return "resumed";
    }
  } catch (error) {
    if (isQError(error, "INVALID_STATE")) return "not-retryable";
    if (isQError(error, "JOB_NOT_FOUND") || isQError(error, "INVALID_JOB_ID")) return "no-job";
    if (isQError(error, "INVALID_QUEUE_NAME")) return "bad-queue";
    throw error;
  }
}
