/**
 * Drizzle ORM driver for q.
 *
 * @module
 */
export { createDrizzleDriver } from "./driver.js";
export type { DrizzleDatabase, DrizzleExecutor } from "./types.js";
