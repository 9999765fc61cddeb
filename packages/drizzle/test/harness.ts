import type { MakeHarness } from "@q/core/testing";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import { drizzle as drizzlePostgresJs } from "drizzle-orm/postgres-js";
import pg from "pg";
import postgres from "postgres";
import { createDrizzleDriver } from "../src/index.js";

/** Drizzle over node-postgres (`drizzle-orm/node-postgres` on a `Pool`); transactions via `db.transaction`. */
export const makeDrizzlePgHarness: MakeHarness = async (databaseUrl) => {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
  const db = drizzlePg({ client: pool });
  const driver = createDrizzleDriver(db);
  return {
    driver,
    listens: true,
    withNativeTransaction: (fn) => db.transaction((tx) => fn(tx)),
    async close() {
      await driver.close?.();
      await pool.end();
    },
  };
};

/** Drizzle over postgres.js (`drizzle-orm/postgres-js`); transactions via `db.transaction`. */
export const makeDrizzlePostgresJsHarness: MakeHarness = async (databaseUrl) => {
  const sql = postgres(databaseUrl, { max: 10, onnotice: () => {} });
  const db = drizzlePostgresJs({ client: sql });
  const driver = createDrizzleDriver(db);
  return {
    driver,
    listens: true,
    withNativeTransaction: (fn) => db.transaction((tx) => fn(tx)),
    async close() {
      await driver.close?.();
      await sql.end({ timeout: 5 });
    },
  };
};
