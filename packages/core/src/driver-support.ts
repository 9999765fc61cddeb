/**
 * Pieces every driver package needs the same way: the errors for a handle it
 * does not understand, for a handle that can no longer run anything and for
 * one that is not inside a transaction; the guard around subscribers'
 * callbacks; and the control connection behind `Driver.control`.
 *
 * Like the rest of core, nothing here imports a database client: each driver
 * passes in what its client does.
 *
 * @module
 */
import type { Executor, ListenHandlers, Row } from "./driver.js";
import { QError, sqlState } from "./errors.js";

/** What `native` is, in a word, for error messages: `null`, `object`, `function`, … */
function kindOf(native: unknown): string {
  return native === null ? "null" : typeof native;
}

/**
 * The error `executorFor` throws for something that is not a handle of the
 * driver: `"<driver> expects <expected>; got <kind>"`, code `INVALID_HANDLE`.
 */
export function notAHandle(driverName: string, expected: string, native: unknown): QError {
  return new QError("INVALID_HANDLE", `${driverName} expects ${expected}; got ${kindOf(native)}`);
}

/** How a client says that a handle can no longer run anything. */
export interface ClosedSignals {
  /** Error messages (matched at their start) meaning "closed", "ended", "already committed". */
  readonly messages?: readonly string[];
  /** Error codes (not SQLSTATEs: the client's own, such as postgres.js's `CONNECTION_ENDED`). */
  readonly codes?: readonly string[];
}

/**
 * `error` as a `QError("INVALID_HANDLE")` (its cause kept) when it says the
 * handle is closed, ended or finished; any other error is returned unchanged,
 * so SQL errors keep their SQLSTATE.
 */
export function closedHandleError(
  driverName: string,
  error: unknown,
  signals: ClosedSignals,
): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : undefined;
  const byCode = typeof code === "string" && (signals.codes ?? []).includes(code);
  const byMessage =
    message !== undefined && (signals.messages ?? []).some((m) => message.startsWith(m));
  if (!byCode && !byMessage) return error;
  return new QError(
    "INVALID_HANDLE",
    `${driverName}: the handle can no longer run queries (${message ?? String(code)})`,
    { cause: error },
  );
}

/** Why a handle that should be inside a transaction is refused. */
export type NotInTransaction = "idle" | "failed" | "released";

/**
 * The `INVALID_HANDLE` error for a transaction handle that is not inside an
 * open transaction: q's statements would otherwise commit on their own, or
 * join whatever transaction the connection runs next.
 */
