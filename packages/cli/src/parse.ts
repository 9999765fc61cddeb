/**
 * Parsers of flag values. Each throws commander's `InvalidArgumentError`,
 * which the CLI reports as a usage error (exit 2) before any SQL runs.
 *
 * @module
 */
import type { JobState } from "@q/core";
import { InvalidArgumentError } from "commander";

const STATES: readonly JobState[] = ["ready", "claimed", "finished", "failed"];

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const SPAN = /^(\d+(?:\.\d+)?)(ms|s|min|m|h|d|w)$/;

/** `5s`, `15m`, `24h`, `7d`, `2w` → milliseconds; undefined when it is not such a span. */
function spanMs(value: string): number | undefined {
  const m = SPAN.exec(value.trim());
  if (m === null) return undefined;
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}

/** Comma-separated values, also over repeated flags: `--state ready,failed --state claimed`. */
export function list(value: string, previous: string[] | undefined): string[] {
  const items = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (items.length === 0) throw new InvalidArgumentError("give at least one value");
  return [...(previous ?? []), ...items];
}

/** Job states, comma-separated or repeated. */
export function states(value: string, previous: JobState[] | undefined): JobState[] {
  const items = list(value, undefined);
  for (const item of items) {
    if (!STATES.includes(item as JobState)) {
      throw new InvalidArgumentError(`"${item}" is no state: use ${STATES.join(", ")}`);
    }
  }
  return [...(previous ?? []), ...(items as JobState[])];
}

/** A whole number from `min` to `max`. */
export function integer(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    }
    return n;
  };
}

/** An instant given on the command line: absolute, or a span before the database's `now()`. */
export type TimeSpec = { at: Date } | { agoMs: number };

/** An ISO 8601 instant (`2025-06-01`, `2025-06-01T12:00:00Z`) or a span ago (`30m`, `2h`, `7d`). */
export function timeSpec(value: string): TimeSpec {
  const ago = spanMs(value);
  if (ago !== undefined) return { agoMs: ago };
  if (/^\d{4}-\d{2}-\d{2}/.test(value.trim())) {
    const at = new Date(value.trim());
    if (!Number.isNaN(at.getTime())) return { at };
  }
  throw new InvalidArgumentError(
    "give an ISO 8601 time (2025-06-01, 2025-06-01T12:00:00Z) or a span ago (30m, 2h, 7d)",
  );
}

/** The instant of a {@link TimeSpec}, by the database clock `now`. */
export function resolveTime(spec: TimeSpec | undefined, now: Date): Date | undefined {
  if (spec === undefined) return undefined;
  return "at" in spec ? spec.at : new Date(now.getTime() - spec.agoMs);
}

/**
 * An age for the cleanup: a span (`90s`, `24h`, `7d`), a number of
 * milliseconds, or `never` to keep forever. (`never` stays a string here:
 * commander turns a parser's null into an empty string.)
 */
export function age(value: string): number | "never" {
  const v = value.trim();
  if (v === "never" || v === "forever") return "never";
  if (/^\d+$/.test(v)) return Number(v);
  const ms = spanMs(v);
  if (ms !== undefined) return ms;
  throw new InvalidArgumentError(
    "give a span (90s, 15m, 24h, 7d), a number of milliseconds, or never",
  );
}
