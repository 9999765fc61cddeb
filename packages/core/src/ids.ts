import { QError } from "./errors.js";

/** The largest job id: PostgreSQL's largest `bigint`, 2^63 - 1. */
export const MAX_JOB_ID = "9223372036854775807";

const DECIMAL = /^[1-9][0-9]{0,18}$/;

/**
 * Checks a job id before any SQL: a decimal string from 1 to 2^63 - 1, with no
 * sign, spaces or leading zeros. Anything else can be no job's id and throws
 * `INVALID_JOB_ID`, so a malformed id never reaches (and never aborts) the
 * caller's transaction.
 */
export function assertJobId(id: unknown): string {
  if (
    typeof id !== "string" ||
    !DECIMAL.test(id) ||
    (id.length === MAX_JOB_ID.length && id > MAX_JOB_ID)
  ) {
    throw new QError(
      "INVALID_JOB_ID",
      `${JSON.stringify(String(id))} is not a job id: ids are decimal strings from 1 to ${MAX_JOB_ID}`,
      { details: { id } },
    );
  }
  return id;
}

/**
 * Orders two job ids (canonical decimal strings) as numbers, without making a
 * `BigInt` of each: a shorter id is a smaller one.
 */
export function compareIds(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
