import type { JobState } from "@q/core";
import type { Colors } from "./output.js";

/** A timestamp for people: UTC, to the second (`2025-06-01 12:00:03Z`). */
export function time(value: Date | string | null | undefined): string {
  if (value === null || value === undefined) return "-";
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d{3}Z$/, "Z");
}

/** A span of milliseconds for people: `850 ms`, `12.4 s`, `3 min 5 s`, `2 h 10 min`, `3 d 4 h`. */
export function span(ms: number): string {
  if (!Number.isFinite(ms)) return "-";
  const abs = Math.abs(ms);
  const sign = ms < 0 ? "-" : "";
  if (abs < 1000) return `${sign}${Math.round(abs)} ms`;
  if (abs < 60_000) return `${sign}${(abs / 1000).toFixed(1)} s`;
  const s = Math.round(abs / 1000);
  const two = (big: number, bigUnit: string, small: number, smallUnit: string) =>
    `${sign}${big} ${bigUnit}${small > 0 ? ` ${small} ${smallUnit}` : ""}`;
  if (s < 3600) return two(Math.floor(s / 60), "min", s % 60, "s");
  if (s < 86_400) return two(Math.floor(s / 3600), "h", Math.floor((s % 3600) / 60), "min");
  return two(Math.floor(s / 86_400), "d", Math.floor((s % 86_400) / 3600), "h");
}

/** The span between two instants, or `-` when one is missing. */
export function between(from: Date | null | undefined, to: Date | null | undefined): string {
  if (!from || !to) return "-";
  return span(to.getTime() - from.getTime());
}

/** A job state, coloured by what it means for an operator. */
export function state(value: JobState | string, c: Colors): string {
  switch (value) {
    case "ready":
      return c.cyan(value);
    case "claimed":
      return c.yellow(value);
    case "finished":
      return c.green(value);
    case "failed":
      return c.red(value);
    default:
      return value;
  }
}

/** A count with thousands separators; `~` in front of an estimate. */
export function count(n: number, exact = true): string {
  const text = Math.round(n).toLocaleString("en-US");
  return exact ? text : `~${text}`;
}

/** JSON for people: indented, each line prefixed. */
export function indentedJson(value: unknown, prefix = "  "): string {
  const text = JSON.stringify(value, null, 2) ?? "undefined";
  return text
    .split("\n")
    .map((l) => prefix + l)
    .join("\n");
}
