import type { Driver, Executor, Row } from "@q/core";
import type { Kysely, Transaction } from "kysely";
import { isKyselyHandle, type KyselyHandle, notAHandle, run, translateError } from "./handle.js";
import { checkListener, type KyselyListener } from "./listener.js";

/** Options of {@link createKyselyDriver}. */
export interface KyselyDriverOptions {
  /**
   * A companion q driver over the same database, such as
   * `createPgDriver(pool)` (`@q/pg`) or `createPostgresDriver(sql)`
   * (`@q/postgres`), for what Kysely cannot do: LISTEN, and a control
   * connection of its own for heartbeats. Without it, workers find new jobs by
   * polling (`pollInterval`) instead of within milliseconds, and heartbeats
   * run on Kysely's pool, where a busy application can delay them.
   */
  listener?: KyselyListener;
}

/**
 * A q driver over a Kysely instance (any PostgreSQL dialect).
 *
 * q's statements run through `withoutPlugins()`, so plugins such as
 * `CamelCasePlugin` never rewrite them or their rows.
 *
 * - `transaction` uses `db.transaction().execute(...)`.
 * - `executorFor(trx)` accepts the `Transaction` of `db.transaction().execute`
 *   (or a `ControlledTransaction`, or a Kysely instance).
 * - `listen` and `control` come from `options.listener` (the companion
 *   driver) when it is given and has them; without it, none.
 *
 * @example
 * const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }), plugins: [new CamelCasePlugin()] });
 * const driver = createKyselyDriver(db, { listener: createPgDriver(pool) });
 */
export function createKyselyDriver<DB>(
  db: Kysely<DB>,
  options: KyselyDriverOptions = {},
): Driver<Transaction<DB>> & { close(): Promise<void> } {
  if (!isKyselyHandle(db)) throw notAHandle(db);
  const listener = checkListener(options.listener);
  const plain = db.withoutPlugins();

  const executor = (handle: KyselyHandle): Executor => ({
    query: <R extends Row = Row>(text: string, params?: readonly unknown[]) =>
      run<R>(handle, text, params),
  });
  const pool = executor(plain);

  const driver: Driver<Transaction<DB>> & { close(): Promise<void> } = {
    name: "kysely",
    query: pool.query,
    ...(listener?.control ? { control: listener.control } : {}),
    async transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
      try {
        return await plain.transaction().execute((trx) => fn(executor(trx)));
      } catch (error) {
        throw translateError(error);
      }
    },
    executorFor(native: unknown): Executor {
      if (native === db) return pool;
      if (!isKyselyHandle(native)) throw notAHandle(native);
      return executor(native.withoutPlugins());
    },
    async close() {
      await listener?.close?.();
    },
  };
  const listen = listener?.listen;
  if (listen) driver.listen = (channel, handlers) => listen.call(listener, channel, handlers);
  return driver;
}
