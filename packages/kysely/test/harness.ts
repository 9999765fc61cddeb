import type { MakeHarness } from "@q/core/testing";
import { createPgDriver } from "@q/pg";
import { createPostgresDriver } from "@q/postgres";
import { CamelCasePlugin, type Dialect, type Generated, Kysely, PostgresDialect } from "kysely";
import { PostgresJSDialect } from "kysely-postgres-js";
import pg from "pg";
import postgres from "postgres";
import type { KyselyListener } from "../src/index.js";
import { createKyselyDriver } from "../src/index.js";

/** A table the tests may touch; q itself needs no Kysely types. */
export interface TestDB {
  items: { id: Generated<string>; itemName: string };
}

interface Setup {
  dialect: Dialect;
  listener?: KyselyListener;
}

function harness(setup: (url: string) => Setup): MakeHarness {
  return async (databaseUrl) => {
    const { dialect, listener } = setup(databaseUrl);
    const db = new Kysely<TestDB>({ dialect, plugins: [new CamelCasePlugin()] });
    const driver = createKyselyDriver(db, listener ? { listener } : {});
    return {
      driver,
      listens: listener !== undefined,
      withNativeTransaction: (fn) => db.transaction().execute((trx) => fn(trx)),
      async close() {
        await driver.close();
        await db.destroy();
      },
    };
  };
}

const pgSetup = (url: string, listens: boolean): Setup => {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  return {
    dialect: new PostgresDialect({ pool }),
    ...(listens ? { listener: createPgDriver(pool) } : {}),
  };
};

/** Kysely over node-postgres (`PostgresDialect`) with `CamelCasePlugin`; LISTEN through `@q/pg`. */
export const makeKyselyPgHarness: MakeHarness = harness((url) => pgSetup(url, true));

/** The same without a listener: workers poll. */
export const makeKyselyPgPollingHarness: MakeHarness = harness((url) => pgSetup(url, false));

/** Kysely over postgres.js (`kysely-postgres-js`) with `CamelCasePlugin`; LISTEN through `@q/postgres`. */
export const makeKyselyPostgresJsHarness: MakeHarness = harness((url) => {
  const sql = postgres(url, { max: 10, onnotice: () => {} });
  return {
    dialect: new PostgresJSDialect({ postgres: sql }),
    listener: createPostgresDriver(sql),
  };
});
