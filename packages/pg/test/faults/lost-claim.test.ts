import { createQueue, defineTask, silentLogger } from "@q/core";
import { waitFor } from "@q/core/testing";
import { freshSchemaName, startProxy, type TcpProxy } from "@q/test-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createPgDriver } from "../../src/index.js";
import { collectUnhandled, countByState, poolWithErrors, RunLog } from "./helpers.js";

/** A phrase of the claim statement only (the rescue locks with SKIP LOCKED too). */
const CLAIM_SQL = "claim_token = gen_random_uuid()";
const JOBS = 5;
const LEASE_MS = 15_000;
const HEARTBEAT_MS = 300;

// A claim commits, but its reply never reaches the worker: the jobs are
// `claimed` by a live worker that does not know it holds them. The worker
// finds out from its heartbeat and hands them back at once, uncharged; they
// must not wait for a lease that never runs out.
describe("a lost claim reply", () => {
  const url = inject("databaseUrl");
  const schema = freshSchemaName("lost");
  let proxy: TcpProxy;
  const unhandled = collectUnhandled();

  beforeAll(async () => {
    proxy = await startProxy(url);
  });
  afterAll(async () => {
    unhandled.stop();
    await proxy?.close();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });

  it("the jobs run within a few heartbeats, well before the lease would rescue them", async () => {
    // Not prepared: every claim sends its SQL text, which the proxy looks for.
    const { pool } = poolWithErrors({ connectionString: proxy.url(url), max: 4 });
    const driver = createPgDriver(pool, { prepare: false });
    const runs = new RunLog();
    const queue = createQueue({
      driver,
      schema,
      logger: silentLogger,
      tasks: { work: defineTask({ handler: async (_p, { job }) => void runs.record(job.id) }) },
    });
    const rescued: string[] = [];
    queue.on("rescued", (e) => void rescued.push(...e.jobs.map((j) => j.id)));
    const workerErrors: string[] = [];
    queue.on("error", (e) => void workerErrors.push(e.during));
    try {
      await queue.migrate();
      const ids = (
        await queue.enqueueMany(
          Array.from({ length: JOBS }, (_, i) => ({ task: "work" as const, payload: i })),
        )
      ).map((r) => r.id);

      // The worker's first claim takes all of them; its reply is dropped.
      const cut = proxy.cutAfter(CLAIM_SQL);
      const worker = await queue.work({
        concurrency: 10,
        leaseTimeout: LEASE_MS,
        heartbeatInterval: HEARTBEAT_MS,
        pollInterval: 100,
      });
      const { status } = await cut;
      const cutAt = Date.now();
      // The claim committed (ReadyForQuery, idle) though the worker never heard of it.
      expect(status).toBe("I");

      await waitFor(async () => (await countByState(pool, schema)).finished === JOBS, {
        // Within a few heartbeat intervals (with room for a loaded machine); the
        // lease is far longer, and it would not help anyway: the worker is alive.
        timeoutMs: LEASE_MS / 3,
        intervalMs: 20,
        what: "the jobs of the lost claim to finish",
      });
      const tookMs = Date.now() - cutAt;
      await worker.stop();
      console.log(
        `[lost-claim] jobs of the lost claim finished ${tookMs} ms after the cut ` +
          `(heartbeat every ${HEARTBEAT_MS} ms, lease ${LEASE_MS} ms); worker errors: ${workerErrors.join(", ")}`,
      );

      expect(tookMs).toBeLessThan(LEASE_MS / 3);
      expect(rescued).toEqual([]);
      expect(runs.twice()).toEqual({});
      expect(runs.missing(ids)).toEqual([]);
      for (const id of ids) {
        const job = await queue.getJob(id);
        // Handed back uncharged: one attempt, no error recorded.
        expect(job).toMatchObject({ state: "finished", attempt: 1, errors: [] });
      }
      expect(unhandled.errors).toEqual([]);
    } finally {
      await queue.close();
      await driver.close?.();
      await pool.end();
    }
  }, 30_000);
});
