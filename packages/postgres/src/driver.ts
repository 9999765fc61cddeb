import type { Driver, Executor, Row } from "@q/core";
import type { Sql } from "postgres";
import { isUnsafeHandle, notAHandle, translateError, type UnsafeHandle } from "./handle.js";
import { type ListenHandle, PostgresListener } from "./listen.js";
import { toRows } from "./rows.js";

/** Options of {@link createPostgresDriver}. */
export interface PostgresDriverOptions {
  /**
   * Run q's statements as named prepared statements (parsed once per
   * connection). Default `true`. Set `false` behind a transaction-mode pooler
   * such as PgBouncer, where a prepared statement may not exist on the next
   * server connection. A `postgres(url, { prepare: false })` instance is
   * never prepared, whatever this says.
   */
  prepare?: boolean;
}

/**
 * A q driver over a postgres.js `sql` instance.
 *
 * - `query` runs on the pool of `sql`; `transaction` uses `sql.begin`.
 * - `executorFor(tx)` accepts the `TransactionSql` that `sql.begin` passes to
 *   its callback, a `ReservedSql` from `sql.reserve()`, or an `sql` itself.
 * - `listen` uses `sql.listen` (one dedicated connection, re-listens after a
 *   reconnect and then tells core to catch up).
 *
 * `close()` is absent: the driver never ends the caller's `sql`.
 *
 * @example
 * const sql = postgres(process.env.DATABASE_URL!);
 * const driver = createPostgresDriver(sql);
 */
export function createPostgresDriver<T extends Record<string, unknown>>(
  sql: Sql<T>,
  options: PostgresDriverOptions = {},
): Driver {
  if (!isUnsafeHandle(sql)) throw notAHandle(sql);
  const queryOptions = { prepare: options.prepare ?? true };
  const lowercaseKeys = typeof sql.options?.transform?.column?.from === "function";

  const executor = (handle: UnsafeHandle): Executor => ({
    async query<R extends Row = Row>(text: string, params: readonly unknown[] = []) {
      try {
        const result = await handle.unsafe(text, params as never[], queryOptions);
        return toRows<R>(result, lowercaseKeys);
      } catch (error) {
        throw translateError(error);
      }
    },
  });

  const pool = executor(sql);
  const listener = new PostgresListener(sql as unknown as ListenHandle);
  return {
    name: "postgres",
    query: pool.query,
    async transaction<R>(fn: (tx: Executor) => Promise<R>): Promise<R> {
      try {
        return (await sql.begin((tx) => fn(executor(tx as unknown as UnsafeHandle)))) as R;
      } catch (error) {
        throw translateError(error);
      }
    },
    executorFor(native: unknown): Executor {
      if (native === sql) return pool;
      if (!isUnsafeHandle(native)) throw notAHandle(native);
      return executor(native);
    },
    listen: (channel, handlers) => listener.listen(channel, handlers),
  };
}
