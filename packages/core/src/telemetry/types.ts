// The shapes the queue and the worker see of telemetry. Nothing here names
// `@opentelemetry/api`: these types reach q's public declarations, which must
// compile in an app that does not install it.
import type { ClaimedJob } from "../job.js";
import type { Inserted, NewJob, Rescued, Settled } from "../storage.js";
import type { Outcome } from "../worker/run-handler.js";
import type { Announcement } from "../worker/settlement.js";

/**
 * Anything that hands out tracers, such as the SDK's `TracerProvider`
 * (typed by shape, so q's types do not need `@opentelemetry/api`).
 */
export interface TracerProviderLike {
  getTracer(name: string, version?: string): unknown;
}

/** Anything that hands out meters, such as the SDK's `MeterProvider`. */
export interface MeterProviderLike {
  getMeter(name: string, version?: string): unknown;
}

/**
 * OpenTelemetry options of `createQueue`. Telemetry needs `@opentelemetry/api`
 * installed next to q; without it q records nothing and costs nothing.
 */
export interface TelemetryOptions {
  /** Tracers come from here instead of the global provider (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProviderLike;
  /** Meters come from here instead of the global provider (`metrics.getMeterProvider()`). */
  meterProvider?: MeterProviderLike;
  /**
   * Each run's span is a child of the span that enqueued the job, so one trace
   * holds the request, the enqueue and every run of the job. Default `false`:
   * each run starts a trace of its own with a link to the enqueue, which keeps
   * a request's trace short when its jobs run later or many times.
   */
  continueTrace?: boolean;
  /**
   * The lag gauges read `queue.stats()` at most this often (ms), however
   * often a metric reader collects; in between they report the last answer.
   * Default 5000, at least 1000.
   */
  statsInterval?: number;
}

/** How one enqueue call is traced, handed to the code that inserts its jobs. */
export interface EnqueueTrace {
  /**
   * The jobs are validated and about to be inserted: puts the trace context in
   * each job's `meta` (the job's runs link to this enqueue) and names the span
   * after their queue.
   */
  prepared(jobs: NewJob[]): void;
}

/** What a queue's telemetry does on the enqueue path. */
export interface EnqueueTracing {
  /** Runs `insert` inside a producer span for one enqueue call of `count` jobs. */
  enqueue(count: number, insert: (trace: EnqueueTrace) => Promise<Inserted[]>): Promise<Inserted[]>;
}

/** The telemetry of one run of a job, from its claim to its settlement. */
export interface RunTrace {
  /** Calls `fn` with the run's span active, so spans the handler makes are its children. */
  within<R>(fn: () => R): R;
  /** The handler ended (or was abandoned at shutdown) after `durationMs`. */
  handled(outcome: Outcome, durationMs: number): void;
  /** The settlement was written, or found stale: records the outcome and ends the span. */
  settled(result: Settled, announce: Announcement | undefined): void;
  /** The settlement could not be written: the job stays claimed until it is handed back. */
  dropped(error: unknown): void;
}

/** What a worker's telemetry does on the run path. */
export interface RunTracing {
  /** Starts the span of one run; undefined when nothing would record it. */
  start(job: ClaimedJob, worker: string): RunTrace | undefined;
  /** A rescue moved jobs of a dead worker: counts those it failed or put back. */
  rescued(jobs: readonly Rescued[]): void;
}
