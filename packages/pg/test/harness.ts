import type { MakeHarness } from "@q/core/testing";
import pg from "pg";
import { createPgDriver, type PgDriverOptions } from "../src/index.js";

/**
 * The conformance suite's harness for node-postgres: a Pool, and BEGIN on a
 * checked-out client; `options` go to `createPgDriver`.
 */
export function pgHarness(options: PgDriverOptions = {}): MakeHarness {
  return async (databaseUrl) => {
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
    const driver = createPgDriver(pool, options);
    return {
      driver,
      listens: true,
      async withNativeTransaction(fn) {
        const client = await pool.connect();
        try {
          await client.query("BEGIN");
          const result = await fn(client);
          await client.query("COMMIT");
          return result;
        } catch (error) {
          await client.query("ROLLBACK");
          throw error;
        } finally {
          client.release();
        }
      },
      async close() {
        await driver.close?.();
        await pool.end();
      },
    };
  };
}

/** The harness with the driver's defaults. */
export const makePgHarness: MakeHarness = pgHarness();
