import {
  assertInTransaction,
  type Driver,
  type Executor,
  notAHandle as notAHandleOf,
  notInTransaction,
  QError,
  transactionStatusProblem,
} from "@q/core";
import { sql } from "drizzle-orm";
import { clientDriver } from "./client.js";
import { drizzleExecutor, translateError } from "./query.js";
import type { DrizzleDatabase, DrizzleExecutor, DrizzleTransaction } from "./types.js";

/** Options of {@link createDrizzleDriver}. */
export interface DrizzleDriverOptions {
  /**
   * Open a control connection through the client's own driver (`@q/pg` or
   * `@q/postgres`): one connection of q's own, apart from the pool, for the
   * statements that keep workers alive (heartbeats). Default `true`; `false`:
   * heartbeats run on the pool. Other clients have none.
   */
  control?: boolean;
  /** `statement_timeout` of the control connection, in ms (default 10 000). */
  controlTimeout?: number;
  /**
   * Run q's statements as prepared statements, as the client's own driver
   * does (default `true`). Set `false` behind a transaction-mode pooler such
   * as PgBouncer. q's statements inside your `tx` go through `tx.execute`,
   * where Drizzle decides.
   */
  prepare?: boolean;
  /**
   * Where the LISTEN connection goes: a connection string (a direct
   * connection when the pool goes through PgBouncer), or `false` to poll
   * instead, as the `listen` option of `@q/pg` and `@q/postgres`. Over
   * node-postgres a client config works too. The control connection follows
   * it.
   */
  listen?: string | Record<string, unknown> | false;
}

/** Reads one property of an object or function without trusting its type. */
const prop = (value: unknown, key: string): unknown =>
  (value as Record<string, unknown> | null | undefined)?.[key];

function isDrizzle(value: unknown): value is DrizzleExecutor {
  const v = value as Partial<DrizzleDatabase> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.execute === "function" &&
    typeof v.transaction === "function"
  );
}

function notAHandle(native: unknown): QError {
  return notAHandleOf(
    "@q/drizzle",
    "the tx passed to db.transaction(), or a Drizzle database",
    native,
  );
}

/**
 * A q driver over a Drizzle PostgreSQL database (`drizzle-orm/node-postgres`
 * or `drizzle-orm/postgres-js`).
 *
 * - Statements outside your transactions, `transaction`, `listen` and
 *   `control` run straight on `db.$client` through `@q/pg` (a `Pool`) or
 *   `@q/postgres` (a postgres.js `sql`), bypassing Drizzle's query builder and
 *   logger. Any other client: through `db.execute` and `db.transaction`,
 *   without LISTEN (workers poll) and without a control connection.
 * - `executorFor(tx)` accepts the `tx` that `db.transaction()` passes to its
 *   callback: q's statements go through `tx.execute`, on that transaction's
 *   connection, with every value bound as a parameter, once the transaction is
 *   known to be still open. The client's own handle (a `PoolClient` after
 *   BEGIN, a postgres.js `TransactionSql`) works as well.
 *
 * @example
 * const db = drizzle({ client: new pg.Pool({ connectionString: process.env.DATABASE_URL }) });
 * const driver = createDrizzleDriver(db);
 */
export function createDrizzleDriver(
  db: DrizzleDatabase,
  options: DrizzleDriverOptions = {},
): Driver<DrizzleTransaction> & { close(): Promise<void> } {
  if (!isDrizzle(db)) throw notAHandle(db);
  const base = clientDriver(db.$client, options);
  const own = drizzleExecutor(db);

  /**
   * The check that a Drizzle transaction is still open, from the client under
   * it (`tx.session.client`; guarded, as it is Drizzle's internals). Drizzle
   * lets a `tx` run after `db.transaction` returned: on node-postgres its
   * client is then back in the pool, on postgres.js it runs outside any
   * transaction.
   */
  const openCheck = (tx: DrizzleExecutor): (() => Promise<void>) | undefined => {
    // A database, not a transaction: its statements commit on their own, as asked.
    if (typeof prop(tx, "rollback") !== "function") return undefined;
    const client = prop(prop(tx, "session"), "client");
    if (typeof client === "object" && client !== null) {
      // node-postgres: the client knows, so check before every statement (and
      // @q/pg also refuses a client back in its pool's idle list).
      return async () => {
        if (base?.name === "pg") {
          base.executorFor(client);
          return;
        }
        const problem = transactionStatusProblem(client);
        if (problem) throw notInTransaction("@q/drizzle", problem);
      };
    }
    if (typeof client === "function" && typeof prop(client, "unsafe") === "function") {
      // postgres.js cannot tell: one round trip, before the first statement.
      let checked: Promise<void> | undefined;
      return () => {
        checked ??= assertInTransaction("@q/drizzle", async (check) => {
          try {
            await tx.execute(sql.raw(check));
          } catch (error) {
            throw translateError(error);
          }
        });
        return checked;
      };
    }
    return undefined;
  };

  if (options.prepare !== undefined && typeof options.prepare !== "boolean") {
    throw new QError("INVALID_OPTION", "prepare must be true or false", {
      details: { option: "prepare", value: options.prepare },
    });
  }
  const driver: Driver<DrizzleTransaction> & { close(): Promise<void> } = {
    name: "drizzle",
    query: base ? base.query.bind(base) : own.query,
    ...(base?.control ? { control: base.control } : {}),
    async transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
      if (base) return base.transaction(fn);
      try {
        return await db.transaction((tx) => fn(drizzleExecutor(tx)));
      } catch (error) {
        throw translateError(error);
      }
    },
    executorFor(native: unknown): Executor {
      if (native === db) return base ?? own;
      if (isDrizzle(native)) return drizzleExecutor(native, openCheck(native));
      if (base) return base.executorFor(native);
      throw notAHandle(native);
    },
    async close() {
      await base?.close?.();
    },
  };
  if (base?.listen && options.listen !== false) driver.listen = base.listen.bind(base);
  return driver;
}
