import { type Html, html } from "./html.js";

/** Shown at most of a payload, result or checkpoint; the rest is cut with a note. */
export const MAX_SHOWN = 100_000;

/**
 * A date as `2025-06-01 12:34:56 UTC` in a `<time>` element, or a dash; with
 * `zone: false` without the zone, for tables whose header says UTC.
 */
export function time(date: Date | string | null | undefined, { zone = true } = {}): Html {
  if (date === null || date === undefined) return html`<span class="muted">—</span>`;
  const d = typeof date === "string" ? new Date(date) : date;
  if (Number.isNaN(d.getTime())) return html`${String(date)}`;
  const iso = d.toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace("T", " ")}${zone ? " UTC" : ""}</time>`;
}

/** A duration in milliseconds, short and human: `850 ms`, `12.4 s`, `3 min 5 s`, `2 h 10 min`. */
export function duration(ms: number): string {
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const m = Math.round(s / 60);
  if (m < 1440) return `${Math.floor(m / 60)} h ${m % 60} min`;
  return `${Math.floor(m / 1440)} d ${Math.floor((m % 1440) / 60)} h`;
}

/** The time between two dates, when both are known. */
export function between(from: Date | null | undefined, to: Date | null | undefined): string | null {
  if (!from || !to) return null;
  return duration(to.getTime() - from.getTime());
}

/** A count with thousands separators. */
export function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** Jobs per second, to two significant places. */
export function rate(perSecond: number): string {
  if (perSecond === 0) return "0/s";
  if (perSecond < 10) return `${perSecond.toFixed(2)}/s`;
  return `${Math.round(perSecond).toLocaleString("en-US")}/s`;
}

/** A JSON value pretty-printed for a `<pre>`, cut at {@link MAX_SHOWN} characters. */
export function json(value: unknown): Html {
  let text: string;
  try {
    text = JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    text = String(value);
  }
  if (text.length <= MAX_SHOWN) return html`<pre>${text}</pre>`;
  const rest = text.length - MAX_SHOWN;
  return html`<pre>${text.slice(0, MAX_SHOWN)}</pre><p class="muted">… ${count(rest)} more characters not shown</p>`;
}

/** The first line of a message, cut to `max` characters. */
export function firstLine(text: string, max = 120): string {
  const line = text.split("\n", 1)[0] ?? "";
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
