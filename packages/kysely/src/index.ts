/**
 * Kysely driver for q.
 *
 * @module
 */
export { createKyselyDriver, type KyselyDriverOptions } from "./driver.js";
export type { KyselyListener } from "./listener.js";
