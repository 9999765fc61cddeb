import { MAX_DELAY_MS, QError } from "@q/core";

/**
 * Options of {@link cleanup}. Every duration is in milliseconds. An age of
 * `null` or `Infinity` means "keep forever": nothing of that kind is deleted.
 */
export interface CleanupOptions {
  /**
   * Finished jobs are deleted once they finished this long ago (by the
   * database clock). `0` deletes them at the next pass. Default 86 400 000
   * (24 hours).
   */
  finishedAfter?: number | null;
  /**
   * Failed jobs (attempts spent, permanent errors, cancelled) are deleted
   * once they failed this long ago. They keep their errors until then and
   * can be retried by hand. Default 604 800 000 (7 days).
   */
  failedAfter?: number | null;
  /**
   * Rows of worker processes whose last heartbeat is older than this, and
   * that hold no claimed job, are deleted. Keep it far beyond any worker's
   * `leaseTimeout`; at least 60 000. Default 3 600 000 (1 hour).
   */
  workersAfter?: number | null;
  /** Time between the end of one pass and the start of the next. Default 60 000 (1 minute). */
  interval?: number;
  /**
   * Rows deleted per statement (and the `limit` given to other plugins'
   * `prune`). Each batch is its own short transaction. 1–100 000, default 1 000.
   */
  batchSize?: number;
}

/** The options with defaults filled in; `null` means keep forever. */
export interface CleanupSettings {
  finishedAfter: number | null;
  failedAfter: number | null;
  workersAfter: number | null;
  interval: number;
  batchSize: number;
}

export const DEFAULTS = {
  finishedAfter: 24 * 60 * 60 * 1000,
  failedAfter: 7 * 24 * 60 * 60 * 1000,
  workersAfter: 60 * 60 * 1000,
  interval: 60_000,
  batchSize: 1000,
} as const;

/**
 * A worker heartbeats every few seconds; a minute of silence is already far
 * beyond what any live worker shows, so a shorter age can only be a mistake.
 */
export const MIN_WORKERS_AFTER = 60_000;
const MAX_BATCH = 100_000;
const MAX_INTERVAL = 2 ** 31 - 1; // setTimeout's longest delay

function invalid(option: string, value: unknown, expected: string): QError {
  return new QError("INVALID_OPTION", `cleanup: ${option} must be ${expected}`, {
    details: { option, value },
  });
}

/** An age: milliseconds, or `null`/`Infinity` for keep forever. */
function age(option: string, value: unknown, fallback: number, min = 0): number | null {
  if (value === undefined) return fallback;
  if (value === null || value === Number.POSITIVE_INFINITY) return null;
  // Beyond 100 years `now() - age` could leave timestamptz's range; such an age means forever.
  if (
    typeof value !== "number" ||
    !Number.isInteger(value) ||
    value < min ||
    value > MAX_DELAY_MS
  ) {
    throw invalid(
      option,
      value,
      `a whole number of milliseconds from ${min} to ${MAX_DELAY_MS}, or null / Infinity to keep forever`,
    );
  }
  return value;
}

function int(option: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(option, value, `a whole number from ${min} to ${max}`);
  }
  return value;
}

/** Checks the options (a bad one throws `INVALID_OPTION`) and fills in the defaults. */
export function cleanupSettings(options: unknown): CleanupSettings {
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw invalid("options", options, "an object");
  }
  const o = (options ?? {}) as Record<string, unknown>;
  const known = new Set(["finishedAfter", "failedAfter", "workersAfter", "interval", "batchSize"]);
  for (const key of Object.keys(o)) {
    // A misspelt age would silently keep the default: refuse it instead.
    if (!known.has(key)) {
      throw new QError(
        "INVALID_OPTION",
        `cleanup: unknown option "${key}" (known: ${[...known].join(", ")})`,
        { details: { option: key } },
      );
    }
  }
  return {
    finishedAfter: age("finishedAfter", o.finishedAfter, DEFAULTS.finishedAfter),
    failedAfter: age("failedAfter", o.failedAfter, DEFAULTS.failedAfter),
    workersAfter: age("workersAfter", o.workersAfter, DEFAULTS.workersAfter, MIN_WORKERS_AFTER),
    interval: int("interval", o.interval, DEFAULTS.interval, 1, MAX_INTERVAL),
    batchSize: int("batchSize", o.batchSize, DEFAULTS.batchSize, 1, MAX_BATCH),
  };
}
