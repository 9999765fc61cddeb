import { hostname } from "node:os";
import { isQError, QError } from "../errors.js";
import type { Emitter } from "../events.js";
import type { ClaimedJob } from "../job.js";
import type { Logger } from "../logger.js";
import type { Beat, Notice, Settled, Storage } from "../storage.js";
import type { AnyTask, TaskMap } from "../task.js";
import type { RunTrace, RunTracing } from "../telemetry/types.js";
import { Completer } from "./completer.js";
import { withDeadline } from "./deadline.js";
import { Heartbeat } from "./heartbeat.js";
import { type WorkOptions, type WorkSettings, workSettings } from "./options.js";
import { AutoPrefetch } from "./prefetch.js";
import { PROGRESS_INTERVAL_MS, Reporter } from "./reporter.js";
import { RunAbort } from "./run-abort.js";
import { RunContext } from "./run-context.js";
import { type Outcome, runHandler } from "./run-handler.js";
import { type Announcement, settlementOf } from "./settlement.js";

interface Running {
  job: ClaimedJob;
  abort: RunAbort;
  ctx: RunContext;
  /** Set when the outcome must not be reported (already settled by a forced stop). */
  abandoned: boolean;
  trace: RunTrace | undefined;
  /** `performance.now()` when the handler was started. */
  started: number;
}

/** What the worker keeps with each settlement it hands the completer. */
interface SettleContext {
  token: string;
  /** Absent for the release of a claim the worker never knew (a lost claim reply). */
  job?: ClaimedJob;
  announce?: Announcement;
  durationMs?: number;
  trace?: RunTrace;
}

/** Most settlements in one statement; past twice this backlog the worker stops claiming. */
const MAX_SETTLE_BATCH = 1000;
/** Bounded retries of a settlement (about 25 s of backoff in all). */
const SETTLE_RETRIES = 8;

/**
 * A worker: claims jobs and runs their handlers. Settling is the
 * {@link Completer}'s, liveness the {@link Heartbeat}'s; what is left here is
 * the claim-and-run loop and the reconciliation of what the worker believes it
 * holds with what the table says. Made by `queue.work()`; `stop()` shuts it
 * down gracefully.
 */
