import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Driver } from "../driver.js";
import { QError } from "../errors.js";
import { silentLogger } from "../logger.js";
import { PostgresStorage } from "../postgres/storage.js";
import { createQueue } from "../queue.js";
import { defineTask } from "../task.js";
import type { DriverHarness, MakeHarness } from "./harness.js";
import { describeStorage } from "./storage-suite.js";
import { waitFor } from "./wait.js";

/** Options of {@link describeDriver}. */
export interface DescribeDriverOptions {
  /** Connection string of a PostgreSQL the suite may create schemas in. */
  databaseUrl: string | (() => string);
  /** Jobs in the many-workers test. Default 4000. */
  jobs?: number;
}

let schemas = 0;
const freshSchema = () =>
  `qt_${process.pid}_${Date.now().toString(36)}_${(schemas++).toString(36)}_${Math.random().toString(36).slice(2, 6)}`;

/**
 * The conformance suite of a driver: the state machine on PostgreSQL through
 * the driver, plus everything drivers get wrong (result shapes, transactions,
 * the caller's own transaction handles, jsonb, bigint, LISTEN and reconnect).
 * Third-party drivers can run it too.
 *
 * @example
 * describeDriver("pg", makePgHarness, { databaseUrl: inject("databaseUrl") });
 */
export function describeDriver(
  name: string,
  makeHarness: MakeHarness,
  options: DescribeDriverOptions,
): void {
  const url = () =>
    typeof options.databaseUrl === "function" ? options.databaseUrl() : options.databaseUrl;
  const total = options.jobs ?? 4000;

  describe(`driver conformance: ${name}`, () => {
    let h: DriverHarness;
    const schemasMade: string[] = [];
    beforeAll(async () => {
      h = await makeHarness(url());
    });
    afterAll(async () => {
      for (const s of schemasMade) await h.driver.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
      await h.driver.close?.();
      await h.close();
    });
    const schema = () => {
      const s = freshSchema();
      schemasMade.push(s);
      return s;
    };
    const count = async (driver: Driver, s: string) =>
      Number(
        (await driver.query<{ n: string }>(`SELECT count(*)::int AS n FROM "${s}".jobs`))[0]!.n,
      );

    describeStorage(name, async () => {
      const s = schema();
      return {
        storage: new PostgresStorage(h.driver, { schema: s }),
        countJobs: () => count(h.driver, s),
        close: async () => {},
      };
    });

    describe("driver", () => {
      it("returns rows as plain objects, bigint as string", async () => {
        const rows = await h.driver.query<{ n: unknown; s: unknown }>(
          "SELECT 9007199254740993::bigint AS n, $1::text AS s",
          ["x"],
        );
        expect(Array.isArray(rows)).toBe(true);
        expect(rows).toHaveLength(1);
        expect(String(rows[0]!.n)).toBe("9007199254740993");
        expect(rows[0]!.s).toBe("x");
      });

      it("transaction commits, and rolls back when the callback throws", async () => {
        const s = schema();
        await h.driver.query(`CREATE SCHEMA "${s}"`);
        await h.driver.query(`CREATE TABLE "${s}".t (v text)`);
        await h.driver.transaction((tx) =>
          tx.query(`INSERT INTO "${s}".t VALUES ($1::text)`, ["a"]),
        );
        await expect(
          h.driver.transaction(async (tx) => {
            await tx.query(`INSERT INTO "${s}".t VALUES ($1::text)`, ["b"]);
            throw new Error("roll back");
          }),
        ).rejects.toThrow("roll back");
        const rows = await h.driver.query<{ v: string }>(`SELECT v FROM "${s}".t`);
        expect(rows.map((r) => r.v)).toEqual(["a"]);
      });

      it("refuses a handle it does not understand with INVALID_HANDLE", async () => {
        for (const bad of [{}, 42, "tx", null]) {
          let error: unknown;
          try {
            await h.driver.executorFor(bad).query("SELECT 1 AS one");
          } catch (e) {
            error = e;
          }
          expect(error).toBeInstanceOf(QError);
          expect((error as QError).code).toBe("INVALID_HANDLE");
        }
      });

      it("migrate is idempotent and safe when ten run at once", async () => {
        const s = schema();
        const queues = Array.from({ length: 10 }, () =>
          createQueue({ driver: h.driver, schema: s, tasks: {}, logger: silentLogger }),
        );
        await Promise.all(queues.map((q) => q.migrate()));
        await queues[0]!.migrate();
        const rows = await h.driver.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM "${s}".migrations WHERE owner = 'core'`,
        );
        expect(Number(rows[0]!.n)).toBe(1);
      });

      it("a bad schema name is refused before any SQL", () => {
        for (const bad of ["Q", "a-b", "1q", "pg_q", 'q"; DROP TABLE x; --', ""]) {
          expect(() => createQueue({ driver: h.driver, schema: bad, tasks: {} })).toThrow(
            expect.objectContaining({ code: "INVALID_SCHEMA_NAME" }),
          );
        }
      });

      it("enqueue before migrate says NOT_MIGRATED", async () => {
        const q = createQueue({
          driver: h.driver,
          schema: schema(),
          tasks: { t: defineTask({ handler: async () => {} }) },
          logger: silentLogger,
        });
        await expect(q.enqueue("t", null)).rejects.toMatchObject({ code: "NOT_MIGRATED" });
      });
    });

    describe("jobs through the driver", () => {
      const setup = async (handler: (p: unknown) => unknown = () => {}) => {
        const s = schema();
        const queue = createQueue({
          driver: h.driver,
          schema: s,
          tasks: { echo: defineTask({ handler: async (p: unknown) => handler(p) }) },
          logger: silentLogger,
        });
        await queue.migrate();
        return { queue, s };
      };

      it("round-trips jsonb payloads unchanged", async () => {
        const big = { items: Array.from({ length: 20_000 }, (_, i) => ({ i, s: `item ${i}` })) };
        const payloads: unknown[] = [
          { a: 1, nested: { b: [1, 2, { c: null }] } },
          [1, 2, 3],
          [[1, [2]], { x: [] }],
          "plain string",
          '{"looks":"like json"}',
          "[1,2]",
          { unicode: "żółć 🚀 中文 \u2028 é" },
          null,
          42.5,
          true,
          big,
        ];
        const { queue } = await setup();
        const ran: unknown[] = [];
        const results = await queue.enqueueMany(
          payloads.map((payload) => ({ task: "echo" as const, payload })),
        );
        for (const [i, r] of results.entries()) {
          const job = await queue.getJob(r.id);
          expect(job!.payload).toEqual(payloads[i]);
          expect(job!.id).toMatch(/^[0-9]+$/);
          expect(job!.createdAt).toBeInstanceOf(Date);
          expect(job!.runAt).toBeInstanceOf(Date);
        }
        const { queue: q2 } = await setup((p) => ran.push(p));
        const ids = await q2.enqueueMany(
          payloads.map((payload) => ({ task: "echo" as const, payload })),
        );
        const w = await q2.work({ pollInterval: 50, settleDelay: 1 });
        try {
          await waitFor(() => ran.length === payloads.length, { what: "all payloads" });
        } finally {
          await w.stop();
        }
        expect(ran).toEqual(expect.arrayContaining(payloads));
        expect(ids).toHaveLength(payloads.length);
      });

      it("enqueue in the caller's committed transaction runs, and wakes an idle worker", async () => {
        const ran: unknown[] = [];
        const { queue, s } = await setup((p) => ran.push(p));
        // Without LISTEN the worker must still find it by polling.
        const w = await queue.work({ pollInterval: h.listens ? 60_000 : 100, settleDelay: 1 });
        try {
          // Let the idle worker's first claim pass so only a wake-up can find the job.
          await new Promise((r) => setTimeout(r, 100));
          const started = Date.now();
          const inside = await h.withNativeTransaction(async (tx) => {
            const r = await queue.enqueue("echo", { order: 1 }, { tx });
            // Visible inside the transaction, not outside before commit.
            expect(await queue.getJob(r.id, { tx })).toMatchObject({ state: "ready" });
            expect(await count(h.driver, s)).toBe(0);
            return r;
          });
          await waitFor(() => ran.length === 1, { what: "the committed job", timeoutMs: 5000 });
          const latency = Date.now() - started;
          expect(ran).toEqual([{ order: 1 }]);
          await waitFor(async () => (await queue.getJob(inside.id))?.state === "finished", {
            what: "finished",
          });
          if (h.listens) expect(latency).toBeLessThan(2000);
        } finally {
          await w.stop();
        }
      });

      it("enqueue in a rolled-back transaction leaves nothing", async () => {
        const ran: unknown[] = [];
        const { queue, s } = await setup((p) => ran.push(p));
        await expect(
          h.withNativeTransaction(async (tx) => {
            await queue.enqueue("echo", { order: 2 }, { tx });
            await queue.enqueueMany([{ task: "echo", payload: 3 }], { tx });
            throw new Error("business write failed");
          }),
        ).rejects.toThrow("business write failed");
        expect(await count(h.driver, s)).toBe(0);
        const w = await queue.work({ pollInterval: 20 });
        await new Promise((r) => setTimeout(r, 200));
        await w.stop();
        expect(ran).toEqual([]);
      });

      it("enqueue with a handle the driver does not understand → INVALID_HANDLE, nothing written", async () => {
        const { queue, s } = await setup();
        await expect(queue.enqueue("echo", 1, { tx: { not: "a client" } })).rejects.toMatchObject({
          code: "INVALID_HANDLE",
        });
        expect(await count(h.driver, s)).toBe(0);
      });

      it("the listener reconnects after its connection dies, and catches up", async (ctx) => {
        // A driver without LISTEN polls; the job tests above prove it still delivers.
        if (!h.listens) ctx.skip();
        const ran: unknown[] = [];
        const { queue, s } = await setup((p) => ran.push(p));
        // Only this test's listener: other suites may share the database.
        const listening = `SELECT pid FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()
              AND query ILIKE 'listen%' AND position($1::text IN query) > 0`;
        const w = await queue.work({ pollInterval: 60_000, settleDelay: 1 });
        try {
          await queue.enqueue("echo", "before");
          await waitFor(() => ran.length === 1, { what: "first job" });
          const killed = await h.driver.query<{ n: number }>(
            `SELECT count(pg_terminate_backend(pid))::int AS n FROM (${listening}) l`,
            [`${s}_q`],
          );
          expect(Number(killed[0]!.n)).toBeGreaterThan(0);
          await queue.enqueue("echo", "during");
          await waitFor(() => ran.length === 2, {
            what: "job enqueued while reconnecting",
            timeoutMs: 8000,
          });
          await waitFor(
            async () => {
              const rows = await h.driver.query<{ n: number }>(
                `SELECT count(*)::int AS n FROM (${listening}) l`,
                [`${s}_q`],
              );
              return Number(rows[0]!.n) > 0;
            },
            { what: "listening again" },
          );
          await queue.enqueue("echo", "after");
          await waitFor(() => ran.length === 3, { what: "job after reconnect", timeoutMs: 5000 });
        } finally {
          await w.stop();
        }
      });

      it(`four workers share ${total} jobs and run each exactly once`, {
        timeout: 120_000,
      }, async () => {
        const runs = new Map<number, number>();
        const { queue, s } = await setup((p) =>
          runs.set(p as number, (runs.get(p as number) ?? 0) + 1),
        );
        for (let i = 0; i < total; i += 1000) {
          await queue.enqueueMany(
            Array.from({ length: Math.min(1000, total - i) }, (_, k) => ({
              task: "echo" as const,
              payload: i + k,
            })),
          );
        }
        const workers = await Promise.all(
          Array.from({ length: 4 }, () =>
            createQueue({
              driver: h.driver,
              schema: s,
              tasks: queue.tasks,
              logger: silentLogger,
            }).work({ concurrency: 8, pollInterval: 50 }),
          ),
        );
        try {
          await waitFor(
            async () => {
              const rows = await h.driver.query<{ n: number }>(
                `SELECT count(*)::int AS n FROM "${s}".jobs WHERE state = 'finished'`,
              );
              return Number(rows[0]!.n) === total;
            },
            { what: "all jobs finished", timeoutMs: 110_000, intervalMs: 100 },
          );
        } finally {
          await Promise.all(workers.map((w) => w.stop()));
        }
        expect(runs.size).toBe(total);
        expect([...runs.values()].every((n) => n === 1)).toBe(true);
        const rows = await h.driver.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM "${s}".jobs WHERE attempt <> 1`,
        );
        expect(Number(rows[0]!.n)).toBe(0);
      });
    });
  });
}
