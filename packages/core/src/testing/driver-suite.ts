import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Driver } from "../driver.js";
import { QError } from "../errors.js";
import { silentLogger } from "../logger.js";
import { coreMigrations } from "../postgres/migrations.js";
import { PostgresStorage } from "../postgres/storage.js";
import { createQueue } from "../queue.js";
import { defineTask } from "../task.js";
import { describeCopy } from "./copy-suite.js";
import { countingClaims } from "./hardening-suite.js";
import type { DriverHarness, MakeHarness } from "./harness.js";
import { describeOperatePostgres } from "./operate-postgres-suite.js";
import { describePlugins } from "./plugin-suite.js";
import { describeStorage } from "./storage-suite.js";
import { describeUpgrades } from "./upgrade-suite.js";
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
    const count = async (driver: Driver, s: string, table = "jobs") =>
      Number(
        (await driver.query<{ n: string }>(`SELECT count(*)::int AS n FROM "${s}".${table}`))[0]!.n,
      );

    describeStorage(name, async () => {
      const s = schema();
      return {
        storage: new PostgresStorage(h.driver, { schema: s }),
        countJobs: () => count(h.driver, s),
        countWorkers: () => count(h.driver, s, "workers"),
        listens: h.listens,
        close: async () => {},
      };
    });

    describePlugins(() => h.driver, schema);

    describe("driver", () => {
      /** A scratch table `"<schema>".t (id bigserial, v text)` of this test alone. */
      const scratch = async () => {
        const s = schema();
        await h.driver.query(`CREATE SCHEMA "${s}"`);
        await h.driver.query(`CREATE TABLE "${s}".t (id bigserial PRIMARY KEY, v text)`);
        const select = `SELECT v FROM "${s}".t ORDER BY id`;
        return {
          insert: `INSERT INTO "${s}".t (v) VALUES ($1::text)`,
          select,
          /** The values committed so far, seen from outside any transaction. */
          values: async () => (await h.driver.query<{ v: string }>(select)).map((r) => r.v),
        };
      };

      it("returns a plain Array of plain rows, binding int, text, boolean and null", async () => {
        const rows = await h.driver.query(
          "SELECT $1::int + 1 AS n, $2::text AS s, $3::boolean AS b, $4::text AS z",
          [41, "x", true, null],
        );
        expect(rows).toEqual([{ n: 42, s: "x", b: true, z: null }]);
        expect(Object.getPrototypeOf(rows)).toBe(Array.prototype);
        // Nothing the client attaches (count, command, columns) rides along.
        expect(Object.keys(rows)).toEqual(["0"]);
        expect(Object.getPrototypeOf(rows[0])).toBe(Object.prototype);
        expect(await h.driver.query("SELECT 1 WHERE false")).toEqual([]);
      });

      it("bigint comes back as a string", async () => {
        expect(await h.driver.query("SELECT 9007199254740993::bigint AS big")).toEqual([
          { big: "9007199254740993" },
        ]);
      });

      it("single-word lowercase column names come back as written", async () => {
        // Core names its columns this way, so column transforms must leave them be.
        const [row] = await h.driver.query(
          "SELECT 1 AS job, 2 AS rows, 3 AS input, 4 AS cancelled",
        );
        expect(row).toEqual({ job: 1, rows: 2, input: 3, cancelled: 4 });
      });

      it("server errors keep their SQLSTATE: on the pool, in a transaction, on the caller's handle", async () => {
        const missing = "SELECT * FROM no_such_table";
        const undefinedTable = { code: "42P01" };
        await expect(h.driver.query(missing)).rejects.toMatchObject(undefinedTable);
        await expect(h.driver.transaction((tx) => tx.query(missing))).rejects.toMatchObject(
          undefinedTable,
        );
        await expect(
          h.withNativeTransaction((tx) => h.driver.executorFor(tx).query(missing)),
        ).rejects.toMatchObject(undefinedTable);
      });

      it("jsonb bound as text round-trips unchanged: on the pool, in a transaction, on the caller's handle", async () => {
        const payloads: unknown[] = [
          { order_id: "o-1", nested: { line_items: [{ unit_price: 1.5 }] } },
          { a: { b: [{ c: null }, true, 1.5] } },
          [1, "two", { three_3: 3 }],
          '{"looks":"like json"}',
          "[1,2]",
          "plain string",
          { text: "héllo – 日本語 🎉 \u2028", 'quote"key': "back\\slash" },
          42,
          true,
          null,
        ];
        const s = schema();
        await h.driver.query(`CREATE SCHEMA "${s}"`);
        await h.driver.query(`CREATE TABLE "${s}".docs (id bigserial PRIMARY KEY, body jsonb)`);
        // The text parameter must reach the server as it is (no JSON encoding of its own).
        const roundTrip = "SELECT ($1::text::jsonb)::text AS body, $1::text AS again";
        const store = `INSERT INTO "${s}".docs (body) VALUES ($1::text::jsonb) RETURNING body::text AS body`;
        for (const payload of payloads) {
          const json = JSON.stringify(payload);
          const [row] = await h.driver.query<{ body: string; again: string }>(roundTrip, [json]);
          expect(JSON.parse(row!.body)).toEqual(payload);
          expect(row!.again).toBe(json);
          const [stored] = await h.driver.transaction((tx) =>
            tx.query<{ body: string }>(store, [json]),
          );
          expect(JSON.parse(stored!.body)).toEqual(payload);
          const [native] = await h.withNativeTransaction((tx) =>
            h.driver.executorFor(tx).query<{ body: string; again: string }>(roundTrip, [json]),
          );
          expect(JSON.parse(native!.body)).toEqual(payload);
          expect(native!.again).toBe(json);
        }
        const all = await h.driver.query<{ body: string }>(
          `SELECT body::text AS body FROM "${s}".docs ORDER BY id`,
        );
        expect(all.map((r) => JSON.parse(r.body))).toEqual(payloads);
      });

      it("transaction commits and returns fn's result; rolls back and rethrows the very error fn threw", async () => {
        const t = await scratch();
        const result = await h.driver.transaction(async (tx) => {
          await tx.query(t.insert, ["a"]);
          // Not visible outside before COMMIT.
          expect(await t.values()).toEqual([]);
          return { done: true };
        });
        expect(result).toEqual({ done: true });
        const boom = new Error("roll back");
        await expect(
          h.driver.transaction(async (tx) => {
            await tx.query(t.insert, ["b"]);
            throw boom;
          }),
        ).rejects.toBe(boom);
        expect(await t.values()).toEqual(["a"]);
      });

      it("transaction runs every statement on one connection", async () => {
        const pids = await h.driver.transaction(async (tx) => {
          const all: unknown[] = [];
          for (let i = 0; i < 5; i++) {
            const [row] = await tx.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
            all.push(row!.pid);
          }
          return new Set(all);
        });
        expect(pids.size).toBe(1);
      });

      it("executorFor joins the caller's own transaction: committed and rolled back with it", async () => {
        const t = await scratch();
        await h.withNativeTransaction(async (tx) => {
          const own = h.driver.executorFor(tx);
          await own.query(t.insert, ["committed"]);
          expect(await own.query(t.select)).toEqual([{ v: "committed" }]);
          expect(await t.values()).toEqual([]);
        });
        expect(await t.values()).toEqual(["committed"]);
        const boom = new Error("business write failed");
        await expect(
          h.withNativeTransaction(async (tx) => {
            await h.driver.executorFor(tx).query(t.insert, ["rolled back"]);
            throw boom;
          }),
        ).rejects.toBe(boom);
        expect(await t.values()).toEqual(["committed"]);
      });

      it("executorFor refuses a handle it does not understand with INVALID_HANDLE", () => {
        for (const bad of [undefined, null, 42, "tx", {}]) {
          let error: unknown;
          try {
            h.driver.executorFor(bad);
          } catch (e) {
            error = e;
          }
          expect(error).toBeInstanceOf(QError);
          expect(error).toMatchObject({ name: "QError", code: "INVALID_HANDLE" });
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
        // Each of core's migrations applied exactly once.
        expect(Number(rows[0]!.n)).toBe(coreMigrations.length);
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

    describe("upgrades", () => describeUpgrades(() => h.driver, schema));

    describe("operate on PostgreSQL", () => describeOperatePostgres(() => h.driver, schema));

    describe("bulk enqueue", () => describeCopy(() => h, schema));

    describe("bad input in the caller's transaction", () => {
      const HIGH = "🎉".slice(0, 1);
      const echo = defineTask({ handler: async (_p: unknown) => {} });
      const queueIn = (s: string) =>
        createQueue({ driver: h.driver, schema: s, tasks: { echo }, logger: silentLogger });
      type Q = ReturnType<typeof queueIn>;
      const cases: [string, string, (q: Q, tx: unknown) => Promise<unknown>][] = [
        [
          "a NUL in the payload",
          "PAYLOAD_NOT_JSON",
          (q, tx) => q.enqueue("echo", "a\u0000", { tx }),
        ],
        [
          "a lone surrogate in the payload",
          "PAYLOAD_NOT_JSON",
          (q, tx) => q.enqueue("echo", { s: HIGH }, { tx }),
        ],
        [
          "a lone surrogate as a payload key",
          "PAYLOAD_NOT_JSON",
          (q, tx) => q.enqueue("echo", { [HIGH]: 1 }, { tx }),
        ],
        [
          "a NUL in the key",
          "INVALID_OPTION",
          (q, tx) => q.enqueue("echo", null, { tx, key: "k\u0000" }),
        ],
        [
          "a lone surrogate in the key",
          "INVALID_OPTION",
          (q, tx) => q.enqueue("echo", null, { tx, key: HIGH }),
        ],
        [
          "runAt in year 10000",
          "INVALID_OPTION",
          (q, tx) => q.enqueue("echo", null, { tx, runAt: new Date("+010000-01-01T00:00:00Z") }),
        ],
        [
          "runAt in year 0",
          "INVALID_OPTION",
          (q, tx) => q.enqueue("echo", null, { tx, runAt: new Date("0000-06-01T00:00:00Z") }),
        ],
        [
          "runAt in a negative year",
          "INVALID_OPTION",
          (q, tx) => q.enqueue("echo", null, { tx, runAt: new Date("-000100-01-01T00:00:00Z") }),
        ],
        [
          "an invalid runAt",
          "INVALID_OPTION",
          (q, tx) => q.enqueue("echo", null, { tx, runAt: new Date("nope") }),
        ],
        [
          "a delay beyond range",
          "INVALID_OPTION",
          (q, tx) => q.enqueue("echo", null, { tx, delay: 1e20 }),
        ],
        [
          "an infinite delay",
          "INVALID_OPTION",
          (q, tx) => q.enqueue("echo", null, { tx, delay: Number.POSITIVE_INFINITY }),
        ],
        [
          "a NaN delay",
          "INVALID_OPTION",
          (q, tx) => q.enqueue("echo", null, { tx, delay: Number.NaN }),
        ],
        [
          "getJob of an id beyond bigint",
          "INVALID_JOB_ID",
          (q, tx) => q.getJob("9223372036854775808", { tx }),
        ],
        [
          "cancel of an id beyond bigint",
          "INVALID_JOB_ID",
          (q, tx) => q.cancel("99999999999999999999", { tx }),
        ],
        [
          "retry of an id beyond bigint",
          "INVALID_JOB_ID",
          (q, tx) => q.retry("9223372036854775808", { tx }),
        ],
        ["getJob of a malformed id", "INVALID_JOB_ID", (q, tx) => q.getJob("12abc", { tx })],
        [
          "enqueueMany of something not an array",
          "INVALID_OPTION",
          (q, tx) => q.enqueueMany({} as never, { tx }),
        ],
      ];

      /**
       * Runs `refuse` inside a native transaction, expecting `code`; then the
       * same transaction must still run a statement and commit an enqueue,
       * which proves no statement of the refused call failed in it.
       */
      const refusedAndUsable = async (
        q: Q,
        code: string,
        refuse: (tx: unknown) => Promise<unknown>,
      ) => {
        const committed = await h.withNativeTransaction(async (tx) => {
          const error = await refuse(tx).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error).toBeInstanceOf(QError);
          expect((error as QError).code).toBe(code);
          expect(await h.driver.executorFor(tx).query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
          return q.enqueue("echo", { after: code }, { tx });
        });
        expect(await q.getJob(committed.id)).toMatchObject({
          state: "ready",
          payload: { after: code },
        });
      };

      for (const [label, code, run] of cases) {
        it(`${label} → ${code}; the transaction stays usable and commits`, async () => {
          const s = schema();
          const q = queueIn(s);
          await q.migrate();
          await refusedAndUsable(q, code, (tx) => run(q, tx));
          expect(await count(h.driver, s)).toBe(1);
        });
      }

      const tableInfo = async (s: string) =>
        (
          await h.driver.query<{ migrations: string | null; jobs: string | null }>(
            `SELECT to_regclass($1::text)::text AS migrations,
               (SELECT string_agg(attname::text, ',' ORDER BY attnum) FROM pg_attribute
                WHERE attrelid = to_regclass($2::text) AND attnum > 0 AND NOT attisdropped) AS jobs`,
            [`"${s}".migrations`, `"${s}".jobs`],
          )
        )[0];

      it("a jobs table that is not q's: migrate → SCHEMA_CONFLICT and writes nothing; calls in a transaction → SCHEMA_CONFLICT, the transaction stays usable", async () => {
        const s = schema();
        await h.driver.query(`CREATE SCHEMA "${s}"`);
        await h.driver.query(`CREATE TABLE "${s}".jobs (id int)`);
        const q = queueIn(s);
        await expect(q.migrate()).rejects.toMatchObject({ code: "SCHEMA_CONFLICT" });
        expect(await tableInfo(s)).toEqual({ migrations: null, jobs: "id" });
        for (const refuse of [
          (tx: unknown) => q.enqueue("echo", 1, { tx }),
          (tx: unknown) => q.getJob("1", { tx }),
          (tx: unknown) => q.cancel("1", { tx }),
          (tx: unknown) => q.retry("1", { tx }),
        ]) {
          await h.withNativeTransaction(async (tx) => {
            await expect(refuse(tx)).rejects.toMatchObject({ code: "SCHEMA_CONFLICT" });
            await h.driver.executorFor(tx).query(`INSERT INTO "${s}".jobs (id) VALUES (7)`);
          });
        }
        const rows = await h.driver.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM "${s}".jobs WHERE id = 7`,
        );
        expect(Number(rows[0]!.n)).toBe(4);
        // Still refused on the next call: a failed check is not cached.
        await expect(q.enqueue("echo", 1)).rejects.toMatchObject({ code: "SCHEMA_CONFLICT" });
      });

      it("a schema migrated by a newer q → SCHEMA_TOO_NEW for migrate, enqueue and work; a newer plugin's too", async () => {
        const s = schema();
        await queueIn(s).migrate();
        const newest = Math.max(...coreMigrations.map((m) => m.version));
        // What a newer q (or a newer plugin, or one this process does not run) left behind.
        await h.driver.query(
          `INSERT INTO "${s}".migrations (owner, version, name) VALUES ('core', $1::integer, 'from the future'), ('someone-else', 99, 'not ours')`,
          [newest + 1],
        );
        const q = queueIn(s);
        await expect(q.migrate()).rejects.toMatchObject({ code: "SCHEMA_TOO_NEW" });
        await expect(q.enqueue("echo", 1)).rejects.toMatchObject({ code: "SCHEMA_TOO_NEW" });
        await expect(q.work({ pollInterval: 50 })).rejects.toMatchObject({
          code: "SCHEMA_TOO_NEW",
        });
        expect(await count(h.driver, s)).toBe(0);
        // Only owners this process knows count: a plugin it does not run is no reason to stop.
        await h.driver.query(`DELETE FROM "${s}".migrations WHERE version = $1::integer`, [
          newest + 1,
        ]);
        await expect(queueIn(s).enqueue("echo", 1)).resolves.toMatchObject({ deduped: false });
        const plugin = { name: "someone-else", start() {} };
        const withPlugin = createQueue({
          driver: h.driver,
          schema: s,
          tasks: { echo: defineTask({ handler: async (_: unknown) => {} }) },
          logger: silentLogger,
          plugins: [
            {
              ...plugin,
              migrations: [{ owner: "someone-else", version: 1, name: "v1", statements: () => [] }],
            },
          ],
        });
        await expect(withPlugin.migrate()).rejects.toMatchObject({ code: "SCHEMA_TOO_NEW" });
      });

      it("a workers table that is not q's: migrate → SCHEMA_CONFLICT and writes nothing", async () => {
        const s = schema();
        await h.driver.query(`CREATE SCHEMA "${s}"`);
        await h.driver.query(`CREATE TABLE "${s}".workers (name text)`);
        const q = queueIn(s);
        await expect(q.migrate()).rejects.toMatchObject({ code: "SCHEMA_CONFLICT" });
        expect(await tableInfo(s)).toEqual({ migrations: null, jobs: null });
        await expect(q.enqueue("echo", 1)).rejects.toMatchObject({ code: "SCHEMA_CONFLICT" });
      });

      it("tables missing: calls in a transaction → NOT_MIGRATED, the transaction stays usable; after migrate they work", async () => {
        const s = schema();
        const q = queueIn(s);
        await h.withNativeTransaction(async (tx) => {
          await expect(q.enqueue("echo", 1, { tx })).rejects.toMatchObject({
            code: "NOT_MIGRATED",
          });
          await expect(q.getJob("1", { tx })).rejects.toMatchObject({ code: "NOT_MIGRATED" });
          expect(await h.driver.executorFor(tx).query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
        });
        await q.migrate();
        await refusedAndUsable(q, "INVALID_JOB_ID", (tx) => q.cancel("0", { tx }));
        expect(await count(h.driver, s)).toBe(1);
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
        const counted = countingClaims(queue);
        // Without LISTEN the worker must still find it by polling.
        const w = await counted.queue.work({
          pollInterval: h.listens ? 60_000 : 100,
          settleDelay: 1,
        });
        try {
          // The idle worker's first claim is over: only a wake-up (or a poll) can find the job.
          await waitFor(() => counted.claims() > 0, { what: "the idle worker's first claim" });
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
