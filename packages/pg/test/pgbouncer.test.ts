import { spawn } from "node:child_process";
import { createQueue, defineTask, isQError, PostgresStorage, silentLogger } from "@q/core";
import { describeDriver } from "@q/core/conformance";
import { waitFor } from "@q/core/testing";
import {
  freshSchemaName,
  type PgBouncer,
  pgbouncerMissing,
  startPgBouncer,
} from "@q/test-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createPgDriver } from "../src/index.js";
import { pgHarness } from "./harness.js";

/** A worker process through the pooler: runs "work" jobs, prints their ids when told to stop. */
const CHILD = `
import { createQueue, defineTask, isQError, PostgresStorage, silentLogger } from "@q/core";
import pg from "pg";
import { createPgDriver } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
const { POOLED, DIRECT, SCHEMA } = process.env;
const pool = new pg.Pool({ connectionString: POOLED, max: 3 });
const driver = createPgDriver(pool, { prepare: false, listen: DIRECT });
const ran = [];
const queue = createQueue({ driver, schema: SCHEMA, logger: silentLogger,
  tasks: { work: defineTask({ handler: async (_p, { job }) => { ran.push(job.id); } }) } });
queue.on("error", (e) => console.error("child error", e.during, String(e.error)));
const worker = await queue.work({ concurrency: 10, pollInterval: 60000 });
process.stdout.write("ready\\n");
process.stdin.once("data", async () => {
  await worker.stop(); await driver.close(); await pool.end();
  process.stdout.write(JSON.stringify(ran) + "\\n");
});
`;

const missing = pgbouncerMissing();

