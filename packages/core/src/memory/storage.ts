import { randomUUID } from "node:crypto";
import { QError } from "../errors.js";
import { assertJobId } from "../ids.js";
import type { JobFilter, JobPage, PageOptions, QueueStats, StateCount } from "../inspect.js";
import { encodeCursor, JOB_STATES, listQuery } from "../inspect-query.js";
import type { ClaimedJob, Job, JobError } from "../job.js";
import { hasUnstorableEscape } from "../json.js";
import { MAX_RUN_AT_MS, MIN_RUN_AT_MS } from "../limits.js";
import { assertQueueName } from "../names.js";
import type {
  Beat,
  CancelOutcome,
  Inserted,
  KeyConflict,
  NewJob,
  Notice,
  Rescued,
  Settled,
  Settlement,
  Storage,
  WorkerInfo,
} from "../storage.js";

interface Row extends Job {
  token: string | null;
  seq: number;
}

const live = (j: Row) => j.state === "ready" || j.state === "claimed";

/** An error as PostgreSQL raises it for a value it cannot store (SQLSTATE class 22). */
function refused(state: string, message: string): Error {
  return Object.assign(new Error(message), { code: state });
}

function assertStorableJson(json: string, what: string): void {
  if (!hasUnstorableEscape(json)) return;
  // jsonb says 22P05 for a NUL, 22P02 for a lone surrogate.
  const nul = json.replaceAll("\\\\", "").includes("\\u0000");
  throw refused(
    nul ? "22P05" : "22P02",
    `${what}: ${nul ? "a NUL character" : "a lone UTF-16 surrogate"} cannot be stored`,
  );
}

/** A delay that `bigint` and `timestamptz` hold. */
function assertStorableDelay(delayMs: number, now: number): void {
  if (!Number.isFinite(delayMs) || Math.abs(delayMs) > 9.2e18) {
    throw refused("22003", `delay ${delayMs} is out of range for type bigint`);
  }
  if (Number.isNaN(new Date(now + delayMs).getTime())) {
    throw refused("22008", `delay ${delayMs} is out of range for type timestamp`);
  }
}

/** Refuses, as PostgreSQL would, a new job it cannot store. */
function assertStorableJob(n: NewJob, now: number): void {
  assertStorableJson(n.payload, "payload");
  if (n.key !== null) assertStorableJson(JSON.stringify(n.key), "key");
  if (n.runAt !== null) {
    const ms = n.runAt.getTime();
    // Dates travel as ISO 8601 text, which PostgreSQL reads for years 1 to 9999.
    if (!(ms >= MIN_RUN_AT_MS && ms <= MAX_RUN_AT_MS)) {
      throw refused("22008", `runAt ${String(n.runAt)} is out of range for type timestamptz`);
    }
  }
  assertStorableDelay(n.delayMs, now);
}

/** Refuses, as PostgreSQL would, a settlement it cannot store. */
function assertStorableSettlement(s: Settlement, now: number): void {
  if (s.kind === "finish" && s.result !== null) assertStorableJson(s.result, "result");
  if (s.kind === "retry" || s.kind === "fail") assertStorableJson(JSON.stringify(s.error), "error");
  if (s.kind === "retry" || s.kind === "snooze") assertStorableDelay(s.delayMs, now);
}

/**
 * The state machine in memory, with the semantics of the PostgreSQL storage:
 * for unit tests of your handlers and of the worker loop. Transactions (`tx`)
 * are ignored; nothing survives the process.
 */
export class MemoryStorage implements Storage {
  readonly #jobs = new Map<string, Row>();
  readonly #workers = new Map<string, { info: WorkerInfo; beat: number }>();
  readonly #listeners = new Set<(n: Notice) => void>();
  /** Paused queues and since when; resumed ones stay known, as rows of the queues table do. */
  readonly #queues = new Map<string, Date | null>();
  #seq = 0;

