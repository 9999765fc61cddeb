/**
 * postgres.js driver for q.
 *
 * @module
 */
export {
  createPostgresDriver,
  type PostgresDriverOptions,
  type PostgresTransaction,
} from "./driver.js";
