import { type ChildProcess, fork } from "node:child_process";
import { createQueue, defineTask, silentLogger } from "@q/core";
import { waitFor } from "@q/core/testing";
import { freshSchemaName } from "@q/test-postgres";
import pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createPgDriver } from "../../src/index.js";
import { countByState, enqueueJobs } from "./helpers.js";

const PROCESSES = 8;
const JOBS = 20_000;

type FromChild = { type: "ready" } | { type: "ran"; ran: string[]; errors: string[] };

// Eight worker processes race for the same jobs: each runs exactly once.
describe("contention: worker processes on one schema", () => {
  const url = inject("databaseUrl");
  const schema = freshSchemaName("contend");
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on("error", () => {});
  const driver = createPgDriver(pool);
  const queue = createQueue({
    driver,
    schema,
    logger: silentLogger,
    tasks: { work: defineTask({ handler: async () => {} }) },
  });
  const children: ChildProcess[] = [];

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
    await queue.close();
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await driver.close?.();
    await pool.end();
  });

  /** Starts a worker process; resolves once its worker runs. */
  function startChild(): Promise<{ child: ChildProcess; next: () => Promise<FromChild> }> {
    const fixture = new URL("../fixtures/contention-worker.mjs", import.meta.url).pathname;
    const child = fork(fixture, [], {
      env: { ...process.env, DATABASE_URL: url, SCHEMA: schema, CONCURRENCY: "10" },
      execArgv: [],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    children.push(child);
    const inbox: FromChild[] = [];
    const waiting: ((message: FromChild) => void)[] = [];
    child.on("message", (message: FromChild) => {
      const taker = waiting.shift();
      if (taker) taker(message);
      else inbox.push(message);
    });
    const next = () =>
      new Promise<FromChild>((resolve, reject) => {
        const queued = inbox.shift();
        if (queued) return resolve(queued);
        waiting.push(resolve);
        child.once("exit", (code) => reject(new Error(`worker process exited (${code})`)));
      });
    return next().then((first) => {
      expect(first.type).toBe("ready");
      return { child, next };
    });
  }

  it(`${PROCESSES} processes × ${JOBS} jobs: each job finished exactly once, none left claimed`, async () => {
    await queue.migrate();
    const workers = await Promise.all(Array.from({ length: PROCESSES }, startChild));

    const started = performance.now();
    const ids = await enqueueJobs(queue, "work", JOBS, 2000);
    await waitFor(async () => (await countByState(pool, schema)).finished === JOBS, {
      timeoutMs: 45_000,
      intervalMs: 100,
      what: `all ${JOBS} jobs to finish`,
    });
    const drainedMs = performance.now() - started;

    const reports = await Promise.all(
      workers.map(async ({ child, next }) => {
        child.send("stop");
        const report = await next();
        if (report.type !== "ran") throw new Error("expected the ids a worker process ran");
        return report;
      }),
    );
    const counts = new Map<string, number>();
    for (const { ran } of reports) for (const id of ran) counts.set(id, (counts.get(id) ?? 0) + 1);
    const twice = [...counts].filter(([, n]) => n > 1);
    const perProcess = reports.map((r) => r.ran.length);
    console.log(
      `[contention] ${PROCESSES} processes, ${JOBS} jobs: enqueued and drained in ${Math.round(drainedMs)} ms; ` +
        `jobs per process: ${perProcess.join(", ")}; ` +
        `worker errors: ${reports.reduce((n, r) => n + r.errors.length, 0)}`,
    );

    expect(await countByState(pool, schema)).toEqual({ finished: JOBS });
    expect(twice).toEqual([]);
    expect(ids.filter((id) => !counts.has(id))).toEqual([]);
    expect(perProcess.reduce((a, b) => a + b, 0)).toBe(JOBS);
    // They really competed: the jobs did not all go to one process.
    expect(perProcess.filter((n) => n > 0).length).toBeGreaterThan(1);
    expect(reports.flatMap((r) => r.errors)).toEqual([]);
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${schema}".workers`,
    );
    expect(rows[0]!.n).toBe(0);
  }, 60_000);
});
