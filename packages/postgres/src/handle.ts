import type { Writable } from "node:stream";
import { closedHandleError, notAHandle as notAHandleOf, type QError } from "@q/core";

/**
 * The part of a postgres.js handle the driver calls. `sql`, the `TransactionSql`
 * of `sql.begin` and the `ReservedSql` of `sql.reserve()` all have it.
 */
export interface UnsafeHandle {
  unsafe(
    query: string,
    parameters?: never[],
    options?: { prepare?: boolean },
  ): PromiseLike<ArrayLike<unknown>>;
}

/**
 * What a postgres.js query of `COPY … FROM STDIN` is: a promise of the stream
 * to write the rows to, and its own `reject` (postgres.js's internals, used
 * to hear an error the stream is not told of).
 */
export interface CopyQuery {
  writable(): Promise<Writable>;
  reject?: (error: unknown) => void;
}

/** Whether `value` looks like a postgres.js `sql`, `TransactionSql` or `ReservedSql`. */
export function isUnsafeHandle(value: unknown): value is UnsafeHandle {
  return (
    typeof value === "function" && typeof (value as Partial<UnsafeHandle>).unsafe === "function"
  );
}

/**
 * Whether `handle` is a root `sql` (a pool: it can `begin`) rather than a
 * `TransactionSql` or `ReservedSql` (one connection).
 */
export function isRootSql(handle: UnsafeHandle): boolean {
  return typeof (handle as { begin?: unknown }).begin === "function";
}

/** Error codes postgres.js gives a query on a handle that was ended. */
const ENDED = { codes: ["CONNECTION_ENDED", "CONNECTION_DESTROYED"] };

/**
 * Turns "this `sql` was ended" into `INVALID_HANDLE`; every other error (SQL
 * errors with their SQLSTATE, network errors) passes through unchanged.
 */
export function translateError(error: unknown): unknown {
  return closedHandleError("@q/postgres", error, ENDED);
}

/** The error `executorFor` throws for something that is not a postgres.js handle. */
export function notAHandle(native: unknown): QError {
  return notAHandleOf(
    "@q/postgres",
    "a postgres.js sql, a TransactionSql from sql.begin or a ReservedSql from sql.reserve()",
    native,
  );
}
