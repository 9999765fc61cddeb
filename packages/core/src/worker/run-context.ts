import { Snooze } from "../errors.js";
import type { ClaimedJob } from "../job.js";
import type { Logger } from "../logger.js";
import type { JobContext } from "../task.js";
import type { Reporter } from "./reporter.js";
import type { RunAbort } from "./run-abort.js";

/**
 * The `ctx` a handler gets. Its signal and its reporter are made when first
 * used, and `progress` and `checkpoint` are functions bound to this run, so a
 * handler may destructure them (`{ signal, progress }`).
 */
export class RunContext implements JobContext {
  readonly job: ClaimedJob;
  readonly attempt: number;
  readonly logger: Logger;
  readonly #abort: RunAbort;
  readonly #makeReporter: (job: ClaimedJob) => Reporter;
  #reporter: Reporter | undefined;
  #progress: ((value: unknown) => void) | undefined;
  #checkpoint: ((data: unknown) => Promise<void>) | undefined;

  constructor(
    job: ClaimedJob,
    abort: RunAbort,
    logger: Logger,
    makeReporter: (job: ClaimedJob) => Reporter,
  ) {
    this.job = job;
    this.attempt = job.attempt;
    this.logger = logger;
    this.#abort = abort;
    this.#makeReporter = makeReporter;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  snooze(delayMs: number): never {
    throw new Snooze(delayMs);
  }

  get progress(): (value: unknown) => void {
    this.#progress ??= (value) => this.#report().progress(value);
    return this.#progress;
  }

  get checkpoint(): (data: unknown) => Promise<void> {
    this.#checkpoint ??= (data) => this.#report().checkpoint(data);
    return this.#checkpoint;
  }

  /**
   * Writes the last progress, if the run reported any; undefined (no wait)
   * when it reported nothing.
   */
  closeReports(): Promise<void> | undefined {
    return this.#reporter?.close();
  }

  #report(): Reporter {
    this.#reporter ??= this.#makeReporter(this.job);
    return this.#reporter;
  }
}
