import { setTimeout as sleep } from "node:timers/promises";
import { createQueue, defineTask, silentLogger } from "@q/core";
import { waitFor } from "@q/core/testing";
import { freshSchemaName } from "@q/test-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createPgDriver } from "../../src/index.js";
import { collectUnhandled, countByState, enqueueJobs, poolWithErrors, RunLog } from "./helpers.js";

const JOBS = 3000;
/** Time between two rounds of killing. */
const KILL_EVERY_MS = 100;

// Every connection q has (the pool's, LISTEN, control) is terminated by the
// server, again and again, while a worker drains: nothing is lost, nothing runs twice.
describe("pg_terminate_backend on every q connection during a drain", () => {
  const url = inject("databaseUrl");
  const schema = freshSchemaName("term");
  // Every connection of the driver carries this name: the pool's, and the
  // LISTEN and control connections, which are opened with the pool's options.
  const applicationName = `q_${schema}`;
  const admin = new pg.Client({ connectionString: url });
  const unhandled = collectUnhandled();

  beforeAll(async () => {
    await admin.connect();
  });
  afterAll(async () => {
    unhandled.stop();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await admin.end().catch(() => {});
  });

  it("all jobs finish, none twice", async () => {
    const { pool, errors: poolErrors } = poolWithErrors({
      connectionString: url,
      max: 6,
      application_name: applicationName,
    });
    const driver = createPgDriver(pool);
    const runs = new RunLog();
    const queue = createQueue({
      driver,
      schema,
      logger: silentLogger,
      tasks: {
        work: defineTask({
          handler: async (_payload, { job }) => {
            runs.record(job.id);
            // A little work, so the drain spans many rounds of killing.
            await sleep(5);
          },
        }),
      },
    });
    const workerErrors: string[] = [];
    queue.on("error", (e) => void workerErrors.push(e.during));
    let kills = 0;
    let rounds = 0;
    let killing = true;
    try {
      await queue.migrate();
      const ids = await enqueueJobs(queue, "work", JOBS);
      const worker = await queue.work({
        concurrency: 5,
        prefetch: 10,
        leaseTimeout: 30_000,
        pollInterval: 100,
      });
      const names = await admin.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1",
        [applicationName],
      );
      // At least the LISTEN connection and one of the pool.
      expect(names.rows[0]!.n).toBeGreaterThanOrEqual(2);
      const before = names.rows[0]!.n;

      const killer = (async () => {
        while (killing) {
          const { rows } = await admin.query<{ killed: boolean }>(
            `SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity
             WHERE application_name = $1 AND pid <> pg_backend_pid()`,
            [applicationName],
          );
          kills += rows.filter((r) => r.killed).length;
          rounds++;
          await sleep(KILL_EVERY_MS);
        }
      })();
      try {
        await waitFor(() => runs.distinct === JOBS, {
          timeoutMs: 45_000,
          intervalMs: 20,
          what: `all ${JOBS} jobs to run (ran: ${runs.distinct})`,
        });
      } finally {
        killing = false;
        await killer;
      }
      await waitFor(
        async () =>
          (await countByState(pool, schema).catch((): Record<string, number> => ({})))?.finished ===
          JOBS,
        { timeoutMs: 20_000, intervalMs: 50, what: "every job to be settled finished" },
      );
      await worker.stop();

      console.log(
        `[terminate] ${JOBS} jobs; ${before} q connections at the start; ${kills} connections terminated in ${rounds} rounds; ` +
          `worker errors: ${workerErrors.length} (${[...new Set(workerErrors)].join(", ")}); ` +
          `pool errors: ${poolErrors.length}`,
      );
      expect(rounds).toBeGreaterThanOrEqual(10);
      expect(kills).toBeGreaterThanOrEqual(10);
      expect(await countByState(admin, schema)).toEqual({ finished: JOBS });
      expect(runs.twice()).toEqual({});
      expect(runs.missing(ids)).toEqual([]);
      expect(unhandled.errors).toEqual([]);
    } finally {
      killing = false;
      await queue.close();
      await driver.close?.();
      await pool.end();
    }
  }, 60_000);
});
