import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PermanentError, QError } from "../errors.js";
import type { QueueEvents } from "../events.js";
import { silentLogger } from "../logger.js";
import { createQueue } from "../queue.js";
import type { Storage } from "../storage.js";
import { type AnyTask, defineTask, type TaskMap } from "../task.js";
import type { WorkOptions } from "../worker/options.js";
import type { Worker } from "../worker/worker.js";
import { describeBadInput } from "./bad-input-suite.js";
import { describeHardening } from "./hardening-suite.js";
import { numberPayload } from "./number-payload.js";
import { describeOperate } from "./operate-suite.js";
import { waitFor } from "./wait.js";

/** A fresh, empty storage for one test. */
export interface StorageFixture {
  storage: Storage;
  /** Rows in the jobs table, to prove bad input wrote nothing. */
  countJobs(): Promise<number>;
  /** Rows in the workers table, to prove none piles up. */
  countWorkers(): Promise<number>;
  /**
   * Whether the storage pushes notices, so a worker wakes without polling.
   * Default: whether it has `listen`.
   */
  listens?: boolean;
  close(): Promise<void>;
}

export type MakeStorage = () => Promise<StorageFixture>;

const expectCode = async (p: Promise<unknown>, code: string) => {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(QError);
  expect((error as QError).code).toBe(code);
};

/**
 * The state machine's behaviour, run against any {@link Storage}. `@q/core`
 * runs it on `MemoryStorage`; every driver runs it on PostgreSQL.
 */
