/**
 * Tick arithmetic, pure: which instants a schedule fires at. Croner does the
 * calendar and the time zone (including its DST rules); this file only walks
 * it between two instants and never reads a clock.
 *
 * @module
 */
import type { Cron } from "croner";

/** The first tick strictly after `after` (epoch ms), or null when there is none. */
export function nextTick(pattern: Cron, after: number): number | null {
  // Croner cannot start from -Infinity; callers start from the window, `since` or the mark.
  const next = pattern.nextRun(new Date(after));
  return next === null ? null : next.getTime();
}

/**
 * The ticks in `(after, upTo]`, oldest first, at most `limit` of them. The
 * bound keeps one pass short however long the scheduler was away; the next
 * pass carries on from the last tick returned.
 */
export function ticksBetween(pattern: Cron, after: number, upTo: number, limit: number): number[] {
  const ticks: number[] = [];
  let from = after;
  while (ticks.length < limit) {
    const next = nextTick(pattern, from);
    if (next === null || next > upTo) break;
    ticks.push(next);
    from = next;
  }
  return ticks;
}
