/**
 * Retention for q: deletes old finished and failed jobs in small batches,
 * prunes the rows of worker processes that are gone, and calls `prune` on
 * every other plugin so they keep their own tables small.
 *
 * @module
 */
export {
  type CleanupOptions,
  type CleanupSettings,
  DEFAULTS as CLEANUP_DEFAULTS,
  MIN_WORKERS_AFTER,
} from "./options.js";
export type { CleanupCounts } from "./pass.js";
export { type Cleanup, cleanup } from "./plugin.js";
