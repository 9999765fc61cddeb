import type { MakeHarness } from "@q/core/testing";
import postgres from "postgres";
import { createPostgresDriver } from "../src/index.js";

function harness(options: postgres.Options<Record<string, postgres.PostgresType>>): MakeHarness {
  return async (databaseUrl) => {
    const sql = postgres(databaseUrl, { max: 10, onnotice: () => {}, ...options });
    const driver = createPostgresDriver(sql);
    return {
      driver,
      listens: true,
      withNativeTransaction: async (fn) =>
        (await sql.begin((tx) => fn(tx))) as Awaited<ReturnType<typeof fn>>,
      async close() {
        await driver.close();
        await sql.end({ timeout: 5 });
      },
    };
  };
}

/** postgres.js with its defaults; transactions through `sql.begin`. */
export const makePostgresHarness: MakeHarness = harness({});

/** postgres.js with `transform: postgres.camel`, which renames result columns and jsonb keys. */
export const makePostgresCamelHarness: MakeHarness = harness({ transform: postgres.camel });

/** postgres.js with `transform: postgres.pascal`, whose column names the driver lowercases back. */
export const makePostgresPascalHarness: MakeHarness = harness({ transform: postgres.pascal });
