/**
 * The contract between `@q/core` and a database client. A driver package turns
 * its client (a pg Pool, a postgres.js `sql`, a Drizzle or Kysely database)
 * into these shapes; core never imports a client itself.
 *
 * @module
 */

/** A row as a driver returns it: column name to value. */
export type Row = Record<string, unknown>;

/**
 * Runs one parameterised statement and returns its rows as plain objects.
 *
 * Core binds only strings, numbers, booleans and `null` (JSON travels as text
 * and is cast in SQL), so a driver need not care how its client encodes arrays
 * or objects. A driver must return `rows` whatever shape its client uses.
 */
export interface Executor {
  query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /**
   * Runs one `COPY … FROM STDIN` statement (`sql`, no parameters) with `data`
   * as its input: rows in COPY's text format, each one complete and ending in
   * `"\n"`. It runs on this executor's own connection, inside its transaction
   * when it is one, and resolves once the server has taken every row (rejects
   * with the server's error, its SQLSTATE kept, as `query` would).
   *
   * Optional, and offered only by executors bound to one connection (a
   * transaction, a caller's handle), never by a pool. Core uses it for large
   * batches of `enqueueMany` without keys: COPY fills the table with heap
   * multi-inserts and the server parses no JSON document of the whole batch
   * (only each row's payload and meta), about 1.4-1.5× the jobs per second of
   * the INSERT it otherwise sends. Absent, core sends that INSERT.
   */
  copyFrom?(sql: string, data: string): Promise<void>;
}

/** Callbacks of one LISTEN subscription. */
export interface ListenHandlers {
  /** A notification arrived on the channel. */
  onMessage(payload: string): void;
  /**
   * The listening connection was lost and is back. Notifications sent while it
   * was down are gone, so core polls once to catch up.
   */
  onReconnect?(): void;
  /** The listener failed in a way it reports but survives (logged by core). */
  onError?(error: unknown): void;
}

/** Ends a LISTEN subscription. */
export type Unlisten = () => Promise<void>;

/**
 * A driver: an executor over a pool, plus transactions, the caller's own
 * transaction handles, and (when the client can) LISTEN.
 */
export interface Driver<Tx = unknown> extends Executor {
  /** A short name for logs and errors, such as `"pg"`. */
  readonly name: string;
  /** Runs `fn` inside BEGIN … COMMIT on one connection; rolls back if it throws. */
  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T>;
  /**
   * Wraps a handle the caller already has (a transaction or a client checked
   * out of the pool) so that core's statements run on it and commit or roll
   * back with the caller's work. Throws `QError` with code `INVALID_HANDLE`
   * when `native` is not something this driver understands.
   */
  executorFor(native: unknown): Executor;
  /**
   * Subscribes to a channel on a dedicated connection that reconnects by itself.
   * Absent when the client cannot LISTEN; core then polls.
   */
  listen?(channel: string, handlers: ListenHandlers): Promise<Unlisten>;
  /**
   * An executor on a connection of the driver's own, apart from the user's
   * pool, for the statements that keep a worker alive (heartbeats) and check
   * notices: they must never queue behind the application's queries on a
   * busy pool. It connects on first use, sets a server-side
   * `statement_timeout` on its session, and after any failure or timeout
   * discards its connection and opens a new one on the next call. Absent:
   * those statements run on the pool.
   */
  readonly control?: Executor;
  /** Releases what the driver opened itself (never the caller's pool). */
  close?(): Promise<void>;
  /**
   * Type only, never set: the handle type `enqueue(…, { tx })` accepts with
   * this driver (a pg `PoolClient`, a postgres.js `TransactionSql`, …), so a
   * queue over it refuses other handles at compile time. `executorFor` still
   * checks at run time.
   */
  readonly "~tx"?: Tx;
}
