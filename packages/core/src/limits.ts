/**
 * The ranges of times and delays q accepts. Anything outside them is refused
 * with `INVALID_OPTION` before any SQL runs (or, for what a handler decides,
 * clamped as documented), so PostgreSQL never sees a value it cannot store.
 *
 * @module
 */

/**
 * The longest delay q accepts, in milliseconds: 100 years of 365.25 days
 * (3 155 760 000 000 ms). It bounds the `delay` option of enqueue and
 * `ctx.snooze(ms)`; a task's backoff that asks for more is clamped to it.
 */
export const MAX_DELAY_MS = 3_155_760_000_000;

/** The earliest `runAt` q accepts: 0001-01-01T00:00:00.000Z (year 1, UTC). */
export const MIN_RUN_AT_MS = Date.parse("0001-01-01T00:00:00.000Z");

/**
 * The latest `runAt` q accepts: 9999-12-31T23:59:59.999Z (year 9999, UTC).
 * Dates travel as ISO 8601 text, which has four-digit years only in this range.
 */
export const MAX_RUN_AT_MS = Date.parse("9999-12-31T23:59:59.999Z");
