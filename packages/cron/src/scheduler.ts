/**
 * The scheduler loop of one process. Any number of processes may run it at
 * once: each tick is claimed by a primary key (`INSERT … ON CONFLICT DO
 * NOTHING`), so the process that loses a race writes nothing and sees no
 * error, and only ticks it claimed become jobs, in the same transaction.
 *
 * Time is the database's: each pass reads `now()` and the host's monotonic
 * clock only measures how long to sleep until the next tick.
 *
 * A schedule's ticks start after `since`, the moment a scheduler first saw
 * it (its row in `cron_schedules`, created by the first pass that declares
 * it): the catch-up window covers ticks missed after that, never ticks from
 * before the schedule existed.
 *
 * @module
 */
import { type Executor, isQError, type PluginContext } from "@q/core";
import type { CompiledSchedule } from "./schedule.js";
import type { CronSql } from "./sql.js";
import { nextTick, ticksBetween } from "./ticks.js";

/** Settings of the loop, validated by `cron()`. */
export interface SchedulerSettings {
  /** The longest sleep between passes (ms): bounds the drift between host and database clocks. */
  maxSleep: number;
  /** The most ticks one schedule enqueues in one pass. */
  batch: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Parses the single JSON text column every cron statement returns. */
export function jsonColumn<T>(rows: readonly Record<string, unknown>[], column: string): T {
  const value = rows[0]?.[column];
  if (typeof value !== "string") throw new Error(`cron: expected a JSON text column "${column}"`);
  return JSON.parse(value) as T;
}

/** Resolves after `ms` or as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** What a transaction of one schedule did. */
interface Claimed {
  jobs: { tick: number; id: string; deduped: boolean }[];
  /** Claimed ticks the mark already covered: their records had been pruned, so no job. */
  stale: number;
}

export class Scheduler {
  readonly #ctx: PluginContext;
  readonly #schedules: readonly CompiledSchedule[];
  readonly #sql: CronSql;
  readonly #settings: SchedulerSettings;
  /** Database clock minus `performance.now()`, learnt on every pass. */
  #offset = 0;
  /** Each schedule's mark as last seen (epoch ms), null when it never fired. */
  readonly #marks = new Map<string, number | null>();
  /** Each schedule's `since` as last seen (epoch ms): no tick at or before it is enqueued. */
  readonly #since = new Map<string, number>();
  /** Schedules whose last transaction failed: retried after a growing delay. */
  readonly #failures = new Map<string, { count: number; retryAt: number }>();
  /** The end of the last gap reported per schedule, so a gap is logged once. */
  readonly #reported = new Map<string, number>();
  #passFailures = 0;

  constructor(
    ctx: PluginContext,
    schedules: readonly CompiledSchedule[],
    sql: CronSql,
    settings: SchedulerSettings,
  ) {
    this.#ctx = ctx;
    this.#schedules = schedules;
    this.#sql = sql;
    this.#settings = settings;
  }

  /** The database clock as this process estimates it; never ahead of the real one. */
  #dbNow(): number {
    return performance.now() + this.#offset;
  }

  /** Runs passes until the plugin's signal aborts. */
  async run(): Promise<void> {
    const { signal, logger } = this.#ctx;
    while (!signal.aborted) {
      let wait: number;
      try {
        const more = await this.pass();
        this.#passFailures = 0;
        wait = more ? 0 : this.#sleepMs();
      } catch (error) {
        this.#passFailures++;
        wait = this.#backoff(this.#passFailures);
        logger.error({ err: error, retryInMs: wait }, "cron pass failed");
      }
      await sleep(wait, signal);
    }
  }

