import type { Logger } from "../logger.js";
import type { Beat, Storage, WorkerInfo } from "../storage.js";
import { withDeadline } from "./deadline.js";

/** Options of a {@link Heartbeat}. */
export interface HeartbeatOptions {
  /** Beat period (ms). */
  interval: number;
  /** The lease it keeps alive (ms): a beat slower than a third of it is logged. */
  lease: number;
  /** Deadline of one beat (ms). */
  timeout: number;
}

/** What the owner of a {@link Heartbeat} hears back. */
export interface HeartbeatHooks {
  /** A beat's answer: cancel requests and the claims the table says the worker holds. */
  beat(beat: Beat): Promise<void> | void;
  /** A beat failed or timed out; the next one comes at the next period. */
  error(error: unknown): void;
}

/**
 * Proves a worker alive: one statement per period, on the storage's control
 * connection, never two at once. What a beat learns goes to the owner.
 */
export class Heartbeat {
  readonly #storage: Storage;
  readonly #info: WorkerInfo;
  readonly #options: HeartbeatOptions;
  readonly #hooks: HeartbeatHooks;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> | undefined;

  constructor(
    storage: Storage,
    info: WorkerInfo,
    options: HeartbeatOptions,
    hooks: HeartbeatHooks,
    logger: Logger,
  ) {
    this.#storage = storage;
    this.#info = info;
    this.#options = options;
    this.#hooks = hooks;
    this.#logger = logger;
  }

  /** Registers the worker with a first beat; throws when it fails. */
  async first(): Promise<Beat> {
    return withDeadline(this.#storage.heartbeat(this.#info), this.#options.timeout, "heartbeat");
  }

  /** Beats every period from now on. */
  start(): void {
    this.#timer = setInterval(() => this.beat(), this.#options.interval);
  }

  /** Beats now, unless a beat is still under way. */
  beat(): void {
    this.#beating ??= this.#once()
      .catch((error: unknown) => this.#hooks.error(error))
      .finally(() => {
        this.#beating = undefined;
      });
  }

  /** Stops beating; waits for a beat under way. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#beating;
  }

  async #once(): Promise<void> {
    const started = performance.now();
    const beat = await this.first();
    const took = Math.round(performance.now() - started);
    if (took > this.#options.lease / 3) {
      this.#logger.warn(
        { worker: this.#info.id, heartbeatMs: took, leaseMs: this.#options.lease },
        `heartbeat took ${took} ms, over a third of the ${this.#options.lease} ms lease: other workers may soon take this worker for dead and rescue its jobs`,
      );
    }
    await this.#hooks.beat(beat);
  }
}
