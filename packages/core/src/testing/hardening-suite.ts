import { describe, expect, it } from "vitest";
import { QError } from "../errors.js";
import type { QueueEvents } from "../events.js";
import type { Job } from "../job.js";
import { silentLogger } from "../logger.js";
import { createQueue, type Queue } from "../queue.js";
import type { Notice, Storage } from "../storage.js";
import { defineTask, type TaskMap } from "../task.js";
import type { StorageFixture } from "./storage-suite.js";
import { suiteWorkers } from "./suite-workers.js";
import { waitFor } from "./wait.js";

/**
 * A storage that forwards every call to `inner`, except the operations in
 * `overrides` (an override set to `undefined` removes the operation, as for
 * a storage that cannot `listen`). For fault injection in tests.
 */
export function wrapStorage(inner: Storage, overrides: Partial<Storage>): Storage {
  return new Proxy(inner, {
    get(target, property) {
      if (Object.hasOwn(overrides, property)) {
        return overrides[property as keyof Storage];
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * A queue over the storage and tasks of `queue` whose workers count their
 * claims: once `claims()` is above zero, an idle worker finds new jobs only
 * when it is woken (or polls).
 */
export function countingClaims<T extends TaskMap>(
  queue: Queue<T>,
): { queue: Queue<T>; claims: () => number } {
  let claims = 0;
  const counted = createQueue({
    storage: wrapStorage(queue.storage, {
      claim: async (...args) => {
        try {
          return await queue.storage.claim(...args);
        } finally {
          claims++;
        }
      },
    }),
    tasks: queue.tasks,
    logger: silentLogger,
  });
  return { queue: counted, claims: () => claims };
}

/** A promise and the function that resolves it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

const terminal = (job: Job | null) => job?.state === "finished" || job?.state === "failed";
const lone = "🎉".slice(0, 1);
const randomId = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 10)}`;

/**
 * Faults and hostile values a worker must survive without stranding, losing
 * or silently dropping a job: unstorable outcomes, failing, lost and hanging
 * statements, forged notices, cancels racing failures, unknown tasks, and
 * shutdowns of handlers that ignore their signal. Run by the storage suite on
 * every storage.
 */
export function describeHardening(fixture: () => StorageFixture): void {
  describe("hardening", () => {
    const { cleanups, queueOf, work } = suiteWorkers(fixture);
    const getJob = async (id: string) => (await fixture().storage.getJob(id))!;
    /** A gate opened at the end of the test at the latest, so no handler outlives it. */
    const held = () => {
      const g = gate();
      cleanups.push(g.open);
      return g;
    };
    const errorsOf = (queue: { on: ReturnType<typeof queueOf>["on"] }) => {
      const errors: QueueEvents["error"][] = [];
      queue.on("error", (e) => errors.push(e));
      return errors;
    };

    it("unstorable outcomes are stored as they can be, and the worker keeps settling every other job", async () => {
      const fail = (message: string, name = "Error") => Object.assign(new Error(message), { name });
      // Retries once after the task's backoff (which returns no usable delay), then finishes.
      const badBackoff = (value: unknown) =>
        defineTask({
          maxAttempts: 2,
          backoff: () => value as number,
          handler: async (_: null, ctx) => {
            if (ctx.attempt === 1) throw new Error("first attempt fails");
            return ctx.attempt;
          },
        });
      const q = queueOf({
        ok: defineTask({ handler: async (n: number) => n }),
        throwsNul: defineTask({
          maxAttempts: 1,
          handler: async () => {
            throw fail("bad\u0000byte", "Nul\u0000Error");
          },
        }),
        throwsLone: defineTask({
          maxAttempts: 1,
          handler: async () => {
            throw fail(`half ${lone} an emoji`);
          },
        }),
        returnsNul: defineTask({ handler: async () => ({ text: "a\u0000b" }) }),
        returnsLoneKey: defineTask({ handler: async () => ({ [`k${lone}`]: [lone] }) }),
        backoffInfinity: badBackoff(Number.POSITIVE_INFINITY),
        backoffNaN: badBackoff(Number.NaN),
        backoffNegative: badBackoff(-5),
        backoffString: badBackoff("x"),
        snoozeHuge: defineTask({
          maxAttempts: 1,
          handler: async (_: null, ctx) => ctx.snooze(1e20),
        }),
      });
      const errors = errorsOf(q);
      const retried: QueueEvents["retried"][] = [];
      q.on("retried", (e) => retried.push(e));
      const bad = await q.enqueueMany(
        (
          [
            "throwsNul",
            "throwsLone",
            "returnsNul",
            "returnsLoneKey",
            "backoffInfinity",
            "backoffNaN",
            "backoffNegative",
            "backoffString",
            "snoozeHuge",
          ] as const
        ).map((task) => ({ task, payload: null })),
      );
      const ok = await q.enqueueMany(
        Array.from({ length: 20 }, (_, n) => ({ task: "ok" as const, payload: n })),
      );
      const id = Object.fromEntries(bad.map((r) => [r.task, r.id]));
      await work(q, { concurrency: 10 });
      await waitFor(
        async () => {
          const jobs = await Promise.all([...bad, ...ok].map((r) => getJob(r.id)));
          return jobs.every(terminal);
        },
        { what: "every job terminal" },
      );

      expect((await Promise.all(ok.map((r) => getJob(r.id)))).map((j) => j.result)).toEqual(
        ok.map((_, n) => n),
      );
      const nul = await getJob(id.throwsNul!);
      expect(nul).toMatchObject({ state: "failed", attempt: 1 });
      expect(nul.errors).toMatchObject([{ message: "bad\uFFFDbyte", code: "Nul\uFFFDError" }]);
      expect(nul.errors[0]!.stack ?? "").not.toContain("\u0000");
      const half = await getJob(id.throwsLone!);
      expect(half).toMatchObject({ state: "failed" });
      expect(half.errors).toMatchObject([{ message: "half \uFFFD an emoji" }]);
      expect(await getJob(id.returnsNul!)).toMatchObject({
        state: "finished",
        result: { text: "a\uFFFDb" },
      });
      expect(await getJob(id.returnsLoneKey!)).toMatchObject({
        state: "finished",
        result: { "k\uFFFD": ["\uFFFD"] },
      });
      // A backoff without a usable delay gives way to the default one (about a second).
      for (const task of ["backoffInfinity", "backoffNaN", "backoffNegative", "backoffString"]) {
        const j = await getJob(id[task]!);
        expect(j, task).toMatchObject({ state: "finished", attempt: 2, result: 2 });
        expect(j.errors, task).toMatchObject([{ attempt: 1, message: "first attempt fails" }]);
        const event = retried.find((e) => e.job.id === id[task]);
        expect(event?.delayMs, task).toBeGreaterThanOrEqual(500);
        expect(event?.delayMs, task).toBeLessThanOrEqual(2000);
      }
      // A snooze beyond the longest delay is refused inside the handler, like any handler error.
      const snoozed = await getJob(id.snoozeHuge!);
      expect(snoozed).toMatchObject({ state: "failed", attempt: 1 });
      expect(snoozed.errors).toMatchObject([{ code: "INVALID_OPTION" }]);
      // Nothing reached the storage that it had to refuse.
      expect(errors.filter((e) => e.during === "settle")).toEqual([]);
    });

    it("a settle statement refused on one row is split: the other rows of its batch are written", async () => {
      const f = fixture();
      let poisoned = "";
      const batches: string[][] = [];
      const storage = wrapStorage(f.storage, {
        settle: async (settlements) => {
          const ids = settlements.map((s) => s.id);
          batches.push(ids);
          if (ids.includes(poisoned)) {
            throw Object.assign(new Error("invalid byte sequence for encoding"), {
              code: "22P05",
            });
          }
          return f.storage.settle(settlements);
        },
      });
      const release = held();
      let running = 0;
      const q = queueOf(
        {
          gated: defineTask({
            handler: async (n: number) => {
              running++;
              await release.promise;
              return n;
            },
          }),
        },
        storage,
      );
      const errors = errorsOf(q);
      const ids = (
        await q.enqueueMany(
          Array.from({ length: 8 }, (_, n) => ({ task: "gated" as const, payload: n })),
        )
      ).map((r) => r.id);
      poisoned = ids[3]!;
      // All eight outcomes arrive at once and are written together.
      await work(q, { concurrency: 8, settleDelay: 20 });
      await waitFor(() => running === 8, { what: "eight running handlers" });
      release.open();
      const others = ids.filter((id) => id !== poisoned);
      await waitFor(
        async () => (await Promise.all(others.map(getJob))).every((j) => j.state === "finished"),
        { what: "the other rows written", timeoutMs: 5000 },
      );
      expect(batches.some((b) => b.includes(poisoned) && b.length > 1)).toBe(true);
      expect(errors.some((e) => e.during === "settle")).toBe(true);
      // The refused row is still being retried: it was never dropped silently.
      expect(await getJob(poisoned)).toMatchObject({ state: "claimed" });
    });

    it("a claim whose reply is lost is handed back uncharged within a heartbeat, and its jobs run", async () => {
      const f = fixture();
      let lost: string[] | undefined;
      const storage = wrapStorage(f.storage, {
        claim: async (worker, queues, limit, tasks) => {
          const jobs = await f.storage.claim(worker, queues, limit, tasks);
          if (lost === undefined && jobs.length > 0) {
            // Committed, but the reply never arrives.
            lost = jobs.map((j) => j.id);
            throw new Error("Connection terminated unexpectedly");
          }
          return jobs;
        },
      });
      const attempts = new Map<string, number>();
      const q = queueOf(
        {
          echo: defineTask({
            handler: async (n: number, ctx) => {
              attempts.set(ctx.job.id, ctx.attempt);
              return n;
            },
          }),
        },
        storage,
      );
      const ids = (
        await q.enqueueMany([1, 2, 3].map((n) => ({ task: "echo" as const, payload: n })))
      ).map((r) => r.id);
      // The lease is far away: only reconciliation can bring these jobs back in time.
      await work(q, { leaseTimeout: 10_000, heartbeatInterval: 100 });
      await waitFor(
        async () => (await Promise.all(ids.map(getJob))).every((j) => j.state === "finished"),
        { what: "the jobs of the lost claim", timeoutMs: 4000 },
      );
      expect(lost?.sort()).toEqual([...ids].sort());
      expect(ids.map((id) => attempts.get(id))).toEqual([1, 1, 1]);
      for (const id of ids) expect(await getJob(id)).toMatchObject({ attempt: 1, errors: [] });
    });

    it("a claim that never answers is abandoned after statementTimeout and the worker claims again", async () => {
      const f = fixture();
      let hung = false;
      const storage = wrapStorage(f.storage, {
        claim: (worker, queues, limit, tasks) => {
          if (!hung) {
            hung = true;
            return new Promise(() => {});
          }
          return f.storage.claim(worker, queues, limit, tasks);
        },
      });
      const q = queueOf({ echo: defineTask({ handler: async (n: number) => n }) }, storage);
      const errors = errorsOf(q);
      const ids = (
        await q.enqueueMany([1, 2, 3].map((n) => ({ task: "echo" as const, payload: n })))
      ).map((r) => r.id);
      await work(q, { statementTimeout: 200 });
      await waitFor(
        async () => (await Promise.all(ids.map(getJob))).every((j) => j.state === "finished"),
        { what: "jobs after the hung claim", timeoutMs: 5000 },
      );
      expect(hung).toBe(true);
      const timeout = errors.find((e) => e.during === "claim");
      expect(timeout?.error).toBeInstanceOf(QError);
      expect(timeout?.error).toMatchObject({ code: "STATEMENT_TIMEOUT" });
    });

    it("a cancel notice is only a hint: without a recorded cancel the running job is not aborted", async () => {
      const f = fixture();
      let deliver: ((notice: Notice) => void) | undefined;
      let checked = 0;
      const storage = wrapStorage(f.storage, {
        listen: async (onNotice, onReconnect, onError) => {
          deliver = onNotice;
          const unlisten = await f.storage.listen?.(onNotice, onReconnect, onError);
          return async () => {
            await unlisten?.();
          };
        },
        cancelRequested: async (worker, ids) => {
          const confirmed = await f.storage.cancelRequested(worker, ids);
          checked++;
          return confirmed;
        },
      });
      const release = held();
      let signal: AbortSignal | undefined;
      const q = queueOf(
        {
          long: defineTask({
            handler: async (_: null, ctx) => {
              signal = ctx.signal;
              await release.promise;
              return "done";
            },
          }),
        },
        storage,
      );
      const { id } = await q.enqueue("long", null);
      const w = await work(q);
      await waitFor(() => signal !== undefined, { what: "the handler to start" });
      // Anyone who can NOTIFY on the channel could send this.
      deliver!({ type: "cancel", id, worker: null });
      deliver!({ type: "cancel", id, worker: w.id });
      await waitFor(() => checked >= 1 || signal!.aborted, { what: "the cancel check" });
      release.open();
      await waitFor(async () => terminal(await getJob(id)), { what: "the job to end" });
      expect(signal!.aborted).toBe(false);
      expect(await getJob(id)).toMatchObject({ state: "finished", result: "done", errors: [] });
    });

    it("a cancel requested while the handler fails is kept: the job fails CANCELLED and never runs again", async () => {
      // No notices and a slow heartbeat: the worker cannot learn of the cancel before the handler fails.
      const storage = wrapStorage(fixture().storage, { listen: undefined });
      const cancelled = held();
      let runs = 0;
      const q = queueOf(
        {
          flaky: defineTask({
            maxAttempts: 3,
            backoff: () => 0,
            handler: async () => {
              runs++;
              if (runs > 1) return "ran again";
              await cancelled.promise;
              throw new Error("failed before the cancel reached it");
            },
          }),
        },
        storage,
      );
      const failed: QueueEvents["failed"][] = [];
      q.on("failed", (e) => failed.push(e));
      const { id } = await q.enqueue("flaky", null);
      await work(q, { leaseTimeout: 30_000, heartbeatInterval: 10_000 });
      await waitFor(() => runs === 1, { what: "the handler to start" });
      expect(await q.cancel(id)).toBe("requested");
      cancelled.open();
      await waitFor(async () => terminal(await getJob(id)), { what: "the job to end" });
      const j = await getJob(id);
      expect(j).toMatchObject({ state: "failed", attempt: 1, claimedBy: null });
      expect(j.errors.map((e) => e.message)[0]).toBe("failed before the cancel reached it");
      expect(j.errors.at(-1)).toMatchObject({ code: "CANCELLED" });
      expect(runs).toBe(1);
      await waitFor(() => failed.some((e) => e.job.id === id), { what: "the failed event" });
    });

    it("a job with a pending cancel whose worker died is failed CANCELLED by the rescue, never claimed again", async () => {
      const f = fixture();
      const q = queueOf({ noop: defineTask({ handler: async () => {} }) });
      const { id } = await q.enqueue("noop", null);
      const dead = randomId("dead");
      await f.storage.heartbeat({ id: dead, queues: ["default"], host: "h", pid: 1 });
      expect(await f.storage.claim(dead, ["default"], 1)).toHaveLength(1);
      expect(await q.cancel(id)).toBe("requested");
      const rescued = await waitFor(
        async () => {
          const r = await f.storage.rescue(50);
          return r.length > 0 ? r : null;
        },
        { what: "the rescue" },
      );
      expect(rescued).toEqual([
        { id, task: "noop", queue: "default", state: "failed", worker: dead },
      ]);
      const j = await getJob(id);
      expect(j).toMatchObject({ state: "failed", claimedBy: null });
      expect(j.finishedAt).toBeInstanceOf(Date);
      expect(j.errors.at(-1)).toMatchObject({ code: "CANCELLED" });
      expect(await f.storage.claim("w2", ["default"], 5)).toEqual([]);
    });

    it("a prefetched job with a pending cancel is failed CANCELLED when shutdown hands it back", async () => {
      const storage = wrapStorage(fixture().storage, { listen: undefined });
      const release = held();
      const started: string[] = [];
      const q = queueOf(
        {
          gated: defineTask({
            handler: async (_: number, ctx) => {
              started.push(ctx.job.id);
              await release.promise;
            },
          }),
        },
        storage,
      );
      const [a, b] = (
        await q.enqueueMany([1, 2].map((n) => ({ task: "gated" as const, payload: n })))
      ).map((r) => r.id);
      const w = await work(q, {
        concurrency: 1,
        prefetch: 1,
        leaseTimeout: 30_000,
        heartbeatInterval: 10_000,
      });
      await waitFor(async () => started.length === 1 && (await getJob(b!)).state === "claimed", {
        what: "one running, one prefetched",
      });
      expect(await q.cancel(b!)).toBe("requested");
      const stopping = w.stop();
      release.open();
      await stopping;
      expect(started).toEqual([a]);
      expect(await getJob(a!)).toMatchObject({ state: "finished" });
      const j = await getJob(b!);
      expect(j).toMatchObject({ state: "failed", claimedBy: null });
      expect(j.errors.at(-1)).toMatchObject({ code: "CANCELLED" });
    });

    it("shutdown charges a run whose handler ignores its signal (SHUTDOWN), and releases unstarted jobs uncharged", async () => {
      const never = held();
      const started: string[] = [];
      const q = queueOf({
        deaf: defineTask({
          handler: async (_: number, ctx) => {
            started.push(ctx.job.id);
            await never.promise;
          },
        }),
      });
      const [last, again, waiting] = (
        await q.enqueueMany([
          { task: "deaf", payload: 1, maxAttempts: 1 },
          { task: "deaf", payload: 2, maxAttempts: 3 },
          { task: "deaf", payload: 3 },
        ])
      ).map((r) => r.id);
      const w = await work(q, { concurrency: 2, prefetch: 1, shutdownTimeout: 50 });
      await waitFor(async () => w.running === 2 && (await getJob(waiting!)).state === "claimed", {
        what: "two running, one prefetched",
      });
      await w.stop();
      expect(started.sort()).toEqual([last, again].sort());
      expect(await getJob(last!)).toMatchObject({
        state: "failed",
        attempt: 1,
        errors: [{ attempt: 1, code: "SHUTDOWN" }],
      });
      expect(await getJob(again!)).toMatchObject({
        state: "ready",
        attempt: 1,
        claimedBy: null,
        errors: [{ attempt: 1, code: "SHUTDOWN" }],
      });
      expect(await getJob(waiting!)).toMatchObject({
        state: "ready",
        attempt: 0,
        claimedBy: null,
        errors: [],
      });
    });

    it("rescue removes the rows of workers silent beyond the lease; a stopped worker leaves no trace", async () => {
      const f = fixture();
      const dead = { id: randomId("dead"), queues: ["default"], host: "h", pid: 1 };
      const alive = { id: randomId("alive"), queues: ["default"], host: "h", pid: 2 };
      await f.storage.heartbeat(dead);
      await f.storage.heartbeat(alive);
      expect(await f.countWorkers()).toBe(2);
      await waitFor(
        async () => {
          await f.storage.heartbeat(alive);
          await f.storage.rescue(200);
          return (await f.countWorkers()) === 1;
        },
        { what: "the dead worker's row removed", timeoutMs: 5000 },
      );
      // The one left is the worker that kept beating.
      await f.storage.heartbeat(alive);
      expect(await f.countWorkers()).toBe(1);

      const q = queueOf({ noop: defineTask({ handler: async () => {} }) });
      const w = await work(q);
      expect(q.workers).toContain(w);
      expect(await f.countWorkers()).toBe(2);
      await w.stop();
      expect(q.workers).not.toContain(w);
      expect(await f.countWorkers()).toBe(1);
    });
  });
}
