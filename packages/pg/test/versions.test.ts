import { coreMigrations, createQueue, defineTask, PostgresStorage, silentLogger } from "@q/core";
import { waitFor } from "@q/core/testing";
import { cron } from "@q/cron";
import {
  freshSchemaName,
  type PrivateServer,
  privateServerMissing,
  startPrivateServer,
} from "@q/test-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPgDriver } from "../src/index.js";

// The supported majors, each on a server of its own (one at a time), plus the
// server of DATABASE_URL (in CI the system PostgreSQL): the parts of the
// conformance suite that lean on the server the most, through @q/pg.
const MAJORS = [14, 16, 17, 18];
const targets: { name: string; major?: number; skip?: string }[] = [
  ...MAJORS.map((major) => ({
    name: `PostgreSQL ${major}`,
    major,
    skip: privateServerMissing(major),
  })),
  ...(process.env.DATABASE_URL ? [{ name: "DATABASE_URL" }] : []),
];

for (const target of targets) {
  describe.skipIf(target.skip !== undefined)(`${target.name}`, { timeout: 20_000 }, () => {
    let server: PrivateServer | undefined;
    let url: string;
    let pool: pg.Pool;
    let driver: ReturnType<typeof createPgDriver>;
    const schemas: string[] = [];
    const open: { close(): Promise<void> }[] = [];

    beforeAll(async () => {
      if (target.major === undefined) {
        url = process.env.DATABASE_URL!;
      } else {
        server = await startPrivateServer({
          major: target.major,
          settings: { max_connections: "50" },
        });
        url = server.url;
      }
      pool = new pg.Pool({ connectionString: url, max: 8 });
      pool.on("error", () => {});
      driver = createPgDriver(pool);
    }, 60_000);
    afterAll(async () => {
      for (const q of open.splice(0)) await q.close();
      await driver?.close?.();
      if (pool && !server) {
        for (const s of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
      }
      await pool?.end();
      await server?.destroy();
    });

    const schema = () => {
      const s = freshSchemaName("ver");
      schemas.push(s);
      return s;
    };
    const stateOf = async (s: string, id: string) =>
      (await pool.query<{ state: string }>(`SELECT state FROM "${s}".jobs WHERE id = $1`, [id]))
        .rows[0]?.state;

    /** A migrated queue whose `echo` handler records its payloads. */
    const queueOf = async (s = schema()) => {
      const ran: unknown[] = [];
      const queue = createQueue({
        driver,
        schema: s,
        tasks: { echo: defineTask({ handler: async (p: unknown) => void ran.push(p) }) },
        logger: silentLogger,
      });
      await queue.migrate();
      open.push(queue);
      return { queue, ran, s };
    };

    it("the server is the major asked for", async () => {
      const { rows } = await pool.query<{ n: string }>(
        "SELECT current_setting('server_version_num') AS n",
      );
      const major = Math.floor(Number(rows[0]!.n) / 10_000);
      if (target.major !== undefined) expect(major).toBe(target.major);
      expect(major).toBeGreaterThanOrEqual(14);
    });

    it("migrate: fresh, again, and ten at once", async () => {
      const s = schema();
      const queues = Array.from({ length: 10 }, () =>
        createQueue({ driver, schema: s, tasks: {}, logger: silentLogger }),
      );
      await queues[0]!.migrate();
      await queues[0]!.migrate();
      await Promise.all(queues.map((q) => q.migrate()));
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${s}".migrations WHERE owner = 'core'`,
      );
      expect(rows[0]!.n).toBe(coreMigrations.length);
    });

    it("enqueue in the caller's transaction: nothing before commit, then worked to finished", async () => {
      const { queue, ran, s } = await queueOf();
      const w = await queue.work({ pollInterval: 1000, settleDelay: 1 });
      try {
        const client = await pool.connect();
        let id: string;
        try {
          await client.query("BEGIN");
          id = (await queue.enqueue("echo", { order: 1 }, { tx: client })).id;
          expect(await stateOf(s, id)).toBeUndefined();
          await client.query("COMMIT");
        } finally {
          client.release();
        }
        await waitFor(async () => (await stateOf(s, id)) === "finished", { what: "finished" });
        expect(ran).toEqual([{ order: 1 }]);
        // A rolled-back one leaves nothing.
        const other = await pool.connect();
        try {
          await other.query("BEGIN");
          await queue.enqueue("echo", "rolled back", { tx: other });
          await other.query("ROLLBACK");
        } finally {
          other.release();
        }
        const { rows } = await pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM "${s}".jobs`,
        );
        expect(rows[0]!.n).toBe(1);
      } finally {
        await w.stop();
      }
    });

    it("a delayed job waits until its time, then runs", async () => {
      const { queue, ran, s } = await queueOf();
      const w = await queue.work({ pollInterval: 50, settleDelay: 1 });
      try {
        const started = Date.now();
        const { id } = await queue.enqueue("echo", "later", { delay: 600 });
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(await stateOf(s, id)).toBe("ready");
        expect(ran).toEqual([]);
        await waitFor(async () => (await stateOf(s, id)) === "finished", { what: "delayed job" });
        expect(Date.now() - started).toBeGreaterThanOrEqual(550);
      } finally {
        await w.stop();
      }
    });

    it("a key dedupes while a job holds it (skip), replaces when asked, and frees once it ran", async () => {
      const { queue, s } = await queueOf();
      const a = await queue.enqueue("echo", 1, { key: "k" });
      const b = await queue.enqueue("echo", 2, { key: "k" });
      expect(a.deduped).toBe(false);
      expect(b).toMatchObject({ id: a.id, deduped: true });
      const c = await queue.enqueue("echo", 3, { key: "k", onConflict: "replace" });
      expect(c.id).toBe(a.id);
      expect((await queue.getJob(a.id))!.payload).toBe(3);
      const many = await queue.enqueueMany([
        { task: "echo", payload: 4, key: "m" },
        { task: "echo", payload: 5, key: "m" },
        { task: "echo", payload: 6, key: "k" },
      ]);
      expect(many[1]!.id).toBe(many[0]!.id);
      expect(many[2]).toMatchObject({ id: a.id, deduped: true });
      const w = await queue.work({ pollInterval: 50, settleDelay: 1 });
      try {
        await waitFor(async () => (await stateOf(s, a.id)) === "finished", { what: "keyed job" });
      } finally {
        await w.stop();
      }
      const d = await queue.enqueue("echo", 7, { key: "k" });
      expect(d).toMatchObject({ deduped: false });
      expect(d.id).not.toBe(a.id);
    });

    it("cancel: a ready job fails cancelled; a running one is aborted", async () => {
      let started = 0;
      const s = schema();
      const queue = createQueue({
        driver,
        schema: s,
        tasks: {
          slow: defineTask({
            handler: (_: null, ctx) =>
              new Promise<void>((_resolve, reject) => {
                started++;
                ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason));
              }),
          }),
        },
        logger: silentLogger,
      });
      await queue.migrate();
      open.push(queue);
      const ready = await queue.enqueue("slow", null, { delay: 60_000 });
      expect(await queue.cancel(ready.id)).toBe("cancelled");
      expect(await queue.getJob(ready.id)).toMatchObject({ state: "failed" });
      expect(await queue.cancel(ready.id)).toBe("terminal");
      const running = await queue.enqueue("slow", null, { maxAttempts: 3 });
      const w = await queue.work({ pollInterval: 50, settleDelay: 1 });
      try {
        await waitFor(() => started === 1, { what: "the handler started" });
        expect(await queue.cancel(running.id)).toBe("requested");
        await waitFor(async () => (await stateOf(s, running.id)) === "failed", {
          what: "the running job cancelled",
        });
        const job = await queue.getJob(running.id);
        expect(job!.errors.at(-1)).toMatchObject({ code: "CANCELLED" });
        expect(started).toBe(1);
      } finally {
        await w.stop();
      }
    });

    it("rescue: a dead worker's claimed job goes back to ready and another worker finishes it", async () => {
      const { queue, ran, s } = await queueOf();
      const storage = new PostgresStorage(driver, { schema: s });
      const { id } = await queue.enqueue("echo", "orphan");
      await storage.heartbeat({ id: "dead", queues: ["default"], host: "h", pid: 1 });
      expect(await storage.claim("dead", ["default"], 1)).toMatchObject([{ id }]);
      expect(await storage.rescue(60_000)).toEqual([]);
      const w = await queue.work({
        pollInterval: 50,
        settleDelay: 1,
        leaseTimeout: 300,
        rescueInterval: 100,
      });
      try {
        await waitFor(async () => (await stateOf(s, id)) === "finished", {
          what: "the rescued job",
        });
      } finally {
        await w.stop();
      }
      expect(ran).toEqual(["orphan"]);
      const job = await queue.getJob(id);
      expect(job).toMatchObject({ attempt: 2 });
      expect(job!.errors[0]).toMatchObject({ code: "WORKER_LOST" });
    });

    it("a claim on several queues takes jobs in priority, then run_at order, each once", async () => {
      const { s } = await queueOf();
      const storage = new PostgresStorage(driver, { schema: s });
      const queue = createQueue({
        storage,
        tasks: { echo: defineTask({ handler: async (_: unknown) => {} }) },
        logger: silentLogger,
      });
      const now = Date.now();
      const made: { id: string; name: string }[] = [];
      const spec = [
        ["a1", "a", 0, -3000],
        ["b1", "b", 0, -4000],
        ["c1", "c", -1, -1000],
        ["a2", "a", 5, -9000],
        ["b2", "b", 0, -2000],
        ["later", "a", -5, 3_600_000],
        ["other", "z", -9, -9000],
      ] as const;
      for (const [name, q, priority, offset] of spec) {
        const r = await queue.enqueue("echo", name, {
          queue: q,
          priority,
          runAt: new Date(now + offset),
        });
        made.push({ id: r.id, name });
      }
      const nameOf = (id: string) => made.find((m) => m.id === id)!.name;
      await storage.heartbeat({ id: "w", queues: ["a", "b", "c"], host: "h", pid: 1 });
      const first = await storage.claim("w", ["a", "b", "c"], 3);
      expect(first.map((j) => nameOf(j.id))).toEqual(["c1", "b1", "a1"]);
      const rest = await storage.claim("w", ["a", "b", "c"], 10);
      expect(rest.map((j) => nameOf(j.id))).toEqual(["b2", "a2"]);
      expect(await storage.claim("w", ["a", "b", "c"], 10)).toEqual([]);
    });

    it("cron: two schedulers on one schema enqueue one job per tick", async () => {
      const s = schema();
      const tasks = { tick: defineTask({ handler: async (_: unknown) => {} }) };
      const every = { name: "every-second", cron: "* * * * * *", task: "tick" as const };
      const schedulers = [0, 1].map(() =>
        createQueue({
          driver,
          schema: s,
          tasks,
          plugins: [cron({ schedules: [every] })],
          logger: silentLogger,
        }),
      );
      for (const q of schedulers) await q.migrate();
      const ticks = async () =>
        (
          await pool.query<{ tick: string }>(
            `SELECT meta->'cron'->>'tick' AS tick FROM "${s}".jobs ORDER BY id`,
          )
        ).rows.map((r) => Date.parse(r.tick));
      try {
        await Promise.all(schedulers.map((q) => q.start()));
        await waitFor(async () => (await ticks()).length >= 3, {
          what: "three ticks",
          timeoutMs: 10_000,
        });
      } finally {
        for (const q of schedulers) await q.close();
      }
      const all = (await ticks()).sort((x, y) => x - y);
      expect(new Set(all).size).toBe(all.length);
      for (let i = 1; i < all.length; i++) expect(all[i]! - all[i - 1]!).toBe(1000);
    });
  });
}
