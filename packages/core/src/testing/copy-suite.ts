import { afterEach, describe, expect, it } from "vitest";
import type { Driver, Executor } from "../driver.js";
import type { JobOptions } from "../enqueue.js";
import { QError } from "../errors.js";
import { silentLogger } from "../logger.js";
import { channelOf } from "../postgres/sql.js";
import { COPY_MIN_JOBS } from "../postgres/storage.js";
import { createQueue, type JobSpec } from "../queue.js";
import { type AnyTask, defineTask } from "../task.js";
import type { Worker } from "../worker/worker.js";
import { countingClaims } from "./hardening-suite.js";
import type { DriverHarness } from "./harness.js";
import { waitFor } from "./wait.js";

/** The driver under test, counting the COPYs core sends through it. */
interface Watched {
  driver: Driver;
  /** COPY statements run so far. */
  copies: number;
  /** Whether the last executor the driver handed out (a transaction, a caller's handle) can COPY. */
  offered: boolean;
}

function watch(inner: Driver): Watched {
  const watched: Watched = { driver: undefined as unknown as Driver, copies: 0, offered: false };
  const wrap = (ex: Executor): Executor => {
    watched.offered = ex.copyFrom !== undefined;
    const out: Executor = { query: (sql, params) => ex.query(sql, params) };
    if (ex.copyFrom !== undefined) {
      out.copyFrom = (sql, data) => {
        watched.copies++;
        return ex.copyFrom!(sql, data);
      };
    }
    return out;
  };
  watched.driver = {
    name: inner.name,
    query: (sql, params) => inner.query(sql, params),
    transaction: (fn) => inner.transaction((tx) => fn(wrap(tx))),
    executorFor: (native) => wrap(inner.executorFor(native)),
    ...(inner.listen ? { listen: inner.listen.bind(inner) } : {}),
    ...(inner.control ? { control: inner.control } : {}),
  };
  return watched;
}

/** Payloads that text COPY must escape, or that look like its markers, and JSON of every kind. */
const PAYLOADS: unknown[] = [
  { s: "tab\there", n: "new\nline", r: "carriage\rreturn", b: "back\\slash" },
  "\\N",
  "\\.",
  "a\\.\nb",
  { "\\N": "\\N", "ta\tb": "key\nwith\\escapes", 'q"uote': "'single' \"double\"" },
  "\\t is not a tab, \\n is not a newline, \\\\ is two backslashes",
  { unicode: "żółć 🚀 中文 \u2028 \u2029 é \u0085", emoji: "👩‍👩‍👧" },
  { control: "\u0001\u0007\u001b\u001f", del: "\u007f" },
  null,
  0,
  -1.5,
  1e21,
  123456789012345,
  true,
  false,
  "",
  [],
  {},
  [null, [1, [2, [3]]], { deep: { er: { est: [true, "x\ty"] } } }],
  { big: "x".repeat(10_000) },
];

/** The options that vary per job: every field the insert stores. */
const OPTIONS: JobOptions[] = [
  {},
  { priority: -5, maxAttempts: 1 },
  { priority: 7, maxAttempts: 3, meta: { trace: "a\tb\\c\nd", n: 1 } },
  { queue: "b.c:d-e_f", delay: 1500 },
  { delay: 0.4 },
  { delay: 2.5, meta: { "\\N": null } },
  { runAt: new Date("2001-02-03T04:05:06.789Z") },
  { runAt: new Date("9999-12-31T23:59:59.999Z"), queue: "later" },
  { runAt: new Date("0001-01-01T00:00:00.000Z"), priority: 2147483647 },
  { delay: 3_155_760_000_000, queue: "later" },
];

type Spec = JobSpec<{ echo: AnyTask }>;

/** `count` job specs cycling through the payloads and options above. */
function specs(count: number): Spec[] {
  return Array.from({ length: count }, (_, i) => ({
    task: "echo" as const,
    payload: PAYLOADS[i % PAYLOADS.length],
    ...OPTIONS[i % OPTIONS.length],
  }));
}

/** `count` plain jobs of the default queue, due now. */
const plain = (count: number): Spec[] =>
  Array.from({ length: count }, (_, i) => ({ task: "echo" as const, payload: i }));

