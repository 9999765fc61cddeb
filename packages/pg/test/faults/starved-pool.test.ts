import { createQueue, defineTask, silentLogger } from "@q/core";
import { waitFor } from "@q/core/testing";
import { freshSchemaName } from "@q/test-postgres";
import type pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createPgDriver } from "../../src/index.js";
import { collectUnhandled, countByState, enqueueJobs, poolWithErrors, RunLog } from "./helpers.js";

const JOBS = 40;
const LEASE_MS = 3000;

// A worker whose pool is busy with its handlers' own queries is still alive:
// its heartbeats must not wait behind those queries, or a second worker takes
// it for dead, rescues its jobs and runs them again.
describe("a starved pool (max: 1, 20 handlers each running a 0.5 s query on it)", () => {
  const url = inject("databaseUrl");
  const schema = freshSchemaName("starved");
  const unhandled = collectUnhandled();
  const pools: pg.Pool[] = [];
  const closers: (() => Promise<void>)[] = [];

  afterAll(async () => {
    unhandled.stop();
    for (const close of closers) await close();
    await pools.at(-1)?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    for (const pool of pools) await pool.end();
  });

  /** A queue whose handlers run `pg_sleep(0.5)` on the queue's own pool. */
  function queueOn(max: number, runs: RunLog) {
    const { pool } = poolWithErrors({ connectionString: url, max });
    pools.push(pool);
    const driver = createPgDriver(pool);
    const queue = createQueue({
      driver,
      schema,
      logger: silentLogger,
      tasks: {
        work: defineTask({
          handler: async (_payload, { job }) => {
            runs.record(job.id);
            await pool.query("SELECT pg_sleep(0.5)");
          },
        }),
      },
    });
    closers.push(async () => {
      await queue.close();
      await driver.close?.();
    });
    return { queue, pool };
  }

  it("no job runs twice", async () => {
    const runs = new RunLog();
    const starved = queueOn(1, runs);
    const healthy = queueOn(10, runs);
    const rescued: string[] = [];
    for (const { queue } of [starved, healthy]) {
      queue.on("rescued", (e) => void rescued.push(...e.jobs.map((j) => j.id)));
    }
    await starved.queue.migrate();
    const options = {
      concurrency: 20,
      prefetch: 0,
      leaseTimeout: LEASE_MS,
      heartbeatInterval: LEASE_MS / 3,
      rescueInterval: 250,
      pollInterval: 200,
    };
    // The starved worker starts first and takes the first 20 jobs.
    const first = await starved.queue.work(options);
    const ids = await enqueueJobs(starved.queue, "work", JOBS / 2);
    await waitFor(() => first.running === JOBS / 2, {
      what: "the starved worker to start 20 jobs",
    });
    const second = await healthy.queue.work(options);
    ids.push(...(await enqueueJobs(healthy.queue, "work", JOBS / 2)));

    await waitFor(async () => (await countByState(healthy.pool, schema)).finished === JOBS, {
      timeoutMs: 40_000,
      intervalMs: 100,
      what: `all ${JOBS} jobs to finish`,
    });
    await Promise.all([first.stop(), second.stop()]);
    console.log(`[starved-pool] ${JOBS} jobs; ran ${runs.total} times; rescued: ${rescued.length}`);

    expect(runs.twice()).toEqual({});
    expect(runs.missing(ids)).toEqual([]);
    expect(rescued).toEqual([]);
    expect(await countByState(healthy.pool, schema)).toEqual({ finished: JOBS });
    expect(unhandled.errors).toEqual([]);
  }, 60_000);
});
