/**
 * `cron({...})`: the plugin object a queue runs, plus `list()` and `prune()`.
 *
 * @module
 */
import { type Plugin, type PluginContext, QError } from "@q/core";
import { cronMigrations } from "./migrations.js";
import { compileSchedules, type Schedule, type ScheduleInfo } from "./schedule.js";
import { Scheduler, type SchedulerSettings } from "./scheduler.js";
import { type CronSql, cronSql } from "./sql.js";
import { nextTick } from "./ticks.js";

/** Options of {@link cron}. */
export interface CronOptions {
  /** The schedules this process knows. A schedule missing here stops producing jobs. */
  schedules: readonly Schedule[];
  /**
   * The longest the scheduler sleeps between two looks at the database
   * clock, in ms. It sleeps until the next tick anyway; this only bounds how
   * far host and database clocks may drift apart in between. Default 60 000;
   * from 1 000 to 60 000.
   */
  maxSleep?: number;
  /**
   * The most ticks of one schedule enqueued in one pass (one transaction);
   * a longer catch-up continues in the next pass at once. Default 100; from 1
   * to 10 000.
   */
  batch?: number;
}

/** A schedule as {@link CronPlugin.list} reports it. */
export interface ScheduleStatus {
  name: string;
  cron: string;
  timezone: string;
  task: string;
  /**
   * The next tick the scheduler will enqueue. It may be in the past while a
   * due tick waits for the next pass; null when the expression fires no more.
   */
  next: Date | null;
  /** The latest tick that was enqueued (by any process), or null if none was. */
  last: Date | null;
  /** The id of the job of `last`, while its tick record is kept; null otherwise. */
  lastJobId: string | null;
}

/** What {@link CronPlugin.prune} deleted. */
export type CronPruneCounts = Record<"ticks" | "schedules", number>;

/** The `@q/cron` plugin: give it to `createQueue({ plugins })`. */
export interface CronPlugin extends Plugin {
  readonly name: "cron";
  /** The schedules, validated, in the order given. */
  readonly schedules: readonly ScheduleInfo[];
  /**
   * Each schedule with its next and last tick, read from the database (by
   * its clock). Needs the plugin started (`queue.start()` or `queue.work()`).
   */
  list(): Promise<ScheduleStatus[]>;
  /**
   * Deletes at most `limit` tick records that no catch-up window needs any
   * more (older than their schedule's window), then the rows of schedules
   * this process does not declare that no scheduler has seen for a whole
   * window (one that comes back later starts afresh). `@q/cleanup`
   * calls it on every pass.
   */
  prune(limit: number): Promise<CronPruneCounts>;
}

function setting(
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
  option: string,
): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new QError("INVALID_OPTION", `cron: ${option} must be an integer from ${min} to ${max}`, {
      details: { option, value: v },
    });
  }
  return v;
}

/**
 * Makes the cron plugin. Every schedule is validated here: a bad expression,
 * an unknown time zone, an expression that never fires or a bad option
 * throws `QError` `INVALID_OPTION` at once; a task the queue does not know
 * fails the start with `UNKNOWN_TASK`.
 *
 * @example
 * const schedules = cron({
 *   schedules: [
 *     { name: "nightly-report", cron: "0 3 * * *", timezone: "Europe/Berlin", task: "report" },
 *   ],
 * });
 * const queue = createQueue({ driver, tasks, plugins: [schedules] });
 * await queue.migrate();
 * await queue.start();
 */
export function cron(options: CronOptions): CronPlugin {
  if (typeof options !== "object" || options === null) {
    throw new QError("INVALID_OPTION", "cron() takes { schedules }", {
      details: { option: "cron", value: options },
    });
  }
  const compiled = compileSchedules(options.schedules);
  const settings: SchedulerSettings = {
    maxSleep: setting(options.maxSleep, 60_000, 1_000, 60_000, "maxSleep"),
    batch: setting(options.batch, 100, 1, 10_000, "batch"),
  };
  const names = JSON.stringify(compiled.map((s) => s.name));
  let context: { ctx: PluginContext; sql: CronSql } | undefined;
  let running: Promise<void> | undefined;

  const current = (what: string) => {
    if (context === undefined) {
      throw new QError(
        "NOT_RUNNING",
        `cron: ${what} needs the plugin started (queue.start() or queue.work())`,
      );
    }
    return context;
  };

  return {
    name: "cron",
    migrations: cronMigrations,
    schedules: compiled.map(({ pattern: _, ...rest }) => rest),

    start(ctx) {
      if (running !== undefined) {
        throw new QError("PLUGIN_IN_USE", "cron: this plugin already runs for a queue");
      }
      for (const s of compiled) {
        if (!ctx.queue.taskNames.includes(s.task)) {
          throw new QError("UNKNOWN_TASK", `schedule "${s.name}": unknown task "${s.task}"`, {
            details: { task: s.task, schedule: s.name, known: ctx.queue.taskNames },
          });
        }
      }
      const sql = cronSql(ctx.schema);
      context = { ctx, sql };
      running = new Scheduler(ctx, compiled, sql, settings).run();
    },

    async stop() {
      const run = running;
      running = undefined;
      await run;
    },

    async list() {
      const { ctx, sql } = current("list()");
      const rows = await ctx.executor.query(sql.list, [names]);
      const info = JSON.parse(String(rows[0]?.info)) as {
        now: number;
        rows: { name: string; since: number; last: number | null; job: string | null }[];
      };
      const byName = new Map(info.rows.map((r) => [r.name, r]));
      return compiled.map((s) => {
        const row = byName.get(s.name);
        const last = row?.last ?? null;
        // A schedule no scheduler has seen yet starts now, when one first sees it.
        const since = row?.since ?? info.now;
        const next = nextTick(s.pattern, Math.max(info.now - s.catchUp, since, last ?? -Infinity));
        return {
          name: s.name,
          cron: s.cron,
          timezone: s.timezone,
          task: s.task,
          next: next === null ? null : new Date(next),
          last: last === null ? null : new Date(last),
          lastJobId: row?.job ?? null,
        };
      });
    },

    async prune(limit) {
      const { ctx, sql } = current("prune()");
      if (!Number.isInteger(limit) || limit < 1) {
        throw new QError("INVALID_OPTION", "cron: prune(limit) takes a positive integer", {
          details: { option: "limit", value: limit },
        });
      }
      const count = (rows: readonly Record<string, unknown>[]) => Number(rows[0]?.n ?? 0);
      const ticks = count(await ctx.executor.query(sql.pruneTicks, [limit]));
      const left = limit - ticks;
      const schedules =
        left > 0 ? count(await ctx.executor.query(sql.pruneSchedules, [names, left])) : 0;
      return { ticks, schedules };
    },
  };
}