describe.skipIf(missing)("behind PgBouncer in transaction mode", () => {
  const direct = inject("databaseUrl");
  let bouncer: PgBouncer;
  beforeAll(async () => {
    bouncer = await startPgBouncer({ target: direct, poolMode: "transaction" });
  });
  afterAll(async () => {
    await bouncer?.stop();
  });

  // The documented set-up: nothing prepared, LISTEN and control straight at PostgreSQL.
  describeDriver(
    "pg through PgBouncer",
    pgHarness({ prepare: false, listen: direct, control: direct }),
    { databaseUrl: () => bouncer.url, jobs: 2000 },
  );

  it("two worker processes through the pooler share 2000 jobs, each run once, woken by NOTIFY", async () => {
    const schema = freshSchemaName("bouncer");
    const pool = new pg.Pool({ connectionString: bouncer.url, max: 4 });
    const driver = createPgDriver(pool, { prepare: false, listen: direct });
    const queue = createQueue({
      driver,
      schema,
      logger: silentLogger,
      tasks: { work: defineTask({ handler: async () => {} }) },
    });
    // Two processes migrating at once through the pooler: the advisory lock is per transaction.
    await Promise.all([queue.migrate(), queue.migrate()]);
    const children = [0, 1].map(() => {
      const child = spawn(process.execPath, ["--input-type=module", "-e", CHILD], {
        env: { ...process.env, POOLED: bouncer.url, DIRECT: direct, SCHEMA: schema },
        stdio: ["pipe", "pipe", "inherit"],
      });
      const lines: string[] = [];
      let buffer = "";
      child.stdout.on("data", (chunk: Buffer) => {
        buffer += chunk.toString();
        const parts = buffer.split("\n");
        buffer = parts.pop() ?? "";
        lines.push(...parts);
      });
      return { child, lines };
    });
    try {
      await waitFor(() => children.every((c) => c.lines.includes("ready")), {
        what: "both children ready",
        timeoutMs: 10_000,
      });
      for (let i = 0; i < 2000; i += 500) {
        await queue.enqueueMany(
          Array.from({ length: 500 }, (_, k) => ({ task: "work" as const, payload: i + k })),
        );
      }
      // pollInterval is a minute: only notifications through the direct LISTEN wake them.
      await waitFor(
        async () => {
          const rows = await driver.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM "${schema}".jobs WHERE state = 'finished'`,
          );
          return Number(rows[0]!.n) === 2000;
        },
        { what: "all jobs finished", timeoutMs: 15_000, intervalMs: 100 },
      );
      for (const { child } of children) child.stdin.write("stop\n");
      await waitFor(() => children.every((c) => c.lines.length >= 2), {
        what: "both children's reports",
        timeoutMs: 10_000,
      });
      const ran = children.flatMap((c) => JSON.parse(c.lines[1]!) as string[]);
      expect(ran).toHaveLength(2000);
      expect(new Set(ran).size).toBe(2000);
    } finally {
      for (const { child } of children) if (child.exitCode === null) child.kill("SIGKILL");
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await driver.close();
      await pool.end();
    }
  });

  it("LISTEN through the pooler is reported deaf (LISTEN_DEAF), once, and the worker says it polls", async () => {
    const schema = freshSchemaName("deaf");
    const pool = new pg.Pool({ connectionString: bouncer.url, max: 4 });
    // No listen target: LISTEN goes through the pooler too.
    const driver = createPgDriver(pool, { prepare: false, control: direct });
    const warnings: string[] = [];
    const logger = {
      ...silentLogger,
      warn: (_fields: object, message: string) => void warnings.push(message),
    };
    const ran: unknown[] = [];
    const queue = createQueue({
      storage: new PostgresStorage(driver, { schema, listenCheckMs: 500 }),
      logger,
      tasks: { work: defineTask({ handler: async (p) => void ran.push(p) }) },
    });
    const errors: unknown[] = [];
    queue.on("error", ({ error }) => errors.push(error));
    await queue.migrate();
    const workers = [
      await queue.work({ pollInterval: 100 }),
      await queue.work({ pollInterval: 100 }),
    ];
    try {
      await waitFor(() => errors.length > 0, { what: "the deaf LISTEN reported", timeoutMs: 3000 });
      expect(errors[0]).toMatchObject({ code: "LISTEN_DEAF" });
      expect(warnings.join("\n")).toMatch(/did not hear q's own NOTIFY.*polling, every 100 ms/);
      // Polling still delivers.
      await queue.enqueue("work", 1);
      await waitFor(() => ran.length === 1, { what: "the job, by polling", timeoutMs: 3000 });
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(errors.filter((e) => isQError(e, "LISTEN_DEAF"))).toHaveLength(1);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await driver.close();
      await pool.end();
    }
  });

  it("a LISTEN straight at PostgreSQL hears its probe: no LISTEN_DEAF", async () => {
    const schema = freshSchemaName("hears");
    const pool = new pg.Pool({ connectionString: bouncer.url, max: 4 });
    const driver = createPgDriver(pool, { prepare: false, listen: direct });
    const queue = createQueue({
      storage: new PostgresStorage(driver, { schema, listenCheckMs: 500 }),
      logger: silentLogger,
      tasks: { work: defineTask({ handler: async () => {} }) },
    });
    const errors: unknown[] = [];
    queue.on("error", ({ error }) => errors.push(error));
    await queue.migrate();
    const worker = await queue.work();
    try {
      await new Promise((resolve) => setTimeout(resolve, 800));
      expect(errors).toEqual([]);
    } finally {
      await worker.stop();
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await driver.close();
      await pool.end();
    }
  });

  it("prepared statements through the pooler fail with POOLER_DETECTED, naming the setting", async () => {
    // One server connection behind the pooler: what one client prepared there, the
    // next client (which never prepared it) prepares again, and the server refuses.
    const narrow = await startPgBouncer({ target: direct, poolMode: "transaction", poolSize: 1 });
    const pools = [1, 2].map(() => new pg.Pool({ connectionString: narrow.url, max: 1 }));
    const drivers = pools.map((p) => createPgDriver(p, { listen: false, control: false })); // prepare: true
    try {
      const outcomes: PromiseSettledResult<unknown>[] = [];
      for (const d of drivers)
        outcomes.push(...(await Promise.allSettled([d.query("SELECT $1::int AS n", [1])])));
      const failures = outcomes.flatMap((o) => (o.status === "rejected" ? [o.reason] : []));
      expect(failures.length).toBeGreaterThan(0);
      for (const failure of failures) {
        expect(failure).toMatchObject({
          code: "POOLER_DETECTED",
          message: expect.stringContaining("prepare: false"),
        });
      }
    } finally {
      for (const d of drivers) await d.close();
      for (const p of pools) await p.end();
      await narrow.stop();
    }
  });
});
