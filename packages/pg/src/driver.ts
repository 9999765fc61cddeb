import {
  controlTimeoutOption,
  type Driver,
  type Executor,
  notAHandle,
  notInTransaction,
  QError,
  transactionStatusProblem,
} from "@q/core";
import type { Client, ClientConfig, Pool, PoolClient } from "pg";
import { pgControl } from "./control.js";
import { asHandleError, executorOver, isPool, isQueryable, type Queryable } from "./executor.js";
import { PgListener } from "./listener.js";

/** Options of {@link createPgDriver}. */
export interface PgDriverOptions {
  /**
   * Where the LISTEN connection goes. By default it is opened with the pool's
   * own options. Pass a connection string or client config to point it
   * elsewhere (a direct connection when the pool goes through a
   * transaction-mode PgBouncer), or `false` to not LISTEN at all: workers then
   * find new jobs by polling.
   */
  listen?: string | ClientConfig | false | undefined;
  /**
   * Run q's statements as named prepared statements, planned once per
   * connection. Default `true`; set `false` behind a transaction-mode pooler
   * (PgBouncer before 1.21) that cannot keep prepared statements.
   */
  prepare?: boolean;
  /**
   * Where the control connection goes: one connection of q's own, apart from
   * the pool, for the statements that keep workers alive (heartbeats), so
   * that they never wait behind the application's queries on a busy pool. By
   * default it goes where `listen` points when that is a connection string or
   * config, else it is opened with the pool's own options. Pass a connection
   * string or client config to point it elsewhere (a direct connection when
   * the pool goes through a transaction-mode PgBouncer), or `false` for none:
   * heartbeats then run on the pool.
   */
  control?: string | ClientConfig | false | undefined;
  /**
   * `statement_timeout` of the control connection, in ms (default 10 000).
   * The client gives up one second later; either way the connection is
   * discarded and the next statement opens a new one.
   */
  controlTimeout?: number;
}

/** The pg `Pool` keeps the `Client` class it makes connections with (the user's own pg copy). */
type PoolInternals = Pool & { Client?: new (config: ClientConfig) => Client };

/**
 * A q driver over a node-postgres `Pool`.
 *
 * - `query` runs on the pool; `transaction` checks out one client for BEGIN … COMMIT.
 * - `executorFor(client)` joins the caller's transaction: pass the `PoolClient`
 *   (or `Client`) on which you ran BEGIN.
 * - `listen` uses one dedicated connection for all channels, reconnecting by itself.
 * - `control` is one more connection of its own, for heartbeats.
 * - `close` ends those two connections only; the pool stays yours to end.
 *
 * @example
 * const driver = createPgDriver(new pg.Pool({ connectionString: process.env.DATABASE_URL }));
 */
/**
 * What a queue over this driver takes as `{ tx }`: a client checked out of
 * the pool (or a `Client` of your own) inside `BEGIN`.
 */
export type PgTransaction = PoolClient | Client;

export function createPgDriver(
  pool: Pool,
  options: PgDriverOptions = {},
): Driver<PgTransaction> & { close(): Promise<void> } {
  if (!isQueryable(pool) || typeof pool.connect !== "function") {
    throw new QError("INVALID_HANDLE", "createPgDriver needs a node-postgres Pool");
  }
  const target = options.listen;
  const prepare = options.prepare ?? true;
  const controlTimeout = controlTimeoutOption(options.controlTimeout);
  const listener =
    target === false ? undefined : new PgListener(() => ownClient(pool, target, "q-listener"));
  // A LISTEN connection pointed elsewhere says the pool cannot keep sessions
  // (a transaction-mode pooler): the control connection, which sets one, follows it.
  const controlTarget = options.control ?? (target === false ? undefined : target);
  const control =
    controlTarget === false
      ? undefined
      : pgControl(() => ownClient(pool, controlTarget, "q-control"), controlTimeout, prepare);

  const driver: Driver<PgTransaction> & { close(): Promise<void> } = {
    name: "pg",
    ...(control ? { control } : {}),

    query: executorOver(pool, prepare).query,

    async transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
      const client = await pool.connect().catch((error: unknown) => {
        throw asHandleError(error);
      });
      let open = true;
      let broken: Error | undefined;
      // A checked-out client has no error listener: without one, a connection
      // lost mid-transaction would crash the process with an 'error' event.
      const onError = (error: Error) => {
        broken ??= error;
      };
      client.on("error", onError);
      try {
        await client.query("BEGIN");
        const result = await fn(
          executorOver(client, prepare, () => {
            if (!open) {
              throw new QError(
                "INVALID_HANDLE",
                "this transaction has already committed or rolled back",
              );
            }
          }),
        );
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch((rollbackError: Error) => {
          broken ??= rollbackError;
        });
        throw error;
      } finally {
        open = false;
        client.off("error", onError);
        // A client whose connection failed is in an unknown state: destroy it, don't reuse it.
        client.release(broken);
      }
    },

    executorFor(native) {
      if (!isQueryable(native)) {
        throw notAHandle(
          "@q/pg",
          "the node-postgres PoolClient or Client on which you ran BEGIN",
          native,
        );
      }
      if (isPool(native)) {
        throw new QError(
          "INVALID_HANDLE",
          "a Pool is not a transaction: pass the client from pool.connect() after BEGIN, or omit tx",
        );
      }
      // Checked now and before every statement: the caller may release or commit in between.
      const guard = () => checkInTransaction(pool, native);
      guard();
      return executorOver(native, prepare, guard);
    },

    async close() {
      await Promise.all([listener?.close(), control?.close()]);
    },
  };
  if (listener) driver.listen = (channel, handlers) => listener.listen(channel, handlers);
  return driver;
}

/**
 * Refuses a client that is not inside an open transaction: one back in the
 * pool's idle list (released: the next borrower's transaction would decide
 * the fate of q's rows), or one whose own status is idle (no BEGIN, or the
 * transaction already ended: q's rows would commit on their own) or failed.
 */
function checkInTransaction(pool: Pool, client: Queryable): void {
  const idle = (pool as { _idle?: unknown })._idle;
  if (
    Array.isArray(idle) &&
    idle.some((item) => (item as { client?: unknown })?.client === client)
  ) {
    throw notInTransaction("@q/pg", "released");
  }
  const problem = transactionStatusProblem(client);
  if (problem) throw notInTransaction("@q/pg", problem);
}

/**
 * A fresh `Client` of q's own (LISTEN, control), made with the pool's own
 * class and options unless told otherwise.
 */
function ownClient(
  pool: PoolInternals,
  target: string | ClientConfig | undefined,
  applicationName: string,
): Client {
  const config: ClientConfig =
    typeof target === "string" ? { connectionString: target } : (target ?? pool.options);
  const ClientClass = pool.Client;
  if (!ClientClass) {
    throw new QError("INVALID_HANDLE", "this Pool does not expose its Client class");
  }
  // TCP keepalive: an idle connection is what NATs and proxies drop silently.
  return new ClientClass({ application_name: applicationName, keepAlive: true, ...config });
}
