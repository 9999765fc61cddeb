import type { Attributes, Context, Span, Tracer } from "@opentelemetry/api";
import { Snooze } from "../errors.js";
import type { ClaimedJob } from "../job.js";
import type { Rescued, Settled } from "../storage.js";
import type { Outcome } from "../worker/run-handler.js";
import type { Announcement } from "../worker/settlement.js";
import { type OtelApi, tracingLive } from "./api.js";
import {
  CLIENT_ID,
  DESTINATION,
  JOB_ATTEMPT,
  JOB_ID,
  JOB_OUTCOME,
  MESSAGE_ID,
  OPERATION_NAME,
  OPERATION_TYPE,
  type RunOutcome,
  SCOPE,
  SYSTEM,
  TASK,
} from "./attributes.js";
import { extractContext } from "./carrier.js";
import type { JobMetrics } from "./metrics.js";
import { recordError } from "./span-error.js";
import type { RunTrace, RunTracing } from "./types.js";

/** How a written (or stale) settlement ended the run, and the error type of a failure. */
export function runOutcome(
  result: Settled,
  announce: Announcement | undefined,
): { outcome: RunOutcome; errorType?: string } {
  if (!result.applied) return { outcome: "lost" };
  // A cancel was recorded while the run failed or snoozed: the job failed instead.
  if (result.state === "failed" && announce?.name !== "failed") {
    return { outcome: "cancelled", errorType: "CANCELLED" };
  }
  switch (announce?.name) {
    case "finished":
      return { outcome: "finished" };
    case "snoozed":
      return { outcome: "snoozed" };
    case "retried":
      return { outcome: "retry", errorType: announce.error.code ?? "Error" };
    case "failed": {
      const code = announce.error.code ?? "Error";
      return { outcome: code === "CANCELLED" ? "cancelled" : "failed", errorType: code };
    }
    default:
      return { outcome: "released" };
  }
}

/** One run's CONSUMER span and the metrics it records when it ends. */
class RunSpan implements RunTrace {
  readonly #api: OtelApi;
  readonly #metrics: JobMetrics;
  readonly #job: ClaimedJob;
  readonly #span: Span;
  readonly #context: Context;
  #durationMs: number | undefined;
  #ended = false;

  constructor(api: OtelApi, metrics: JobMetrics, job: ClaimedJob, span: Span, context: Context) {
    this.#api = api;
    this.#metrics = metrics;
    this.#job = job;
    this.#span = span;
    this.#context = context;
  }

  within<R>(fn: () => R): R {
    return this.#api.context.with(this.#context, fn);
  }

  handled(outcome: Outcome, durationMs: number): void {
    this.#durationMs = durationMs;
    if (outcome.ok || outcome.error instanceof Snooze) return;
    recordError(this.#api, this.#span, outcome.error);
  }

  settled(result: Settled, announce: Announcement | undefined): void {
    const { outcome, errorType } = runOutcome(result, announce);
    this.#end(outcome, errorType);
  }

  dropped(error: unknown): void {
    recordError(this.#api, this.#span, error);
    this.#end("unsettled", undefined);
  }

  #end(outcome: RunOutcome, errorType: string | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#span.setAttribute(JOB_OUTCOME, outcome);
    this.#metrics.run(this.#job, outcome, errorType, this.#durationMs);
    this.#span.end();
  }
}

/**
 * A worker's run telemetry. Each run is a CONSUMER span (`process <queue>`)
 * that starts a trace of its own with a link to the enqueue's span (or, with
 * `continueTrace`, is that span's child); the app's baggage from the enqueue
 * comes along either way.
 */
export class RunSpans implements RunTracing {
  readonly #api: OtelApi;
  readonly #tracer: Tracer;
  readonly #metrics: JobMetrics;
  readonly #continueTrace: boolean;
  /** The tracer provider given in the options, if any. */
  readonly #provider: unknown;
  /** Whether the meter records: it is asked once per worker. */
  readonly #metered: boolean;

  constructor(
    api: OtelApi,
    tracer: Tracer,
    metrics: JobMetrics,
    options: { continueTrace: boolean; provider: unknown; metered: boolean },
  ) {
    this.#api = api;
    this.#tracer = tracer;
    this.#metrics = metrics;
    this.#continueTrace = options.continueTrace;
    this.#provider = options.provider;
    this.#metered = options.metered;
  }

  /** A run's span and metrics, or undefined when nothing would record them. */
  start(job: ClaimedJob, worker: string): RunTrace | undefined {
    const api = this.#api;
    if (!this.#metered && !tracingLive(api, this.#provider)) return undefined;
    const enqueued = extractContext(api, job.meta);
    let parent = api.ROOT_CONTEXT;
    if (enqueued !== undefined) {
      if (this.#continueTrace) parent = enqueued.context;
      else {
        const baggage = api.propagation.getBaggage(enqueued.context);
        if (baggage !== undefined) parent = api.propagation.setBaggage(parent, baggage);
      }
    }
    const attributes: Attributes = {
      [SYSTEM]: SCOPE,
      [OPERATION_TYPE]: "process",
      [OPERATION_NAME]: "process",
      [DESTINATION]: job.queue,
      [MESSAGE_ID]: job.id,
      [CLIENT_ID]: worker,
      [TASK]: job.task,
      [JOB_ID]: job.id,
      [JOB_ATTEMPT]: job.attempt,
    };
    const span = this.#tracer.startSpan(
      `process ${job.queue}`,
      {
        kind: api.SpanKind.CONSUMER,
        attributes,
        links: enqueued === undefined ? [] : [{ context: enqueued.span }],
      },
      parent,
    );
    return new RunSpan(api, this.#metrics, job, span, api.trace.setSpan(parent, span));
  }

  rescued(jobs: readonly Rescued[]): void {
    this.#metrics.rescued(jobs);
  }
}
