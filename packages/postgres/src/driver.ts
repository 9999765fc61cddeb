import {
  assertInTransaction,
  controlTimeoutOption,
  type Driver,
  type Executor,
  QError,
  type Row,
} from "@q/core";
import type { ReservedSql, Sql, TransactionSql } from "postgres";
import { parsedOptions, postgresControl } from "./control.js";
import {
  isRootSql,
  isUnsafeHandle,
  notAHandle,
  translateError,
  type UnsafeHandle,
} from "./handle.js";
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
  /**
   * Open a control connection: one connection of q's own (a postgres.js
   * instance with `max: 1`, made from the options of `sql`), apart from the
   * pool, for the statements that keep workers alive (heartbeats), so that
   * they never wait behind the application's queries on a busy pool. Default
   * `true`; `false`: heartbeats run on the pool of `sql`.
   */
  control?: boolean;
  /**
   * `statement_timeout` of the control connection, in ms (default 10 000).
   * The client gives up one second later; either way the connection is
   * discarded and the next statement opens a new one.
   */
  controlTimeout?: number;
}

/**
 * A q driver over a postgres.js `sql` instance.
 *
 * - `query` runs on the pool of `sql`; `transaction` uses `sql.begin`.
 * - `executorFor(tx)` accepts the `TransactionSql` that `sql.begin` passes to
 *   its callback, a `ReservedSql` from `sql.reserve()` inside `BEGIN`, or an
 *   `sql` itself. A transaction handle is checked to be inside an open
 *   transaction before q's first statement on it.
 * - `listen` uses `sql.listen` (one dedicated connection, re-listens after a
 *   reconnect and then tells core to catch up).
 * - `control` is a connection of its own, for heartbeats.
 * - `close()` ends the control connection; it never ends the caller's `sql`.
 *
 * @example
 * const sql = postgres(process.env.DATABASE_URL!);
 * const driver = createPostgresDriver(sql);
 */
/**
 * What a queue over this driver takes as `{ tx }`: the `tx` of
 * `sql.begin(async (tx) => …)`, or a reserved connection inside `BEGIN`.
 */
// biome-ignore lint/suspicious/noExplicitAny: any column types of the caller's sql
export type PostgresTransaction<T extends Record<string, unknown> = any> =
  | TransactionSql<T>
  | ReservedSql<T>;

export function createPostgresDriver<T extends Record<string, unknown>>(
  sql: Sql<T>,
  options: PostgresDriverOptions = {},
): Driver<PostgresTransaction<T>> & { close(): Promise<void> } {
  if (!isUnsafeHandle(sql)) throw notAHandle(sql);
  const queryOptions = { prepare: options.prepare ?? true };
  const lowercaseKeys = typeof sql.options?.transform?.column?.from === "function";
  const controlTimeout = controlTimeoutOption(options.controlTimeout);
  const parsed = parsedOptions(sql);
  const control =
    options.control === false || parsed === undefined
      ? undefined
      : postgresControl(parsed, controlTimeout, queryOptions, lowercaseKeys);

  const run = async <R extends Row>(
    handle: UnsafeHandle,
    text: string,
    params: readonly unknown[],
  ) => {
    try {
      const result = await handle.unsafe(text, params as never[], queryOptions);
      return toRows<R>(result, lowercaseKeys);
    } catch (error) {
      throw translateError(error);
    }
  };

  /** An executor on `handle`; `before` runs once, before its first statement. */
  const executor = (handle: UnsafeHandle, before?: () => Promise<void>): Executor => {
    let checked: Promise<void> | undefined;
    return {
      async query<R extends Row = Row>(text: string, params: readonly unknown[] = []) {
        if (before) {
          checked ??= before();
          await checked;
        }
        return run<R>(handle, text, params);
      },
    };
  };

  const pool = executor(sql);
  const listener = new PostgresListener(sql as unknown as ListenHandle);
  return {
    name: "postgres",
    query: pool.query,
    ...(control ? { control } : {}),
    async transaction<R>(fn: (tx: Executor) => Promise<R>): Promise<R> {
      try {
        return (await sql.begin((tx) => {
          let open = true;
          const inner = executor(tx as unknown as UnsafeHandle);
          const guarded: Executor = {
            async query<Q extends Row = Row>(text: string, params?: readonly unknown[]) {
              if (!open) {
                throw new QError(
                  "INVALID_HANDLE",
                  "this transaction has already committed or rolled back",
                );
              }
              return inner.query<Q>(text, params);
            },
          };
          return fn(guarded).finally(() => {
            open = false;
          });
        })) as R;
      } catch (error) {
        throw translateError(error);
      }
    },
    executorFor(native: unknown): Executor {
      if (native === sql) return pool;
      if (!isUnsafeHandle(native)) throw notAHandle(native);
      // Another root `sql` is a pool, like `sql` itself: its statements commit on their own.
      if (isRootSql(native)) return executor(native);
      // postgres.js lets a TransactionSql run after its sql.begin returned (and a
      // ReservedSql after release()), outside any transaction: check first.
      return executor(native, () =>
        assertInTransaction("@q/postgres", (check) => run(native, check, [])),
      );
    },
    listen: (channel, handlers) => listener.listen(channel, handlers),
    async close() {
      await control?.close();
    },
  };
}
