import { QError } from "./errors.js";
import { isStorableText, toJsonText } from "./json.js";
import { MAX_DELAY_MS, MAX_RUN_AT_MS, MIN_RUN_AT_MS } from "./limits.js";

/** Checks enqueue and worker options; bad ones fail before any SQL runs. */
export function intOption(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new QError("INVALID_OPTION", `${name} must be an integer from ${min} to ${max}`, {
      details: { option: name, value },
    });
  }
  return value;
}

/** The longest wait a timer can hold (2^31 - 1 ms, about 24.8 days); longer ones fire at once. */
export const TIMER_MAX_MS = 2_147_483_647;

/** A duration of a worker's timers: a finite number of ms from `min` to `max`. */
export function msOption(name: string, value: unknown, min = 0, max = TIMER_MAX_MS): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    throw new QError(
      "INVALID_OPTION",
      `${name} must be a number of milliseconds from ${min} to ${max}`,
      { details: { option: name, value } },
    );
  }
  return value;
}

/**
 * A delay in milliseconds: a finite number from 0 to {@link MAX_DELAY_MS}
 * (100 years).
 */
export function delayOption(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > MAX_DELAY_MS) {
    throw new QError(
      "INVALID_OPTION",
      `${name} must be a number of milliseconds from 0 to ${MAX_DELAY_MS} (100 years)`,
      { details: { option: name, value } },
    );
  }
  return value;
}

/**
 * A valid Date from year 1 to year 9999 (UTC), the range of
 * {@link MIN_RUN_AT_MS} to {@link MAX_RUN_AT_MS}.
 */
export function dateOption(name: string, value: unknown): Date {
  const ms = value instanceof Date ? value.getTime() : Number.NaN;
  if (!(ms >= MIN_RUN_AT_MS && ms <= MAX_RUN_AT_MS)) {
    throw new QError(
      "INVALID_OPTION",
      `${name} must be a valid Date from year 1 to year 9999 (UTC)`,
      { details: { option: name, value } },
    );
  }
  return value as Date;
}

/**
 * A dedupe key: 1 to 512 characters, with no NUL and no lone UTF-16
 * surrogate (text PostgreSQL cannot store, or would store changed).
 */
export function keyOption(value: unknown): string {
  if (typeof value !== "string" || value.length === 0 || value.length > 512) {
    throw new QError("INVALID_OPTION", "key must be a string of 1 to 512 characters", {
      details: { option: "key", value },
    });
  }
  if (!isStorableText(value)) {
    throw new QError(
      "INVALID_OPTION",
      "key holds a NUL character or a lone UTF-16 surrogate, which PostgreSQL cannot store",
      { details: { option: "key", value } },
    );
  }
  return value;
}

export const INT32_MAX = 2_147_483_647;

/**
 * A job's `meta`: a plain object (not an array, not null), JSON all the way
 * down and storable. Returns its JSON text.
 */
export function metaOption(value: unknown): string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new QError("INVALID_OPTION", "meta must be a plain object", {
      details: { option: "meta", value },
    });
  }
  try {
    return toJsonText(value, "meta");
  } catch (error) {
    throw new QError("INVALID_OPTION", (error as Error).message, {
      cause: error,
      details: { option: "meta" },
    });
  }
}
