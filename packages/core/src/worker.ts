import { hostname } from "node:os";
import { type Backoff, exponentialBackoff } from "./backoff.js";
import { PermanentError, QError, Snooze } from "./errors.js";
import type { Emitter } from "./events.js";
import type { ClaimedJob, JobError } from "./job.js";
import { toJsonText } from "./json.js";
import type { Logger } from "./logger.js";
import { assertQueueName } from "./names.js";
import { intOption, msOption } from "./options.js";
import type { Notice, Settlement, Storage } from "./storage.js";
import type { AnyTask, JobContext, TaskMap } from "./task.js";

/** Options of {@link Queue.work}. */
export interface WorkOptions {
  /** Queues to take jobs from. Default: every queue the tasks name (`"default"` when none). */
  queues?: string[];
  /** Handlers running at once. Default 10. */
  concurrency?: number;
  /**
   * Jobs claimed ahead of free slots, so handlers never wait on a round trip and
   * claims come in batches. `"auto"` (default) sizes it to what this worker
   * finishes in about a quarter second, up to 500: large for quick jobs, near
   * zero for slow ones, so one worker does not hoard a queue. A number fixes it.
   */
  prefetch?: number | "auto";
  /** Poll for due jobs this often even without notifications. Default 1000 ms. */
  pollInterval?: number;
  /** A worker silent this long is dead and its jobs are rescued. Default 30 000 ms. */
  leaseTimeout?: number;
  /** Heartbeat period; keep well under `leaseTimeout`. Default: a third of it, at most 5000 ms. */
  heartbeatInterval?: number;
  /** How often this worker looks for jobs of dead workers. Default: half of `leaseTimeout`. */
  rescueInterval?: number;
  /** On `stop()`, how long running handlers may finish before their signal aborts. Default 10 000 ms. */
  shutdownTimeout?: number;
  /** Settlements are written together within this window. Default 2 ms. */
  settleDelay?: number;
  /** A stable id for this worker; default `host:pid:random`. */
  id?: string;
}

interface Running {
  job: ClaimedJob;
  controller: AbortController;
  /** Set when the outcome must not be reported (already released by a forced stop). */
  abandoned: boolean;
}

const defaultBackoff = exponentialBackoff();
/** Auto prefetch holds what the worker finishes in this long… */
const AUTO_PREFETCH_HORIZON_MS = 250;
/** …and never more than this. */
const AUTO_PREFETCH_MAX = 500;

function jobError(attempt: number, error: unknown, code?: string): JobError {
  const e = error instanceof Error ? error : new Error(String(error));
  const out: JobError = {
    attempt,
    at: "",
    message: e.message,
    code: code ?? (e instanceof QError ? e.code : e.name),
  };
  if (e.stack !== undefined) out.stack = e.stack;
  return out;
}

/**
 * A worker: claims jobs, runs their handlers and settles them. Made by
 * `queue.work()`; `stop()` shuts it down gracefully.
 */
export class Worker {
  readonly id: string;
  readonly queues: readonly string[];
  readonly #storage: Storage;
  readonly #tasks: TaskMap;
  readonly #events: Emitter;
  readonly #logger: Logger;
  readonly #concurrency: number;
  /** A fixed prefetch, or undefined for auto. */
  readonly #prefetch: number | undefined;
  /** Handlers finished so far, and the finish rate (jobs per ms) seen lately. */
  #completed = 0;
  #rate = 0;
  #rateSample = { at: performance.now(), completed: 0 };
  readonly #poll: number;
  readonly #lease: number;
  readonly #heartbeat: number;
  readonly #rescue: number;
  readonly #shutdown: number;
  readonly #settleDelay: number;

  readonly #running = new Map<string, Running>();
  readonly #buffer: ClaimedJob[] = [];
  #pending: { settlement: Settlement; job: ClaimedJob; emit: () => void }[] = [];
  #flushTimer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #claiming: Promise<void> | undefined;
  #again = false;
  #stopping = false;
  #stopped: Promise<void> | undefined;
  #timers: NodeJS.Timeout[] = [];
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #unlisten: (() => Promise<void>) | undefined;
  #idle: (() => void) | undefined;

