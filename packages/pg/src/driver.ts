import { type Driver, type Executor, QError } from "@q/core";
import type { Client, ClientConfig, Pool } from "pg";
import { asHandleError, executorOver, isPool, isQueryable } from "./executor.js";
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
  listen?: string | ClientConfig | false;
  /**
   * Run q's statements as named prepared statements, planned once per
   * connection. Default `true`; set `false` behind a transaction-mode pooler
   * (PgBouncer before 1.21) that cannot keep prepared statements.
   */
  prepare?: boolean;
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
 * - `close` ends that connection only; the pool stays yours to end.
 *
 * @example
 * const driver = createPgDriver(new pg.Pool({ connectionString: process.env.DATABASE_URL }));
 */
export function createPgDriver(pool: Pool, options: PgDriverOptions = {}): Driver {
  if (!isQueryable(pool) || typeof pool.connect !== "function") {
    throw new QError("INVALID_HANDLE", "createPgDriver needs a node-postgres Pool");
  }
  const target = options.listen;
  const prepare = options.prepare ?? true;
  const listener =
    target === false ? undefined : new PgListener(() => listenerClient(pool, target));

  const driver: Driver = {
    name: "pg",

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
        const result = await fn(executorOver(client, prepare, () => open));
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
        throw new QError(
          "INVALID_HANDLE",
          "pass the node-postgres PoolClient or Client on which you ran BEGIN",
        );
      }
      if (isPool(native)) {
        throw new QError(
          "INVALID_HANDLE",
          "a Pool is not a transaction: pass the client from pool.connect() after BEGIN, or omit tx",
        );
      }
      return executorOver(native, prepare);
    },

    async close() {
      await listener?.close();
    },
  };
  if (listener) driver.listen = (channel, handlers) => listener.listen(channel, handlers);
  return driver;
}

/** A fresh `Client` for LISTEN, made with the pool's own class and options unless told otherwise. */
function listenerClient(pool: PoolInternals, target: string | ClientConfig | undefined): Client {
  const config: ClientConfig =
    typeof target === "string" ? { connectionString: target } : (target ?? pool.options);
  const ClientClass = pool.Client;
  if (!ClientClass) {
    throw new QError("INVALID_HANDLE", "this Pool does not expose its Client class");
  }
  // TCP keepalive: an idle LISTEN connection is what NATs and proxies drop silently.
  return new ClientClass({ application_name: "q-listener", keepAlive: true, ...config });
}