/** Stored rows, every column the insert writes, times as epoch microseconds. */
type StoredRow = {
  id: string;
  queue: string;
  task: string;
  payload: string;
  priority: number;
  attempts: number;
  meta: string;
  key: string | null;
  state: string;
  attempt: number;
  runat: string;
  createdat: string;
};

/**
 * Bulk enqueue through the driver: a batch without keys of at least
 * {@link COPY_MIN_JOBS} jobs goes through COPY where the driver's executors
 * offer `copyFrom`, else through the INSERT; either way it stores the very
 * same rows. Run by the driver suite.
 */
export function describeCopy(harness: () => DriverHarness, freshSchema: () => string): void {
  const N = COPY_MIN_JOBS + 37;
  const workers: Worker[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });

  const setup = async (handler: (payload: unknown) => void = () => {}) => {
    const h = harness();
    const watched = watch(h.driver);
    const s = freshSchema();
    const queue = createQueue({
      driver: watched.driver,
      schema: s,
      tasks: { echo: defineTask({ handler: async (p: unknown) => handler(p) }) },
      logger: silentLogger,
    });
    await queue.migrate();
    const rows = async () =>
      h.driver.query<StoredRow>(
        `SELECT id::text AS id, queue, task, payload::text AS payload, priority,
           max_attempts AS attempts, meta::text AS meta, key, state, attempt,
           (extract(epoch FROM run_at) * 1000000)::bigint::text AS runat,
           (extract(epoch FROM created_at) * 1000000)::bigint::text AS createdat
         FROM "${s}".jobs ORDER BY id`,
      );
    const count = async () => (await rows()).length;
    return { h, watched, s, queue, rows, count };
  };

  /**
   * What a row holds that does not depend on when or under which id it was
   * written: run_at relative to the transaction's now() (its created_at)
   * unless the job gave one outright.
   */
  const shape = (r: StoredRow, spec: Spec) => ({
    queue: r.queue,
    task: r.task,
    payload: r.payload,
    priority: Number(r.priority),
    attempts: Number(r.attempts),
    meta: r.meta,
    key: r.key,
    state: r.state,
    attempt: Number(r.attempt),
    runAt: spec.runAt ? `at ${r.runat}` : `now + ${BigInt(r.runat) - BigInt(r.createdat)} us`,
  });

  /**
   * Runs `call` (one storage insert) and checks that it went through COPY
   * exactly when the executor it ran on offered `copyFrom`; returns what the
   * call threw, if anything.
   */
  const copiedIfOffered = async (watched: Watched, call: () => Promise<unknown>) => {
    const before = watched.copies;
    const error = await call().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(watched.copies - before).toBe(watched.offered ? 1 : 0);
    return error;
  };
  const sqlStateOf = (error: unknown) => (error as { code?: string } | undefined)?.code;

  describe(`enqueueMany of ${COPY_MIN_JOBS} jobs or more without keys (COPY where the driver can)`, () => {
    it("stores every field as the INSERT does; ids come back in input order; due-now jobs run at the server's now()", async () => {
      const bulk = await setup();
      const small = await setup();
      const jobs = specs(N);
      const before = await bulk.h.driver.query<{ us: string }>(
        "SELECT (extract(epoch FROM now()) * 1000000)::bigint::text AS us",
      );
      let results: Awaited<ReturnType<typeof bulk.queue.enqueueMany>> = [];
      expect(
        await copiedIfOffered(bulk.watched, async () => {
          results = await bulk.queue.enqueueMany(jobs);
        }),
      ).toBeUndefined();
      const after = await bulk.h.driver.query<{ us: string }>(
        "SELECT (extract(epoch FROM now()) * 1000000)::bigint::text AS us",
      );
      // The INSERT path: the same jobs in batches below the threshold.
      const insertedIds: string[] = [];
      for (let i = 0; i < N; i += 50) {
        const part = await small.queue.enqueueMany(jobs.slice(i, i + 50));
        insertedIds.push(...part.map((r) => r.id));
      }
      expect(small.watched.copies).toBe(0);

      // Each id names the row of its job, in input order.
      const all = await bulk.rows();
      const byId = new Map(all.map((r) => [r.id, r]));
      const stored = results.map((r) => byId.get(r.id)!);
      const smallById = new Map((await small.rows()).map((r) => [r.id, r]));
      const inserted = insertedIds.map((id) => smallById.get(id)!);
      expect(all).toHaveLength(N);
      expect(new Set(results.map((r) => r.id)).size).toBe(N);
      expect(stored.every((r) => r !== undefined)).toBe(true);
      expect(stored.map((r, i) => shape(r, jobs[i]!))).toEqual(
        inserted.map((r, i) => shape(r, jobs[i]!)),
      );
      expect(results.every((r) => !r.deduped && r.task === "echo")).toBe(true);
      expect(results.map((r) => r.queue)).toEqual(jobs.map((j) => j.queue ?? "default"));
      for (const [i, r] of results.entries()) {
        const job = await bulk.queue.getJob(r.id);
        expect(job!.payload).toEqual(jobs[i]!.payload);
        expect(job!.meta).toEqual(jobs[i]!.meta ?? {});
        expect(job!.priority).toBe(jobs[i]!.priority ?? 0);
        expect(job!.maxAttempts).toBe(jobs[i]!.maxAttempts ?? 25);
        if (jobs[i]!.runAt) expect(job!.runAt).toEqual(jobs[i]!.runAt);
        if (i >= PAYLOADS.length * 2) break;
      }
      // Due now means the commit's transaction time, within the server's clock around the call.
      const due = stored.filter((_, i) => !jobs[i]!.runAt && Math.round(jobs[i]!.delay ?? 0) === 0);
      expect(due.length).toBeGreaterThan(0);
      for (const r of due) {
        expect(r.runat).toBe(r.createdat);
        expect(BigInt(r.runat)).toBeGreaterThanOrEqual(BigInt(before[0]!.us));
        expect(BigInt(r.runat)).toBeLessThanOrEqual(BigInt(after[0]!.us));
      }
      // JSON null stays JSON null (not SQL NULL), meta defaults to {}.
      expect(stored[PAYLOADS.indexOf(null)]!.payload).toBe("null");
      expect(stored[0]!.meta).toBe("{}");
    });

    it("a batch all due now (run_at left to the column's default) stores what the INSERT stores", async () => {
      const bulk = await setup();
      const small = await setup();
      // Every payload and option but a run time or a delay.
      const jobs = specs(N).map(({ runAt: _r, delay: _d, ...rest }) => rest);
      let results: Awaited<ReturnType<typeof bulk.queue.enqueueMany>> = [];
      expect(
        await copiedIfOffered(bulk.watched, async () => {
          results = await bulk.queue.enqueueMany(jobs);
        }),
      ).toBeUndefined();
      const insertedIds: string[] = [];
      for (let i = 0; i < N; i += 50) {
        const part = await small.queue.enqueueMany(jobs.slice(i, i + 50));
        insertedIds.push(...part.map((r) => r.id));
      }
      const byId = new Map((await bulk.rows()).map((r) => [r.id, r]));
      const stored = results.map((r) => byId.get(r.id)!);
      const smallById = new Map((await small.rows()).map((r) => [r.id, r]));
      const inserted = insertedIds.map((id) => smallById.get(id)!);
      expect(stored.map((r, i) => shape(r, jobs[i]!))).toEqual(
        inserted.map((r, i) => shape(r, jobs[i]!)),
      );
      // One transaction: every job is due at the same instant, its commit's now().
      expect(new Set(stored.map((r) => r.runat))).toEqual(new Set([stored[0]!.createdat]));
    });

    it("in the caller's transaction: seen inside only, the transaction stays usable, a rollback leaves nothing", async () => {
      const { h, watched, queue, count } = await setup();
      const boom = new Error("business write failed");
      await expect(
        h.withNativeTransaction(async (tx) => {
          let results: Awaited<ReturnType<typeof queue.enqueueMany>> = [];
          expect(
            await copiedIfOffered(watched, async () => {
              results = await queue.enqueueMany(specs(N), { tx });
            }),
          ).toBeUndefined();
          expect(results).toHaveLength(N);
          expect(await queue.getJob(results.at(-1)!.id, { tx })).toMatchObject({ state: "ready" });
          expect(await count()).toBe(0);
          // The same transaction goes on: a statement, another enqueue, another COPY.
          expect(await h.driver.executorFor(tx).query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
          await queue.enqueue("echo", "after", { tx });
          await queue.enqueueMany(specs(N), { tx });
          throw boom;
        }),
      ).rejects.toBe(boom);
      expect(await count()).toBe(0);

      const committed = await h.withNativeTransaction(async (tx) => {
        const first = await queue.enqueueMany(specs(N), { tx });
        const last = await queue.enqueue("echo", { after: "copy" }, { tx });
        return [...first, last];
      });
      expect(await count()).toBe(N + 1);
      expect(await queue.getJob(committed.at(-1)!.id)).toMatchObject({
        payload: { after: "copy" },
      });
      expect(await queue.getJob(committed[0]!.id)).toMatchObject({ state: "ready" });
    });

    it("all or nothing: a row the database refuses fails the batch as the INSERT would, outside a transaction and in the caller's", async () => {
      const { h, watched, s, queue, count } = await setup();
      // A constraint q does not know of: only the database can refuse the row.
      await h.driver.query(
        `ALTER TABLE "${s}".jobs ADD CONSTRAINT no_refuse CHECK (payload->>'refuse' IS NULL)`,
      );
      const refused = [...specs(N - 1), { task: "echo" as const, payload: { refuse: true } }];
      // The INSERT's own answer, for a batch below the threshold.
      expect(sqlStateOf(await queue.enqueueMany(refused.slice(-10)).catch((e) => e))).toBe("23514");
      expect(sqlStateOf(await copiedIfOffered(watched, () => queue.enqueueMany(refused)))).toBe(
        "23514",
      );
      expect(await count()).toBe(0);
      const inTx = await h
        .withNativeTransaction((tx) =>
          copiedIfOffered(watched, () => queue.enqueueMany(refused, { tx })).then((e) => {
            if (e !== undefined) throw e;
          }),
        )
        .catch((e: unknown) => e);
      expect(sqlStateOf(inTx)).toBe("23514");
      expect(await count()).toBe(0);
      // Every connection involved came back usable.
      for (let i = 0; i < 3; i++) {
        expect(await queue.enqueueMany(specs(N))).toHaveLength(N);
      }
      await h.withNativeTransaction(async (tx) => {
        await queue.enqueueMany(specs(N), { tx });
      });
      expect(await count()).toBe(4 * N);
    });

    it("the NOTIFY goes to the queues with a job due now, as the INSERT's does, and wakes an idle worker", async (ctx) => {
      const h = harness();
      if (!h.listens || h.driver.listen === undefined) ctx.skip();
      const heard = async (run: (q: Awaited<ReturnType<typeof setup>>) => Promise<unknown>) => {
        const f = await setup();
        const notices: string[] = [];
        let probed = false;
        const unlisten = await h.driver.listen!(channelOf(f.s), {
          onMessage: (payload) => {
            const notice = JSON.parse(payload) as { type: string; queue?: string };
            if (notice.type === "jobs") notices.push(notice.queue!);
            if (notice.type === "copy-probe") probed = true;
          },
        });
        try {
          await run(f);
          // Notifications arrive in commit order: once a NOTIFY sent after the
          // batch committed is heard, every NOTIFY of the batch has been.
          await f.h.driver.query("SELECT pg_notify($1::text, $2::text)", [
            channelOf(f.s),
            JSON.stringify({ type: "copy-probe" }),
          ]);
          await waitFor(() => probed, { what: "the probe NOTIFY" });
          return [...new Set(notices)].sort();
        } finally {
          await unlisten();
        }
      };
      const batch = (n: number) => [
        // "now": one due job among delayed ones; "past": run times given, one past;
        // "later": every job delayed or far ahead: no NOTIFY.
        ...Array.from({ length: n }, (_, i) => ({
          task: "echo" as const,
          payload: i,
          queue: "now",
          ...(i === n - 1 ? {} : { delay: 60_000 }),
        })),
        ...Array.from({ length: n }, (_, i) => ({
          task: "echo" as const,
          payload: i,
          queue: "past",
          runAt: new Date(i === 0 ? Date.now() - 60_000 : Date.now() + 60_000),
        })),
        ...Array.from({ length: n }, (_, i) => ({
          task: "echo" as const,
          payload: i,
          queue: "later",
          ...(i % 2 ? { delay: 60_000 } : { runAt: new Date(Date.now() + 3_600_000) }),
        })),
      ];
      const expected = ["now", "past"];
      expect(await heard((f) => f.queue.enqueueMany(batch(N)))).toEqual(expected);
      expect(await heard((f) => f.queue.enqueueMany(batch(10)))).toEqual(expected);
      expect(
        await heard((f) =>
          f.h.withNativeTransaction((tx) => f.queue.enqueueMany(batch(N), { tx })),
        ),
      ).toEqual(expected);

      // A worker that only polls once a minute picks a batch up at once, both ways.
      const ran: unknown[] = [];
      const { queue } = await setup((p) => ran.push(p));
      const counted = countingClaims(queue);
      workers.push(
        await counted.queue.work({ pollInterval: 60_000, settleDelay: 1, concurrency: 20 }),
      );
      await waitFor(() => counted.claims() > 0, { what: "the idle worker's first claim" });
      let started = Date.now();
      await queue.enqueueMany(plain(N));
      await waitFor(() => ran.length > 0, { what: "a job of the batch", timeoutMs: 5000 });
      expect(Date.now() - started).toBeLessThan(2000);
      await waitFor(() => ran.length === N, { what: "the whole batch", timeoutMs: 30_000 });
      started = Date.now();
      await h.withNativeTransaction((tx) => queue.enqueueMany(plain(N), { tx }));
      await waitFor(() => ran.length > N, { what: "a job of the batch in a transaction" });
      expect(Date.now() - started).toBeLessThan(2000);
      await waitFor(() => ran.length === 2 * N, { what: "the second batch", timeoutMs: 30_000 });
    });

    it("a batch with a key still goes through the INSERT and dedupes", async () => {
      const { watched, queue, count } = await setup();
      const first = await queue.enqueueMany(
        Array.from({ length: 10 }, (_, i) => ({ task: "echo" as const, payload: i, key: `k${i}` })),
      );
      const batch = Array.from({ length: N }, (_, i) => ({
        task: "echo" as const,
        payload: i,
        ...(i < 20 ? { key: `k${i}` } : {}),
      }));
      const results = await queue.enqueueMany(batch);
      expect(watched.copies).toBe(0);
      expect(results.slice(0, 10).map((r) => r.id)).toEqual(first.map((r) => r.id));
      expect(results.slice(0, 10).every((r) => r.deduped)).toBe(true);
      expect(results.slice(10).every((r) => !r.deduped)).toBe(true);
      expect(await count()).toBe(10 + N - 10);
      // Below the threshold, without keys: the INSERT too.
      await queue.enqueueMany(specs(COPY_MIN_JOBS - 1));
      expect(watched.copies).toBe(0);
    });

    it("bad input anywhere in the batch is refused before any SQL; the caller's transaction stays usable", async () => {
      const { h, watched, queue, count } = await setup();
      const bad = specs(N);
      bad[N - 3] = { task: "echo", payload: { s: "nul\u0000" } };
      await expect(queue.enqueueMany(bad)).rejects.toMatchObject({ code: "PAYLOAD_NOT_JSON" });
      const late = specs(N);
      late[N - 1] = { task: "echo", payload: 1, delay: -1 };
      await expect(queue.enqueueMany(late)).rejects.toMatchObject({ code: "INVALID_OPTION" });
      await h.withNativeTransaction(async (tx) => {
        const error = await queue.enqueueMany(bad, { tx }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(QError);
        expect(await h.driver.executorFor(tx).query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
        expect(
          await copiedIfOffered(watched, () => queue.enqueueMany(specs(N), { tx })),
        ).toBeUndefined();
      });
      expect(await count()).toBe(N);
    });
  });
}
