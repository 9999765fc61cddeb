import { describe, expect, it } from "vitest";
import { fixedBackoff } from "../backoff.js";
import { PermanentError, QError } from "../errors.js";
import type { JobFilter, JobPage, PageOptions } from "../inspect.js";
import type { Job } from "../job.js";
import { defineTask, type JobContext } from "../task.js";
import { wrapStorage } from "./hardening-suite.js";
import type { StorageFixture } from "./storage-suite.js";
import { suiteWorkers } from "./suite-workers.js";
import { waitFor } from "./wait.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ids = (jobs: readonly Job[]) => jobs.map((j) => j.id);
const byIdDesc = (a: string, b: string) => (BigInt(a) < BigInt(b) ? 1 : -1);
const randomId = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 10)}`;

/** A promise and the function that resolves it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

async function codeOf(p: Promise<unknown>): Promise<{ code?: string; option?: unknown }> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(QError);
  const q = error as QError;
  return { code: q.code, option: (q.details as { option?: unknown } | undefined)?.option };
}

/**
 * What an operator does from outside the code: list jobs by filter with a
 * keyset cursor, count them, read each queue's stats, pause and resume
 * queues, and read what long jobs report (progress) and keep for their next
 * run (checkpoints). Run by the storage suite on every storage.
 */
export function describeOperate(fixture: () => StorageFixture): void {
  describe("operate", () => {
    const { cleanups, queueOf, work } = suiteWorkers(fixture);
    /** A gate opened at the end of the test at the latest, so no handler outlives it. */
    const held = () => {
      const g = gate();
      cleanups.push(g.open);
      return g;
    };
    const getJob = async (id: string) => (await fixture().storage.getJob(id))!;
    const listens = () => fixture().listens ?? fixture().storage.listen !== undefined;
    const noop = defineTask({ handler: async (_: unknown) => {} });
    const other = defineTask({ handler: async (_: unknown) => {} });
    /** Every job the filter matches, paging through. */
    const all = async (
      q: { listJobs(filter?: JobFilter, page?: PageOptions): Promise<JobPage> },
      filter: JobFilter = {},
      page: PageOptions = {},
    ) => {
      const out: Job[] = [];
      let after: string | undefined;
      do {
        const p = await q.listJobs(filter, { ...page, ...(after ? { after } : {}) });
        out.push(...p.jobs);
        after = p.next ?? undefined;
      } while (after !== undefined);
      return out;
    };

    describe("listing", () => {
      /** Jobs in two queues, two tasks, every state, with keys, in two batches apart in time. */
      const history = async () => {
        const f = fixture();
        const q = queueOf({ noop, other });
        const first = await q.enqueueMany([
          { task: "noop", payload: 1, queue: "a" },
          { task: "noop", payload: 2, queue: "a", key: "k-2" },
          { task: "other", payload: 3, queue: "b" },
          { task: "other", payload: 4, queue: "b", key: "k-4" },
        ]);
        await sleep(30);
        const second = await q.enqueueMany([
          { task: "noop", payload: 5, queue: "a" },
          { task: "other", payload: 6, queue: "a" },
          { task: "noop", payload: 7, queue: "b", delay: 3_600_000 },
        ]);
        const [j1, j2, j3, j4] = first.map((r) => r.id) as [string, string, string, string];
        const [j5, j6, j7] = second.map((r) => r.id) as [string, string, string];
        // j1 finished, then j3 failed a little later, j4 claimed; the rest ready.
        const [c1] = await f.storage.claim("w-list", ["a"], 1);
        expect(c1!.id).toBe(j1);
        await f.storage.settle([{ kind: "finish", id: j1, token: c1!.token, result: null }]);
        await sleep(30);
        const claimedB = await f.storage.claim("w-list", ["b"], 2);
        expect(ids(claimedB as Job[]).sort()).toEqual([j3, j4].sort());
        const c3 = claimedB.find((c) => c.id === j3)!;
        await f.storage.settle([
          {
            kind: "fail",
            id: j3,
            token: c3.token,
            error: { attempt: 1, at: "", message: "x", code: "Error" },
          },
        ]);
        return { q, j1, j2, j3, j4, j5, j6, j7, all: [j1, j2, j3, j4, j5, j6, j7] };
      };

      it("each filter narrows: queue, task, state, key, created and finished ranges, and together", async () => {
        const h = await history();
        const { q } = h;
        const list = async (filter: JobFilter) => ids((await q.listJobs(filter)).jobs);
        const desc = (...xs: string[]) => [...xs].sort(byIdDesc);
        expect(await list({})).toEqual(desc(...h.all));
        expect(await list({ queue: "a" })).toEqual(desc(h.j1, h.j2, h.j5, h.j6));
        expect(await list({ queue: ["a", "b"] })).toEqual(desc(...h.all));
        expect(await list({ queue: "nowhere" })).toEqual([]);
        expect(await list({ task: "other" })).toEqual(desc(h.j3, h.j4, h.j6));
        expect(await list({ task: ["noop"] })).toEqual(desc(h.j1, h.j2, h.j5, h.j7));
        expect(await list({ state: "ready" })).toEqual(desc(h.j2, h.j5, h.j6, h.j7));
        expect(await list({ state: "claimed" })).toEqual([h.j4]);
        expect(await list({ state: "finished" })).toEqual([h.j1]);
        expect(await list({ state: "failed" })).toEqual([h.j3]);
        expect(await list({ state: ["finished", "failed"] })).toEqual(desc(h.j1, h.j3));
        expect(await list({ key: "k-4" })).toEqual([h.j4]);
        expect(await list({ key: "k-none" })).toEqual([]);
        const fifth = await getJob(h.j5);
        expect(await list({ createdFrom: fifth.createdAt })).toEqual(desc(h.j5, h.j6, h.j7));
        expect(await list({ createdTo: fifth.createdAt })).toEqual(desc(h.j1, h.j2, h.j3, h.j4));
        const failed = await getJob(h.j3);
        expect(failed.finishedAt).toBeInstanceOf(Date);
        // Only jobs that ended have a finish time: the ranges leave live jobs out.
        expect(await list({ finishedFrom: failed.finishedAt! })).toEqual([h.j3]);
        expect(await list({ finishedTo: failed.finishedAt! })).toEqual([h.j1]);
        expect(await list({ finishedFrom: new Date(0), state: "ready" })).toEqual([]);
        expect(await list({ queue: "a", task: "noop", state: "ready" })).toEqual(desc(h.j2, h.j5));
        expect(await list({ queue: "b", state: ["ready", "claimed"], task: "noop" })).toEqual([
          h.j7,
        ]);
        // A listing shows whole jobs, as getJob does.
        const [shown] = (await q.listJobs({ key: "k-2" })).jobs;
        expect(shown).toEqual(await getJob(h.j2));
      });

      it("newest first by default, oldest first on request", async () => {
        const h = await history();
        expect(ids((await h.q.listJobs()).jobs)).toEqual([...h.all].sort(byIdDesc));
        expect(ids((await h.q.listJobs({}, { order: "oldest" })).jobs)).toEqual(
          [...h.all].sort(byIdDesc).reverse(),
        );
        expect(ids((await h.q.listJobs({}, { limit: 2 })).jobs)).toEqual(
          [...h.all].sort(byIdDesc).slice(0, 2),
        );
      });

      it("the cursor pages through without a duplicate or a gap while jobs are enqueued meanwhile", async () => {
        const q = queueOf({ noop });
        const before = (
          await q.enqueueMany(Array.from({ length: 25 }, (_, n) => ({ task: "noop", payload: n })))
        ).map((r) => r.id);
        /** Pages through, enqueueing a job after each page; what was seen and added. */
        const walk = async (order: "newest" | "oldest") => {
          const seen: string[] = [];
          const added: string[] = [];
          let page = await q.listJobs({}, { limit: 10, order });
          let pages = 1;
          for (;;) {
            expect(page.jobs.length).toBeLessThanOrEqual(10);
            seen.push(...ids(page.jobs));
            added.push((await q.enqueue("noop", { order, pages })).id);
            if (page.next === null) break;
            page = await q.listJobs({}, { limit: 10, order, after: page.next });
            pages++;
          }
          return { seen, added, pages };
        };
        // Newest first starts above the jobs added meanwhile: exactly the jobs there were.
        const newest = await walk("newest");
        expect(newest.seen).toEqual([...before].sort(byIdDesc));
        expect(newest.pages).toBe(3);
        // Oldest first reaches the jobs added meanwhile, at the end, in order, each once:
        // all but the one added after the last page.
        const existing = [...before, ...newest.added];
        const oldest = await walk("oldest");
        expect(oldest.seen).toEqual([...existing, ...oldest.added.slice(0, -1)]);
      });

      it("the last page says so; a cursor works with the same filter", async () => {
        const q = queueOf({ noop });
        const made = (
          await q.enqueueMany(
            Array.from({ length: 5 }, (_, n) => ({ task: "noop", payload: n, queue: "p" })),
          )
        ).map((r) => r.id);
        await q.enqueue("noop", "elsewhere", { queue: "elsewhere" });
        const first = await q.listJobs({ queue: "p" }, { limit: 3, order: "oldest" });
        expect(ids(first.jobs)).toEqual(made.slice(0, 3));
        expect(first.next).toEqual(expect.any(String));
        const second = await q.listJobs(
          { queue: "p" },
          { limit: 3, order: "oldest", after: first.next! },
        );
        expect(ids(second.jobs)).toEqual(made.slice(3));
        expect(second.next).toBeNull();
        const exact = await q.listJobs({ queue: "p" }, { limit: 5 });
        expect(exact.jobs).toHaveLength(5);
        expect(exact.next).toBeNull();
        expect(await all(q, { queue: "p" }, { limit: 2 })).toHaveLength(5);
      });

      const bad: [string, JobFilter | undefined, PageOptions | undefined, string][] = [
        ["a queue that is no name", { queue: "no spaces" }, undefined, "queue"],
        ["an empty queue list", { queue: [] }, undefined, "queue"],
        ["a queue that is a number", { queue: 5 as unknown as string }, undefined, "queue"],
        ["a task that is no name", { task: ["ok", ""] }, undefined, "task"],
        ["an unknown state", { state: "done" as "ready" }, undefined, "state"],
        ["an empty key", { key: "" }, undefined, "key"],
        ["a key with NUL", { key: "a\u0000b" }, undefined, "key"],
        [
          "a date that is a string",
          { createdFrom: "yesterday" as unknown as Date },
          undefined,
          "createdFrom",
        ],
        ["an invalid date", { finishedTo: new Date("nope") }, undefined, "finishedTo"],
        ["a field that does not exist", { states: ["ready"] } as JobFilter, undefined, "states"],
        ["a filter that is not an object", "ready" as JobFilter, undefined, "filter"],
        ["a limit of 0", undefined, { limit: 0 }, "limit"],
        ["a limit over 1 000", undefined, { limit: 1001 }, "limit"],
        ["a limit that is no integer", undefined, { limit: 2.5 }, "limit"],
        ["an unknown order", undefined, { order: "asc" as "newest" }, "order"],
        ["a cursor that is garbage", undefined, { after: "not a cursor!" }, "after"],
        [
          "a cursor of no id",
          undefined,
          { after: Buffer.from("n:0").toString("base64url") },
          "after",
        ],
        ["a page field that does not exist", undefined, { offset: 10 } as PageOptions, "offset"],
      ];
      for (const [label, filter, page, option] of bad) {
        it(`${label} → INVALID_OPTION (${option})`, async () => {
          const q = queueOf({ noop });
          expect(await codeOf(q.listJobs(filter, page))).toEqual({
            code: "INVALID_OPTION",
            option,
          });
          expect(await codeOf(fixture().storage.listJobs(filter, page))).toEqual({
            code: "INVALID_OPTION",
            option,
          });
        });
      }

      it("a cursor of one order is refused by the other", async () => {
        const q = queueOf({ noop });
        await q.enqueueMany([1, 2, 3].map((payload) => ({ task: "noop" as const, payload })));
        const { next } = await q.listJobs({}, { limit: 1 });
        expect(await codeOf(q.listJobs({}, { order: "oldest", after: next! }))).toEqual({
          code: "INVALID_OPTION",
          option: "after",
        });
      });
    });

    describe("counts and stats", () => {
      it("counts by queue and state, exact for ready and claimed jobs", async () => {
        const f = fixture();
        const q = queueOf({ noop });
        await q.enqueueMany([
          ...[1, 2, 3].map((n) => ({ task: "noop" as const, payload: n, queue: "a" })),
          ...[4, 5].map((n) => ({ task: "noop" as const, payload: n, queue: "b" })),
          { task: "noop", payload: 6, queue: "b", delay: 3_600_000 },
        ]);
        const [claimed] = await f.storage.claim("w-count", ["a"], 1);
        const [done] = await f.storage.claim("w-count", ["b"], 1);
        await f.storage.settle([
          { kind: "finish", id: done!.id, token: done!.token, result: null },
        ]);
        const counts = await q.counts();
        expect(counts).toEqual([
          { queue: "a", state: "ready", count: 2, exact: true },
          { queue: "a", state: "claimed", count: 1, exact: true },
          { queue: "b", state: "ready", count: 2, exact: true },
          { queue: "b", state: "finished", count: 1, exact: true },
        ]);
        expect(claimed).toBeDefined();
      });

      it("stats: due, scheduled and claimed jobs, the oldest due job's wait, throughput, pause", async () => {
        const f = fixture();
        const q = queueOf({ noop });
        const now = await f.storage.now();
        await q.enqueueMany([
          { task: "noop", payload: 1, queue: "s", runAt: new Date(now.getTime() - 5_000) },
          { task: "noop", payload: 2, queue: "s" },
          { task: "noop", payload: 3, queue: "s", delay: 3_600_000 },
          { task: "noop", payload: 4, queue: "t" },
          { task: "noop", payload: 5, queue: "t" },
        ]);
        const [c] = await f.storage.claim("w-stats", ["t"], 1);
        const [d] = await f.storage.claim("w-stats", ["t"], 1);
        await f.storage.settle([{ kind: "finish", id: d!.id, token: d!.token, result: null }]);
        await q.pause("quiet");
        const stats = await q.stats();
        const s = stats.find((x) => x.queue === "s")!;
        expect(s).toMatchObject({
          ready: 2,
          scheduled: 1,
          claimed: 0,
          paused: false,
          pausedAt: null,
        });
        expect(s.lagMs).toBeGreaterThanOrEqual(4_900);
        expect(s.lagMs).toBeLessThan(60_000);
        expect(s.throughput).toBe(0);
        const t = stats.find((x) => x.queue === "t")!;
        expect(t).toMatchObject({ ready: 0, scheduled: 0, claimed: 1, lagMs: 0, paused: false });
        expect(t.throughput).toBeCloseTo(1 / 60, 5);
        expect(c).toBeDefined();
        // A paused queue is listed even without jobs.
        const quiet = stats.find((x) => x.queue === "quiet")!;
        expect(quiet).toMatchObject({ ready: 0, scheduled: 0, claimed: 0, lagMs: 0, paused: true });
        expect(quiet.pausedAt).toBeInstanceOf(Date);
        expect(stats.map((x) => x.queue)).toEqual([...stats.map((x) => x.queue)].sort());
      });

      it("stats list the queues a worker serves, even idle", async () => {
        const q = queueOf({ noop });
        await work(q, { queues: ["idle-one"] });
        const stats = await q.stats();
        expect(stats.find((x) => x.queue === "idle-one")).toMatchObject({
          ready: 0,
          claimed: 0,
          paused: false,
        });
      });
    });

    describe("pause and resume", () => {
      it("a paused queue is not claimed from while another queue is; enqueue still works; resume lets it run", async () => {
        const f = fixture();
        const ran: string[] = [];
        const q = queueOf({
          mark: defineTask({ handler: async (p: string) => void ran.push(p) }),
        });
        await q.pause("held");
        await q.pause("held"); // idempotent
        expect(await q.paused()).toEqual(["held"]);
        const h = await q.enqueue("mark", "held", { queue: "held" });
        expect(h.deduped).toBe(false);
        // The claim itself refuses the paused queue, alone and beside others.
        expect(await f.storage.claim("w-pause", ["held"], 10)).toEqual([]);
        await work(q, { queues: ["held", "open"] });
        await q.enqueue("mark", "open", { queue: "open" });
        await waitFor(() => ran.includes("open"), { what: "the open queue's job" });
        await sleep(150);
        expect(ran).toEqual(["open"]);
        expect(await getJob(h.id)).toMatchObject({ state: "ready", attempt: 0 });
        expect((await q.stats()).find((s) => s.queue === "held")).toMatchObject({
          ready: 1,
          paused: true,
        });
        await q.resume("held");
        await waitFor(() => ran.includes("held"), { what: "the resumed queue's job" });
        expect(await q.paused()).toEqual([]);
        await q.resume("held"); // idempotent
        expect((await q.stats()).find((s) => s.queue === "held")).toMatchObject({
          paused: false,
          pausedAt: null,
        });
      });

      it("resume wakes idle workers: with LISTEN at once (poll interval 60 s), else within a poll", async () => {
        const ran: string[] = [];
        const q = queueOf({
          mark: defineTask({ handler: async (p: string) => void ran.push(p) }),
        });
        await q.pause("sleepy");
        await q.enqueueMany(
          [1, 2, 3].map((n) => ({ task: "mark", payload: `j${n}`, queue: "sleepy" })),
        );
        const pushed = listens();
        let claims = 0;
        const storage = wrapStorage(fixture().storage, {
          claim: async (...args) => {
            try {
              return await fixture().storage.claim(...args);
            } finally {
              claims++;
            }
          },
        });
        await work(queueOf(q.tasks, storage), {
          queues: ["sleepy"],
          pollInterval: pushed ? 60_000 : 200,
        });
        await waitFor(() => claims > 0, { what: "the idle worker's first claim" });
        await sleep(50);
        expect(ran).toEqual([]);
        const started = Date.now();
        await q.resume("sleepy");
        await waitFor(() => ran.length === 3, { what: "the resumed jobs", timeoutMs: 5_000 });
        const latency = Date.now() - started;
        expect(latency).toBeLessThan(pushed ? 2_000 : 3_000);
      });

      it("a running job finishes when its queue is paused; the next one waits", async () => {
        const gateOf = held();
        const ran: number[] = [];
        const q = queueOf({
          slow: defineTask({
            handler: async (n: number) => {
              ran.push(n);
              if (n === 1) await gateOf.promise;
              return n;
            },
          }),
        });
        const [a, b] = await q.enqueueMany(
          [1, 2].map((n) => ({ task: "slow" as const, payload: n, queue: "p" })),
        );
        await work(q, { queues: ["p"], concurrency: 1, prefetch: 0 });
        await waitFor(() => ran.length === 1, { what: "the first job running" });
        await q.pause("p");
        gateOf.open();
        await waitFor(async () => (await getJob(a!.id)).state === "finished", {
          what: "the running job finished",
        });
        await sleep(150);
        expect(await getJob(b!.id)).toMatchObject({ state: "ready", attempt: 0 });
        expect(ran).toEqual([1]);
        await q.resume("p");
        await waitFor(async () => (await getJob(b!.id)).state === "finished", {
          what: "the waiting job after resume",
        });
      });

      it("pause and resume refuse a bad queue name before any SQL", async () => {
        const q = queueOf({ noop });
        expect((await codeOf(q.pause("no spaces"))).code).toBe("INVALID_QUEUE_NAME");
        expect((await codeOf(q.resume(""))).code).toBe("INVALID_QUEUE_NAME");
        expect((await codeOf(fixture().storage.pause(7 as unknown as string))).code).toBe(
          "INVALID_QUEUE_NAME",
        );
        expect(await q.paused()).toEqual([]);
      });
    });

    describe("progress and checkpoints", () => {
      it("progress is throttled: 1 000 calls make a handful of writes, and the last value is stored", async () => {
        let writes = 0;
        const inner = fixture().storage;
        const storage = wrapStorage(inner, {
          saveProgress: async (...args) => {
            writes++;
            return inner.saveProgress(...args);
          },
        });
        const q = queueOf(
          {
            walk: defineTask({
              handler: async (_: null, ctx) => {
                for (let i = 0; i < 1000; i++) {
                  ctx.progress({ done: i + 1, total: 1000 });
                  if (i % 10 === 9) await sleep(12);
                }
              },
            }),
          },
          storage,
        );
        const { id } = await q.enqueue("walk", null);
        await work(q);
        await waitFor(async () => (await getJob(id)).state === "finished", {
          what: "finished",
          timeoutMs: 15_000,
        });
        // About a second apart, plus the last one: a loop of 1 000 calls over about 1.2 s.
        expect(writes).toBeGreaterThanOrEqual(2);
        expect(writes).toBeLessThanOrEqual(6);
        const job = await getJob(id);
        expect(job.progress).toEqual({ done: 1000, total: 1000 });
        expect(job.progressAt).toBeInstanceOf(Date);
        expect((await q.listJobs({ state: "finished" })).jobs[0]!.progress).toEqual({
          done: 1000,
          total: 1000,
        });
      });

      it("progress and checkpoint writes are guarded by the claim token", async () => {
        const f = fixture();
        const q = queueOf({ noop });
        const { id } = await q.enqueue("noop", null);
        const [job] = await f.storage.claim("w-token", ["default"], 1);
        expect(job).toMatchObject({ progress: null, progressAt: null, checkpoint: null });
        const stale = "00000000-0000-4000-8000-000000000000";
        expect(await f.storage.saveProgress(id, stale, "1")).toBe(false);
        expect(await f.storage.saveCheckpoint(id, stale, '{"at":1}')).toBe(false);
        expect(await getJob(id)).toMatchObject({ progress: null, checkpoint: null });
        expect(await f.storage.saveProgress(id, job!.token, '"half"')).toBe(true);
        expect(await f.storage.saveCheckpoint(id, job!.token, '{"at":2}')).toBe(true);
        await f.storage.settle([{ kind: "finish", id, token: job!.token, result: null }]);
        // The claim is over: its token writes nothing any more.
        expect(await f.storage.saveProgress(id, job!.token, '"late"')).toBe(false);
        expect(await f.storage.saveCheckpoint(id, job!.token, '{"at":3}')).toBe(false);
        expect(await getJob(id)).toMatchObject({ progress: "half", checkpoint: { at: 2 } });
      });

      it("a run that lost its claim: progress stops writing without throwing, a checkpoint says CLAIM_LOST", async () => {
        let progressWrites = 0;
        const inner = fixture().storage;
        const storage = wrapStorage(inner, {
          // As if the job had been rescued elsewhere: the token no longer matches.
          saveProgress: async () => {
            progressWrites++;
            return false;
          },
          saveCheckpoint: async () => false,
        });
        let caught: unknown;
        const q = queueOf(
          {
            lost: defineTask({
              handler: async (_: null, ctx) => {
                ctx.progress(1);
                await sleep(20);
                for (let i = 2; i < 100; i++) ctx.progress(i);
                await sleep(1_100);
                ctx.progress("after a second");
                try {
                  await ctx.checkpoint({ at: 1 });
                } catch (error) {
                  caught = error;
                }
                return "done";
              },
            }),
          },
          storage,
        );
        const { id } = await q.enqueue("lost", null);
        await work(q);
        await waitFor(async () => (await getJob(id)).state === "finished", { what: "finished" });
        expect(progressWrites).toBe(1);
        expect((caught as QError).code).toBe("CLAIM_LOST");
      });

      it("progress or a checkpoint that is not JSON throws PAYLOAD_NOT_JSON in the handler; unstorable text is made storable", async () => {
        const codes: string[] = [];
        const q = queueOf({
          odd: defineTask({
            handler: async (_: null, ctx) => {
              try {
                ctx.progress(1n);
              } catch (error) {
                codes.push((error as QError).code);
              }
              await ctx.checkpoint({ n: 2n }).catch((error: QError) => codes.push(error.code));
              ctx.progress({ text: "a\u0000b" });
              await ctx.checkpoint({ "k\u0000": "\ud800" });
            },
          }),
        });
        const { id } = await q.enqueue("odd", null);
        await work(q);
        await waitFor(async () => (await getJob(id)).state === "finished", { what: "finished" });
        expect(codes).toEqual(["PAYLOAD_NOT_JSON", "PAYLOAD_NOT_JSON"]);
        expect(await getJob(id)).toMatchObject({
          progress: { text: "a\uFFFDb" },
          checkpoint: { "k\uFFFD": "\uFFFD" },
        });
      });

      /**
       * A handler that resumes from its checkpoint: it walks 0 to 9 in steps of
       * 2, checkpointing each, and its first run ends (`end`) after step 4.
       */
      const walker = (
        runs: { attempt: number; from: number }[],
        end: (ctx: JobContext) => Promise<void>,
      ) =>
        defineTask({
          maxAttempts: 5,
          backoff: fixedBackoff(0),
          handler: async (_: null, ctx) => {
            const from = (ctx.job.checkpoint as { next: number } | null)?.next ?? 0;
            runs.push({ attempt: ctx.attempt, from });
            for (let n = from; n < 10; n += 2) {
              await ctx.checkpoint({ next: n + 2 });
              if (runs.length === 1 && n === 4) await end(ctx);
            }
            return { from };
          },
        });

      it("a checkpoint reaches the next attempt after a retry (the handler threw)", async () => {
        const runs: { attempt: number; from: number }[] = [];
        const q = queueOf({
          walk: walker(runs, async () => {
            throw new Error("the database went away");
          }),
        });
        const { id } = await q.enqueue("walk", null);
        await work(q);
        await waitFor(async () => (await getJob(id)).state === "finished", { what: "finished" });
        expect(runs).toEqual([
          { attempt: 1, from: 0 },
          { attempt: 2, from: 6 },
        ]);
        expect(await getJob(id)).toMatchObject({ result: { from: 6 }, checkpoint: { next: 10 } });
      });

      it("a checkpoint reaches the next attempt after a snooze", async () => {
        const runs: { attempt: number; from: number }[] = [];
        const q = queueOf({ walk: walker(runs, async (ctx) => ctx.snooze(0)) });
        const { id } = await q.enqueue("walk", null);
        await work(q);
        await waitFor(async () => (await getJob(id)).state === "finished", { what: "finished" });
        // A snooze charges no attempt: the second run is attempt 1 again.
        expect(runs).toEqual([
          { attempt: 1, from: 0 },
          { attempt: 1, from: 6 },
        ]);
      });

      it("a checkpoint reaches the next run after a rescue (its worker died)", async () => {
        const f = fixture();
        const runs: { attempt: number; from: number }[] = [];
        const q = queueOf({ walk: walker(runs, async () => {}) });
        const { id } = await q.enqueue("walk", null);
        // A worker that claims, checkpoints and dies without a word.
        const dead = randomId("dead");
        await f.storage.heartbeat({ id: dead, queues: ["default"], host: "h", pid: 1 });
        const [job] = await f.storage.claim(dead, ["default"], 1);
        expect(await f.storage.saveCheckpoint(id, job!.token, JSON.stringify({ next: 8 }))).toBe(
          true,
        );
        await waitFor(async () => (await f.storage.rescue(50)).length > 0, { what: "rescue" });
        expect(await getJob(id)).toMatchObject({ state: "ready", checkpoint: { next: 8 } });
        await work(q);
        await waitFor(async () => (await getJob(id)).state === "finished", { what: "finished" });
        // The attempt the dead run was charged stands.
        expect(runs).toEqual([{ attempt: 2, from: 8 }]);
      });

      it("a checkpoint reaches the next run after a shutdown (the handler was stopped mid-way)", async () => {
        const runs: { attempt: number; from: number }[] = [];
        const stopped = held();
        const q = queueOf({
          walk: walker(runs, async () => {
            await stopped.promise;
            throw new Error("stopped");
          }),
        });
        const { id } = await q.enqueue("walk", null);
        const w = await work(q, { shutdownTimeout: 50 });
        await waitFor(() => runs.length === 1, { what: "the first run" });
        await waitFor(async () => (await getJob(id)).checkpoint !== null, { what: "a checkpoint" });
        await sleep(20);
        await w.stop(); // aborts its signal, which this handler ignores: charged, SHUTDOWN
        stopped.open();
        expect(await getJob(id)).toMatchObject({
          state: "ready",
          checkpoint: { next: 6 },
          errors: [{ code: "SHUTDOWN" }],
        });
        await work(q);
        await waitFor(async () => (await getJob(id)).state === "finished", { what: "finished" });
        expect(runs).toEqual([
          { attempt: 1, from: 0 },
          { attempt: 2, from: 6 },
        ]);
      });

      it("retry() by hand keeps the checkpoint: the retried job resumes", async () => {
        const runs: { attempt: number; from: number }[] = [];
        const q = queueOf({
          walk: walker(runs, async () => {
            throw new PermanentError("needs a human");
          }),
        });
        const { id } = await q.enqueue("walk", null);
        const w = await work(q);
        await waitFor(async () => (await getJob(id)).state === "failed", { what: "failed" });
        await w.stop();
        const retried = await q.retry(id);
        expect(retried).toMatchObject({ state: "ready", attempt: 0, checkpoint: { next: 6 } });
        await work(q);
        await waitFor(async () => (await getJob(id)).state === "finished", { what: "finished" });
        expect(runs).toEqual([
          { attempt: 1, from: 0 },
          { attempt: 1, from: 6 },
        ]);
      });
    });
  });
}
