/**
 * Distributed cron for q: schedules declared in code, one job per tick
 * cluster-wide however many processes run the scheduler, ticks by the
 * database clock, missed ticks caught up within a window.
 *
 * @module
 */
export { cronMigrations } from "./migrations.js";
export {
  type CronOptions,
  type CronPlugin,
  type CronPruneCounts,
  cron,
  type ScheduleStatus,
} from "./plugin.js";
export {
  DEFAULT_CATCH_UP_MS,
  MIN_CATCH_UP_MS,
  type Schedule,
  type ScheduleInfo,
  type ScheduleJobOptions,
} from "./schedule.js";
