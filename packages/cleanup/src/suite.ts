import {
  defineTask,
  type JobSpec,
  PermanentError,
  type Plugin,
  QError,
  type TaskMap,
} from "@q/core";
import { type DriverHarness, type MakeHarness, waitFor } from "@q/core/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cleanupStatements } from "./sql.js";
import {
  type Fixture,
  fixtures,
  gate,
  recordingDriver,
  recordingLogger,
  type Seen,
} from "./suite-fixture.js";

/** Options of {@link describeCleanup}. */
export interface DescribeCleanupOptions {
  /** Connection string of a PostgreSQL the suite may create schemas in. */
  databaseUrl: string | (() => string);
  /**
   * Jobs in the test that runs cleanup in a tight loop beside producers and
   * workers. Default 1500; a driver package may run one flavour with more.
   */
  jobs?: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const noop = defineTask({ handler: async () => {} });
const fail = defineTask({
  maxAttempts: 1,
  handler: async () => {
    throw new PermanentError("failed on purpose");
  },
});

/**
 * The suite of `@q/cleanup` on PostgreSQL through a driver: what it deletes,
 * what it never deletes, in what batches, and that a tight cleanup loop
 * beside busy workers loses and strands nothing. Every driver package runs it.
 *
 * @example
 * describeCleanup("pg", makePgHarness, { databaseUrl: () => inject("databaseUrl") });
 */
export function describeCleanup(
  name: string,
  makeHarness: MakeHarness,
  options: DescribeCleanupOptions,
): void {
  const url = () =>
    typeof options.databaseUrl === "function" ? options.databaseUrl() : options.databaseUrl;
  const total = options.jobs ?? 1500;

  describe(`cleanup: ${name}`, () => {
    let h: DriverHarness;
    const f = fixtures(() => h);
    beforeAll(async () => {
      h = await makeHarness(url());
    });
    afterEach(() => f.closeAll());
    afterAll(async () => {
      await f.dropAll();
      await h?.driver.close?.();
      await h?.close();
    });

    /** Runs `n` jobs of `task` through a worker and waits until they are terminal. */
    const runJobs = async <T extends TaskMap>(
      fx: Fixture<T>,
      task: keyof T & string,
      n: number,
    ): Promise<string[]> => {
      const jobs = Array.from({ length: n }, (_, i) => ({ task, payload: i }) as JobSpec<T>);
      const ids = (await fx.queue.enqueueMany(jobs)).map((r) => r.id);
      const w = await fx.queue.work({ pollInterval: 20, settleDelay: 1 });
      try {
        await waitFor(
          async () => {
            const rows = await fx.sql<{ n: number }>(
              "SELECT count(*)::integer AS n FROM $S.jobs WHERE state IN ('ready', 'claimed')",
            );
            return Number(rows[0]!.n) === 0;
          },
          { what: `${n} ${task} jobs to end` },
        );
      } finally {
        await w.stop();
      }
      return ids;
    };

    /** Makes jobs of these ids look as if they ended `ageMs` ago, by the database clock. */
    const age = (
      fx: Pick<Fixture<TaskMap>, "sql">,
      ids: string[],
      ageMs: number,
    ): Promise<unknown> =>
      fx.sql(
        `UPDATE $S.jobs SET finished_at = now() - $1::bigint * interval '1 millisecond'
         WHERE id IN (SELECT (jsonb_array_elements_text($2::text::jsonb))::bigint)`,
        [ageMs, JSON.stringify(ids)],
      );

    /** Writes `n` jobs straight into the table, already ended `ageMs` ago. */
    const history = (
      fx: Pick<Fixture<TaskMap>, "sql">,
      state: "finished" | "failed",
      n: number,
      ageMs: number,
    ): Promise<unknown> =>
      fx.sql(
        `INSERT INTO $S.jobs (queue, task, payload, state, attempt, finished_at)
         SELECT 'default', 'noop', to_jsonb(g), $1::text, 1,
                now() - $2::bigint * interval '1 millisecond' - g * interval '1 microsecond'
         FROM generate_series(1, $3::integer) g`,
        [state, ageMs, n],
      );

    it("a tight cleanup loop beside producers and workers: every job runs once and is deleted once finished, none stranded, none lost, idle tasks get new jobs", {
      timeout: 60_000,
    }, async () => {
      const runs = new Map<string, number>();
      const record = async (p: { id: string; fail?: boolean }) => {
        runs.set(p.id, (runs.get(p.id) ?? 0) + 1);
        if (p.fail) throw new PermanentError("failed on purpose");
      };
      const task = () => defineTask({ maxAttempts: 1, handler: record });
      const tasks = {
        a: task(),
        b: task(),
        c: task(),
        d: defineTask({ queue: "other", maxAttempts: 1, handler: record }),
        idle: task(),
      };
      // Ages 0: a job is deletable the moment it ends, the harshest setting.
      const fx = await f.make({
        tasks,
        cleanup: { finishedAfter: 0, failedAfter: 0, interval: 1, batchSize: 25 },
      });
      // A second process on the same schema: its own queue, cleanup and worker.
      const other = await f.make({
        tasks,
        schema: fx.schema,
        cleanup: { finishedAfter: 0, failedAfter: 0, interval: 1, batchSize: 25 },
      });
      const workers = [
        await fx.queue.work({ concurrency: 8, pollInterval: 20, settleDelay: 1 }),
        await other.queue.work({ concurrency: 8, pollInterval: 20, settleDelay: 1 }),
      ];
      let enqueued = 0;
      let stopped = false;
      // And on demand, in a tight loop, on top of the interval.
      const onDemand = (async () => {
        while (!stopped) await fx.retention.run();
      })();
      try {
        const busy = ["a", "b", "c", "d"] as const;
        const producer = async (k: number) => {
          for (let i = 0; enqueued < total; i++) {
            const n = 1 + ((i * 7 + k) % 20);
            const jobs = Array.from({ length: n }, (_, j) => {
              const id = `p${k}-${i}-${j}`;
              return { task: busy[(i + j) % busy.length]!, payload: { id, fail: j % 9 === 4 } };
            });
            enqueued += n;
            if (n === 1) await fx.queue.enqueue(jobs[0]!.task, jobs[0]!.payload);
            else await other.queue.enqueueMany(jobs);
            await new Promise((r) => setImmediate(r));
          }
        };
        const idle = async () => {
          // A task that goes quiet until cleanup deleted all of it, then gets new jobs.
          for (let round = 0; round < 3; round++) {
            const ids = Array.from({ length: 10 }, (_, j) => `idle-${round}-${j}`);
            await fx.queue.enqueueMany(ids.map((id) => ({ task: "idle", payload: { id } })));
            enqueued += ids.length;
            await waitFor(() => ids.every((id) => runs.has(id)), {
              what: `idle round ${round} to run`,
              timeoutMs: 20_000,
            });
            await waitFor(
              async () =>
                Number(
                  (
                    await fx.sql<{ n: number }>(
                      "SELECT count(*)::integer AS n FROM $S.jobs WHERE task = 'idle'",
                    )
                  )[0]!.n,
                ) === 0,
              { what: `idle round ${round} to be deleted`, timeoutMs: 20_000 },
            );
            const seen = fx.passes.length;
            await waitFor(() => fx.passes.length >= seen + 3, { what: "three more passes" });
          }
        };
        await Promise.all([producer(0), producer(1), producer(2), idle()]);
        await waitFor(() => runs.size === enqueued, {
          what: `all ${enqueued} jobs to run`,
          timeoutMs: 40_000,
          intervalMs: 20,
        });
        await waitFor(async () => Object.keys(await fx.states()).length === 0, {
          what: "every ended job deleted",
          timeoutMs: 20_000,
        });
      } finally {
        stopped = true;
        await onDemand.catch(() => {});
        await Promise.all(workers.map((w) => w.stop()));
      }
      expect(runs.size).toBe(enqueued);
      expect([...runs.values()].every((n) => n === 1)).toBe(true);
      const deleted = [...fx.passes, ...other.passes].reduce(
        (sum, p) => sum + Number(p.finished) + Number(p.failed),
        0,
      );
      expect(deleted).toBe(enqueued);
      expect(fx.errors).toEqual([]);
    });

    it("never deletes ready or claimed jobs, however old their times", async () => {
      const hold = gate();
      let started = false;
      const fx = await f.make({
        tasks: {
          noop,
          fail,
          hold: defineTask({
            handler: async () => {
              started = true;
              await hold.promise;
            },
          }),
          parked: defineTask({ queue: "parked", handler: async () => {} }),
        },
        cleanup: { finishedAfter: 0, failedAfter: 0 },
      });
      await fx.queue.start();
      const [done] = await runJobs(fx, "noop", 1);
      const [failed] = await runJobs(fx, "fail", 1);
      // No worker takes the "parked" queue: these stay ready.
      const ready = await fx.queue.enqueue("parked", null);
      const delayed = await fx.queue.enqueue("parked", null, { delay: DAY });
      const claimed = await fx.queue.enqueue("hold", null);
      const w = await fx.queue.work({ queues: ["default"], pollInterval: 20, settleDelay: 1 });
      try {
        await waitFor(() => started, { what: "the held job to start" });
        // As old as can be, and even a stale finished_at, as no live job has.
        await fx.sql(
          `UPDATE $S.jobs SET created_at = now() - interval '10 years',
             finished_at = now() - interval '10 years',
             run_at = CASE WHEN id = $1::bigint THEN run_at ELSE now() - interval '10 years' END
           WHERE state IN ('ready', 'claimed')`,
          [delayed.id],
        );
        await age(fx, [done!, failed!], 10 * 365 * DAY);
        const first = await fx.retention.run();
        expect(first).toMatchObject({ finished: 1, failed: 1 });
        await fx.retention.run();
        expect(await fx.queue.getJob(done!)).toBeNull();
        expect(await fx.queue.getJob(failed!)).toBeNull();
        expect((await fx.queue.getJob(ready.id))?.state).toBe("ready");
        expect((await fx.queue.getJob(delayed.id))?.state).toBe("ready");
        expect((await fx.queue.getJob(claimed.id))?.state).toBe("claimed");
        // The claim is intact: the worker settles it.
        hold.open();
        await waitFor(async () => (await fx.queue.getJob(claimed.id))?.state === "finished", {
          what: "the held job to finish",
        });
      } finally {
        hold.open();
        await w.stop();
      }
      expect(await fx.retention.run()).toMatchObject({ finished: 1, failed: 0 });
      expect(await fx.states()).toEqual({ ready: 2 });
    });

    it("deletes in bounded batches: ceil(N / batchSize) short statements, each at most batchSize rows", async () => {
      const seen: Seen[] = [];
      const fx = await f.make({
        tasks: { noop },
        driver: recordingDriver(h.driver, seen),
        cleanup: { finishedAfter: HOUR, failedAfter: HOUR, batchSize: 100 },
      });
      await fx.queue.start();
      await history(fx, "finished", 2550, 2 * HOUR);
      await history(fx, "failed", 200, 2 * HOUR);
      const st = cleanupStatements(fx.schema);
      const counts = await fx.retention.run();
      expect(counts).toMatchObject({ finished: 2550, failed: 200 });
      const batches = (sql: string) =>
        seen.filter((s) => s.sql === sql).map((s) => Number(s.rows[0]!.deleted));
      const finished = batches(st.deleteFinished);
      const failedBatches = batches(st.deleteFailed);
      // 25 full batches and one of 50; 200 failed: two full ones and the empty one that ends the loop.
      expect(finished).toEqual([...Array.from({ length: 25 }, () => 100), 50]);
      expect(failedBatches).toEqual([100, 100, 0]);
      expect(await fx.states()).toEqual({});
    });

    it("never waits on rows someone holds: skips them, deletes the rest, gets them next pass", async () => {
      const fx = await f.make({ tasks: { noop }, cleanup: { finishedAfter: HOUR, batchSize: 50 } });
      await fx.queue.start();
      await history(fx, "finished", 300, 2 * HOUR);
      await h.withNativeTransaction(async (tx) => {
        const own = h.driver.executorFor(tx);
        await own.query(
          `SELECT id FROM "${fx.schema}".jobs ORDER BY finished_at LIMIT 10 FOR UPDATE`,
        );
        // Blocking here would never end: this transaction waits for the pass.
        expect((await fx.retention.run()).finished).toBe(290);
      });
      expect((await fx.retention.run()).finished).toBe(10);
    });

    it("honours the ages by the database clock; null and Infinity keep forever", async () => {
      const fx = await f.make({
        tasks: { noop, fail },
        cleanup: { finishedAfter: HOUR, failedAfter: null },
      });
      const keepFinished = await f.make({
        tasks: { noop, fail },
        schema: fx.schema,
        cleanup: { finishedAfter: Number.POSITIVE_INFINITY, failedAfter: 2 * DAY },
      });
      await fx.queue.start();
      await keepFinished.queue.start();
      const finished = await runJobs(fx, "noop", 3);
      const failed = await runJobs(fx, "fail", 3);
      await age(fx, [finished[0]!], 2 * HOUR);
      await age(fx, [finished[1]!], HOUR - 5 * 60_000);
      await age(fx, [failed[0]!], 3 * DAY);
      await age(fx, [failed[1]!], DAY);
      expect(await fx.retention.run()).toMatchObject({ finished: 1, failed: 0 });
      expect(await keepFinished.retention.run()).toMatchObject({ finished: 0, failed: 1 });
      const left = await fx.sql<{ id: string }>("SELECT id::text AS id FROM $S.jobs ORDER BY id");
      expect(left.map((r) => r.id).sort()).toEqual(
        [finished[1]!, finished[2]!, failed[1]!, failed[2]!].sort(),
      );
      // Ten years old, kept forever: still there.
      await age(fx, [...finished, ...failed], 10 * 365 * DAY);
      expect(await keepFinished.retention.run()).toMatchObject({ finished: 0, failed: 2 });
      expect(await fx.states()).toEqual({ finished: 2 });
    });

    it("prunes rows of workers that are gone, never a live worker's nor one that holds a claimed job", async () => {
      const fx = await f.make({ tasks: { noop }, cleanup: { batchSize: 1 } });
      // A long lease keeps this worker's own rescue (which also drops silent rows) out of the way.
      const live = await fx.queue.work({ leaseTimeout: 6 * HOUR, pollInterval: 20 });
      try {
        await fx.sql(
          `INSERT INTO $S.workers (id, queues, host, pid, heartbeat_at) VALUES
             ('dead-1', '{default}', 'gone', 1, now() - interval '2 hours'),
             ('dead-2', '{default}', 'gone', 2, now() - interval '3 hours'),
             ('dead-claiming', '{default}', 'gone', 3, now() - interval '2 hours'),
             ('quiet', '{default}', 'here', 4, now() - interval '10 minutes')`,
        );
        await fx.sql(
          `INSERT INTO $S.jobs (queue, task, payload, state, attempt, claimed_by, claimed_at, claim_token)
           VALUES ('parked', 'noop', 'null', 'claimed', 1, 'dead-claiming', now(), gen_random_uuid())`,
        );
        const ids = async () =>
          (await fx.sql<{ id: string }>("SELECT id FROM $S.workers ORDER BY id")).map((r) => r.id);
        await waitFor(async () => (await ids()).includes(live.id), {
          what: "the live worker's row",
        });
        expect(await fx.retention.run()).toMatchObject({ workers: 2 });
        expect(await ids()).toEqual(["dead-claiming", live.id, "quiet"].sort());
        // The claimed job's worker row goes once its job is no longer claimed.
        await fx.sql("UPDATE $S.jobs SET state = 'ready', claim_token = NULL, claimed_by = NULL");
        expect(await fx.retention.run()).toMatchObject({ workers: 1 });
        expect(await ids()).toEqual([live.id, "quiet"].sort());
      } finally {
        await live.stop();
      }
    });

    it("calls prune on every other plugin that has one, in batches, and reports its counts; a failing prune does not end the pass", async () => {
      let left = 250;
      const limits: number[] = [];
      const pruning: Plugin = {
        name: "ticks",
        start() {},
        async prune(limit) {
          limits.push(limit);
          const n = Math.min(limit, left);
          left -= n;
          return { ticks: n, other: 0 };
        },
      };
      const broken: Plugin = {
        name: "broken",
        start() {},
        async prune() {
          throw new Error("prune broke");
        },
      };
      const plain: Plugin = { name: "plain", start() {} };
      const logger = recordingLogger();
      const fx = await f.make({
        tasks: { noop },
        cleanup: { batchSize: 100 },
        plugins: [broken, plain, pruning],
        logger,
      });
      await fx.queue.start();
      const counts = await fx.retention.run();
      expect(counts.plugins).toEqual({ broken: {}, ticks: { ticks: 250, other: 0 } });
      expect(limits).toEqual([100, 100, 100]);
      expect(left).toBe(0);
      expect(fx.errors).toEqual([
        expect.objectContaining({ during: "prune", of: "broken", error: expect.any(Error) }),
      ]);
      expect(logger.lines).toContainEqual(
        expect.objectContaining({
          level: "error",
          fields: expect.objectContaining({ plugin: "cleanup", of: "broken" }),
        }),
      );
      expect((await fx.retention.run()).plugins.ticks).toEqual({ ticks: 0, other: 0 });
    });

    it("runs on its interval once started, reports each pass as an event and in the log, and refuses run() once closed", async () => {
      const logger = recordingLogger();
      const fx = await f.make({
        tasks: { noop },
        cleanup: { finishedAfter: HOUR, interval: 20 },
        logger,
      });
      await history(fx, "finished", 30, 2 * HOUR);
      await expect(fx.retention.run()).rejects.toMatchObject({ code: "NOT_RUNNING" });
      await fx.queue.start();
      const pass = await waitFor(() => fx.passes.find((p) => Number(p.finished) > 0), {
        what: "a pass on the interval",
      });
      expect(pass).toMatchObject({ finished: 30, failed: 0, workers: 0, plugins: {} });
      expect(pass.durationMs).toEqual(expect.any(Number));
      await waitFor(() => fx.passes.length >= 3, { what: "more passes" });
      expect(logger.lines).toContainEqual(
        expect.objectContaining({
          level: "info",
          fields: expect.objectContaining({ plugin: "cleanup", finished: 30 }),
        }),
      );
      await fx.queue.close();
      const error = await fx.retention.run().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QError);
      expect(error).toMatchObject({ code: "NOT_RUNNING" });
    });

    it("two processes cleaning at once delete each row once", async () => {
      const a = await f.make({ tasks: { noop }, cleanup: { finishedAfter: HOUR, batchSize: 100 } });
      const b = await f.make({
        tasks: { noop },
        schema: a.schema,
        cleanup: { finishedAfter: HOUR, batchSize: 100 },
      });
      await a.queue.start();
      await b.queue.start();
      await history(a, "finished", 3000, 2 * HOUR);
      const [x, y] = await Promise.all([a.retention.run(), b.retention.run()]);
      expect(x.finished + y.finished).toBe(3000);
      expect(await a.states()).toEqual({});
    });
  });
}
