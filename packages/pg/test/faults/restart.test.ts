import { createQueue, defineTask, silentLogger } from "@q/core";
import { waitFor } from "@q/core/testing";
import { freshSchemaName, type PrivateServer, startPrivateServer } from "@q/test-postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPgDriver } from "../../src/index.js";
import { collectUnhandled, countByState, enqueueJobs, poolWithErrors, RunLog } from "./helpers.js";

const JOBS = 5000;

// A PostgreSQL of the test's own goes away in the middle of a drain: the worker
// carries on by itself once the server is back, and every job runs once.
describe("PostgreSQL restarts during a drain", () => {
  let server: PrivateServer;
  const unhandled = collectUnhandled();

  beforeAll(async () => {
    server = await startPrivateServer();
  }, 60_000);
  afterAll(async () => {
    unhandled.stop();
    await server?.destroy();
  });

  /**
   * Drains {@link JOBS} jobs; once a fifth of them ran, `fault` takes the
   * server away and brings it back. Returns how long after the server was
   * back the first job was settled.
   */
  async function drainThrough(fault: () => Promise<void>): Promise<number> {
    const schema = freshSchemaName("restart");
    const { pool, errors: poolErrors } = poolWithErrors({
      connectionString: server.url,
      max: 8,
      connectionTimeoutMillis: 5000,
    });
    const driver = createPgDriver(pool);
    const runs = new RunLog();
    const queue = createQueue({
      driver,
      schema,
      logger: silentLogger,
      tasks: {
        work: defineTask({ handler: async (_payload, { job }) => void runs.record(job.id) }),
      },
    });
    const settled: number[] = [];
    queue.on("finished", () => void settled.push(Date.now()));
    const workerErrors: string[] = [];
    queue.on("error", (e) => void workerErrors.push(e.during));
    try {
      await queue.migrate();
      const ids = await enqueueJobs(queue, "work", JOBS);
      // The lease outlasts the outage: the worker must not take itself for dead.
      const worker = await queue.work({ concurrency: 20, leaseTimeout: 30_000, pollInterval: 250 });

      await waitFor(() => runs.distinct >= JOBS / 5, { what: "a fifth of the jobs to run" });
      await fault();
      const backAt = Date.now();
      const ranBefore = runs.distinct;

      await waitFor(() => runs.distinct === JOBS, {
        timeoutMs: 40_000,
        intervalMs: 50,
        what: `all ${JOBS} jobs to run (ran: ${runs.distinct})`,
      });
      await waitFor(
        async () =>
          (await countByState(pool, schema).catch((): Record<string, number> => ({})))?.finished ===
          JOBS,
        { timeoutMs: 20_000, intervalMs: 50, what: "every job to be settled finished" },
      );
      await worker.stop();

      // The fault hit a drain in progress, and the worker got going again by itself.
      expect(ranBefore).toBeLessThan(JOBS);
      expect(await countByState(pool, schema)).toEqual({ finished: JOBS });
      expect(runs.twice()).toEqual({});
      expect(runs.missing(ids)).toEqual([]);
      expect(runs.total).toBe(JOBS);
      expect(unhandled.errors).toEqual([]);
      const firstAfter = settled.find((t) => t >= backAt);
      expect(firstAfter).toBeDefined();
      const recoveredMs = firstAfter! - backAt;
      console.log(
        `[restart] ${JOBS} jobs; first settle ${recoveredMs} ms after the server was back; ` +
          `worker errors: ${workerErrors.length} (${[...new Set(workerErrors)].join(", ")}); ` +
          `pool errors: ${poolErrors.length}`,
      );
      return recoveredMs;
    } finally {
      await queue.close();
      await driver.close?.();
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await pool.end();
    }
  }

  it("restart (fast): the worker recovers and every job finishes once", async () => {
    await drainThrough(async () => {
      const started = Date.now();
      await server.restart({ mode: "fast" });
      console.log(`[restart] fast restart took ${Date.now() - started} ms`);
    });
  }, 60_000);

  it("stop (immediate), back 5 s later: the worker recovers and every job finishes once", async () => {
    await drainThrough(async () => {
      await server.stop({ mode: "immediate" });
      // The outage itself: the server stays away this long on purpose.
      await new Promise((resolve) => setTimeout(resolve, 5000));
      await server.start();
    });
  }, 60_000);
});