export function describeStorage(name: string, make: MakeStorage): void {
  describe(`state machine (${name})`, () => {
    let f: StorageFixture;
    const workers: Worker[] = [];
    beforeEach(async () => {
      f = await make();
      await f.storage.migrate();
    });
    afterEach(async () => {
      await Promise.all(workers.splice(0).map((w) => w.stop()));
      await f.close();
    });

    const queueOf = <T extends TaskMap>(tasks: T) =>
      createQueue({ storage: f.storage, tasks, logger: silentLogger });
    const work = async <T extends TaskMap>(
      queue: ReturnType<typeof queueOf<T>>,
      options: WorkOptions = {},
    ) => {
      const w = await queue.work({ pollInterval: 20, settleDelay: 1, ...options });
      workers.push(w);
      return w;
    };
    const noop = defineTask({ handler: async (_payload: unknown) => {} });
    const state = async (id: string) => (await f.storage.getJob(id))?.state;

    describe("transitions", () => {
      it("claim moves ready → claimed, charges one attempt, and hands each job out once", async () => {
        const q = queueOf({ noop });
        const { id } = await q.enqueue("noop", { a: 1 });
        expect(await f.storage.getJob(id)).toMatchObject({ state: "ready", attempt: 0 });
        const [job] = await f.storage.claim("w1", ["default"], 10);
        expect(job).toMatchObject({
          id,
          state: "claimed",
          attempt: 1,
          claimedBy: "w1",
          payload: { a: 1 },
        });
        expect(job!.token).toEqual(expect.any(String));
        expect(await f.storage.claim("w2", ["default"], 10)).toEqual([]);
        expect(await f.storage.getJob(id)).toMatchObject({ state: "claimed", claimedBy: "w1" });
      });

      it("finish: claimed → finished with the result; a finished job is never claimed again", async () => {
        const q = queueOf({ noop });
        const { id } = await q.enqueue("noop", null);
        const [job] = await f.storage.claim("w1", ["default"], 1);
        const [s] = await f.storage.settle([
          { kind: "finish", id, token: job!.token, result: JSON.stringify({ ok: [1, "é"] }) },
        ]);
        expect(s).toEqual({ id, kind: "finish", applied: true, state: "finished" });
        const done = await f.storage.getJob(id);
        expect(done).toMatchObject({
          state: "finished",
          result: { ok: [1, "é"] },
          claimedBy: null,
        });
        expect(done!.finishedAt).toBeInstanceOf(Date);
        expect(await f.storage.claim("w1", ["default"], 10)).toEqual([]);
        // A late duplicate report of the same claim changes nothing.
        const [again] = await f.storage.settle([
          { kind: "fail", id, token: job!.token, error: err(1) },
        ]);
        expect(again!.applied).toBe(false);
        expect(await state(id)).toBe("finished");
      });

      it("retry: claimed → ready after the delay, with the error kept", async () => {
        const q = queueOf({ noop });
        const { id } = await q.enqueue("noop", null);
        const [job] = await f.storage.claim("w1", ["default"], 1);
        await f.storage.settle([
          { kind: "retry", id, token: job!.token, delayMs: 60_000, error: err(1) },
        ]);
        const j = await f.storage.getJob(id);
        expect(j).toMatchObject({ state: "ready", attempt: 1, claimedBy: null });
        expect(j!.errors).toHaveLength(1);
        expect(j!.errors[0]).toMatchObject({ attempt: 1, message: "boom 1" });
        expect(j!.runAt.getTime()).toBeGreaterThan(Date.now() + 50_000);
        expect(await f.storage.claim("w1", ["default"], 1)).toEqual([]);
      });

      it("fail: claimed → failed, terminal", async () => {
        const q = queueOf({ noop });
        const { id } = await q.enqueue("noop", null);
        const [job] = await f.storage.claim("w1", ["default"], 1);
        await f.storage.settle([{ kind: "fail", id, token: job!.token, error: err(1) }]);
        expect(await f.storage.getJob(id)).toMatchObject({ state: "failed", attempt: 1 });
        expect(await f.storage.claim("w1", ["default"], 1)).toEqual([]);
      });

      it("snooze and release: claimed → ready without charging the attempt", async () => {
        const q = queueOf({ noop });
        const a = await q.enqueue("noop", 1);
        const b = await q.enqueue("noop", 2);
        const [ja, jb] = await f.storage.claim("w1", ["default"], 2);
        await f.storage.settle([
          { kind: "snooze", id: a.id, token: ja!.token, delayMs: 60_000 },
          { kind: "release", id: b.id, token: jb!.token },
        ]);
        const sa = await f.storage.getJob(a.id);
        expect(sa).toMatchObject({ state: "ready", attempt: 0, errors: [] });
        expect(sa!.runAt.getTime()).toBeGreaterThan(Date.now() + 50_000);
        expect(await f.storage.getJob(b.id)).toMatchObject({ state: "ready", attempt: 0 });
        const [again] = await f.storage.claim("w2", ["default"], 5);
        expect(again).toMatchObject({ id: b.id, attempt: 1 });
      });

      it("a stale claim cannot settle: a wrong token changes nothing", async () => {
        const q = queueOf({ noop });
        const { id } = await q.enqueue("noop", null);
        const [job] = await f.storage.claim("w1", ["default"], 1);
        const stale =
          job!.token === "00000000-0000-4000-8000-000000000000"
            ? "00000000-0000-4000-8000-000000000001"
            : "00000000-0000-4000-8000-000000000000";
        const [s] = await f.storage.settle([{ kind: "finish", id, token: stale, result: null }]);
        expect(s!.applied).toBe(false);
        expect(await state(id)).toBe("claimed");
      });

      it("cancel: ready → failed (CANCELLED) at once; terminal jobs stay as they are", async () => {
        const q = queueOf({ noop });
        const { id } = await q.enqueue("noop", null);
        expect(await q.cancel(id)).toBe("cancelled");
        const j = await f.storage.getJob(id);
        expect(j).toMatchObject({ state: "failed" });
        expect(j!.errors.at(-1)).toMatchObject({ code: "CANCELLED" });
        expect(await f.storage.claim("w1", ["default"], 1)).toEqual([]);
        expect(await q.cancel(id)).toBe("terminal");
        await expectCode(q.cancel("999999999"), "JOB_NOT_FOUND");
      });

      it("cancel of a claimed job is a request its worker learns on heartbeat", async () => {
        const q = queueOf({ noop });
        const { id } = await q.enqueue("noop", null);
        await f.storage.heartbeat({ id: "w1", queues: ["default"], host: "h", pid: 1 });
        const [job] = await f.storage.claim("w1", ["default"], 1);
        expect(await q.cancel(id)).toBe("requested");
        expect((await f.storage.getJob(id))!.cancelRequestedAt).toBeInstanceOf(Date);
        expect(
          await f.storage.heartbeat({ id: "w1", queues: ["default"], host: "h", pid: 1 }),
        ).toEqual({
          cancelled: [id],
          held: [{ id, token: job!.token }],
        });
        expect(await f.storage.cancelRequested("w1", [id, "999999"])).toEqual([id]);
        expect(await f.storage.cancelRequested("w2", [id])).toEqual([]);
      });

      it("retry by hand: failed → ready with fresh attempts; other states refuse", async () => {
        const q = queueOf({ noop });
        const { id } = await q.enqueue("noop", null, { maxAttempts: 1 });
        await expectCode(q.retry(id), "INVALID_STATE");
        const [job] = await f.storage.claim("w1", ["default"], 1);
        await f.storage.settle([{ kind: "fail", id, token: job!.token, error: err(1) }]);
        const back = await q.retry(id);
        expect(back).toMatchObject({ id, state: "ready", attempt: 0 });
        expect(back.errors).toHaveLength(1);
        expect(await f.storage.claim("w1", ["default"], 1)).toHaveLength(1);
        await expectCode(q.retry("999999999"), "JOB_NOT_FOUND");
      });

      it("rescue: claimed jobs of a silent worker go back to ready, or fail when spent", async () => {
        const q = queueOf({ noop });
        const a = await q.enqueue("noop", "a");
        const b = await q.enqueue("noop", "b", { maxAttempts: 1 });
        await f.storage.heartbeat({ id: "dead", queues: ["default"], host: "h", pid: 1 });
        const claimed = await f.storage.claim("dead", ["default"], 2);
        expect(claimed).toHaveLength(2);
        expect(await f.storage.rescue(60_000)).toEqual([]);
        const rescued = await waitFor(
          async () => {
            const r = await f.storage.rescue(100);
            return r.length > 0 ? r : null;
          },
          { what: "rescue" },
        );
        expect(rescued.map((r) => [r.id, r.state, r.worker]).sort()).toEqual(
          [
            [a.id, "ready", "dead"],
            [b.id, "failed", "dead"],
          ].sort(),
        );
        const ja = await f.storage.getJob(a.id);
        expect(ja).toMatchObject({ state: "ready", attempt: 1, claimedBy: null });
        expect(ja!.errors[0]).toMatchObject({ code: "WORKER_LOST" });
        expect(await f.storage.getJob(b.id)).toMatchObject({ state: "failed" });
        // The dead worker's late report is refused.
        const token = claimed.find((c) => c.id === a.id)!.token;
        const [s] = await f.storage.settle([{ kind: "finish", id: a.id, token, result: null }]);
        expect(s!.applied).toBe(false);
        expect(await state(a.id)).toBe("ready");
        expect(await f.storage.rescue(100)).toEqual([]);
      });

      it("rescue leaves jobs of a worker that keeps heartbeating", async () => {
        const q = queueOf({ noop });
        const alive = await q.enqueue("noop", "alive");
        const silent = await q.enqueue("noop", "silent");
        const me = { id: "alive", queues: ["default"], host: "h", pid: 1 };
        await f.storage.heartbeat(me);
        await f.storage.heartbeat({ id: "silent", queues: ["default"], host: "h", pid: 2 });
        // The live worker claims first: its claim is the older one.
        expect(await f.storage.claim("alive", ["default"], 1)).toMatchObject([{ id: alive.id }]);
        expect(await f.storage.claim("silent", ["default"], 1)).toMatchObject([{ id: silent.id }]);
        // Rescue until the lease has passed for the silent worker's claim (so for both claims).
        const rescued = await waitFor(
          async () => {
            await f.storage.heartbeat(me);
            const r = await f.storage.rescue(300);
            return r.length > 0 ? r : null;
          },
          { what: "the silent worker's job rescued" },
        );
        expect(rescued.map((r) => r.id)).toEqual([silent.id]);
        expect(await f.storage.getJob(alive.id)).toMatchObject({
          state: "claimed",
          claimedBy: "alive",
        });
      });
    });

    describe("ordering", () => {
      it("claims by priority, then run_at, then id", async () => {
        const q = queueOf({ noop });
        const past = new Date(Date.now() - 5000);
        const older = new Date(Date.now() - 9000);
        const low = await q.enqueue("noop", "low", { priority: 5, runAt: older });
        const first = await q.enqueue("noop", "first", { priority: -1 });
        const b1 = await q.enqueue("noop", "b1", { runAt: past });
        const b2 = await q.enqueue("noop", "b2", { runAt: past });
        const a = await q.enqueue("noop", "a", { runAt: older });
        const order: string[] = [];
        for (let i = 0; i < 5; i++) {
          const [j] = await f.storage.claim("w", ["default"], 1);
          order.push(j!.id);
        }
        expect(order).toEqual([first.id, a.id, b1.id, b2.id, low.id]);
        // A batch claim hands jobs out in the same order.
        const q2 = queueOf({ noop });
        const ids = [];
        for (const p of [3, 1, 2])
          ids.push((await q2.enqueue("noop", p, { priority: p, queue: "batch" })).id);
        const batch = await f.storage.claim("w", ["batch"], 10);
        expect(batch.map((j) => j.payload)).toEqual([1, 2, 3]);
      });

      it("claims only from the worker's queues", async () => {
        const q = queueOf({ noop });
        await q.enqueue("noop", null, { queue: "other" });
        expect(await f.storage.claim("w", ["default"], 5)).toEqual([]);
        expect(await f.storage.claim("w", ["default", "other"], 5)).toHaveLength(1);
      });

      it("a delayed job waits until its time", async () => {
        const q = queueOf({ noop });
        const { id } = await q.enqueue("noop", null, { delay: 400 });
        const later = await q.enqueue("noop", null, { runAt: new Date(Date.now() + 3_600_000) });
        expect(await f.storage.claim("w", ["default"], 5)).toEqual([]);
        const j = await f.storage.getJob(id);
        expect(j!.runAt.getTime()).toBeGreaterThan(Date.now());
        const [got] = await waitFor(
          async () => {
            const c = await f.storage.claim("w", ["default"], 5);
            return c.length > 0 ? c : null;
          },
          { what: "the delayed job" },
        );
        expect(got!.id).toBe(id);
        expect(await state(later.id)).toBe("ready");
      });
    });

    describe("keys", () => {
      it("skip: a live job with the key wins; its id is returned", async () => {
        const q = queueOf({ noop });
        const a = await q.enqueue("noop", { v: 1 }, { key: "k" });
        const b = await q.enqueue("noop", { v: 2 }, { key: "k" });
        expect(a.deduped).toBe(false);
        expect(b).toMatchObject({ id: a.id, deduped: true });
        expect(await f.countJobs()).toBe(1);
        expect((await f.storage.getJob(a.id))!.payload).toEqual({ v: 1 });
        // Within one batch as well.
        const many = await q.enqueueMany([
          { task: "noop", payload: 1, key: "m" },
          { task: "noop", payload: 2, key: "m" },
        ]);
        expect(many[0]!.deduped).toBe(false);
        expect(many[1]).toMatchObject({ id: many[0]!.id, deduped: true });
        expect(await f.countJobs()).toBe(2);
      });

      it("replace: a waiting job with the key takes the new payload and options", async () => {
        const q = queueOf({ noop });
        const a = await q.enqueue("noop", { v: 1 }, { key: "k" });
        const b = await q.enqueue(
          "noop",
          { v: 2 },
          { key: "k", onConflict: "replace", priority: 7 },
        );
        expect(b).toMatchObject({ id: a.id, deduped: true });
        expect(await f.storage.getJob(a.id)).toMatchObject({ payload: { v: 2 }, priority: 7 });
        expect(await f.countJobs()).toBe(1);
      });

      it("replace takes the new job as a whole: options it does not give take their defaults", async () => {
        const q = queueOf({ noop });
        const later = new Date(Date.now() + 3_600_000);
        const a = await q.enqueue("noop", 1, { key: "r", runAt: later, maxAttempts: 2 });
        await q.enqueue("noop", 2, { key: "r", onConflict: "replace" });
        const job = (await f.storage.getJob(a.id))!;
        expect(job.maxAttempts).toBe(25);
        expect(job.runAt.getTime()).toBeLessThan(later.getTime() - 3_000_000);
      });

      it("enqueueMany's results follow the input order, with keys and without", async () => {
        const q = queueOf({ noop });
        const plain = Array.from({ length: 60 }, (_, i) => ({
          task: "noop" as const,
          payload: { i },
        }));
        const keyed = plain.map((j, i) => (i % 3 === 0 ? { ...j, key: `order-${i}` } : j));
        for (const batch of [plain, keyed]) {
          const results = await q.enqueueMany(batch);
          expect(results).toHaveLength(batch.length);
          for (const [i, r] of results.entries()) {
            expect((await f.storage.getJob(r.id))?.payload).toEqual({ i });
          }
          // Ids are handed out in input order too: ties on run_at claim oldest first.
          const ids = results.map((r) => BigInt(r.id));
          expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true);
        }
      });

      it("a key is free again once its job is finished", async () => {
        const q = queueOf({ noop });
        const a = await q.enqueue("noop", null, { key: "k" });
        const [job] = await f.storage.claim("w", ["default"], 1);
        // Running jobs still hold the key.
        expect((await q.enqueue("noop", null, { key: "k" })).deduped).toBe(true);
        await f.storage.settle([{ kind: "finish", id: a.id, token: job!.token, result: null }]);
        const b = await q.enqueue("noop", null, { key: "k" });
        expect(b.deduped).toBe(false);
        expect(b.id).not.toBe(a.id);
      });
    });

    describe("meta", () => {
      it("meta is stored as given, shown by getJob and the handler's ctx.job; {} when none", async () => {
        const seen: unknown[] = [];
        const q = queueOf({
          look: defineTask({
            handler: async (_p: null, { job }) => {
              seen.push(job.meta);
            },
          }),
        });
        const meta = { trace: "abc", nested: { list: [1, "two", null] }, unicode: "ü🎉" };
        const a = await q.enqueue("look", null, { meta });
        const b = await q.enqueue("look", null);
        expect((await f.storage.getJob(a.id))!.meta).toEqual(meta);
        expect((await f.storage.getJob(b.id))!.meta).toEqual({});
        await work(q);
        await waitFor(
          async () => (await state(a.id)) === "finished" && (await state(b.id)) === "finished",
          {
            what: "both jobs to finish",
          },
        );
        expect(seen).toEqual(expect.arrayContaining([meta, {}]));
        expect(seen).toHaveLength(2);
      });

      it("replace on a waiting job takes the new meta", async () => {
        const q = queueOf({ noop });
        const a = await q.enqueue("noop", null, { key: "m", meta: { v: 1 } });
        await q.enqueue("noop", null, { key: "m", meta: { v: 2 } });
        await q.enqueueMany([{ task: "noop", payload: null, key: "m", meta: { v: 3 } }], {
          onConflict: "replace",
        });
        expect((await f.storage.getJob(a.id))!.meta).toEqual({ v: 3 });
      });

      const badMeta: [string, unknown][] = [
        ["an array", [1]],
        ["null", null],
        ["a string", "x"],
        ["an object with a BigInt", { n: 1n }],
        ["an object with NUL", { s: "\u0000" }],
        ["an object with a lone surrogate", { s: "\ud83c" }],
      ];
      for (const [label, value] of badMeta) {
        it(`meta that is ${label} → INVALID_OPTION, nothing written`, async () => {
          const q = queueOf({ noop });
          await expectCode(
            q.enqueue("noop", null, { meta: value as Record<string, unknown> }),
            "INVALID_OPTION",
          );
          expect(await f.countJobs()).toBe(0);
        });
      }
    });

    describe("worker", () => {
      it("runs each job once and finishes it with the handler's result", async () => {
        const seen: unknown[] = [];
        const q = queueOf({
          double: defineTask({
            handler: async (p: { n: number }) => {
              seen.push(p);
              return p.n * 2;
            },
          }),
        });
        const finished: QueueEvents["finished"][] = [];
        q.on("finished", (e) => finished.push(e));
        const { id } = await q.enqueue("double", { n: 21 });
        await work(q);
        await waitFor(async () => (await state(id)) === "finished", { what: "finish" });
        expect(seen).toEqual([{ n: 21 }]);
        expect((await f.storage.getJob(id))!.result).toBe(42);
        expect(finished.map((e) => e.job.id)).toEqual([id]);
      });

      it("retries with backoff and ends failed after maxAttempts, keeping every error", async () => {
        let calls = 0;
        const delays: number[] = [];
        const q = queueOf({
          flaky: defineTask({
            maxAttempts: 3,
            backoff: (attempt) => {
              delays.push(attempt);
              return 30;
            },
            handler: async () => {
              calls++;
              throw new Error(`boom ${calls}`);
            },
          }),
        });
        const retried: number[] = [];
        q.on("retried", (e) => retried.push(e.delayMs));
        const { id } = await q.enqueue("flaky", null);
        await work(q);
        await waitFor(async () => (await state(id)) === "failed", { what: "failed" });
        const j = await f.storage.getJob(id);
        expect(calls).toBe(3);
        expect(j!.attempt).toBe(3);
        expect(j!.errors.map((e) => [e.attempt, e.message])).toEqual([
          [1, "boom 1"],
          [2, "boom 2"],
          [3, "boom 3"],
        ]);
        expect(j!.errors[0]!.at).toEqual(expect.any(String));
        expect(delays).toEqual([1, 2]);
        expect(retried).toEqual([30, 30]);
      });

      it("a permanent error fails the job at once", async () => {
        let calls = 0;
        const q = queueOf({
          doomed: defineTask({
            maxAttempts: 5,
            handler: async () => {
              calls++;
              throw new PermanentError("account deleted");
            },
          }),
        });
        const { id } = await q.enqueue("doomed", null);
        await work(q);
        await waitFor(async () => (await state(id)) === "failed", { what: "failed" });
        expect(calls).toBe(1);
        expect((await f.storage.getJob(id))!.errors).toMatchObject([
          { attempt: 1, message: "account deleted", code: "PermanentError" },
        ]);
      });

      it("snooze runs the job again later without charging the attempt", async () => {
        let calls = 0;
        const q = queueOf({
          later: defineTask({
            maxAttempts: 1,
            handler: async (_: null, ctx) => {
              calls++;
              if (calls === 1) ctx.snooze(20);
              return calls;
            },
          }),
        });
        const { id } = await q.enqueue("later", null);
        await work(q);
        await waitFor(async () => (await state(id)) === "finished", { what: "finish" });
        expect(calls).toBe(2);
        expect(await f.storage.getJob(id)).toMatchObject({ attempt: 1, result: 2, errors: [] });
      });

      it("a timeout aborts the handler's signal and fails the attempt with TIMEOUT", async () => {
        let reason: unknown;
        const q = queueOf({
          slow: defineTask({
            maxAttempts: 1,
            timeout: 50,
            handler: (_: null, { signal }) =>
              new Promise((_, reject) => {
                signal.addEventListener("abort", () => {
                  reason = signal.reason;
                  reject(signal.reason);
                });
              }),
          }),
        });
        const { id } = await q.enqueue("slow", null);
        await work(q);
        await waitFor(async () => (await state(id)) === "failed", { what: "failed" });
        expect(reason).toBeInstanceOf(QError);
        expect((reason as QError).code).toBe("TIMEOUT");
        expect((await f.storage.getJob(id))!.errors[0]).toMatchObject({ code: "TIMEOUT" });
      });

      it("cancel of a running job aborts its signal and fails it as cancelled", async () => {
        let started = false;
        let reason: unknown;
        const q = queueOf({
          long: defineTask({
            handler: (_: null, { signal }) =>
              new Promise((_, reject) => {
                started = true;
                signal.addEventListener("abort", () => {
                  reason = signal.reason;
                  reject(signal.reason);
                });
              }),
          }),
        });
        const { id } = await q.enqueue("long", null);
        await work(q, { heartbeatInterval: 50 });
        await waitFor(() => started, { what: "start" });
        expect(await q.cancel(id)).toBe("requested");
        await waitFor(async () => (await state(id)) === "failed", { what: "cancelled" });
        expect((reason as QError).code).toBe("CANCELLED");
        const j = await f.storage.getJob(id);
        expect(j!.attempt).toBe(1);
        expect(j!.errors.at(-1)).toMatchObject({ code: "CANCELLED" });
      });

      it("a cancelled handler that never looked at its signal ends at once; reading it later finds it aborted", async () => {
        let started = false;
        let lateReason: unknown;
        let release!: () => void;
        const gate = new Promise<void>((r) => {
          release = r;
        });
        const q = queueOf({
          blind: defineTask({
            handler: async (_: null, ctx) => {
              started = true;
              await gate;
              // First read of the signal, after the cancel: it is already aborted.
              lateReason = ctx.signal.aborted ? ctx.signal.reason : "not aborted";
              return "late";
            },
          }),
        });
        const { id } = await q.enqueue("blind", null);
        await work(q, { heartbeatInterval: 50 });
        await waitFor(() => started, { what: "start" });
        expect(await q.cancel(id)).toBe("requested");
        // The run ends on the cancel, not on the handler's answer (still held back).
        await waitFor(async () => (await state(id)) === "failed", { what: "cancelled" });
        release();
        await waitFor(() => lateReason !== undefined, { what: "late read" });
        expect((lateReason as QError).code).toBe("CANCELLED");
        const j = await f.storage.getJob(id);
        expect(j).toMatchObject({ state: "failed", result: null });
        expect(j!.errors.at(-1)).toMatchObject({ code: "CANCELLED" });
      });

      it("a handler may destructure its context: progress, checkpoint, signal and snooze work unbound", async () => {
        let calls = 0;
        const q = queueOf({
          parts: defineTask({
            handler: async (_: null, { progress, checkpoint, signal, snooze, attempt, job }) => {
              calls++;
              expect(signal.aborted).toBe(false);
              if (calls === 1) {
                await checkpoint({ at: 7 });
                snooze(10);
              }
              progress({ done: 2 });
              return { attempt, from: job.checkpoint };
            },
          }),
        });
        const { id } = await q.enqueue("parts", null);
        await work(q);
        await waitFor(async () => (await state(id)) === "finished", { what: "finish" });
        expect(calls).toBe(2);
        expect(await f.storage.getJob(id)).toMatchObject({
          result: { attempt: 1, from: { at: 7 } },
          progress: { done: 2 },
        });
      });

      it("cancel of a prefetched job that has not started fails it without running it", async () => {
        let release!: () => void;
        const gate = new Promise<void>((r) => {
          release = r;
        });
        const ran: number[] = [];
        const q = queueOf({
          gated: defineTask({
            handler: async (n: number) => {
              ran.push(n);
              await gate;
            },
          }),
        });
        const ids = (
          await q.enqueueMany([0, 1, 2].map((n) => ({ task: "gated" as const, payload: n })))
        ).map((r) => r.id);
        await work(q, { concurrency: 1, prefetch: 5 });
        await waitFor(async () => ran.length === 1 && (await state(ids[2]!)) === "claimed", {
          what: "prefetch",
        });
        expect(await q.cancel(ids[2]!)).toBe("requested");
        await waitFor(async () => (await state(ids[2]!)) === "failed", { what: "cancelled" });
        release();
        await waitFor(async () => (await state(ids[1]!)) === "finished", { what: "the rest" });
        expect(ran).toEqual([0, 1]);
        expect((await f.storage.getJob(ids[2]!))!.errors.at(-1)).toMatchObject({
          code: "CANCELLED",
        });
      });

      it("graceful shutdown finishes running work and releases unstarted jobs uncharged", async () => {
        let release!: () => void;
        const gate = new Promise<void>((r) => {
          release = r;
        });
        let started = 0;
        const q = queueOf({
          gated: defineTask({
            handler: async () => {
              started++;
              await gate;
            },
          }),
        });
        const ids = (
          await q.enqueueMany(
            Array.from({ length: 6 }, (_, i) => ({ task: "gated" as const, payload: i })),
          )
        ).map((r) => r.id);
        const w = await work(q, { concurrency: 1, prefetch: 5, shutdownTimeout: 10_000 });
        await waitFor(
          async () => started === 1 && (await f.storage.getJob(ids[5]!))?.state === "claimed",
          { what: "prefetch" },
        );
        const stopping = w.stop();
        release();
        await stopping;
        const jobs = await Promise.all(ids.map((id) => f.storage.getJob(id)));
        expect(jobs[0]).toMatchObject({ state: "finished", attempt: 1 });
        for (const j of jobs.slice(1))
          expect(j).toMatchObject({ state: "ready", attempt: 0, claimedBy: null });
        expect(started).toBe(1);
      });

      it("after shutdownTimeout, running handlers are aborted and their runs charged (SHUTDOWN)", async () => {
        let reason: unknown;
        const q = queueOf({
          stuck: defineTask({
            handler: (_: null, { signal }) =>
              new Promise((_, reject) => {
                signal.addEventListener("abort", () => {
                  reason = signal.reason;
                  reject(new Error("aborted"));
                });
              }),
          }),
        });
        const { id } = await q.enqueue("stuck", null);
        const w = await work(q, { shutdownTimeout: 50 });
        await waitFor(async () => (await state(id)) === "claimed", { what: "claim" });
        await waitFor(() => w.running === 1, { what: "running" });
        await w.stop();
        expect((reason as QError).code).toBe("SHUTDOWN");
        // The handler had started: the attempt stands and the job runs again at once.
        expect(await f.storage.getJob(id)).toMatchObject({
          state: "ready",
          attempt: 1,
          claimedBy: null,
          errors: [{ attempt: 1, code: "SHUTDOWN" }],
        });
      });

      it("a job whose task this worker does not know waits, unclaimed, for a worker that knows it", async () => {
        const producer = queueOf({ noop, other: noop });
        // First in line: a worker that claimed it would take it before the others.
        const { id } = await producer.enqueue("other", null);
        const known = await producer.enqueueMany(
          [1, 2, 3].map((payload) => ({ task: "noop" as const, payload })),
        );
        const consumer = queueOf({ noop });
        await work(consumer);
        const finished = async (ids: string[]) =>
          (await Promise.all(ids.map(state))).every((s) => s === "finished");
        await waitFor(() => finished(known.map((r) => r.id)), { what: "the known jobs" });
        // Another claim after the unknown job was due: still not taken.
        const later = await producer.enqueue("noop", 4);
        await waitFor(() => finished([later.id]), { what: "a later known job" });
        expect(await f.storage.getJob(id)).toMatchObject({
          state: "ready",
          attempt: 0,
          errors: [],
        });
        await work(producer);
        await waitFor(async () => (await state(id)) === "finished", { what: "finished" });
        expect(await f.storage.getJob(id)).toMatchObject({ attempt: 1, errors: [] });
      });

      it("a job that fails once is retried and then finishes", async () => {
        let calls = 0;
        const q = queueOf({
          flaky: defineTask({
            maxAttempts: 3,
            backoff: () => 10,
            handler: async (_: null, ctx) => {
              calls++;
              if (ctx.attempt === 1) throw new Error("first try fails");
              return ctx.attempt;
            },
          }),
        });
        const { id } = await q.enqueue("flaky", null);
        await work(q);
        await waitFor(async () => (await state(id)) === "finished", { what: "finish" });
        expect(calls).toBe(2);
        const j = await f.storage.getJob(id);
        expect(j).toMatchObject({ state: "finished", attempt: 2, result: 2 });
        expect(j!.errors).toMatchObject([{ attempt: 1, message: "first try fails" }]);
      });
    });

    describeHardening(() => f);
    describeOperate(() => f);

    describe("bad input", () => {
      describeBadInput(() => f);
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const cases: [
        string,
        string,
        (q: ReturnType<typeof queueOf<{ noop: AnyTask; typed: AnyTask }>>) => Promise<unknown>,
      ][] = [
        ["unknown task", "UNKNOWN_TASK", (q) => q.enqueue("nope" as "noop", null)],
        ["bad task name", "INVALID_TASK_NAME", (q) => q.enqueue("" as "noop", null)],
        ["schema rejects payload", "INVALID_PAYLOAD", (q) => q.enqueue("typed", { n: "x" })],
        ["BigInt payload", "PAYLOAD_NOT_JSON", (q) => q.enqueue("noop", { n: 1n })],
        ["cyclic payload", "PAYLOAD_NOT_JSON", (q) => q.enqueue("noop", cyclic)],
        ["function payload", "PAYLOAD_NOT_JSON", (q) => q.enqueue("noop", { f: () => 1 })],
        ["NaN payload", "PAYLOAD_NOT_JSON", (q) => q.enqueue("noop", { n: Number.NaN })],
        ["undefined payload", "PAYLOAD_NOT_JSON", (q) => q.enqueue("noop", undefined)],
        [
          "bad queue name",
          "INVALID_QUEUE_NAME",
          (q) => q.enqueue("noop", null, { queue: "no spaces" }),
        ],
        ["empty queue name", "INVALID_QUEUE_NAME", (q) => q.enqueue("noop", null, { queue: "" })],
        [
          "fractional priority",
          "INVALID_OPTION",
          (q) => q.enqueue("noop", null, { priority: 1.5 }),
        ],
        ["negative delay", "INVALID_OPTION", (q) => q.enqueue("noop", null, { delay: -1 })],
        [
          "invalid runAt",
          "INVALID_OPTION",
          (q) => q.enqueue("noop", null, { runAt: new Date("nope") }),
        ],
        ["zero maxAttempts", "INVALID_OPTION", (q) => q.enqueue("noop", null, { maxAttempts: 0 })],
        ["empty key", "INVALID_OPTION", (q) => q.enqueue("noop", null, { key: "" })],
        [
          "one bad job in a batch",
          "PAYLOAD_NOT_JSON",
          (q) =>
            q.enqueueMany([
              { task: "noop", payload: 1 },
              { task: "noop", payload: { n: 2n } },
            ]),
        ],
      ];
      for (const [label, code, run] of cases) {
        it(`${label} → ${code}, nothing written`, async () => {
          const q = queueOf({
            noop,
            typed: defineTask({ schema: numberPayload, handler: async () => {} }),
          });
          await expectCode(run(q), code);
          expect(await f.countJobs()).toBe(0);
        });
      }

      it("a schema's output is what gets stored", async () => {
        const q = queueOf({
          typed: defineTask({ schema: numberPayload, handler: async () => {} }),
        });
        const { id } = await q.enqueue("typed", { n: 3, extra: true } as { n: number });
        expect((await f.storage.getJob(id))!.payload).toEqual({ n: 3 });
      });

      it("a closed queue refuses work → QUEUE_CLOSED", async () => {
        const q = queueOf({ noop });
        await q.close();
        await expectCode(q.enqueue("noop", null), "QUEUE_CLOSED");
        await expectCode(q.work(), "QUEUE_CLOSED");
        expect(await f.countJobs()).toBe(0);
      });
    });
  });
}

function err(attempt: number) {
  return { attempt, at: "", message: `boom ${attempt}`, code: "Error" };
}
