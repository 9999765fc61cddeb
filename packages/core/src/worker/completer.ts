import { QError, sqlState } from "../errors.js";
import type { JobError } from "../job.js";
import type { Settled, Settlement, Storage } from "../storage.js";
import { withDeadline } from "./deadline.js";

/** Options of a {@link Completer}. */
export interface CompleterOptions {
  /** Settlements that arrive within this window are written together (ms). */
  delay: number;
  /** Most settlements in one statement. */
  maxBatch: number;
  /** Retries of a settlement after its first write failed; then it is given up. */
  retries: number;
  /** Deadline of one settle call (ms). */
  timeout: number;
}

/** What the owner of a {@link Completer} hears back. */
export interface CompleterHooks<C> {
  /** The settlement was written (`applied`), or found stale (the claim was lost). */
  settled(result: Settled, context: C): void;
  /**
   * Given up after bounded retries: the job stays claimed in the table, and the
   * owner's heartbeat reconciliation (or, once the worker is gone, a rescue)
   * hands it back. Its handler may then run again; it is never lost.
   */
  dropped(settlement: Settlement, context: C, error: unknown): void;
  /** A settle statement failed (one event per failed statement). */
  error(error: unknown): void;
}

interface Entry<C> {
  settlement: Settlement;
  attempt: number;
  context: C;
  tries: number;
  /** Already the last-resort `SETTLE_FAILED` failure. */
  lastResort: boolean;
}

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

/**
 * Errors that say nothing about the rows: the connection, the server or the
 * deadline. Splitting a batch cannot help with those; waiting can.
 */
function transient(error: unknown): boolean {
  if (error instanceof QError) return error.code === "STATEMENT_TIMEOUT";
  const state = sqlState(error);
  if (state === undefined) return true;
  return ["08", "53", "57", "40", "58"].includes(state.slice(0, 2));
}

/** PostgreSQL refuses the row's values (SQLSTATE class 22 data exception or 23 integrity). */
function dataError(error: unknown): boolean {
  const state = sqlState(error);
  return state !== undefined && (state.startsWith("22") || state.startsWith("23"));
}

/**
 * Writes settlements: in batches of at most `maxBatch`, within `delay` of the
 * first. A batch that fails on its rows is split, and each row is written on
 * its own, so one row PostgreSQL refuses never holds back another. A row (or,
 * for a connection failure, a batch) is retried a bounded number of times with
 * backoff; a row still refused on its data is failed with `SETTLE_FAILED` as
 * a last resort, and anything else is given up (see {@link CompleterHooks.dropped}).
 *
 * Like River's completer: a unit of its own, with a size the worker reads
 * for backpressure.
 */
export class Completer<C> {
  readonly #storage: Storage;
  readonly #options: CompleterOptions;
  readonly #hooks: CompleterHooks<C>;
  #pending: Entry<C>[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** Entries written now or waiting for a retry. */
  #busy = 0;
  /** Retries waiting for their backoff, with what each will do. */
  readonly #retries = new Map<NodeJS.Timeout, () => void>();
  #idle: (() => void) | undefined;
  #closing = false;

  constructor(storage: Storage, options: CompleterOptions, hooks: CompleterHooks<C>) {
    this.#storage = storage;
    this.#options = options;
    this.#hooks = hooks;
  }

  /** Settlements not yet written: the worker claims no more while this is high. */
  get size(): number {
    return this.#pending.length + this.#busy;
  }

  /** Queues a settlement; `attempt` is the claim's, for a last-resort failure record. */
  add(settlement: Settlement, attempt: number, context: C): void {
    this.#enqueue({ settlement, attempt, context, tries: 0, lastResort: false });
  }

  #enqueue(entry: Entry<C>): void {
    this.#pending.push(entry);
    if (this.#pending.length >= this.#options.maxBatch || this.#closing) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), this.#options.delay);
  }

  /** Writes what is pending now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, this.#options.maxBatch);
      this.#busy += batch.length;
      void this.#write(batch);
    }
  }

  /**
   * Writes everything, retries included, waiting at most `ms`; what is still
   * unwritten then is given up.
   */
  async close(ms: number): Promise<void> {
    this.#closing = true;
    this.flush();
    // Retries go now rather than after their backoff.
    for (const [timer, retry] of this.#retries) {
      clearTimeout(timer);
      this.#retries.delete(timer);
      retry();
    }
    if (this.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        timer.unref();
        this.#idle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.#idle = undefined;
    for (const timer of this.#retries.keys()) clearTimeout(timer);
    this.#retries.clear();
  }

  async #write(batch: Entry<C>[]): Promise<void> {
    let results: Settled[];
    try {
      results = await withDeadline(
        this.#storage.settle(batch.map((e) => e.settlement)),
        this.#options.timeout,
        "settle",
      );
    } catch (error) {
      this.#hooks.error(error);
      if (batch.length > 1 && !transient(error)) {
        // Some row is refused: each on its own, so the others get through.
        await Promise.all(batch.map((e) => this.#write([e])));
      } else {
        for (const e of batch) this.#later(e, error, batch.length === 1 && !transient(error));
      }
      return;
    }
    results.forEach((result, i) => {
      const e = batch[i]!;
      this.#done();
      this.#hooks.settled(result, e.context);
    });
  }

  /** Schedules another try of `e` (alone when its row was refused), or gives up. */
  #later(e: Entry<C>, error: unknown, alone: boolean): void {
    e.tries += 1;
    if (e.tries > this.#options.retries) {
      if (alone && !e.lastResort && dataError(error)) {
        // PostgreSQL refuses this outcome itself: record that the job failed.
        e.lastResort = true;
        e.tries = 0;
        e.settlement = lastResort(e.settlement, e.attempt, error);
      } else {
        this.#done();
        this.#hooks.dropped(e.settlement, e.context, error);
        return;
      }
    }
    const wait = this.#closing
      ? 0
      : Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, e.tries - 1));
    const retry = alone
      ? () => void this.#write([e])
      : () => {
          // The connection failed, not the row: it rejoins a batch.
          this.#busy -= 1;
          this.#enqueue(e);
        };
    const timer = setTimeout(() => {
      this.#retries.delete(timer);
      retry();
    }, wait);
    this.#retries.set(timer, retry);
  }

  #done(): void {
    this.#busy -= 1;
    if (this.size === 0) this.#idle?.();
  }
}

/** The failure recorded when a job's real outcome cannot be stored. */
function lastResort(settlement: Settlement, attempt: number, cause: unknown): Settlement {
  const state = sqlState(cause);
  const error: JobError = {
    attempt,
    at: "",
    code: "SETTLE_FAILED",
    message: `the ${settlement.kind} of this run could not be stored${state ? ` (SQLSTATE ${state})` : ""}`,
  };
  return { kind: "fail", id: settlement.id, token: settlement.token, error };
}