  /**
   * The sighting of every schedule for the `sight` statement (which locks
   * the rows in name order itself). `since` is the one this process saw
   * before, if any: a row a prune deleted under a running scheduler comes
   * back as it was.
   */
  #sighting(): string {
    const rows = this.#schedules.map((s) => {
      const since = this.#since.get(s.name);
      return { name: s.name, catchup: s.catchUp, since: since === undefined ? null : iso(since) };
    });
    rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return JSON.stringify(rows);
  }

  /**
   * One pass: records the sighting of every schedule (creating the row of a
   * new one) and reads the clock, each `since` and mark, then enqueues the
   * due ticks of each schedule in a transaction of its own (a schedule whose jobs fail to
   * enqueue holds back no other). True when a schedule has more due ticks
   * than one pass takes.
   */
  async pass(): Promise<boolean> {
    const { executor, signal } = this.#ctx;
    const rows = await executor.query(this.#sql.sight, [this.#sighting()]);
    // Measured after the reply, so the estimate errs late, never early.
    const measured = performance.now();
    const info = jsonColumn<{
      now: number;
      rows: Record<string, { since: number; last: number | null } | undefined>;
    }>(rows, "info");
    this.#offset = info.now - measured;
    const now = info.now;
    let more = false;
    let enqueued = 0;
    for (const s of this.#schedules) {
      if (signal.aborted) break;
      const row = info.rows[s.name];
      if (row === undefined) throw new Error(`cron: no row for schedule "${s.name}"`);
      const mark = row.last;
      const since = row.since;
      this.#marks.set(s.name, mark);
      this.#since.set(s.name, since);
      const failure = this.#failures.get(s.name);
      if (failure !== undefined && failure.retryAt > now) continue;
      const windowStart = now - s.catchUp;
      const done = Math.max(since, mark ?? -Infinity);
      this.#reportGap(s, done, windowStart);
      const ticks = ticksBetween(s.pattern, Math.max(windowStart, done), now, this.#settings.batch);
      if (ticks.length === 0) continue;
      try {
        const claimed = await this.#ctx.transaction((tx) => this.#claim(s, since, ticks, tx));
        this.#failures.delete(s.name);
        this.#marks.set(s.name, Math.max(mark ?? -Infinity, ticks[ticks.length - 1]!));
        for (const job of claimed.jobs) {
          this.#ctx.emit("enqueued", {
            schedule: s.name,
            tick: iso(job.tick),
            jobId: job.id,
            deduped: job.deduped,
          });
        }
        enqueued += claimed.jobs.length;
        if (ticks.length === this.#settings.batch) more = true;
      } catch (error) {
        // The queue began to close during the pass (it refuses jobs before it
        // stops its plugins): nothing was enqueued, the next start takes over.
        if (isQError(error, "QUEUE_CLOSED")) {
          this.#ctx.logger.debug({ schedule: s.name }, "cron pass cut short by close");
          break;
        }
        const count = (failure?.count ?? 0) + 1;
        const delay = this.#backoff(count);
        this.#failures.set(s.name, { count, retryAt: now + delay });
        this.#ctx.logger.error(
          { err: error, schedule: s.name, retryInMs: delay },
          "cron could not enqueue the schedule's ticks",
        );
      }
    }
    this.#ctx.logger.debug({ now: iso(now), enqueued, more }, "cron pass");
    return more;
  }

  /** The transaction of one schedule: claim ticks, take the mark, enqueue, record. */
  async #claim(
    s: CompiledSchedule,
    since: number,
    ticks: readonly number[],
    tx: Executor,
  ): Promise<Claimed> {
    const claimed = jsonColumn<number[]>(
      await tx.query(this.#sql.claim, [s.name, JSON.stringify(ticks.map(iso))]),
      "rows",
    );
    // The mark as last committed: another process may have passed these ticks
    // after we read it, and a tick at or before it is done even if its record
    // was pruned since (our insert then succeeded, but must not become a job).
    const { last } = jsonColumn<{ last: number | null }>(
      await tx.query(this.#sql.hold, [s.name, s.catchUp, iso(since)]),
      "info",
    );
    const fresh = claimed.filter((t) => last === null || t > last);
    const stale = claimed.filter((t) => last !== null && t <= last);
    const results =
      fresh.length === 0
        ? []
        : await this.#ctx.queue.enqueueMany(
            fresh.map((tick) => ({
              task: s.task,
              payload: s.payload,
              ...s.options,
              meta: { ...s.options.meta, cron: { schedule: s.name, tick: iso(tick) } },
            })),
            { tx },
          );
    const jobs = fresh.map((tick, i) => ({
      tick,
      id: results[i]!.id,
      deduped: results[i]!.deduped,
    }));
    await tx.query(this.#sql.record, [
      s.name,
      JSON.stringify(jobs.map((j) => ({ tick: iso(j.tick), job: j.id }))),
      JSON.stringify(stale.map(iso)),
      iso(ticks[ticks.length - 1]!),
    ]);
    return { jobs, stale: stale.length };
  }

  /**
   * Logs, once, that ticks between `done` (the later of the mark and
   * `since`) and the window were skipped (downtime longer than the window).
   */
  #reportGap(s: CompiledSchedule, done: number, windowStart: number): void {
    if (done >= windowStart) return;
    const first = nextTick(s.pattern, done);
    if (first === null || first > windowStart) return;
    if (this.#reported.get(s.name) === done) return;
    this.#reported.set(s.name, done);
    const data = { schedule: s.name, after: iso(done), before: iso(windowStart) };
    this.#ctx.logger.warn(data, "cron skipped ticks older than the catch-up window");
    this.#ctx.emit("skipped", data);
  }

  /** How long to sleep until the next tick of any schedule, by the estimated database clock. */
  #sleepMs(): number {
    const now = this.#dbNow();
    let soonest = now + this.#settings.maxSleep;
    for (const s of this.#schedules) {
      const failure = this.#failures.get(s.name);
      if (failure !== undefined && failure.retryAt > now) {
        soonest = Math.min(soonest, failure.retryAt);
        continue;
      }
      const mark = this.#marks.get(s.name) ?? null;
      const since = this.#since.get(s.name) ?? -Infinity;
      const next = nextTick(s.pattern, Math.max(now - s.catchUp, since, mark ?? -Infinity));
      if (next !== null) soonest = Math.min(soonest, next);
    }
    // At least a millisecond: a tick due now is taken by the next pass, not by a spin.
    return Math.max(1, Math.ceil(soonest - now));
  }

  #backoff(count: number): number {
    return Math.min(this.#settings.maxSleep, 1000 * 2 ** Math.min(count - 1, 16));
  }
}
