import type { MakeHarness } from "@q/core/testing";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import { drizzle as drizzlePostgresJs } from "drizzle-orm/postgres-js";
import pg from "pg";
import postgres from "postgres";
import { createDrizzleDriver, type DrizzleDatabase } from "../src/index.js";

/** A Drizzle database over a client the harness opened, and how to end that client. */
interface Opened {
  db: DrizzleDatabase;
  end(): Promise<void>;
}

function harness(open: (databaseUrl: string) => Opened): MakeHarness {
  return async (databaseUrl) => {
    const { db, end } = open(databaseUrl);
    const driver = createDrizzleDriver(db);
    return {
      driver,
      listens: true,
      withNativeTransaction: (fn) => db.transaction((tx) => fn(tx)),
      async close() {
        await driver.close?.();
        await end();
      },
    };
  };
}

/** Drizzle over node-postgres (`drizzle-orm/node-postgres` on a `Pool`); transactions via `db.transaction`. */
export const makeDrizzlePgHarness: MakeHarness = harness((databaseUrl) => {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
  return { db: drizzlePg({ client: pool }), end: () => pool.end() };
});

/** Drizzle over postgres.js (`drizzle-orm/postgres-js`); transactions via `db.transaction`. */
export const makeDrizzlePostgresJsHarness: MakeHarness = harness((databaseUrl) => {
  const sql = postgres(databaseUrl, { max: 10, onnotice: () => {} });
  return { db: drizzlePostgresJs({ client: sql }), end: () => sql.end({ timeout: 5 }) };
});
