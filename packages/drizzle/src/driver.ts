import { type Driver, type Executor, QError } from "@q/core";
import { clientDriver } from "./client.js";
import { drizzleExecutor, translateError } from "./query.js";
import type { DrizzleDatabase, DrizzleExecutor } from "./types.js";

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
  const kind = native === null ? "null" : typeof native;
  return new QError(
    "INVALID_HANDLE",
    `@q/drizzle expects the tx passed to db.transaction(), or a Drizzle database; got ${kind}`,
  );
}

/**
 * A q driver over a Drizzle PostgreSQL database (`drizzle-orm/node-postgres`
 * or `drizzle-orm/postgres-js`).
 *
 * - Statements outside your transactions, `transaction` and `listen` run
 *   straight on `db.$client` through `@q/pg` (a `Pool`) or `@q/postgres`
 *   (a postgres.js `sql`), bypassing Drizzle's query builder and logger.
 *   Any other client: through `db.execute` and `db.transaction`, without LISTEN
 *   (workers poll).
 * - `executorFor(tx)` accepts the `tx` that `db.transaction()` passes to its
 *   callback: q's statements go through `tx.execute`, on that transaction's
 *   connection, with every value bound as a parameter. The client's own handle
 *   (a `PoolClient` after BEGIN, a postgres.js `TransactionSql`) works as well.
 *
 * @example
 * const db = drizzle({ client: new pg.Pool({ connectionString: process.env.DATABASE_URL }) });
 * const driver = createDrizzleDriver(db);
 */
export function createDrizzleDriver(db: DrizzleDatabase): Driver & { close(): Promise<void> } {
  if (!isDrizzle(db)) throw notAHandle(db);
  const base = clientDriver(db.$client);
  const own = drizzleExecutor(db);

  const driver: Driver & { close(): Promise<void> } = {
    name: "drizzle",
    query: base ? base.query.bind(base) : own.query,
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
      if (isDrizzle(native)) return drizzleExecutor(native);
      if (base) return base.executorFor(native);
      throw notAHandle(native);
    },
    async close() {
      await base?.close?.();
    },
  };
  if (base?.listen) driver.listen = base.listen.bind(base);
  return driver;
}
