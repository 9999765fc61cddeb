/**
 * Drizzle ORM driver for q.
 *
 * @module
 */
export { createDrizzleDriver, type DrizzleDriverOptions } from "./driver.js";
export type { DrizzleDatabase, DrizzleExecutor, DrizzleTransaction } from "./types.js";
