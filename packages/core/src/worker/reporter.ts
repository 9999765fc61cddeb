import { QError } from "../errors.js";
import type { ClaimedJob } from "../job.js";
import { storableJsonText } from "../json.js";
import type { Logger } from "../logger.js";
import type { Storage } from "../storage.js";
import { withDeadline } from "./deadline.js";

/** A run writes its progress at most once per this many milliseconds. */
export const PROGRESS_INTERVAL_MS = 1000;

/** Options of a {@link Reporter}. */
export interface ReporterOptions {
  /** Least time between two progress writes (ms). */
  interval: number;
  /** Deadline of one write (ms). */
  timeout: number;
}

/**
 * What one run tells the table while it works: its progress, throttled so a
 * tight loop costs a write a second, and its checkpoints, written at once.
 * Both name the run's claim token, so a run that lost its claim changes
 * nothing; it then stops writing progress, and a checkpoint says `CLAIM_LOST`.
 */
export class Reporter {
  readonly #storage: Storage;
  readonly #job: ClaimedJob;
  readonly #options: ReporterOptions;
  readonly #logger: Logger;
  /** The latest progress not yet written. */
  #pending: string | undefined;
  #writing: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastWrite = Number.NEGATIVE_INFINITY;
  #lost = false;
  #closed = false;

  constructor(storage: Storage, job: ClaimedJob, options: ReporterOptions, logger: Logger) {
    this.#storage = storage;
    this.#job = job;
    this.#options = options;
    this.#logger = logger;
  }

  /** `ctx.progress`: keeps the value and writes it now or at the end of the interval. */
  progress(value: unknown): void {
    const text = storableJsonText(value, "progress");
    if (this.#lost || this.#closed) return;
    this.#pending = text;
    this.#schedule();
  }

  /** `ctx.checkpoint`: writes now; the job's next run reads it. */
  async checkpoint(data: unknown): Promise<void> {
    const text = storableJsonText(data, "checkpoint");
    if (!this.#lost) {
      const saved = await withDeadline(
        this.#storage.saveCheckpoint(this.#job.id, this.#job.token, text),
        this.#options.timeout,
        "checkpoint",
      );
      if (saved) return;
      this.#lose();
    }
    throw new QError(
      "CLAIM_LOST",
      `job ${this.#job.id} is no longer this run's (rescued or handed back): its checkpoint was not stored`,
      { details: { id: this.#job.id } },
    );
  }

  /**
   * Called when the handler is done, before the run settles: the last
   * progress is written (within the write deadline) and later calls are
   * ignored.
   */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#writing;
    if (this.#pending !== undefined && !this.#lost) await this.#write();
  }

  #schedule(): void {
    if (this.#writing !== undefined || this.#timer !== undefined) return;
    const wait = this.#lastWrite + this.#options.interval - performance.now();
    if (wait <= 0) {
      void this.#write();
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#write();
    }, wait);
  }

  #write(): Promise<void> {
    const text = this.#pending;
    if (text === undefined || this.#lost) return Promise.resolve();
    this.#pending = undefined;
    this.#lastWrite = performance.now();
    this.#writing = withDeadline(
      this.#storage.saveProgress(this.#job.id, this.#job.token, text),
      this.#options.timeout,
      "progress",
    )
      .then(
        (saved) => {
          if (!saved) this.#lose();
        },
        (error: unknown) => {
          // Progress is a display: a failed write is tried again with the next value.
          this.#logger.warn({ jobId: this.#job.id, err: error }, "progress not written");
          this.#pending ??= text;
        },
      )
      .finally(() => {
        this.#writing = undefined;
        if (this.#pending !== undefined && !this.#closed) this.#schedule();
      });
    return this.#writing;
  }

  #lose(): void {
    this.#lost = true;
    this.#pending = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
