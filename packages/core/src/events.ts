import type { ClaimedJob, JobError } from "./job.js";
import type { Rescued } from "./storage.js";

/** The events of a queue and its workers, by name. */
export interface QueueEvents {
  /** A worker claimed the job and is about to run it. */
  claimed: { job: ClaimedJob; worker: string };
  /** The handler returned; the job is finished. */
  finished: { job: ClaimedJob; worker: string; result: unknown; durationMs: number };
  /** The handler failed with attempts left; the job waits `delayMs` and runs again. */
  retried: { job: ClaimedJob; worker: string; error: JobError; delayMs: number };
  /** The job failed for good (attempts spent, permanent error, cancelled). */
  failed: { job: ClaimedJob; worker: string; error: JobError };
  /** The handler asked to run again later, without charging the attempt. */
  snoozed: { job: ClaimedJob; worker: string; delayMs: number };
  /** A claimed job of a dead worker went back to ready (or failed). */
  rescued: { jobs: Rescued[]; by: string };
  /** The worker lost the claim before it could settle (rescued or cancelled elsewhere). */
  lost: { job: ClaimedJob; worker: string };
  /** Something failed inside a worker (a claim, a heartbeat, a flush); it keeps going. */
  error: { error: unknown; worker: string; during: string };
  /** Something a plugin reports (`@q/cron` enqueued a tick, `@q/cleanup` deleted rows). */
  plugin: { plugin: string; event: string; data: Record<string, unknown> };
}

export type QueueEventName = keyof QueueEvents;
export type Listener<E extends QueueEventName> = (event: QueueEvents[E]) => void;

/** A small typed emitter; a throwing listener never breaks the worker. */
export class Emitter {
  readonly #listeners = new Map<QueueEventName, Set<(event: never) => void>>();

  on<E extends QueueEventName>(name: E, listener: Listener<E>): () => void {
    let set = this.#listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener as (event: never) => void);
    return () => {
      set.delete(listener as (event: never) => void);
    };
  }

  /** Whether anyone listens to `name`: the worker builds no event nobody hears. */
  listens(name: QueueEventName): boolean {
    const set = this.#listeners.get(name);
    return set !== undefined && set.size > 0;
  }

  emit<E extends QueueEventName>(name: E, event: QueueEvents[E]): void {
    const set = this.#listeners.get(name);
    if (set === undefined) return;
    for (const listener of set) {
      try {
        (listener as Listener<E>)(event);
      } catch {
        // A listener's bug must not stop job processing.
      }
    }
  }
}
