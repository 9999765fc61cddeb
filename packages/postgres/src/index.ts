/**
 * postgres.js driver for q.
 *
 * @module
 */
export { createPostgresDriver, type PostgresDriverOptions } from "./driver.js";
