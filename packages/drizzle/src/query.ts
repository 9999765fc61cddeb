import { closedHandleError, type Executor, type Row } from "@q/core";
import { type SQL, sql } from "drizzle-orm";
import type { DrizzleExecutor } from "./types.js";

/**
 * q's SQL (`$1`, `$2`, … placeholders) as a Drizzle `SQL` object with every
 * value bound as a parameter: the text is split on its placeholders and handed
 * to Drizzle's own `sql` tag, as if written as a template literal. Drizzle
 * renumbers the placeholders in order of appearance; a placeholder that occurs
 * twice is bound twice. A statement without parameters goes as it is.
 */
export function toSql(text: string, params: readonly unknown[]): SQL {
  if (params.length === 0) return sql.raw(text);
  const parts = text.split(/\$(\d+)/);
  const strings: string[] = [];
  const values: unknown[] = [];
  parts.forEach((part, i) => {
    if (i % 2 === 0) strings.push(part);
    else values.push(params[Number(part) - 1]);
  });
  return sql(Object.assign(strings, { raw: strings }), ...values);
}

/** Rows from what `execute` resolved to: `{ rows }` over node-postgres, an array over postgres.js. */
export function toRows<R>(result: unknown): R[] {
  if (Array.isArray(result)) return Array.from(result) as R[];
  const rows = (result as { rows?: unknown } | null)?.rows;
  return Array.isArray(rows) ? (rows as R[]) : [];
}

/** How the clients under Drizzle say that they were closed. */
const CLOSED = {
  messages: [
    "Cannot use a pool after calling end on the pool",
    "Client was closed and is not queryable",
    "Client has encountered a connection error and is not queryable",
  ],
  codes: ["CONNECTION_ENDED", "CONNECTION_DESTROYED"],
};

/**
 * The client's own error instead of Drizzle's `DrizzleQueryError` wrapper (so
 * the SQLSTATE `code` stays on top, and the payload in `params` stays out of
 * messages), and `INVALID_HANDLE` for a closed pool.
 */
export function translateError(error: unknown): unknown {
  let e = error;
  if (e instanceof Error && "query" in e && "params" in e && e.cause !== undefined) e = e.cause;
  return closedHandleError("@q/drizzle", e, CLOSED);
}

/**
 * An executor that runs q's statements through Drizzle's `execute` on
 * `handle`'s connection. `before` runs before every statement and may refuse
 * it (`INVALID_HANDLE`).
 */
export function drizzleExecutor(handle: DrizzleExecutor, before?: () => Promise<void>): Executor {
  return {
    async query<R extends Row = Row>(text: string, params: readonly unknown[] = []) {
      await before?.();
      try {
        return toRows<R>(await handle.execute(toSql(text, params)));
      } catch (error) {
        throw translateError(error);
      }
    },
  };
}
