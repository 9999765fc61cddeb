/**
 * Schedules as the user declares them, and their validation: everything that
 * can be checked without a database is checked when `cron({...})` is called.
 *
 * @module
 */
import { type JobOptions, MAX_DELAY_MS, QError } from "@q/core";
import { Cron } from "croner";
import { nextTick } from "./ticks.js";

/** The enqueue options a schedule may give its jobs. */
export type ScheduleJobOptions = Pick<
  JobOptions,
  "queue" | "priority" | "maxAttempts" | "key" | "meta"
>;

/** One schedule, declared in code. */
export interface Schedule {
  /**
   * Unique among the schedules; it names the schedule's tick records and
   * its mark, so renaming a schedule starts it afresh. 1 to 128 characters
   * of `[A-Za-z0-9_.:-]`.
   */
  name: string;
  /**
   * A cron expression of 5 fields (`minute hour day month weekday`) or 6
   * (seconds first), or a nickname such as `@daily`. Parsed by croner:
   * `L`, `W`, `#` and names (`MON`, `JAN`) work as croner documents them.
   */
  cron: string;
  /**
   * IANA time zone the expression is read in, such as `"Europe/Berlin"`.
   * Default `"UTC"`: never the host's zone, since two hosts in different
   * zones would otherwise disagree about the ticks.
   */
  timezone?: string;
  /** The task to enqueue; the queue must know it (else `start` fails with `UNKNOWN_TASK`). */
  task: string;
  /** The payload of every job. Default `{}`. Validated by the task's schema at enqueue. */
  payload?: unknown;
  /**
   * Options of every job. `meta` is merged with the `cron` entry q adds
   * (`{ cron: { schedule, tick } }`). With `key`, a tick whose key is held by
   * a live job adds no job (the tick counts as done all the same).
   */
  options?: ScheduleJobOptions;
  /**
   * The catch-up window in milliseconds: a tick is enqueued while it is at
   * most this old by the database clock. After downtime, the ticks missed
   * within the window are enqueued at once, oldest first; older ones are
   * skipped for good. It never reaches back before the schedule's first
   * sighting: a new schedule starts with the first tick after the first
   * scheduler saw it. Default 60 000 (one minute); from 1 000 to 100 years.
   */
  catchUp?: number;
}

/** A validated schedule with its parsed expression. */
export interface CompiledSchedule {
  readonly name: string;
  readonly cron: string;
  readonly timezone: string;
  readonly task: string;
  readonly payload: unknown;
  readonly options: ScheduleJobOptions;
  readonly catchUp: number;
  readonly pattern: Cron;
}

/** A validated schedule as `cron(...).schedules` shows it: every default filled in. */
export type ScheduleInfo = Readonly<Omit<CompiledSchedule, "pattern">>;

/** The default catch-up window: one minute. */
export const DEFAULT_CATCH_UP_MS = 60_000;
/** The shortest catch-up window: a pass that starts a little late must still see its tick. */
export const MIN_CATCH_UP_MS = 1_000;

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$/;
const JOB_OPTION_KEYS = new Set(["queue", "priority", "maxAttempts", "key", "meta"]);

function invalid(message: string, option: string, value: unknown): QError {
  return new QError("INVALID_OPTION", message, { details: { option, value } });
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Checks one schedule and parses its expression; throws `INVALID_OPTION` on anything wrong. */
export function compileSchedule(input: unknown, index: number): CompiledSchedule {
  const at = `schedules[${index}]`;
  if (typeof input !== "object" || input === null) {
    throw invalid(`${at} must be an object`, at, input);
  }
  const s = input as Partial<Schedule>;
  if (typeof s.name !== "string" || !NAME.test(s.name)) {
    throw invalid(
      `${at}.name ${JSON.stringify(s.name)} must be 1-128 characters of [A-Za-z0-9_.:-]`,
      `${at}.name`,
      s.name,
    );
  }
  const name = s.name;
  const timezone = s.timezone ?? "UTC";
  if (typeof timezone !== "string" || !isTimeZone(timezone)) {
    throw invalid(
      `schedule "${name}": unknown time zone ${JSON.stringify(timezone)}`,
      `${at}.timezone`,
      timezone,
    );
  }
  if (typeof s.cron !== "string") {
    throw invalid(`schedule "${name}": cron must be a string`, `${at}.cron`, s.cron);
  }
  let pattern: Cron;
  try {
    pattern = new Cron(s.cron, { timezone, mode: "5-or-6-parts", paused: true });
  } catch (error) {
    throw new QError(
      "INVALID_OPTION",
      `schedule "${name}": invalid cron expression ${JSON.stringify(s.cron)}: ${(error as Error).message}`,
      { cause: error, details: { option: `${at}.cron`, value: s.cron } },
    );
  }
  // Croner also takes a date for a one-off run; a schedule is recurring by definition.
  if (pattern.getOnce() !== null) {
    throw invalid(
      `schedule "${name}": ${JSON.stringify(s.cron)} is a date, not a cron expression`,
      `${at}.cron`,
      s.cron,
    );
  }
  if (nextTick(pattern, Date.now()) === null) {
    throw invalid(
      `schedule "${name}": ${JSON.stringify(s.cron)} never fires`,
      `${at}.cron`,
      s.cron,
    );
  }
  if (typeof s.task !== "string" || s.task.length === 0) {
    throw invalid(`schedule "${name}": task must be a task name`, `${at}.task`, s.task);
  }
  const payload = s.payload === undefined ? {} : s.payload;
  let json: string | undefined;
  try {
    json = JSON.stringify(payload);
  } catch {
    json = undefined;
  }
  if (json === undefined) {
    throw invalid(`schedule "${name}": payload must be JSON`, `${at}.payload`, payload);
  }
  const options = s.options ?? {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw invalid(`schedule "${name}": options must be an object`, `${at}.options`, options);
  }
  for (const key of Object.keys(options)) {
    if (!JOB_OPTION_KEYS.has(key)) {
      throw invalid(
        `schedule "${name}": option "${key}" is not one of ${[...JOB_OPTION_KEYS].join(", ")}`,
        `${at}.options.${key}`,
        (options as Record<string, unknown>)[key],
      );
    }
  }
  const catchUp = s.catchUp ?? DEFAULT_CATCH_UP_MS;
  if (!Number.isInteger(catchUp) || catchUp < MIN_CATCH_UP_MS || catchUp > MAX_DELAY_MS) {
    throw invalid(
      `schedule "${name}": catchUp must be an integer number of ms from ${MIN_CATCH_UP_MS} to ${MAX_DELAY_MS}`,
      `${at}.catchUp`,
      catchUp,
    );
  }
  return {
    name,
    cron: s.cron,
    timezone,
    task: s.task,
    payload,
    options: { ...options },
    catchUp,
    pattern,
  };
}

/** Checks every schedule and that their names are unique. */
export function compileSchedules(input: unknown): CompiledSchedule[] {
  if (!Array.isArray(input)) {
    throw invalid("cron({ schedules }) takes an array of schedules", "schedules", input);
  }
  const compiled = input.map((s, i) => compileSchedule(s, i));
  const seen = new Set<string>();
  for (const s of compiled) {
    if (seen.has(s.name)) throw invalid(`two schedules are named "${s.name}"`, "schedules", s.name);
    seen.add(s.name);
  }
  return compiled;
}