export class Worker {
  readonly id: string;
  readonly queues: readonly string[];
  readonly #storage: Storage;
  readonly #tasks: TaskMap;
  readonly #taskNames: readonly string[];
  readonly #events: Emitter;
  readonly #logger: Logger;
  readonly #settings: WorkSettings;
  readonly #completer: Completer<SettleContext>;
  readonly #heartbeat: Heartbeat;
  readonly #onStopped: (() => void | Promise<void>) | undefined;
  readonly #tracing: RunTracing | undefined;
  /** Sizes the prefetch when it is not fixed. */
  readonly #auto = new AutoPrefetch();
  /** Makes a run's reporter on its first progress or checkpoint. */
  readonly #makeReporter = (job: ClaimedJob): Reporter =>
    new Reporter(
      this.#storage,
      job,
      { interval: PROGRESS_INTERVAL_MS, timeout: this.#settings.statementTimeout },
      this.#logger,
    );

  readonly #running = new Map<string, Running>();
  readonly #buffer: ClaimedJob[] = [];
  /** Tokens of every claim this worker knows it holds, until its settlement is written. */
  readonly #held = new Set<string>();
  #claiming: Promise<void> | undefined;
  #again = false;
  #fillScheduled = false;
  #stopping = false;
  #stopped: Promise<void> | undefined;
  #timers: NodeJS.Timeout[] = [];
  #unlisten: (() => Promise<void>) | undefined;
  #idle: (() => void) | undefined;
  #poolerReported = false;

  constructor(
    storage: Storage,
    tasks: TaskMap,
    events: Emitter,
    logger: Logger,
    options: WorkOptions = {},
    onStopped?: () => void | Promise<void>,
    tracing?: RunTracing,
  ) {
    this.#storage = storage;
    this.#tasks = tasks;
    this.#taskNames = Object.keys(tasks);
    this.#events = events;
    this.#logger = logger;
    this.#settings = workSettings(options, tasks);
    this.#onStopped = onStopped;
    this.#tracing = tracing;
    this.id = this.#settings.id;
    this.queues = this.#settings.queues;
    const s = this.#settings;
    this.#completer = new Completer(
      storage,
      {
        delay: s.settleDelay,
        maxBatch: MAX_SETTLE_BATCH,
        retries: SETTLE_RETRIES,
        timeout: s.statementTimeout,
      },
      {
        settled: (result, context) => this.#settled(result, context),
        dropped: (settlement, context, error) => {
          this.#held.delete(context.token);
          context.trace?.dropped(error);
          this.#error(
            "settle",
            new QError(
              "SETTLE_FAILED",
              `gave up writing the ${settlement.kind} of job ${settlement.id}; its claim is handed back and it may run again`,
              { cause: error, details: { id: settlement.id, kind: settlement.kind } },
            ),
          );
          this.#fillSoon();
        },
        error: (error) => this.#error("settle", error),
      },
    );
    this.#heartbeat = new Heartbeat(
      storage,
      { id: this.id, queues: [...this.queues], host: hostname(), pid: process.pid },
      { interval: s.heartbeatInterval, lease: s.leaseTimeout, timeout: s.statementTimeout },
      { beat: (beat) => this.#onBeat(beat), error: (error) => this.#error("heartbeat", error) },
      logger,
    );
  }

  /** Jobs whose handler is running now. */
  get running(): number {
    return this.#running.size;
  }

  /** Registers the worker, subscribes to notifications and starts claiming. */
  async start(): Promise<void> {
    try {
      await this.#heartbeat.first();
    } catch (error) {
      this.#error("heartbeat", error);
      throw error;
    }
    if (this.#storage.listen !== undefined) {
      try {
        this.#unlisten = await this.#storage.listen(
          (notice) => this.#onNotice(notice),
          () => this.#fill(),
          (error) =>
            isQError(error, "LISTEN_DEAF") ? this.#deaf(error) : this.#error("listen", error),
        );
      } catch (error) {
        // Leave no row behind for a worker that never ran.
        await this.#storage.unregister(this.id).catch(() => {});
        throw error;
      }
    }
    this.#heartbeat.start();
    this.#timers.push(
      setInterval(() => this.#fill(), this.#settings.pollInterval),
      setInterval(() => void this.#rescueDead(), this.#settings.rescueInterval),
    );
    void this.#rescueDead();
    this.#fill();
  }

  /** LISTEN hears nothing: say so once, with what the worker does instead. */
  #deaf(error: QError): void {
    this.#logger.warn(
      { err: error, worker: this.id, pollInterval: this.#settings.pollInterval },
      `${error.message}. This worker finds new jobs by polling, every ${this.#settings.pollInterval} ms`,
    );
    this.#events.emit("error", { error, worker: this.id, during: "listen" });
  }

  #error(during: string, error: unknown): void {
    // The same pooler symptom on every statement: said once per worker.
    if (isQError(error, "POOLER_DETECTED")) {
      if (this.#poolerReported) return;
      this.#poolerReported = true;
    }
    this.#logger.error({ err: error, worker: this.id, during }, `worker error during ${during}`);
    this.#events.emit("error", { error, worker: this.id, during });
  }

  #call<T>(promise: Promise<T>, what: string): Promise<T> {
    return withDeadline(promise, this.#settings.statementTimeout, what);
  }

  /**
   * What a heartbeat learned. Cancel requests come from the table and are
   * acted on. Then the worker's own view is reconciled with the table's: a
   * claim the table records and the worker does not know of (its reply was
   * lost, or it came after the worker gave up waiting) is handed back at once,
   * uncharged, since its handler never ran here.
   */
  async #onBeat(beat: Beat): Promise<void> {
    for (const id of beat.cancelled) this.#abortCancelled(id);
    // A claim under way may hold some of these: let it land first.
    await this.#claiming;
    const orphans = beat.held.filter((h) => !this.#held.has(h.token));
    if (orphans.length === 0 || this.#stopping) return;
    this.#logger.warn(
      { worker: this.id, jobs: orphans.map((o) => o.id) },
      `releasing ${orphans.length} claim(s) the table records for this worker but it never received (a lost reply)`,
    );
    for (const { id, token } of orphans) {
      this.#held.add(token);
      this.#completer.add({ kind: "release", id, token }, 0, { token });
    }
  }

  async #rescueDead(): Promise<void> {
    if (this.#stopping) return;
    try {
      const jobs = await this.#call(this.#storage.rescue(this.#settings.leaseTimeout), "rescue");
      if (jobs.length > 0) {
        this.#logger.warn({ jobs, by: this.id }, `rescued ${jobs.length} job(s) of dead workers`);
        this.#events.emit("rescued", { jobs, by: this.id });
        this.#tracing?.rescued(jobs);
        this.#fill();
      }
    } catch (error) {
      this.#error("rescue", error);
    }
  }

  /** Notices are hints: a wake-up claims (cheap when nothing is due); a cancel is checked first. */
  #onNotice(notice: Notice): void {
    if (notice.type === "jobs") {
      if (this.queues.includes(notice.queue)) this.#fill();
    } else if (notice.type === "cancel" && typeof notice.id === "string") {
      const id = notice.id;
      if (!this.#running.has(id) && !this.#buffer.some((j) => j.id === id)) return;
      this.#call(this.#storage.cancelRequested(this.id, [id]), "cancel check").then(
        (confirmed) => {
          for (const c of confirmed) this.#abortCancelled(c);
        },
        (error: unknown) => this.#error("cancel check", error),
      );
    }
  }

  #abortCancelled(id: string): void {
    const cancelled = new QError("CANCELLED", `job ${id} was cancelled`);
    const run = this.#running.get(id);
    if (run !== undefined) {
      run.abort.abort(cancelled);
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
    // Backpressure: while outcomes wait to be written, take no more work.
    if (this.#completer.size >= 2 * MAX_SETTLE_BATCH) return;
    const ahead = this.#settings.prefetch ?? this.#auto.ahead();
    // With jobs in hand, wait until half are gone so claims come in batches, not one by one.
    if (ahead > 0 && this.#buffer.length > ahead / 2) return;
    const free = this.#settings.concurrency + ahead - this.#running.size - this.#buffer.length;
    if (free <= 0) return;
    this.#again = false;
    this.#claiming = this.#call(
      this.#storage.claim(this.id, this.queues, free, this.#taskNames),
      "claim",
    )
      .then(
        (jobs) => {
          for (const job of jobs) {
            this.#held.add(job.token);
            this.#buffer.push(job);
          }
          this.#startBuffered();
          if (jobs.length === free) this.#again = true;
        },
        (error: unknown) => {
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

  #taskOf(job: ClaimedJob): AnyTask | undefined {
    return Object.hasOwn(this.#tasks, job.task) ? this.#tasks[job.task] : undefined;
  }

  #run(job: ClaimedJob): void {
    const abort = new RunAbort();
    const trace = this.#tracing?.start(job, this.id);
    const ctx = new RunContext(job, abort, this.#logger, this.#makeReporter);
    const run: Running = { job, abort, ctx, abandoned: false, trace, started: performance.now() };
    this.#running.set(job.id, run);
    if (this.#events.listens("claimed")) this.#events.emit("claimed", { job, worker: this.id });
    const task = this.#taskOf(job);
    const outcome =
      trace === undefined
        ? runHandler(job, task, abort, ctx)
        : trace.within(() => runHandler(job, task, abort, ctx));
    outcome.then((o) => {
      // The last progress lands before the settlement, while the run still holds its slot.
      const closing = ctx.closeReports();
      if (closing === undefined) this.#ran(run, task, o);
      else void closing.then(() => this.#ran(run, task, o));
    });
  }

  /** A handler is done: settle its outcome, free its slot, start or claim the next. */
  #ran(run: Running, task: AnyTask | undefined, outcome: Outcome): void {
    this.#running.delete(run.job.id);
    this.#auto.completed();
    if (!run.abandoned) {
      this.#settle(run.job, task, outcome, performance.now() - run.started, run.trace);
    }
    if (this.#running.size === 0) this.#idle?.();
    this.#startBuffered();
    this.#fillSoon();
  }

  #settle(
    job: ClaimedJob,
    task: AnyTask | undefined,
    outcome: Outcome,
    durationMs: number,
    trace?: RunTrace,
  ): void {
    const { settlement, announce } = settlementOf(job, task, outcome, this.#logger);
    trace?.handled(outcome, durationMs);
    this.#completer.add(settlement, job.attempt, {
      token: job.token,
      job,
      announce,
      durationMs,
      trace,
    });
  }

  /** A settlement was written (or found stale): tell the listeners. */
  #settled(result: Settled, context: SettleContext): void {
    this.#held.delete(context.token);
    if (this.#completer.size < MAX_SETTLE_BATCH) this.#fillSoon();
    const { job, announce } = context;
    context.trace?.settled(result, announce);
    if (job === undefined || announce === undefined) return;
    const worker = this.id;
    if (!result.applied) {
      this.#logger.warn(
        { jobId: job.id, worker },
        "claim lost before settling (rescued or cancelled elsewhere); outcome dropped",
      );
      this.#events.emit("lost", { job, worker });
      return;
    }
    if (result.state === "failed" && announce.name !== "failed") {
      // A cancel was recorded while it ran: it failed instead of running again.
      const error = { attempt: job.attempt, at: "", code: "CANCELLED", message: "cancelled" };
      this.#events.emit("failed", { job, worker, error });
      return;
    }
    switch (announce.name) {
      case "finished":
        if (!this.#events.listens("finished")) return;
        this.#events.emit("finished", {
          job,
          worker,
          result: announce.result,
          durationMs: context.durationMs ?? 0,
        });
        return;
      case "snoozed":
        this.#events.emit("snoozed", { job, worker, delayMs: announce.delayMs });
        return;
      case "retried":
        this.#events.emit("retried", {
          job,
          worker,
          error: announce.error,
          delayMs: announce.delayMs,
        });
        return;
      case "failed":
        this.#events.emit("failed", { job, worker, error: announce.error });
        return;
      case "released":
        return;
    }
  }

  /**
   * Shuts down gracefully: stop claiming, hand back prefetched jobs
   * (uncharged: they never started), wait up to `shutdownTimeout` for running
   * handlers, then abort their signals. A run aborted this way keeps its
   * attempt (it runs again, or fails when its attempts are spent), whether its
   * handler answers the signal or not.
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
      this.#completer.add({ kind: "release", id: job.id, token: job.token }, job.attempt, {
        token: job.token,
        job,
        announce: { name: "released" },
      });
    }
    if (this.#running.size > 0) {
      const drained = new Promise<void>((resolve) => {
        this.#idle = resolve;
      });
      const wait = (ms: number) =>
        Promise.race([drained, new Promise<void>((r) => setTimeout(r, ms).unref())]);
      await wait(this.#settings.shutdownTimeout);
      if (this.#running.size > 0) {
        const shutdown = new QError("SHUTDOWN", "worker is shutting down");
        for (const run of this.#running.values()) run.abort.abort(shutdown);
        // Handlers that honour their signal settle now; give them a moment.
        await wait(Math.min(1000, Math.max(50, this.#settings.shutdownTimeout / 10)));
        for (const run of this.#running.values()) {
          // It ignores its signal and may still be running when another worker
          // takes the job: the double-run window GUARANTEES.md describes.
          run.abandoned = true;
          this.#settle(
            run.job,
            this.#taskOf(run.job),
            { ok: false, error: shutdown },
            performance.now() - run.started,
            run.trace,
          );
        }
      }
    }
    await this.#completer.close(Math.max(1000, 2 * this.#settings.statementTimeout));
    await this.#heartbeat.stop();
    try {
      await this.#unlisten?.();
    } catch (error) {
      this.#error("unlisten", error);
    }
    try {
      await this.#call(this.#storage.unregister(this.id), "unregister");
    } catch (error) {
      this.#error("unregister", error);
    }
    await this.#onStopped?.();
  }
}