export function notInTransaction(
  driverName: string,
  why: NotInTransaction,
  cause?: unknown,
): QError {
  const message = {
    idle: "the handle is not inside a transaction (its transaction already ended, or BEGIN never ran): run BEGIN on it first, or omit tx",
    failed:
      "the handle's transaction failed and can only be rolled back: ROLLBACK, then start again",
    released:
      "the client was released to the pool: pass it only between BEGIN and COMMIT, before release()",
  }[why];
  return new QError("INVALID_HANDLE", `${driverName}: ${message}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { reason: why },
  });
}

/**
 * One round trip that fails unless the connection is inside an open
 * transaction block: `SAVEPOINT` is refused outside one (SQLSTATE 25P01, also
 * in the implicit transaction of a multi-statement query) and in a failed one
 * (25P02). Released at once, so it leaves nothing behind. Send it as one
 * simple-protocol query (no parameters).
 */
export const TRANSACTION_CHECK_SQL =
  "SAVEPOINT q_in_transaction; RELEASE SAVEPOINT q_in_transaction";

/**
 * Runs {@link TRANSACTION_CHECK_SQL} through `run` and turns "not in a
 * transaction block" and "in a failed transaction" into `INVALID_HANDLE`.
 * For clients that cannot say whether a handle is inside a transaction.
 */
export async function assertInTransaction(
  driverName: string,
  run: (sql: string) => Promise<unknown>,
): Promise<void> {
  try {
    await run(TRANSACTION_CHECK_SQL);
  } catch (error) {
    const state = sqlState(error);
    if (state === "25P01") throw notInTransaction(driverName, "idle", error);
    if (state === "25P02") throw notInTransaction(driverName, "failed", error);
    throw error;
  }
}

/**
 * Whether a node-postgres-like client, by its own account
 * (`getTransactionStatus()`: `'I'` idle, `'T'` in a transaction, `'E'` failed),
 * is not inside an open transaction: the reason, or `undefined` when it is,
 * or cannot tell (no such method, or `null`).
 */
export function transactionStatusProblem(client: unknown): NotInTransaction | undefined {
  const getStatus = (client as { getTransactionStatus?: unknown } | null)?.getTransactionStatus;
  if (typeof getStatus !== "function") return undefined;
  const status: unknown = getStatus.call(client);
  if (typeof status !== "string" || status === "T") return undefined;
  return status === "E" ? "failed" : "idle";
}

/**
 * Runs a subscriber's callback; what it throws goes to its `onError`, never
 * into the listener (one faulty subscriber must not stop the others).
 */
export function callSubscriber(handlers: ListenHandlers, callback: () => void): void {
  try {
    callback();
  } catch (error) {
    try {
      handlers.onError?.(error);
    } catch {
      // A throwing onError has nowhere left to report to.
    }
  }
}

/** Default of the drivers' `controlTimeout` option: 10 s. */
export const DEFAULT_CONTROL_TIMEOUT_MS = 10_000;
/** PostgreSQL's largest `statement_timeout`, in ms. */
const MAX_STATEMENT_TIMEOUT_MS = 2_147_483_647;
/** How long after the server's `statement_timeout` the client stops waiting. */
const CLIENT_GRACE_MS = 1_000;

/** A driver's `controlTimeout` option, checked: whole milliseconds, at least 1. */
export function controlTimeoutOption(value: unknown): number {
  if (value === undefined) return DEFAULT_CONTROL_TIMEOUT_MS;
  if (
    typeof value !== "number" ||
    !Number.isFinite(value) ||
    value < 1 ||
    value > MAX_STATEMENT_TIMEOUT_MS
  ) {
    throw new QError(
      "INVALID_OPTION",
      `controlTimeout must be a number of ms from 1 to ${MAX_STATEMENT_TIMEOUT_MS}`,
      { details: { option: "controlTimeout", value } },
    );
  }
  return Math.ceil(value);
}

/** One open control connection, as a driver opens it. */
export interface ControlSession {
  /** Runs one statement (its errors already translated by the driver). */
  query<R extends Row = Row>(sql: string, params: readonly unknown[]): Promise<R[]>;
  /** Ends the connection politely, waiting for the server to see it go. */
  end(): Promise<void>;
  /** Ends the connection at once, abandoning whatever runs on it. Never throws. */
  destroy(): void;
}

/** What {@link ControlConnection} needs of a driver. */
export interface ControlConnectionOptions {
  /** The driver's name, for error messages. */
  readonly driverName: string;
  /**
   * The server-side `statement_timeout` the driver sets on each connection it
   * opens, in ms. The client gives up a second later.
   */
  readonly timeoutMs: number;
  /**
   * Opens a connection and sets `statement_timeout = timeoutMs` on it. Calls
   * `lost` whenever that connection drops by itself (an error event, the
   * server ending it), so that the next statement opens a new one.
   */
  open(lost: () => void): Promise<ControlSession>;
}

/** One connection's life: opened once, dropped once. */
interface Generation {
  ready: Promise<ControlSession>;
  dropped: boolean;
}

/**
 * The executor behind `Driver.control`: one connection of the driver's own,
 * opened on first use, with a server-side `statement_timeout`, and a deadline
 * on the client side (the timeout plus a second) that covers connecting too.
 *
 * Statements run one at a time, in order. After any error, any deadline
 * missed, or the connection dropping by itself, the connection is destroyed
 * and the next statement opens a new one: a failure costs one statement,
 * never the ones after it. `close()` ends the connection; a statement after
 * `close()` opens a new one (so a driver shared by two queues survives the
 * first one closing it).
 */
export class ControlConnection implements Executor {
  readonly #options: ControlConnectionOptions;
  #current: Generation | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: ControlConnectionOptions) {
    this.#options = options;
  }

  query<R extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    return this.#serially(() => this.#run<R>(sql, params));
  }

  /** Ends the connection, after the statement under way (if any) settles. */
  close(): Promise<void> {
    return this.#serially(async () => {
      const generation = this.#current;
      if (!generation) return;
      this.#current = undefined;
      generation.dropped = true;
      const session = await generation.ready.catch(() => undefined);
      if (!session) return;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<"late">((resolve) => {
        timer = setTimeout(() => resolve("late"), CLIENT_GRACE_MS);
      });
      const ended = await Promise.race([session.end().catch(() => "failed" as const), late]);
      clearTimeout(timer);
      if (ended !== undefined) session.destroy();
    });
  }

  #run<R extends Row>(sql: string, params: readonly unknown[]): Promise<R[]> {
    const generation = this.#connection();
    const deadlineMs = this.#options.timeoutMs + CLIENT_GRACE_MS;
    return new Promise<R[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#drop(generation);
        reject(
          new QError(
            "STATEMENT_TIMEOUT",
            `${this.#options.driverName}: the control connection did not answer within ${deadlineMs} ms; it was discarded`,
            { details: { timeoutMs: deadlineMs } },
          ),
        );
      }, deadlineMs);
      generation.ready
        .then((session) => session.query<R>(sql, params))
        .then(resolve, (error: unknown) => {
          this.#drop(generation);
          reject(error);
        })
        .finally(() => clearTimeout(timer));
    });
  }

  /** The live connection, or a new one being opened. */
  #connection(): Generation {
    const live = this.#current;
    if (live && !live.dropped) return live;
    // `lost` may be called before `open` returns: `ready` is then not set yet.
    const generation = { dropped: false } as Generation;
    generation.ready = this.#options
      .open(() => this.#drop(generation))
      .then((session) => {
        if (!generation.dropped) return session;
        // Dropped while opening (deadline, or lost before it was ready).
        session.destroy();
        throw new QError(
          "STATEMENT_TIMEOUT",
          `${this.#options.driverName}: the control connection was lost while opening`,
        );
      });
    // Whoever awaits `ready` sees its failure; this only keeps it from being unhandled.
    generation.ready.catch(() => {});
    this.#current = generation;
    return generation;
  }

  /** Forgets a connection and destroys it (once it is open, if it is still opening). */
  #drop(generation: Generation): void {
    if (generation.dropped) return;
    generation.dropped = true;
    if (this.#current === generation) this.#current = undefined;
    // Still opening: `ready` sees `dropped` and destroys the session itself.
    generation.ready?.then(
      (session) => session.destroy(),
      () => {},
    );
  }

  #serially<T>(step: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(step, step);
    this.#queue = result.catch(() => {});
    return result;
  }
}

/** SQLSTATEs of named statements lost or mixed up by a transaction-mode pooler. */
const POOLER_STATES: Readonly<Record<string, string>> = {
  "42P05": "prepared statement already exists",
  "26000": "prepared statement does not exist",
  "08P01": "protocol violation",
};

/**
 * A prepared statement of q that failed the way named statements do behind
 * a transaction-mode pooler (each statement may land on another server
 * connection), as `POOLER_DETECTED` with `advice` (what to set); `undefined`
 * for any other error.
 */
export function poolerError(
  driverName: string,
  error: unknown,
  advice: string,
): QError | undefined {
  const state = sqlState(error);
  const what = state === undefined ? undefined : POOLER_STATES[state];
  if (what === undefined) return undefined;
  return new QError(
    "POOLER_DETECTED",
    `${driverName}: a prepared statement of q failed with SQLSTATE ${state} (${what}), as named statements do behind a transaction-mode pooler (PgBouncer, Supavisor, RDS Proxy): ${advice}`,
    { cause: error, details: { sqlState: state } },
  );
}