  /** Every job, oldest first (copies). */
  jobs(): Job[] {
    return [...this.#jobs.values()].map((j) => this.#copy(j));
  }

  /** Every registered worker (copies). */
  workers(): WorkerInfo[] {
    return [...this.#workers.values()].map((w) => structuredClone(w.info));
  }

  #copy(row: Row): Job {
    const { token: _t, seq: _s, ...job } = row;
    return structuredClone(job);
  }

  #notify(notice: Notice): void {
    for (const l of this.#listeners) queueMicrotask(() => l(notice));
  }

  async migrate(): Promise<void> {}

  async insert(jobs: NewJob[], conflict: KeyConflict): Promise<Inserted[]> {
    const now = Date.now();
    // One statement in PostgreSQL: one row it cannot store and nothing is written.
    for (const n of jobs) assertStorableJob(n, now);
    const woken = new Set<string>();
    const out = jobs.map((n): Inserted => {
      const runAt = n.runAt ?? new Date(now + n.delayMs);
      const held =
        n.key === null
          ? undefined
          : [...this.#jobs.values()].find((j) => live(j) && j.key === n.key);
      const fields = {
        queue: n.queue,
        task: n.task,
        payload: JSON.parse(n.payload) as unknown,
        priority: n.priority,
        runAt,
        maxAttempts: n.maxAttempts,
        meta: JSON.parse(n.meta) as Record<string, unknown>,
      };
      if (held !== undefined) {
        if (conflict === "replace" && held.state === "ready") Object.assign(held, fields);
        return { id: held.id, queue: n.queue, task: n.task, deduped: true };
      }
      const id = String(++this.#seq);
      this.#jobs.set(id, {
        ...fields,
        id,
        seq: this.#seq,
        state: "ready",
        attempt: 0,
        key: n.key,
        claimedBy: null,
        claimedAt: null,
        token: null,
        errors: [],
        result: null,
        cancelRequestedAt: null,
        createdAt: new Date(now),
        finishedAt: null,
        progress: null,
        progressAt: null,
        checkpoint: null,
      });
      if (runAt.getTime() <= now) woken.add(n.queue);
      return { id, queue: n.queue, task: n.task, deduped: false };
    });
    for (const queue of woken) this.#notify({ type: "jobs", queue });
    return out;
  }

  async claim(
    worker: string,
    queues: readonly string[],
    limit: number,
    tasks?: readonly string[],
  ): Promise<ClaimedJob[]> {
    const now = Date.now();
    const due = [...this.#jobs.values()]
      .filter(
        (j) =>
          j.state === "ready" &&
          queues.includes(j.queue) &&
          !this.#isPaused(j.queue) &&
          (tasks === undefined || tasks.includes(j.task)) &&
          j.runAt.getTime() <= now,
      )
      .sort(
        (a, b) => a.priority - b.priority || a.runAt.getTime() - b.runAt.getTime() || a.seq - b.seq,
      )
      .slice(0, Math.max(0, limit));
    return due.map((j) => {
      Object.assign(j, {
        state: "claimed",
        attempt: j.attempt + 1,
        claimedBy: worker,
        claimedAt: new Date(now),
        token: randomUUID(),
      });
      return { ...(this.#copy(j) as Job & { state: "claimed" }), token: j.token! };
    });
  }

  async settle(settlements: readonly Settlement[]): Promise<Settled[]> {
    const now = Date.now();
    for (const s of settlements) assertStorableSettlement(s, now);
    return settlements.map((s) => {
      const j = this.#jobs.get(s.id);
      if (j === undefined || j.state !== "claimed" || j.token !== s.token) {
        return { id: s.id, kind: s.kind, applied: false };
      }
      const stamp = (e: JobError): JobError => ({ ...e, at: new Date(now).toISOString() });
      // A recorded cancel outlives the run: what would make the job ready fails it instead.
      const cancelled =
        j.cancelRequestedAt !== null &&
        (s.kind === "retry" || s.kind === "snooze" || s.kind === "release");
      switch (s.kind) {
        case "finish":
          j.state = "finished";
          j.result = s.result === null ? null : JSON.parse(s.result);
          j.finishedAt = new Date(now);
          break;
        case "fail":
          j.state = "failed";
          j.errors.push(stamp(s.error));
          j.finishedAt = new Date(now);
          break;
        case "retry":
          j.state = "ready";
          j.errors.push(stamp(s.error));
          if (!cancelled) j.runAt = new Date(now + s.delayMs);
          j.finishedAt = null;
          break;
        case "snooze":
          j.state = "ready";
          if (!cancelled) {
            j.attempt -= 1;
            j.runAt = new Date(now + s.delayMs);
          }
          break;
        case "release":
          j.state = "ready";
          if (!cancelled) j.attempt -= 1;
          break;
      }
      if (cancelled) {
        j.errors.push(
          stamp({ attempt: j.attempt, at: "", code: "CANCELLED", message: "cancelled" }),
        );
        j.state = "failed";
        j.finishedAt = new Date(now);
      }
      Object.assign(j, { claimedBy: null, claimedAt: null, token: null });
      return { id: s.id, kind: s.kind, applied: true, state: j.state };
    });
  }

  async heartbeat(worker: WorkerInfo): Promise<Beat> {
    this.#workers.set(worker.id, { info: worker, beat: Date.now() });
    const held = [...this.#jobs.values()].filter(
      (j) => j.state === "claimed" && j.claimedBy === worker.id,
    );
    return {
      cancelled: held.filter((j) => j.cancelRequestedAt !== null).map((j) => j.id),
      held: held.map((j) => ({ id: j.id, token: j.token! })),
    };
  }

  async cancelRequested(worker: string, ids: readonly string[]): Promise<string[]> {
    return ids.filter((id) => {
      const j = this.#jobs.get(id);
      return j?.state === "claimed" && j.claimedBy === worker && j.cancelRequestedAt !== null;
    });
  }

  async unregister(workerId: string): Promise<void> {
    this.#workers.delete(workerId);
  }

  async rescue(leaseMs: number): Promise<Rescued[]> {
    const now = Date.now();
    const out: Rescued[] = [];
    for (const [id, w] of this.#workers) {
      if (w.beat < now - leaseMs) this.#workers.delete(id);
    }
    for (const j of this.#jobs.values()) {
      if (j.state !== "claimed" || j.claimedAt!.getTime() >= now - leaseMs) continue;
      const w = this.#workers.get(j.claimedBy!);
      if (w !== undefined && w.beat > now - leaseMs) continue;
      const worker = j.claimedBy!;
      const spent = j.attempt >= j.maxAttempts || j.cancelRequestedAt !== null;
      j.errors.push({
        attempt: j.attempt,
        at: new Date(now).toISOString(),
        code: "WORKER_LOST",
        message: `worker ${worker} stopped heartbeating`,
      });
      if (j.cancelRequestedAt !== null) {
        j.errors.push({
          attempt: j.attempt,
          at: new Date(now).toISOString(),
          code: "CANCELLED",
          message: "cancelled",
        });
      }
      Object.assign(j, {
        state: spent ? "failed" : "ready",
        finishedAt: spent ? new Date(now) : null,
        runAt: new Date(now),
        claimedBy: null,
        claimedAt: null,
        token: null,
      });
      out.push({
        id: j.id,
        task: j.task,
        queue: j.queue,
        state: j.state as Rescued["state"],
        worker,
      });
    }
    return out;
  }

  async getJob(id: string): Promise<Job | null> {
    assertJobId(id);
    const j = this.#jobs.get(id);
    return j === undefined ? null : this.#copy(j);
  }

  async retry(id: string): Promise<Job> {
    assertJobId(id);
    const j = this.#jobs.get(id);
    if (j === undefined)
      throw new QError("JOB_NOT_FOUND", `no job with id ${id}`, { details: { id } });
    if (j.state !== "failed") {
      throw new QError(
        "INVALID_STATE",
        `job ${id} is ${j.state}; only failed jobs can be retried`,
        {
          details: { id, state: j.state },
        },
      );
    }
    Object.assign(j, {
      state: "ready",
      attempt: 0,
      runAt: new Date(),
      finishedAt: null,
      cancelRequestedAt: null,
    });
    this.#notify({ type: "jobs", queue: j.queue });
    return this.#copy(j);
  }

  async cancel(id: string): Promise<CancelOutcome> {
    assertJobId(id);
    const j = this.#jobs.get(id);
    if (j === undefined)
      throw new QError("JOB_NOT_FOUND", `no job with id ${id}`, { details: { id } });
    const now = new Date();
    if (j.state === "ready") {
      j.errors.push({
        attempt: j.attempt,
        at: now.toISOString(),
        code: "CANCELLED",
        message: "cancelled",
      });
      Object.assign(j, { state: "failed", finishedAt: now, cancelRequestedAt: now });
      return "cancelled";
    }
    if (j.state === "claimed") {
      j.cancelRequestedAt ??= now;
      this.#notify({ type: "cancel", id, worker: j.claimedBy });
      return "requested";
    }
    return "terminal";
  }

  #isPaused(queue: string): boolean {
    return (this.#queues.get(queue) ?? null) !== null;
  }

  async listJobs(filter?: JobFilter, page?: PageOptions): Promise<JobPage> {
    const q = listQuery(filter, page);
    const within = (d: Date | null, from?: Date, to?: Date) =>
      (from === undefined || (d !== null && d >= from)) &&
      (to === undefined || (d !== null && d < to));
    const after = q.after === undefined ? undefined : BigInt(q.after);
    const newest = q.order === "newest";
    const matching = [...this.#jobs.values()].filter(
      (j) =>
        (q.queues === undefined || q.queues.includes(j.queue)) &&
        (q.tasks === undefined || q.tasks.includes(j.task)) &&
        (q.states === undefined || q.states.includes(j.state)) &&
        (q.key === undefined || j.key === q.key) &&
        within(j.createdAt, q.createdFrom, q.createdTo) &&
        within(j.finishedAt, q.finishedFrom, q.finishedTo) &&
        (after === undefined || (newest ? BigInt(j.id) < after : BigInt(j.id) > after)),
    );
    matching.sort((a, b) => (newest ? b.seq - a.seq : a.seq - b.seq));
    const jobs = matching.slice(0, q.limit).map((j) => this.#copy(j));
    const last = jobs.at(-1);
    const next =
      matching.length > q.limit && last !== undefined ? encodeCursor(q.order, last.id) : null;
    return { jobs, next };
  }

  async countJobs(): Promise<StateCount[]> {
    const counts = new Map<string, StateCount>();
    for (const j of this.#jobs.values()) {
      const id = `${j.queue}\u0000${j.state}`;
      const c = counts.get(id) ?? { queue: j.queue, state: j.state, count: 0, exact: true };
      c.count += 1;
      counts.set(id, c);
    }
    return [...counts.values()].sort(
      (a, b) =>
        (a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : 0) ||
        JOB_STATES.indexOf(a.state) - JOB_STATES.indexOf(b.state),
    );
  }

  async queueStats(): Promise<QueueStats[]> {
    const now = Date.now();
    const stats = new Map<string, QueueStats & { oldest: number; ended: number }>();
    const of = (queue: string) => {
      let s = stats.get(queue);
      if (s === undefined) {
        const pausedAt = this.#queues.get(queue) ?? null;
        s = {
          queue,
          ready: 0,
          scheduled: 0,
          claimed: 0,
          lagMs: 0,
          throughput: 0,
          paused: pausedAt !== null,
          pausedAt: pausedAt === null ? null : new Date(pausedAt),
          oldest: now,
          ended: 0,
        };
        stats.set(queue, s);
      }
      return s;
    };
    for (const j of this.#jobs.values()) {
      if (j.state === "ready") {
        const s = of(j.queue);
        if (j.runAt.getTime() <= now) {
          s.ready += 1;
          s.oldest = Math.min(s.oldest, j.runAt.getTime());
        } else {
          s.scheduled += 1;
        }
      } else if (j.state === "claimed") {
        of(j.queue).claimed += 1;
      } else if (j.finishedAt !== null && j.finishedAt.getTime() > now - 60_000) {
        of(j.queue).ended += 1;
      }
    }
    for (const queue of this.#queues.keys()) of(queue);
    for (const w of this.#workers.values()) for (const queue of w.info.queues) of(queue);
    return [...stats.values()]
      .sort((a, b) => (a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : 0))
      .map(({ oldest, ended, ...s }) => ({ ...s, lagMs: now - oldest, throughput: ended / 60 }));
  }

  async pause(queue: string): Promise<void> {
    assertQueueName(queue);
    if (!this.#isPaused(queue)) this.#queues.set(queue, new Date());
  }

  async resume(queue: string): Promise<void> {
    assertQueueName(queue);
    if (!this.#isPaused(queue)) return;
    this.#queues.set(queue, null);
    this.#notify({ type: "jobs", queue });
  }

  async paused(): Promise<string[]> {
    return [...this.#queues.keys()].filter((q) => this.#isPaused(q)).sort();
  }

  async saveProgress(id: string, token: string, progress: string): Promise<boolean> {
    assertStorableJson(progress, "progress");
    const j = this.#held(id, token);
    if (j === undefined) return false;
    j.progress = JSON.parse(progress);
    j.progressAt = new Date();
    return true;
  }

  async saveCheckpoint(id: string, token: string, checkpoint: string): Promise<boolean> {
    assertStorableJson(checkpoint, "checkpoint");
    const j = this.#held(id, token);
    if (j === undefined) return false;
    j.checkpoint = JSON.parse(checkpoint);
    return true;
  }

  /** The job while `token` holds its claim. */
  #held(id: string, token: string): Row | undefined {
    const j = this.#jobs.get(id);
    return j !== undefined && j.state === "claimed" && j.token === token ? j : undefined;
  }

  async listen(onNotice: (notice: Notice) => void): Promise<() => Promise<void>> {
    this.#listeners.add(onNotice);
    return async () => {
      this.#listeners.delete(onNotice);
    };
  }

  async now(): Promise<Date> {
    return new Date();
  }
}