  constructor(
    storage: Storage,
    tasks: TaskMap,
    events: Emitter,
    logger: Logger,
    options: WorkOptions = {},
  ) {
    this.#storage = storage;
    this.#tasks = tasks;
    this.#events = events;
    this.#logger = logger;
    const taskQueues = Object.values(tasks).map((t) => t.queue ?? "default");
    this.queues = [...new Set(options.queues ?? (taskQueues.length ? taskQueues : ["default"]))];
    if (this.queues.length === 0) {
      throw new QError("INVALID_OPTION", "queues must name at least one queue", {
        details: { option: "queues" },
      });
    }
    for (const q of this.queues) assertQueueName(q);
    this.#concurrency = intOption("concurrency", options.concurrency ?? 10, 1, 10_000);
    this.#prefetch =
      options.prefetch === undefined || options.prefetch === "auto"
        ? undefined
        : intOption("prefetch", options.prefetch, 0, 10_000);
    this.#poll = msOption("pollInterval", options.pollInterval ?? 1000, 10);
    this.#lease = msOption("leaseTimeout", options.leaseTimeout ?? 30_000, 100);
    this.#heartbeat = msOption(
      "heartbeatInterval",
      options.heartbeatInterval ?? Math.min(5000, this.#lease / 3),
      10,
    );
    if (this.#heartbeat >= this.#lease) {
      throw new QError("INVALID_OPTION", "heartbeatInterval must be shorter than leaseTimeout", {
        details: { option: "heartbeatInterval" },
      });
    }
    this.#rescue = msOption("rescueInterval", options.rescueInterval ?? this.#lease / 2, 10);
    this.#shutdown = msOption("shutdownTimeout", options.shutdownTimeout ?? 10_000);
    this.#settleDelay = msOption("settleDelay", options.settleDelay ?? 2);
    this.id =
      options.id ?? `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 10)}`;
  }

  /** Jobs whose handler is running now. */
  get running(): number {
    return this.#running.size;
  }

  /** Registers the worker, subscribes to notifications and starts claiming. */
  async start(): Promise<void> {
    await this.#beat();
    if (this.#storage.listen !== undefined) {
      this.#unlisten = await this.#storage.listen(
        (notice) => this.#onNotice(notice),
        () => this.#fill(),
        (error) => this.#error("listen", error),
      );
    }
    this.#heartbeatTimer = setInterval(() => void this.#beat().catch(() => {}), this.#heartbeat);
    this.#timers.push(
      setInterval(() => this.#fill(), this.#poll),
      setInterval(() => void this.#rescueDead(), this.#rescue),
    );
    void this.#rescueDead();
    this.#fill();
  }

