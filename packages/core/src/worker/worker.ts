import { hostname } from "node:os";
import { QError } from "../errors.js";
import type { Emitter } from "../events.js";
import type { ClaimedJob } from "../job.js";
import type { Logger } from "../logger.js";
import type { Notice, Settlement, Storage } from "../storage.js";
import type { AnyTask, TaskMap } from "../task.js";
import { type WorkOptions, type WorkSettings, workSettings } from "./options.js";
import { AutoPrefetch } from "./prefetch.js";
import { type Outcome, runHandler } from "./run-handler.js";
import { settlementOf } from "./settlement.js";

interface Running {
  job: ClaimedJob;
  controller: AbortController;
  /** Set when the outcome must not be reported (already released by a forced stop). */
  abandoned: boolean;
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
  readonly #settings: WorkSettings;
  /** Sizes the prefetch when it is not fixed. */
  readonly #auto = new AutoPrefetch();

  readonly #running = new Map<string, Running>();
  readonly #buffer: ClaimedJob[] = [];
  #pending: { settlement: Settlement; job: ClaimedJob; emit: () => void }[] = [];
  #flushTimer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #claiming: Promise<void> | undefined;
  #again = false;
  #fillScheduled = false;
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
    this.#settings = workSettings(options, tasks);
    this.id = this.#settings.id;
    this.queues = this.#settings.queues;
  }

  /** Jobs whose handler is running now. */
  get running(): number {
    return this.#running.size;
  }

  /** Registers the worker, subscribes to notifications and starts claiming. */
  async start(): Promise<void> {
    await this.#beat();
    if (this.#storage.listen !== undefined) {
      try {
        this.#unlisten = await this.#storage.listen(
          (notice) => this.#onNotice(notice),
          () => this.#fill(),
          (error) => this.#error("listen", error),
        );
      } catch (error) {
        // Leave no row behind for a worker that never ran.
        await this.#storage.unregister(this.id).catch(() => {});
        throw error;
      }
    }
    this.#heartbeatTimer = setInterval(
      () => void this.#beat().catch(() => {}),
      this.#settings.heartbeatInterval,
    );
    this.#timers.push(
      setInterval(() => this.#fill(), this.#settings.pollInterval),
      setInterval(() => void this.#rescueDead(), this.#settings.rescueInterval),
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
      const jobs = await this.#storage.rescue(this.#settings.leaseTimeout);
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
    const cancelled = new QError("CANCELLED", `job ${id} was cancelled`);
    const run = this.#running.get(id);
    if (run !== undefined) {
      if (!run.controller.signal.aborted) run.controller.abort(cancelled);
      return;
    }
    // Prefetched but not started: it never runs.
    const waiting = this.#buffer.findIndex((job) => job.id === id);
    if (waiting >= 0) {
      const [job] = this.#buffer.splice(waiting, 1);
      this.#settle(job!, undefined, { ok: false, error: cancelled }, 0);
      this.#fillSoon();
    }
  }

  /**
   * Claims on the next turn of the event loop, so slots freed together (a
   * batch of quick handlers) are claimed together instead of one by one.
   */
  #fillSoon(): void {
    if (this.#fillScheduled) return;
    this.#fillScheduled = true;
    setImmediate(() => {
      this.#fillScheduled = false;
      this.#fill();
    });
  }

  /** Claims up to the free slots plus prefetch; loops while claims come back full. */
  #fill(): void {
    if (this.#stopping) return;
    if (this.#claiming !== undefined) {
      this.#again = true;
      return;
    }
    const ahead = this.#settings.prefetch ?? this.#auto.ahead();
    // With jobs in hand, wait until half are gone so claims come in batches, not one by one.
    if (ahead > 0 && this.#buffer.length > ahead / 2) return;
    const free = this.#settings.concurrency + ahead - this.#running.size - this.#buffer.length;
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
        if (this.#again) this.#fillSoon();
      });
  }

  #startBuffered(): void {
    while (
      !this.#stopping &&
      this.#running.size < this.#settings.concurrency &&
      this.#buffer.length > 0
    ) {
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
    runHandler(job, task, controller, this.#logger).then((outcome) => {
      this.#running.delete(job.id);
      this.#auto.completed();
      if (!run.abandoned) this.#settle(job, task, outcome, performance.now() - started);
      if (this.#running.size === 0) this.#idle?.();
      this.#startBuffered();
      this.#fillSoon();
    });
  }

  #settle(job: ClaimedJob, task: AnyTask | undefined, outcome: Outcome, durationMs: number): void {
    const { settlement, announce } = settlementOf(job, task, outcome, this.#logger);
    const worker = this.id;
    this.#queueSettle(settlement, job, () => {
      switch (announce.name) {
        case "finished":
          return this.#events.emit("finished", {
            job,
            worker,
            result: announce.result,
            durationMs,
          });
        case "snoozed":
          return this.#events.emit("snoozed", { job, worker, delayMs: announce.delayMs });
        case "retried":
          return this.#events.emit("retried", { job, worker, ...announce });
        case "failed":
          return this.#events.emit("failed", { job, worker, error: announce.error });
        case "released":
          return;
      }
    });
  }

  #queueSettle(settlement: Settlement, job: ClaimedJob, emit: () => void): void {
    this.#pending.push({ settlement, job, emit });
    if (this.#flushTimer === undefined) {
      this.#flushTimer = setTimeout(() => {
        this.#flushTimer = undefined;
        void this.#flush();
      }, this.#settings.settleDelay);
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
      await wait(this.#settings.shutdownTimeout);
      if (this.#running.size > 0) {
        for (const run of this.#running.values()) {
          run.controller.abort(new QError("SHUTDOWN", "worker is shutting down"));
        }
        // Handlers that honour their signal settle now; give them a moment.
        await wait(Math.min(1000, Math.max(50, this.#settings.shutdownTimeout / 10)));
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
