/**
 * node-postgres driver for q.
 *
 * @example
 * import pg from "pg";
 * import { createQueue } from "@q/core";
 * import { createPgDriver } from "@q/pg";
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const queue = createQueue({ driver: createPgDriver(pool), tasks });
 *
 * @module
 */
export { createPgDriver, type PgDriverOptions, type PgTransaction } from "./driver.js";