  #error(during: string, error: unknown): void {
    this.#logger.error({ err: error, worker: this.id, during }, `worker error during ${during}`);
    this.#events.emit("error", { error, worker: this.id, during });
  }

  async #beat(): Promise<void> {
    try {
      const beat = await this.#storage.heartbeat({
        id: this.id,
        queues: [...this.queues],
        host: hostname(),
        pid: process.pid,
      });
      for (const id of beat.cancelled) this.#abortCancelled(id);
    } catch (error) {
      this.#error("heartbeat", error);
      throw error;
    }
  }

  async #rescueDead(): Promise<void> {
    if (this.#stopping) return;
    try {
      const jobs = await this.#storage.rescue(this.#lease);
      if (jobs.length > 0) {
        this.#logger.warn({ jobs, by: this.id }, `rescued ${jobs.length} job(s) of dead workers`);
        this.#events.emit("rescued", { jobs, by: this.id });
        this.#fill();
      }
    } catch (error) {
      this.#error("rescue", error);
    }
  }

  #onNotice(notice: Notice): void {
    if (notice.type === "jobs") {
      if (this.queues.includes(notice.queue)) this.#fill();
    } else if (notice.worker === this.id || notice.worker === null) {
      this.#abortCancelled(notice.id);
    }
  }

  #abortCancelled(id: string): void {
    const run = this.#running.get(id);
    if (run !== undefined && !run.controller.signal.aborted) {
      run.controller.abort(new QError("CANCELLED", `job ${id} was cancelled`));
    }
  }

  /** How many jobs to hold beyond the running ones. */
  #ahead(): number {
    if (this.#prefetch !== undefined) return this.#prefetch;
    const now = performance.now();
    const elapsed = now - this.#rateSample.at;
    if (elapsed >= 100) {
      const recent = (this.#completed - this.#rateSample.completed) / elapsed;
      this.#rate = this.#rate === 0 ? recent : 0.7 * this.#rate + 0.3 * recent;
      this.#rateSample = { at: now, completed: this.#completed };
    }
    return Math.min(AUTO_PREFETCH_MAX, Math.round(this.#rate * AUTO_PREFETCH_HORIZON_MS));
  }

  /** Claims up to the free slots plus prefetch; loops while claims come back full. */
  #fill(): void {
    if (this.#stopping) return;
    if (this.#claiming !== undefined) {
      this.#again = true;
      return;
    }
    const ahead = this.#ahead();
    // With jobs in hand, wait until half are gone so claims come in batches, not one by one.
    if (ahead > 0 && this.#buffer.length > ahead / 2) return;
    const free = this.#concurrency + ahead - this.#running.size - this.#buffer.length;
    if (free <= 0) return;
    this.#again = false;
    this.#claiming = this.#storage
      .claim(this.id, this.queues, free)
      .then(
        (jobs) => {
          for (const job of jobs) this.#buffer.push(job);
          this.#startBuffered();
          if (jobs.length === free) this.#again = true;
        },
        (error) => {
          // Wait for the next poll or notification rather than hammer a failing database.
          this.#again = false;
          this.#error("claim", error);
        },
      )
      .finally(() => {
        this.#claiming = undefined;
        if (this.#again) setImmediate(() => this.#fill());
      });
  }

  #startBuffered(): void {
    while (!this.#stopping && this.#running.size < this.#concurrency && this.#buffer.length > 0) {
      this.#run(this.#buffer.shift()!);
    }
  }

  #run(job: ClaimedJob): void {
    const controller = new AbortController();
    const run: Running = { job, controller, abandoned: false };
    this.#running.set(job.id, run);
    this.#events.emit("claimed", { job, worker: this.id });
    const task = Object.hasOwn(this.#tasks, job.task) ? this.#tasks[job.task] : undefined;
    const started = performance.now();
    this.#execute(job, task, controller).then((outcome) => {
      this.#running.delete(job.id);
      this.#completed++;
      if (!run.abandoned) this.#settle(job, task, outcome, performance.now() - started);
      if (this.#running.size === 0) this.#idle?.();
      this.#startBuffered();
      this.#fill();
    });
  }

  async #execute(
    job: ClaimedJob,
    task: AnyTask | undefined,
    controller: AbortController,
  ): Promise<{ ok: true; result: unknown } | { ok: false; error: unknown }> {
    if (task === undefined) {
      return {
        ok: false,
        error: new QError("UNKNOWN_TASK", `this worker has no handler for task "${job.task}"`),
      };
    }
    const ctx: JobContext = {
      job,
      signal: controller.signal,
      attempt: job.attempt,
      logger: this.#logger,
      snooze(delayMs: number): never {
        throw new Snooze(delayMs);
      },
    };
    let timer: NodeJS.Timeout | undefined;
    try {
      const handler = Promise.resolve().then(() => task.handler(job.payload, ctx));
      const aborted = new Promise<never>((_, reject) => {
        const onAbort = () => reject(controller.signal.reason);
        if (controller.signal.aborted) onAbort();
        else controller.signal.addEventListener("abort", onAbort, { once: true });
      });
      // Cancel and timeout end the run at once; a shutdown lets the handler answer its signal.
      const timeout =
        task.timeout === undefined
          ? undefined
          : new Promise<never>((_, reject) => {
              timer = setTimeout(() => {
                const error = new QError("TIMEOUT", `timed out after ${task.timeout} ms`);
                controller.abort(error);
                reject(error);
              }, task.timeout);
            });
      handler.catch(() => {});
      aborted.catch(() => {});
      const racers: Promise<unknown>[] = [handler];
      if (timeout !== undefined) racers.push(timeout);
      racers.push(
        aborted.catch((reason) => {
          if (reason instanceof QError && reason.code === "CANCELLED") throw reason;
          return handler;
        }),
      );
      return { ok: true, result: await Promise.race(racers) };
    } catch (error) {
      // Once aborted, why the run ended is the abort's reason, whatever the handler threw.
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : undefined;
      return { ok: false, error: reason instanceof QError ? reason : error };
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  #settle(
    job: ClaimedJob,
    task: AnyTask | undefined,
    outcome: { ok: true; result: unknown } | { ok: false; error: unknown },
    durationMs: number,
  ): void {
    const base = { id: job.id, token: job.token };
    const worker = this.id;
    if (outcome.ok) {
      let result: string | null = null;
      try {
        result = outcome.result === undefined ? null : toJsonText(outcome.result, "result");
      } catch (error) {
        this.#logger.warn({ jobId: job.id, err: error }, "handler result is not JSON; not stored");
      }
      this.#queueSettle({ kind: "finish", ...base, result }, job, () =>
        this.#events.emit("finished", { job, worker, result: outcome.result, durationMs }),
      );
      return;
    }
    const error = outcome.error;
    if (error instanceof Snooze) {
      this.#queueSettle({ kind: "snooze", ...base, delayMs: error.delayMs }, job, () =>
        this.#events.emit("snoozed", { job, worker, delayMs: error.delayMs }),
      );
      return;
    }
    if (error instanceof QError && error.code === "SHUTDOWN") {
      this.#queueSettle({ kind: "release", ...base }, job, () => {});
      return;
    }
    const cancelled = error instanceof QError && error.code === "CANCELLED";
    const failure = jobError(job.attempt, error);
    if (cancelled || error instanceof PermanentError || job.attempt >= job.maxAttempts) {
      this.#queueSettle({ kind: "fail", ...base, error: failure }, job, () =>
        this.#events.emit("failed", { job, worker, error: failure }),
      );
      return;
    }
    const backoff: Backoff = task?.backoff ?? defaultBackoff;
    let delayMs: number;
    try {
      delayMs = Math.max(0, Number(backoff(job.attempt, error)) || 0);
    } catch (e) {
      this.#error("backoff", e);
      delayMs = defaultBackoff(job.attempt, error);
    }
    this.#queueSettle({ kind: "retry", ...base, delayMs, error: failure }, job, () =>
      this.#events.emit("retried", { job, worker, error: failure, delayMs }),
    );
  }

  #queueSettle(settlement: Settlement, job: ClaimedJob, emit: () => void): void {
    this.#pending.push({ settlement, job, emit });
    if (this.#flushTimer === undefined) {
      this.#flushTimer = setTimeout(() => {
        this.#flushTimer = undefined;
        void this.#flush();
      }, this.#settleDelay);
    }
  }

  /** Writes pending settlements in one statement; on failure keeps them for the next flush. */
  #flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      if (this.#pending.length === 0) return;
      const batch = this.#pending;
      this.#pending = [];
      try {
        const settled = await this.#storage.settle(batch.map((p) => p.settlement));
        settled.forEach((s, i) => {
          const p = batch[i]!;
          if (s.applied) p.emit();
          else {
            this.#logger.warn(
              { jobId: p.job.id, worker: this.id },
              "claim lost before settling (rescued or cancelled elsewhere); outcome dropped",
            );
            this.#events.emit("lost", { job: p.job, worker: this.id });
          }
        });
      } catch (error) {
        this.#error("settle", error);
        this.#pending = batch.concat(this.#pending);
        if (!this.#stopping && this.#flushTimer === undefined) {
          this.#flushTimer = setTimeout(() => {
            this.#flushTimer = undefined;
            void this.#flush();
          }, 500);
        }
      }
    });
    return this.#flushing;
  }

  /**
   * Shuts down gracefully: stop claiming, hand back prefetched jobs, wait up to
   * `shutdownTimeout` for running handlers, then abort their signals and hand
   * back what is still claimed. Neither hand-back charges an attempt.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    this.#stopping = true;
    for (const t of this.#timers) clearInterval(t);
    await this.#claiming;
    for (const job of this.#buffer.splice(0)) {
      this.#queueSettle({ kind: "release", id: job.id, token: job.token }, job, () => {});
    }
    if (this.#running.size > 0) {
      const drained = new Promise<void>((resolve) => {
        this.#idle = resolve;
      });
      const wait = (ms: number) =>
        Promise.race([drained, new Promise<void>((r) => setTimeout(r, ms).unref())]);
      await wait(this.#shutdown);
      if (this.#running.size > 0) {
        for (const run of this.#running.values()) {
          run.controller.abort(new QError("SHUTDOWN", "worker is shutting down"));
        }
        // Handlers that honour their signal settle now; give them a moment.
        await wait(Math.min(1000, Math.max(50, this.#shutdown / 10)));
        for (const run of this.#running.values()) {
          run.abandoned = true;
          this.#queueSettle(
            { kind: "release", id: run.job.id, token: run.job.token },
            run.job,
            () => {},
          );
        }
      }
    }
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    await this.#flush();
    clearInterval(this.#heartbeatTimer);
    try {
      await this.#unlisten?.();
    } catch (error) {
      this.#error("unlisten", error);
    }
    try {
      await this.#storage.unregister(this.id);
    } catch (error) {
      this.#error("unregister", error);
    }
  }
}
