import { type ChildProcess, spawn } from "node:child_process";
import { createQueue, defineTask, silentLogger } from "@q/core";
import { waitFor } from "@q/core/testing";
import { freshSchemaName } from "@q/test-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createPgDriver } from "../src/index.js";

// Real processes, really killed: the jobs of a dead worker come back, and a job
// that kills its worker every time ends failed instead of running forever.
describe("crashed worker processes", () => {
  const url = inject("databaseUrl");
  const schema = freshSchemaName("crash");
  const pool = new pg.Pool({ connectionString: url, max: 6 });
  const driver = createPgDriver(pool);
  const children: ChildProcess[] = [];
  const tasks = { work: defineTask({ handler: async () => {} }) };
  const queue = createQueue({ driver, schema, tasks, logger: silentLogger });

  beforeAll(async () => {
    await queue.migrate();
    await pool.query(`CREATE TABLE "${schema}".runs (job bigint NOT NULL, pid int NOT NULL)`);
  });
  afterAll(async () => {
    for (const c of children) c.kill("SIGKILL");
    await queue.close();
    await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
    await driver.close?.();
    await pool.end();
  });

  const spawnWorker = (mode: "hang" | "die", queueName = "default") => {
    const fixture = new URL("./fixtures/worker.mjs", import.meta.url).pathname;
    const child = spawn(process.execPath, [fixture], {
      env: { ...process.env, DATABASE_URL: url, SCHEMA: schema, MODE: mode, QUEUE: queueName },
      stdio: ["ignore", "ignore", "inherit"],
    });
    children.push(child);
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once("exit", (_code, signal) => resolve(signal)),
    );
    return { child, exited };
  };
  const runsOf = async (id: string) =>
    (await pool.query<{ pid: number }>(`SELECT pid FROM "${schema}".runs WHERE job = $1`, [id]))
      .rows;

  it("jobs claimed by a SIGKILLed worker are rescued and run once more elsewhere", async () => {
    const jobs = await queue.enqueueMany(
      [1, 2, 3].map((n) => ({ task: "work" as const, payload: n })),
    );
    const { child, exited } = spawnWorker("hang");
    await waitFor(async () => (await pool.query(`SELECT 1 FROM "${schema}".runs`)).rowCount === 3, {
      what: "the child to start all three jobs",
    });
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");

    // A healthy worker elsewhere rescues them once the lease runs out, and runs them.
    const rescued: string[] = [];
    queue.on("rescued", (e) => rescued.push(...e.jobs.map((j) => j.id)));
    const w = await queue.work({ leaseTimeout: 1000, heartbeatInterval: 100, rescueInterval: 100 });
    try {
      for (const { id } of jobs) {
        await waitFor(async () => (await queue.getJob(id))?.state === "finished", {
          what: `job ${id}`,
        });
        const job = await queue.getJob(id);
        expect(job!.attempt).toBe(2);
        expect(job!.errors.map((e) => e.code)).toEqual(["WORKER_LOST"]);
        expect((await runsOf(id)).map((r) => r.pid)).toEqual([child.pid]);
      }
    } finally {
      await w.stop();
    }
    expect(rescued.sort()).toEqual(jobs.map((j) => j.id).sort());
  });

  it("a job that kills its worker every time ends failed after maxAttempts", async () => {
    const { id } = await queue.enqueue("work", "poison", { maxAttempts: 2, queue: "poison" });
    // A worker on another queue only rescues.
    const rescuer = await queue.work({
      queues: ["elsewhere"],
      leaseTimeout: 1000,
      heartbeatInterval: 100,
      rescueInterval: 100,
    });
    try {
      for (let round = 1; round <= 5; round++) {
        const job = await queue.getJob(id);
        if (job!.state === "failed") break;
        await waitFor(async () => (await queue.getJob(id))?.state === "ready", { what: "ready" });
        const { exited } = spawnWorker("die", "poison");
        expect(await exited).toBe("SIGKILL");
        await waitFor(async () => (await queue.getJob(id))?.state !== "claimed", {
          what: "rescue",
        });
      }
    } finally {
      await rescuer.stop();
    }
    const job = await queue.getJob(id);
    expect(job).toMatchObject({ state: "failed", attempt: 2 });
    expect(job!.errors.map((e) => e.code)).toEqual(["WORKER_LOST", "WORKER_LOST"]);
    expect(await runsOf(id)).toHaveLength(2);
  });
});
