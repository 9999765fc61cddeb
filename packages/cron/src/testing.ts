/**
 * The conformance suite of `@q/cron` on a driver: every guarantee of the
 * README on real PostgreSQL, through the driver's own harness. Runs under
 * vitest; a driver package calls it once per flavour.
 *
 * @example
 * describeCron("pg", makePgHarness, { databaseUrl: () => inject("databaseUrl") });
 *
 * @module
 */
import { createQueue, type Driver, defineTask, isQError, type Logger } from "@q/core";
import { type DriverHarness, type MakeHarness, waitFor } from "@q/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CronOptions, type CronPlugin, cron } from "./plugin.js";
import type { Schedule } from "./schedule.js";

/** Options of {@link describeCron}. */
export interface DescribeCronOptions {
  /** Connection string of a PostgreSQL where the suite may create schemas and databases. */
  databaseUrl: string | (() => string);
  /**
   * Run the heavy test: five schedulers at once on a database of their own,
   * counting rolled-back transactions. Default true; one flavour per driver
   * package is enough.
   */
  parallel?: boolean;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;

let made = 0;
const freshName = (prefix: string) =>
  `${prefix}_${process.pid}_${Date.now().toString(36)}_${(made++).toString(36)}_${Math.random().toString(36).slice(2, 6)}`;

/** A logger that keeps every line, so a test can insist that nothing went wrong. */
function recorder() {
  const lines: { level: string; message: string; fields: object }[] = [];
  const at =
    (level: string) =>
    (fields: object, message = "") =>
      lines.push({ level, message, fields });
  const logger: Logger = {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
  };
  return {
    logger,
    lines,
    errors: () => lines.filter((l) => l.level === "error"),
    passes: () => lines.filter((l) => l.message === "cron pass").length,
  };
}

/** A job made by cron, as the tests read it back. */
interface CronJob {
  id: string;
  schedule: string;
  tick: number;
  created: number;
  state: string;
}

const ms = (x: string) => `floor(extract(epoch FROM ${x}) * 1000)::float8`;

async function dbNow(driver: Driver): Promise<number> {
  const rows = await driver.query<{ ms: number }>(`SELECT ${ms("now()")} AS ms`);
  return Number(rows[0]!.ms);
}

async function cronJobs(driver: Driver, schema: string, schedule: string): Promise<CronJob[]> {
  const rows = await driver.query<{ rows: string }>(
    `SELECT coalesce(json_agg(json_build_object(
       'id', id::text, 'schedule', meta->'cron'->>'schedule', 'tick', meta->'cron'->>'tick',
       'created', ${ms("created_at")}, 'state', state) ORDER BY id), '[]')::text AS rows
     FROM "${schema}".jobs WHERE meta->'cron'->>'schedule' = $1::text`,
    [schedule],
  );
  const jobs = JSON.parse(rows[0]!.rows) as (Omit<CronJob, "tick"> & { tick: string })[];
  return jobs
    .map((j) => ({ ...j, tick: Date.parse(j.tick) }))
    .sort((a, b) => a.tick - b.tick || Number(a.id) - Number(b.id));
}

/** The tick records of a schedule: tick (epoch ms) and job id. */
async function tickRecords(driver: Driver, schema: string, schedule: string) {
  const rows = await driver.query<{ rows: string }>(
    `SELECT coalesce(json_agg(json_build_object('tick', ${ms("tick")}, 'job', job_id::text)
       ORDER BY tick), '[]')::text AS rows
     FROM "${schema}".cron_ticks WHERE schedule = $1::text`,
    [schedule],
  );
  return JSON.parse(rows[0]!.rows) as { tick: number; job: string | null }[];
}

/**
 * Makes a schedule look as if schedulers had run it before: its row, first
 * seen `since` (SQL, default an hour ago) and with the mark `lastTick` (SQL,
 * default none). A new schedule would start at its first sighting instead.
 */
async function seedSchedule(
  driver: Driver,
  schema: string,
  name: string,
  catchUp: number,
  {
    since = "now() - interval '1 hour'",
    lastTick = "NULL",
  }: { since?: string; lastTick?: string } = {},
): Promise<void> {
  await driver.query(
    `INSERT INTO "${schema}".cron_schedules (name, catchup, since, last_tick)
     VALUES ($1::text, $2::bigint, ${since}, ${lastTick})`,
    [name, catchUp],
  );
}

/** A schedule's row: when it was first seen and its mark (epoch ms), or null without one. */
async function scheduleRow(driver: Driver, schema: string, name: string) {
  const rows = await driver.query<{ row: string | null }>(
    `SELECT json_build_object('since', ${ms("since")}, 'last', ${ms("last_tick")})::text AS row
     FROM "${schema}".cron_schedules WHERE name = $1::text`,
    [name],
  );
  const row = rows[0]?.row;
  return row == null ? null : (JSON.parse(row) as { since: number; last: number | null });
}

async function scheduleRows(driver: Driver, schema: string): Promise<string[]> {
  const rows = await driver.query<{ rows: string }>(
    `SELECT coalesce(json_agg(name ORDER BY name), '[]')::text AS rows FROM "${schema}".cron_schedules`,
  );
  return JSON.parse(rows[0]!.rows) as string[];
}

/** Ticks, oldest first, must be one per step with none missing and none twice. */
function expectContiguous(ticks: readonly number[], step: number): void {
  expect(ticks.length).toBeGreaterThan(0);
  for (let i = 1; i < ticks.length; i++) expect(ticks[i]! - ticks[i - 1]!).toBe(step);
}

/**
 * Makes the whole process see a host clock `offsetMs` off: `Date.now()` and
 * `new Date()` move, the monotonic clock and timers do not, as on a host
 * whose wall clock is wrong. Returns the undo.
 */
function skewHostClock(offsetMs: number): () => void {
  const Real = globalThis.Date;
  const Skewed = new Proxy(Real, {
    construct: (target, args) =>
      args.length === 0 ? new target(Real.now() + offsetMs) : Reflect.construct(target, args),
    apply: () => new Real(Real.now() + offsetMs).toString(),
    get: (target, prop, receiver) =>
      prop === "now" ? () => Real.now() + offsetMs : Reflect.get(target, prop, receiver),
  });
  globalThis.Date = Skewed;
  return () => {
    globalThis.Date = Real;
  };
}

/** Last Sunday of a month (0-11) of a year, as a UTC date at midnight (epoch ms). */
function lastSunday(year: number, month: number): number {
  const last = new Date(Date.UTC(year, month + 1, 0));
  return last.getTime() - last.getUTCDay() * DAY;
}

/**
 * The `@q/cron` suite on one driver flavour.
 *
 * @param name - The flavour, shown in test names.
 * @param makeHarness - The driver's conformance harness.
 */
export function describeCron(
  name: string,
  makeHarness: MakeHarness,
  options: DescribeCronOptions,
): void {
  const url = () =>
    typeof options.databaseUrl === "function" ? options.databaseUrl() : options.databaseUrl;

  describe(`cron: ${name}`, () => {
    let h: DriverHarness;
    const schemas: string[] = [];
    const open: { close(): Promise<void> }[] = [];
    beforeAll(async () => {
      h = await makeHarness(url());
    });
    afterAll(async () => {
      for (const q of open) await q.close();
      for (const s of schemas) await h.driver.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
      await h.close();
    });

    const tasks = {
      tick: defineTask({ handler: async (_payload: unknown) => {} }),
    };

    /** A queue with the cron plugin over `driver`, migrated, in `schema`. */
    async function scheduler(
      schema: string,
      schedules: Schedule[],
      extra: Omit<CronOptions, "schedules"> = {},
      driver: Driver = h.driver,
    ) {
      const log = recorder();
      const plugin: CronPlugin = cron({ schedules, ...extra });
      const queue = createQueue({ driver, schema, tasks, plugins: [plugin], logger: log.logger });
      const events: { event: string; data: Record<string, unknown> }[] = [];
      queue.on("plugin", (e) => events.push(e));
      await queue.migrate();
      open.push(queue);
      return { queue, plugin, log, events };
    }

    const schema = () => {
      const s = freshName("qcron");
      schemas.push(s);
      return s;
    };

    it.runIf(options.parallel !== false)(
      "five schedulers at once over 20+ ticks of a seconds schedule and the first sighting of another: one job per tick, no rolled-back transaction",
      async () => {
        const db = freshName("qcron_db");
        await h.driver.query(`CREATE DATABASE "${db}"`);
        const dbUrl = new URL(url());
        dbUrl.pathname = `/${db}`;
        const rollbacks = async () =>
          Number(
            (
              await h.driver.query<{ n: string }>(
                "SELECT xact_rollback::text AS n FROM pg_stat_database WHERE datname = $1::text",
                [db],
              )
            )[0]?.n ?? 0,
          );
        // A backend reports its counters when it exits: wait until all of them have.
        const settled = () =>
          waitFor(
            async () =>
              Number(
                (
                  await h.driver.query<{ n: number }>(
                    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1::text",
                    [db],
                  )
                )[0]!.n,
              ) === 0,
            { what: `every connection to ${db} closed` },
          );
        try {
          const before = await rollbacks();
          const harnesses = await Promise.all(
            Array.from({ length: 5 }, () => makeHarness(dbUrl.toString())),
          );
          const s = "q";
          const every: Schedule = {
            name: "every-second",
            cron: "* * * * * *",
            task: "tick",
            payload: { n: 1 },
            catchUp: 25 * SECOND,
          };
          // No scheduler has seen this one: the five race to create its row.
          const fresh: Schedule = { ...every, name: "fresh-second" };
          // A small batch makes the catch-up take many passes, so the five race on every key.
          const runs = [];
          for (const hh of harnesses)
            runs.push(await scheduler(s, [every, fresh], { batch: 3 }, hh.driver));
          // "every-second" existed long before these five started: they catch up its window.
          await seedSchedule(harnesses[0]!.driver, s, every.name, every.catchUp!);
          const start = await dbNow(harnesses[0]!.driver);
          await Promise.all(runs.map((r) => r.queue.start()));
          await waitFor(
            async () => {
              const ticks = async (name: string) =>
                (await cronJobs(harnesses[0]!.driver, s, name)).map((j) => j.tick);
              return (
                (await ticks(every.name)).some((t) => t >= start + 2 * SECOND) &&
                (await ticks(fresh.name)).some((t) => t >= start + 2 * SECOND)
              );
            },
            { what: "two live ticks after the catch-up" },
          );
          for (const r of runs) await r.queue.close();
          const jobs = await cronJobs(harnesses[0]!.driver, s, every.name);
          const records = await tickRecords(harnesses[0]!.driver, s, every.name);
          const freshJobs = await cronJobs(harnesses[0]!.driver, s, fresh.name);
          const freshRow = await scheduleRow(harnesses[0]!.driver, s, fresh.name);
          for (const hh of harnesses) await hh.close();
          await settled();

          const ticks = jobs.map((j) => j.tick);
          expect(new Set(ticks).size).toBe(ticks.length);
          expect(ticks.length).toBeGreaterThanOrEqual(20);
          expectContiguous(ticks, SECOND);
          // The catch-up reached back to the window's start, no further.
          expect(ticks[0]!).toBeGreaterThan(start - 25 * SECOND - SECOND);
          expect(ticks[0]!).toBeLessThanOrEqual(start - 20 * SECOND);
          expect(records.map((r) => r.tick)).toEqual(ticks);
          expect(records.map((r) => r.job)).toEqual(jobs.map((j) => j.id));
          // The new schedule: one row, first seen after the start, nothing from before it.
          const freshTicks = freshJobs.map((j) => j.tick);
          expect(new Set(freshTicks).size).toBe(freshTicks.length);
          expectContiguous(freshTicks, SECOND);
          expect(freshRow!.since).toBeGreaterThanOrEqual(start);
          expect(freshTicks[0]!).toBeGreaterThan(freshRow!.since);
          expect(freshTicks[0]!).toBeLessThanOrEqual(freshRow!.since + SECOND);
          for (const r of runs) expect(r.log.errors()).toEqual([]);
          expect(await rollbacks()).toBe(before);

          // The counter does see a rollback: one on purpose moves it by one.
          const probe = await makeHarness(dbUrl.toString());
          await expect(
            probe.driver.transaction(async (tx) => {
              await tx.query("SELECT 1");
              throw new Error("on purpose");
            }),
          ).rejects.toThrow("on purpose");
          await probe.close();
          await settled();
          expect(await rollbacks()).toBe(before + 1);
        } finally {
          await h.driver.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
        }
      },
      // A database of its own (CREATE and DROP DATABASE each wait for a checkpoint) and five harnesses.
      60_000,
    );

    it("a host clock minutes off, ahead then behind, neither doubles nor skips a tick", async () => {
      const s = schema();
      const schedules: Schedule[] = [
        { name: "skew-second", cron: "* * * * * *", task: "tick", catchUp: 3 * SECOND },
        { name: "skew-minute", cron: "* * * * *", task: "tick", catchUp: 5 * MINUTE },
      ];
      const start = await dbNow(h.driver);
      let undo = skewHostClock(7 * MINUTE);
      // Ticks after t0 and t1 came from a pass woken by the scheduler's own sleep.
      let t0 = 0;
      let t1 = 0;
      try {
        const ahead = await scheduler(s, schedules);
        // Both ran before: the minute schedule has ticks of its window to catch up.
        for (const x of schedules) await seedSchedule(h.driver, s, x.name, x.catchUp!);
        await ahead.queue.start();
        await waitFor(() => ahead.log.passes() > 0, { what: "a first pass" });
        t0 = await dbNow(h.driver);
        await waitFor(
          async () => (await cronJobs(h.driver, s, "skew-second")).some((j) => j.tick > t0),
          { what: "a tick with the clock 7 minutes ahead" },
        );
        await ahead.queue.close();
        expect(ahead.log.errors()).toEqual([]);
        undo();
        undo = skewHostClock(-7 * MINUTE);
        const behind = await scheduler(s, schedules);
        await behind.queue.start();
        await waitFor(() => behind.log.passes() > 0, { what: "a first pass" });
        t1 = await dbNow(h.driver);
        await waitFor(
          async () => (await cronJobs(h.driver, s, "skew-second")).some((j) => j.tick > t1),
          { what: "a tick with the clock 7 minutes behind" },
        );
        await behind.queue.close();
        expect(behind.log.errors()).toEqual([]);
      } finally {
        undo();
      }
      const seconds = await cronJobs(h.driver, s, "skew-second");
      expectContiguous(
        seconds.map((j) => j.tick),
        SECOND,
      );
      for (const j of seconds) {
        // Never before its tick by the database clock, and not minutes late either.
        expect(j.created).toBeGreaterThanOrEqual(j.tick);
        if (j.tick > t0) expect(j.created - j.tick).toBeLessThan(2 * SECOND);
      }
      const minutes = await cronJobs(h.driver, s, "skew-minute");
      expectContiguous(
        minutes.map((j) => j.tick),
        MINUTE,
      );
      expect(minutes[0]!.tick).toBeGreaterThan(start - 5 * MINUTE);
      expect(minutes[minutes.length - 1]!.tick).toBeLessThanOrEqual(t1 + 2 * SECOND);
      for (const j of minutes) expect(j.created).toBeGreaterThanOrEqual(j.tick);
    });

    it("after downtime, ticks within the catch-up window are enqueued at once and older ones never; a new schedule catches up nothing", async () => {
      const s = schema();
      const long = { name: "down-long", cron: "* * * * *", task: "tick", catchUp: 3 * MINUTE };
      const short = { name: "down-short", cron: "* * * * *", task: "tick", catchUp: 10 * MINUTE };
      const fresh = { name: "down-new", cron: "* * * * *", task: "tick", catchUp: 2 * MINUTE };
      const run = await scheduler(s, [long, short, fresh]);
      // The process that last ran these schedules, for an hour, stopped 10 and 2 minutes ago.
      await seedSchedule(h.driver, s, long.name, long.catchUp, {
        lastTick: "date_trunc('minute', now()) - interval '10 minutes'",
      });
      await seedSchedule(h.driver, s, short.name, short.catchUp, {
        lastTick: "date_trunc('minute', now()) - interval '2 minutes'",
      });
      const before = await dbNow(h.driver);
      const mark = Math.floor(before / MINUTE) * MINUTE;
      await run.queue.start();
      await waitFor(() => run.log.passes() > 0, { what: "a first pass" });
      const after = await dbNow(h.driver);
      await run.queue.close();

      const down = (await cronJobs(h.driver, s, long.name)).map((j) => j.tick);
      expectContiguous(down, MINUTE);
      expect(down[0]!).toBeGreaterThan(before - 3 * MINUTE);
      expect(down[0]!).toBeLessThanOrEqual(after - 2 * MINUTE);
      expect(down.length).toBeGreaterThanOrEqual(3);
      // Within its window, the mark counts: the tick it names is not enqueued again.
      const back = (await cronJobs(h.driver, s, short.name)).map((j) => j.tick);
      expect(back[0]).toBe(mark - MINUTE);
      expectContiguous(back, MINUTE);
      // A schedule seen for the first time starts then: its window holds no tick from before.
      const row = await scheduleRow(h.driver, s, fresh.name);
      expect(row!.since).toBeGreaterThanOrEqual(before);
      expect(row!.since).toBeLessThanOrEqual(after);
      for (const j of await cronJobs(h.driver, s, fresh.name))
        expect(j.tick).toBeGreaterThan(row!.since);
      // The gap beyond the window is reported, once, for the schedule that had one.
      const skipped = run.events.filter((e) => e.event === "skipped");
      expect(skipped.map((e) => e.data.schedule)).toEqual([long.name]);
      expect(run.log.errors()).toEqual([]);
    });

    it("a new schedule starts at its first sighting: no tick from before it, whatever its window; a later scheduler keeps its since", async () => {
      const s = schema();
      const second = {
        name: "new-second",
        cron: "* * * * * *",
        task: "tick",
        catchUp: 60 * MINUTE,
      };
      const hourly = { name: "new-hourly", cron: "0 * * * *", task: "tick", catchUp: 120 * MINUTE };
      const first = await scheduler(s, [second, hourly]);
      const start = await dbNow(h.driver);
      await first.queue.start();
      await waitFor(() => first.log.passes() > 0, { what: "a first pass" });
      const seen = await dbNow(h.driver);
      // The first pass made both rows, the hourly one long before its first tick.
      const since = {
        second: (await scheduleRow(h.driver, s, second.name))!.since,
        hourly: (await scheduleRow(h.driver, s, hourly.name))!.since,
      };
      for (const t of Object.values(since)) {
        expect(t).toBeGreaterThanOrEqual(start);
        expect(t).toBeLessThanOrEqual(seen);
      }
      await waitFor(
        async () => (await cronJobs(h.driver, s, second.name)).some((j) => j.tick > seen + SECOND),
        { what: "two live ticks" },
      );
      // Another scheduler, started later, with the same schedules.
      const later = await scheduler(s, [second, hourly]);
      const laterStart = await dbNow(h.driver);
      await later.queue.start();
      await waitFor(
        async () =>
          later.log.passes() >= 2 &&
          (await cronJobs(h.driver, s, second.name)).some((j) => j.tick > laterStart + SECOND),
        { what: "passes of the later scheduler" },
      );
      const [ls, lh] = await later.plugin.list();
      await later.queue.close();
      await first.queue.close();

      expect((await scheduleRow(h.driver, s, second.name))!.since).toBe(since.second);
      expect((await scheduleRow(h.driver, s, hourly.name))!.since).toBe(since.hourly);
      const jobs = await cronJobs(h.driver, s, second.name);
      const ticks = jobs.map((j) => j.tick);
      expect(new Set(ticks).size).toBe(ticks.length);
      expectContiguous(ticks, SECOND);
      // An hour of window, yet the first tick is the first one after the first sighting.
      for (const t of ticks) expect(t).toBeGreaterThanOrEqual(start);
      expect(ticks[0]!).toBeGreaterThan(since.second);
      expect(ticks[0]!).toBeLessThanOrEqual(since.second + SECOND);
      for (const j of await cronJobs(h.driver, s, hourly.name)) {
        expect(j.tick).toBeGreaterThan(since.hourly);
      }
      // list() follows: the last tick is a real one, the next hourly one comes after the sighting.
      expect(ls!.last?.getTime()).toBe(ticks[ticks.length - 1]);
      expect(lh!.next!.getTime()).toBeGreaterThan(since.hourly);
      expect(lh!.next!.getTime() % (60 * MINUTE)).toBe(0);
      expect(first.log.errors()).toEqual([]);
      expect(later.log.errors()).toEqual([]);
    });

    it("a time zone with DST changes: fixed times run once, repeated hours twice, as croner defines", async () => {
      const s = schema();
      const zone = "Europe/Berlin";
      const year = 366 * DAY;
      const schedules: Schedule[] = [
        // 02:30 does not exist on the last Sunday of March: croner runs it at 03:00 CEST.
        { name: "dst-spring", cron: "30 2 * 3 0#L", timezone: zone, task: "tick", catchUp: year },
        // 02:30 happens twice on the last Sunday of October: a fixed time runs once, the first.
        { name: "dst-fall", cron: "30 2 * 10 0#L", timezone: zone, task: "tick", catchUp: year },
        // An interval schedule runs on both passes through the repeated hour.
        { name: "dst-every", cron: "*/30 2 * 10 0#L", timezone: zone, task: "tick", catchUp: year },
      ];
      const run = await scheduler(s, schedules);
      // Deployed two years ago, so their year-long windows are full of ticks.
      for (const x of schedules) {
        await seedSchedule(h.driver, s, x.name, year, { since: "now() - interval '2 years'" });
      }
      const before = await dbNow(h.driver);
      await run.queue.start();
      await waitFor(() => run.log.passes() > 0, { what: "a first pass" });
      await run.queue.close();
      const thisYear = new Date(before).getUTCFullYear();
      const expected = (month: number, offsets: number[]) =>
        [thisYear - 1, thisYear]
          .flatMap((y) => offsets.map((o) => lastSunday(y, month) + o))
          .filter((t) => t > before - year && t <= before);
      const hour = 60 * MINUTE;
      const got = async (schedule: string) =>
        (await cronJobs(h.driver, s, schedule)).map((j) => j.tick);
      expect(await got("dst-spring")).toEqual(expected(2, [hour]));
      expect(await got("dst-fall")).toEqual(expected(9, [30 * MINUTE]));
      expect(await got("dst-every")).toEqual(
        expected(9, [0, 30 * MINUTE, 60 * MINUTE, 90 * MINUTE]),
      );
      const [job] = await cronJobs(h.driver, s, "dst-fall");
      const stored = await run.queue.getJob(job!.id);
      expect(stored?.meta).toEqual({
        cron: { schedule: "dst-fall", tick: new Date(job!.tick).toISOString() },
      });
      expect(run.log.errors()).toEqual([]);
    });

    it("a tick whose job finished or was deleted is never enqueued again: restarts, two schedulers, a wider window", async () => {
      const s = schema();
      const every = { name: "once", cron: "* * * * *", task: "tick", catchUp: 4 * MINUTE };
      const first = await scheduler(s, [every]);
      await seedSchedule(h.driver, s, every.name, every.catchUp);
      await first.queue.work({ pollInterval: 50 });
      await waitFor(
        async () => {
          const jobs = await cronJobs(h.driver, s, every.name);
          return jobs.length >= 4 && jobs.every((j) => j.state === "finished");
        },
        { what: "four finished cron jobs" },
      );
      await first.queue.close();
      const done = await cronJobs(h.driver, s, every.name);
      const deleted = done[0]!;
      await h.driver.query(`DELETE FROM "${s}".jobs WHERE id = $1::bigint`, [deleted.id]);
      // Restart twice at once, with a window that covers every tick so far.
      const wider = { ...every, catchUp: 30 * MINUTE };
      const again = [await scheduler(s, [wider]), await scheduler(s, [wider])];
      await Promise.all(again.map((r) => r.queue.start()));
      await waitFor(() => again.every((r) => r.log.passes() >= 1), { what: "a pass of each" });
      for (const r of again) await r.queue.close();
      const third = await scheduler(s, [every]);
      await third.queue.start();
      await waitFor(() => third.log.passes() >= 1, { what: "a pass after the third restart" });
      await third.queue.close();

      const jobs = await cronJobs(h.driver, s, every.name);
      const ticks = jobs.map((j) => j.tick);
      expect(new Set(ticks).size).toBe(ticks.length);
      expect(ticks).not.toContain(deleted.tick);
      // Everything that existed is still there, untouched; only later ticks may have joined.
      for (const j of done.slice(1)) expect(jobs.find((x) => x.id === j.id)?.tick).toBe(j.tick);
      expect(jobs.filter((j) => j.tick <= done[done.length - 1]!.tick)).toHaveLength(
        done.length - 1,
      );
      const records = await tickRecords(h.driver, s, every.name);
      expect(records.find((r) => r.tick === deleted.tick)?.job).toBe(deleted.id);
      for (const r of [first, ...again, third]) expect(r.log.errors()).toEqual([]);
    });

    it("prune deletes, in bounded batches, what no window needs; pruned ticks never return; a removed schedule stops and goes", async () => {
      const s = schema();
      const keep = { name: "keep", cron: "* * * * * *", task: "tick", catchUp: SECOND };
      const gone = { name: "gone", cron: "* * * * * *", task: "tick", catchUp: SECOND };
      const first = await scheduler(s, [keep, gone]);
      await first.queue.start();
      await waitFor(
        async () =>
          (await tickRecords(h.driver, s, keep.name)).length >= 3 &&
          (await tickRecords(h.driver, s, gone.name)).length >= 3,
        { what: "three ticks of each schedule" },
      );
      expect(await first.plugin.prune(1)).toEqual({ ticks: 1, schedules: 0 });
      const rest = await first.plugin.prune(1000);
      expect(rest.ticks).toBeGreaterThanOrEqual(1);
      expect(rest.schedules).toBe(0);
      await first.queue.close();
      const stopped = await dbNow(h.driver);
      const keptJobs = await cronJobs(h.driver, s, keep.name);
      const left = (await tickRecords(h.driver, s, keep.name)).map((r) => r.tick);
      const pruned = keptJobs.map((j) => j.tick).filter((t) => !left.includes(t));
      expect(pruned.length).toBeGreaterThanOrEqual(1);

      // "gone" is removed from the code; "keep" now has a window over the pruned ticks.
      const second = await scheduler(s, [{ ...keep, catchUp: MINUTE }]);
      await second.queue.start();
      await waitFor(
        async () => (await cronJobs(h.driver, s, keep.name)).some((j) => j.tick > stopped),
        { what: "a new tick of keep" },
      );
      const totals = { ticks: 0, schedules: 0 };
      await waitFor(
        async () => {
          const counts = await second.plugin.prune(2);
          expect(counts.ticks + counts.schedules).toBeLessThanOrEqual(2);
          totals.ticks += counts.ticks;
          totals.schedules += counts.schedules;
          return !(await scheduleRows(h.driver, s)).includes(gone.name);
        },
        { what: "the removed schedule pruned", intervalMs: 100 },
      );
      await second.queue.close();
      expect(totals.schedules).toBe(1);
      expect(await tickRecords(h.driver, s, gone.name)).toEqual([]);
      expect(await scheduleRows(h.driver, s)).toEqual([keep.name]);
      expect((await cronJobs(h.driver, s, gone.name)).every((j) => j.tick <= stopped)).toBe(true);
      const ticks = (await cronJobs(h.driver, s, keep.name)).map((j) => j.tick);
      expect(new Set(ticks).size).toBe(ticks.length);
      for (const t of pruned) expect(ticks.filter((x) => x === t)).toHaveLength(1);

      // "gone" comes back: a new first sighting, nothing from before it.
      const back = await scheduler(s, [keep, gone]);
      const returned = await dbNow(h.driver);
      await back.queue.start();
      await waitFor(
        async () => (await cronJobs(h.driver, s, gone.name)).some((j) => j.tick > returned),
        { what: "a tick of the returned schedule" },
      );
      await back.queue.close();
      const row = await scheduleRow(h.driver, s, gone.name);
      expect(row!.since).toBeGreaterThanOrEqual(returned);
      const goneTicks = (await cronJobs(h.driver, s, gone.name)).map((j) => j.tick);
      expect(goneTicks.filter((t) => t > stopped && t <= row!.since)).toEqual([]);
      expect(first.log.errors()).toEqual([]);
      expect(second.log.errors()).toEqual([]);
      expect(back.log.errors()).toEqual([]);
    });

    it("list shows each schedule's next and last tick; it and an unknown task need a started queue", async () => {
      const s = schema();
      const minute = { name: "list-minute", cron: "* * * * *", task: "tick", catchUp: 2 * MINUTE };
      const yearly = { name: "list-yearly", cron: "0 0 1 1 *", task: "tick" };
      const run = await scheduler(s, [minute, yearly]);
      await seedSchedule(h.driver, s, minute.name, minute.catchUp);
      await expect(run.plugin.list()).rejects.toMatchObject({ code: "NOT_RUNNING" });
      await run.queue.start();
      await waitFor(() => run.log.passes() > 0, { what: "a first pass" });
      const [m, y] = await run.plugin.list();
      const jobs = await cronJobs(h.driver, s, minute.name);
      const last = jobs[jobs.length - 1]!;
      expect(m).toMatchObject({ name: minute.name, cron: "* * * * *", timezone: "UTC" });
      expect(m!.last?.getTime()).toBe(last.tick);
      expect(m!.lastJobId).toBe(last.id);
      expect(m!.next?.getTime()).toBe(last.tick + MINUTE);
      expect(y!.last).toBeNull();
      expect(y!.lastJobId).toBeNull();
      expect(y!.next?.getUTCMonth()).toBe(0);
      expect(y!.next?.getUTCDate()).toBe(1);
      expect(y!.next!.getTime()).toBeGreaterThan(Date.now());
      await run.queue.close();

      const unknown = await scheduler(s, [{ ...minute, task: "nope" }]);
      const error = await unknown.queue.start().catch((e: unknown) => e);
      expect(isQError(error, "UNKNOWN_TASK")).toBe(true);
    });
  });
}
