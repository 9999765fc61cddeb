import { finished } from "node:stream/promises";
import {
  assertInTransaction,
  controlTimeoutOption,
  type Driver,
  type Executor,
  poolerError,
  QError,
  type Row,
} from "@q/core";
import type { ReservedSql, Sql, TransactionSql } from "postgres";
import { type ParsedOptions, parsedOptions, postgresControl } from "./control.js";
import {
  type CopyQuery,
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
   * connection). Default `true`. A `postgres(url, { prepare: false })`
   * instance is never prepared, whatever this says.
   *
   * `false` over an `sql` that prepares is refused with `INVALID_OPTION`: it
   * means `sql` goes through a transaction-mode pooler, where that `sql`'s
   * own `sql.begin` sends COMMIT as a prepared statement and can lose the
   * transaction without an error. Make the `sql` with `prepare: false`.
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
   * Where LISTEN goes. By default through `sql.listen`. Behind a
   * transaction-mode pooler (PgBouncer, Supavisor, RDS Proxy) a LISTEN through
   * `sql` hears nothing: pass a connection string, or a postgres.js `sql` of
   * your own, that reaches PostgreSQL directly. The control connection then
   * goes there too. `false`: no LISTEN, workers find new jobs by polling.
   *
   * A separate target says `sql` goes through a transaction-mode pooler, so
   * an `sql` that prepares its statements (postgres.js's default) is refused
   * with `INVALID_OPTION`: its `sql.begin` sends COMMIT as a prepared
   * statement, which behind such a pooler can end as a ROLLBACK without an
   * error. Make it with `postgres(url, { prepare: false })`.
   */
  // biome-ignore lint/suspicious/noExplicitAny: any column types of the caller's other sql
  listen?: string | Sql<any> | false;
  /**
   * `statement_timeout` of the control connection, in ms (default 10 000).
   * The client gives up one second later; either way the connection is
   * discarded and the next statement opens a new one.
   */
  controlTimeout?: number;
  /**
   * Let core write large batches of `enqueueMany` through `COPY … FROM STDIN`
   * (`Executor.copyFrom`) on transactions and reserved connections. Default
   * `false`: postgres.js sends a COPY's rows and its end in two TCP writes,
   * and on a socket with Nagle's algorithm on (postgres.js's own) the second
   * waits for the server's delayed ACK, about 40 ms on Linux per COPY: more
   * than COPY saves. Set `true` when the sockets of `sql` disable it (a
   * `socket` option of yours that connects with `noDelay: true`).
   */
  copy?: boolean;
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
  if (options.copy !== undefined && typeof options.copy !== "boolean") {
    throw new QError("INVALID_OPTION", "copy must be true or false", {
      details: { option: "copy", value: options.copy },
    });
  }
  const copy = options.copy === true;
  const lowercaseKeys = typeof sql.options?.transform?.column?.from === "function";
  const controlTimeout = controlTimeoutOption(options.controlTimeout);
  const parsed = parsedOptions(sql);
  const target = listenTarget(options.listen);
  if (options.prepare === false && parsed !== undefined && parsed.prepare !== false) {
    throw new QError(
      "INVALID_OPTION",
      "prepare: false on the driver means sql goes through a transaction-mode pooler, where postgres.js " +
        "sends the COMMIT of sql.begin as a prepared statement and can lose the transaction without an " +
        "error: make the sql itself with postgres(url, { prepare: false })",
      { details: { option: "prepare" } },
    );
  }
  if (
    target !== undefined &&
    target !== false &&
    parsed !== undefined &&
    parsed.prepare !== false
  ) {
    throw new QError(
      "INVALID_OPTION",
      "a separate listen target means sql goes through a transaction-mode pooler, where postgres.js " +
        "sends the COMMIT of sql.begin as a prepared statement and can lose the transaction without an " +
        "error: make the sql with postgres(url, { prepare: false })",
      { details: { option: "listen" } },
    );
  }
  const own = target !== undefined && target !== false ? ownListenSql(target) : undefined;
  const controlOptions = own ? own.options : parsed;
  const control =
    options.control === false || controlOptions === undefined
      ? undefined
      : postgresControl(controlOptions, controlTimeout, queryOptions, lowercaseKeys);

  const run = async <R extends Row>(
    handle: UnsafeHandle,
    text: string,
    params: readonly unknown[],
  ) => {
    try {
      const result = await handle.unsafe(text, params as never[], queryOptions);
      return toRows<R>(result, lowercaseKeys);
    } catch (error) {
      const pooler =
        queryOptions.prepare && params.length > 0
          ? poolerError(
              "@q/postgres",
              error,
              "make the sql with postgres(url, { prepare: false }) and create the driver with createPostgresDriver(sql, { listen: <a direct connection string> })",
            )
          : undefined;
      throw pooler ?? translateError(error);
    }
  };

  /**
   * An executor on `handle`. `guard` runs before every statement and throws
   * when the handle may no longer be used; `before` runs once, before the
   * first. On one connection (a transaction, a reserved connection) it can
   * COPY: `withCopy`.
   */
  const executor = (
    handle: UnsafeHandle,
    { guard, before, withCopy = false }: ExecutorChecks = {},
  ): Executor => {
    let checked: Promise<void> | undefined;
    const ready = async () => {
      guard?.();
      if (before) {
        checked ??= before();
        await checked;
      }
    };
    const out: Executor = {
      async query<R extends Row = Row>(text: string, params: readonly unknown[] = []) {
        await ready();
        return run<R>(handle, text, params);
      },
    };
    if (withCopy) {
      out.copyFrom = async (text: string, data: string) => {
        await ready();
        await copyFrom(handle, text, data);
      };
    }
    return out;
  };

  const pool = executor(sql);
  const listener =
    target === false
      ? undefined
      : new PostgresListener(own ? own.handle : (sql as unknown as ListenHandle));
  const driver: Driver<PostgresTransaction<T>> & { close(): Promise<void> } = {
    name: "postgres",
    query: pool.query,
    ...(control ? { control } : {}),
    async transaction<R>(fn: (tx: Executor) => Promise<R>): Promise<R> {
      try {
        return (await sql.begin((tx) => {
          let open = true;
          const guarded = executor(tx as unknown as UnsafeHandle, {
            guard: () => {
              if (!open) {
                throw new QError(
                  "INVALID_HANDLE",
                  "this transaction has already committed or rolled back",
                );
              }
            },
            withCopy: copy,
          });
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
      return executor(native, {
        before: () => assertInTransaction("@q/postgres", (check) => run(native, check, [])),
        withCopy: copy,
      });
    },
    async close() {
      await control?.close();
      await own?.close();
    },
  };
  if (listener) driver.listen = (channel, handlers) => listener.listen(channel, handlers);
  return driver;
}

/**
 * Runs `COPY … FROM STDIN` on `handle` with `data` as its input, through the
 * query's own Writable; resolves once the server has taken every row.
 *
 * When the server refuses the rows after the stream has ended (it reads them
 * as they come), postgres.js (3.4) neither ends nor fails the stream: the
 * error goes to the query's `reject` alone, a no-op once the query resolved
 * with its stream, and awaiting the stream would wait forever (inside
 * `sql.begin`, without the ROLLBACK). So the query's `reject` is listened to
 * as well.
 */
async function copyFrom(handle: UnsafeHandle, text: string, data: string): Promise<void> {
  try {
    const query = handle.unsafe(text) as unknown as CopyQuery;
    const refused = new Promise<never>((_, fail) => {
      const reject = query.reject;
      query.reject = (error: unknown) => {
        fail(error);
        reject?.call(query, error);
      };
    });
    // Awaited below only while the COPY runs; a later call is the query's own business.
    refused.catch(() => {});
    const stream = await Promise.race([query.writable(), refused]);
    stream.end(data);
    await Promise.race([finished(stream), refused]);
  } catch (error) {
    throw translateError(error);
  }
}

/** What an executor of this driver checks before its statements. */
interface ExecutorChecks {
  guard?: () => void;
  before?: () => Promise<void>;
  withCopy?: boolean;
}

/** `listen` checked: a connection string, a postgres.js `sql`, `false`, or absent. */
function listenTarget(value: unknown): string | ListenHandle | false | undefined {
  if (value === undefined || value === false) return value;
  if (typeof value === "string" && value.length > 0) return value;
  if (isUnsafeHandle(value) && typeof (value as { listen?: unknown }).listen === "function") {
    return value as unknown as ListenHandle;
  }
  throw new QError(
    "INVALID_OPTION",
    "listen must be a connection string, a postgres.js sql, or false",
    { details: { option: "listen" } },
  );
}

/** The LISTEN side of a separate target: the caller's own `sql` as it is, or one made from a URL (ended by close). */
function ownListenSql(target: string | ListenHandle): {
  handle: ListenHandle;
  options: ParsedOptions | (() => Promise<ParsedOptions | undefined>) | undefined;
  close(): Promise<void>;
} {
  if (typeof target !== "string") {
    return { handle: target, options: parsedOptions(target), close: async () => {} };
  }
  type Made = ListenHandle & { end(options?: { timeout?: number }): Promise<void> };
  let made: Promise<Made> | undefined;
  // Made on first use: `postgres` is the caller's own dependency, loaded only when needed.
  const instance = () => {
    made ??= import("postgres").then(
      ({ default: postgres }) =>
        postgres(target, {
          max: 1,
          onnotice: () => {},
          connection: { application_name: "q-listener" },
        }) as unknown as Made,
    );
    return made;
  };
  return {
    handle: {
      listen: async (channel, onNotify, onListen) =>
        (await instance()).listen(channel, onNotify, onListen),
    },
    options: async () => parsedOptions(await instance()),
    async close() {
      if (made) await (await made).end({ timeout: 5 }).catch(() => {});
    },
  };
}
