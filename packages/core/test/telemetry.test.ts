// OpenTelemetry over the memory storage: spans of enqueue and run, the link
// between them, metrics, and nothing at all when telemetry is off. The same
// behaviours over PostgreSQL are in packages/pg/test/telemetry.test.ts.
import {
  type Attributes,
  context,
  metrics,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from "@opentelemetry/core";
import { MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createQueue,
  defineTask,
  type QueueOptions,
  silentLogger,
  type TaskMap,
  TRACE_META_KEY,
} from "../src/index.js";
import { MemoryStorage } from "../src/memory/storage.js";
import { waitFor } from "../src/testing/wait.js";

/** A reader that exports on demand: `collect()` is the whole of it. */
class TestReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

type Point = { attributes: Attributes; value: unknown };

function sdk() {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({
    spanProcessors: [new SimpleSpanProcessor({ exporter: spans })],
  });
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  /** The points of one metric; `value` is a number, or a histogram's `{ count, sum, … }`. */
  const points = async (name: string): Promise<Point[]> => {
    const { resourceMetrics } = await reader.collect();
    return resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .filter((m) => m.descriptor.name === name)
      .flatMap((m) => m.dataPoints as Point[]);
  };
  const unit = async (name: string) => {
    const { resourceMetrics } = await reader.collect();
    const all = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
    return all.find((m) => m.descriptor.name === name)?.descriptor.unit;
  };
  // The processor exports on a later turn: flush before looking.
  const finished = async () => {
    await tracerProvider.forceFlush();
    return spans.getFinishedSpans();
  };
  const runs = async () => (await finished()).filter((s) => s.kind === SpanKind.CONSUMER);
  /** Waits until `n` runs have ended, and returns them. */
  const awaitRuns = (n: number) =>
    waitFor(
      async () => {
        const ended = await runs();
        return ended.length === n ? ended : undefined;
      },
      { what: `${n} run span(s)` },
    );
  return { spans, tracerProvider, meterProvider, points, unit, finished, runs, awaitRuns };
}

const ids = (s: ReadableSpan) => s.spanContext();

function queueOver<T extends TaskMap>(tasks: T, options: Partial<QueueOptions<T>> = {}) {
  const storage = new MemoryStorage();
  return { storage, queue: createQueue({ storage, tasks, logger: silentLogger, ...options }) };
}

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterAll(() => {
  context.disable();
});

describe("telemetry over the memory storage", () => {
  it("links a run to the enqueue made inside the caller's span; the handler's spans are the run's children", async () => {
    const otel = sdk();
    const app = otel.tracerProvider.getTracer("app");
    let inside: { traceId: string; spanId: string } | undefined;
    const tasks = {
      receipt: defineTask({
        queue: "mail",
        handler: async (_: { orderId: string }) => {
          await new Promise((r) => setTimeout(r, 5));
          const span = app.startSpan("render");
          inside = span.spanContext();
          span.end();
          return "sent";
        },
      }),
    };
    const { queue } = queueOver(tasks, { telemetry: otel });
    const request = app.startSpan("POST /orders");
    const { id } = await context.with(trace.setSpan(context.active(), request), () =>
      queue.enqueue("receipt", { orderId: "o-1" }, { meta: { by: "test" } }),
    );
    request.end();

    const enqueue = (await otel.finished()).find((s) => s.kind === SpanKind.PRODUCER)!;
    expect(enqueue.name).toBe("enqueue mail");
    expect(enqueue.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(enqueue.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(enqueue.attributes).toMatchObject({
      "messaging.system": "q",
      "messaging.operation.type": "send",
      "messaging.destination.name": "mail",
      "q.task": "receipt",
      "q.job.id": id,
      "messaging.message.id": id,
    });
    expect(enqueue.attributes["messaging.batch.message_count"]).toBeUndefined();

    // The trace context travels in the job's meta, beside the enqueuer's own.
    const job = await queue.getJob(id);
    const carrier = job!.meta[TRACE_META_KEY] as Record<string, string>;
    expect(job!.meta.by).toBe("test");
    expect(carrier.traceparent).toBe(
      `00-${ids(enqueue).traceId}-${ids(enqueue).spanId}-0${ids(enqueue).traceFlags}`,
    );

    const worker = await queue.work({ pollInterval: 10 });
    const [run] = await otel.awaitRuns(1);
    await worker.stop();
    await queue.close();
    expect(run!.name).toBe("process mail");
    // A trace of its own, linked to the enqueue.
    expect(ids(run!).traceId).not.toBe(ids(enqueue).traceId);
    expect(run!.parentSpanContext).toBeUndefined();
    expect(run!.links.map((l) => l.context.spanId)).toEqual([ids(enqueue).spanId]);
    expect(run!.links[0]!.context.traceId).toBe(ids(enqueue).traceId);
    expect(run!.attributes).toMatchObject({
      "messaging.system": "q",
      "messaging.operation.type": "process",
      "messaging.destination.name": "mail",
      "messaging.client.id": worker.id,
      "q.task": "receipt",
      "q.job.id": id,
      "q.job.attempt": 1,
      "q.job.outcome": "finished",
    });
    expect(run!.status.code).toBe(SpanStatusCode.UNSET);
    const render = (await otel.finished()).find((s) => s.name === "render")!;
    expect(inside?.traceId).toBe(ids(run!).traceId);
    expect(render.parentSpanContext?.spanId).toBe(ids(run!).spanId);
  });

  it("a failing job: ERROR spans with the exception, outcome retry then failed; counters and the histogram count them", async () => {
    const otel = sdk();
    const tasks = {
      flaky: defineTask({
        maxAttempts: 2,
        backoff: () => 0,
        handler: async (): Promise<void> => {
          throw new TypeError("the printer is on fire");
        },
      }),
      fine: defineTask({ handler: async () => "ok" }),
    };
    const { queue } = queueOver(tasks, { telemetry: otel });
    await queue.enqueue("flaky", {});
    await queue.enqueueMany([
      { task: "fine", payload: {} },
      { task: "fine", payload: {} },
      { task: "fine", payload: {} },
    ]);
    const worker = await queue.work({ pollInterval: 10 });
    await otel.awaitRuns(5);
    await worker.stop();
    await queue.close();

    const flaky = (await otel.runs()).filter((s) => s.attributes["q.task"] === "flaky");
    flaky.sort(
      (a, b) => Number(a.attributes["q.job.attempt"]) - Number(b.attributes["q.job.attempt"]),
    );
    expect(flaky.map((s) => s.attributes["q.job.outcome"])).toEqual(["retry", "failed"]);
    for (const span of flaky) {
      expect(span.status).toEqual({
        code: SpanStatusCode.ERROR,
        message: "the printer is on fire",
      });
      expect(span.attributes["error.type"]).toBe("TypeError");
      const exception = span.events.find((e) => e.name === "exception")!;
      expect(exception.attributes).toMatchObject({
        "exception.type": "TypeError",
        "exception.message": "the printer is on fire",
      });
    }

    // One span for the batch of three, with the count.
    const batch = (await otel.finished()).filter(
      (s) => s.attributes["messaging.batch.message_count"] === 3,
    );
    expect(batch.map((s) => s.name)).toEqual(["enqueue default"]);

    const sum = (points: { value: unknown }[]) =>
      points.reduce((n, p) => n + (p.value as number), 0);
    const finished = await otel.points("q.jobs.finished");
    expect(finished.map((p) => [p.attributes, p.value])).toEqual([
      [{ "messaging.system": "q", "messaging.destination.name": "default", "q.task": "fine" }, 3],
    ]);
    const failed = await otel.points("q.jobs.failed");
    expect(
      failed.map((p) => [p.attributes["q.task"], p.attributes["error.type"], p.value]),
    ).toEqual([["flaky", "TypeError", 1]]);
    expect(sum(await otel.points("q.jobs.retried"))).toBe(1);
    const durations = await otel.points("messaging.process.duration");
    const count = (outcome: string) =>
      durations
        .filter((p) => p.attributes["q.job.outcome"] === outcome)
        .reduce((n, p) => n + (p.value as { count: number }).count, 0);
    expect([count("finished"), count("retry"), count("failed")]).toEqual([3, 1, 1]);
    expect(await otel.unit("messaging.process.duration")).toBe("s");
  });

  it("snoozed and cancelled runs say so", async () => {
    const otel = sdk();
    let snoozed = false;
    const tasks = {
      later: defineTask({
        handler: async (_: object, ctx) => {
          if (!snoozed) {
            snoozed = true;
            ctx.snooze(0);
          }
        },
      }),
      long: defineTask({
        handler: (_: object, ctx) =>
          new Promise((_, reject) =>
            ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)),
          ),
      }),
    };
    const { queue } = queueOver(tasks, { telemetry: otel });
    await queue.enqueue("later", {});
    const { id } = await queue.enqueue("long", {});
    const worker = await queue.work({ pollInterval: 10 });
    await waitFor(async () => (await queue.getJob(id))?.state === "claimed");
    await queue.cancel(id);
    await otel.awaitRuns(3);
    await worker.stop();
    await queue.close();
    const outcomes = (await otel.runs()).map((s) => [
      s.attributes["q.task"],
      s.attributes["q.job.outcome"],
    ]);
    expect(outcomes).toEqual(
      expect.arrayContaining([
        ["later", "snoozed"],
        ["later", "finished"],
        ["long", "cancelled"],
      ]),
    );
    const snooze = (await otel.runs()).find((s) => s.attributes["q.job.outcome"] === "snoozed")!;
    expect(snooze.status.code).toBe(SpanStatusCode.UNSET);
    const cancelled = (await otel.runs()).find(
      (s) => s.attributes["q.job.outcome"] === "cancelled",
    )!;
    expect(cancelled.attributes["error.type"]).toBe("CANCELLED");
    const failed = await otel.points("q.jobs.failed");
    expect(failed.map((p) => [p.attributes["error.type"], p.value])).toEqual([["CANCELLED", 1]]);
  });

  it("continueTrace makes the run a child of the enqueue; baggage travels with the job", async () => {
    const otel = sdk();
    propagation.setGlobalPropagator(
      new CompositePropagator({
        propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
      }),
    );
    try {
      let tenant: string | undefined;
      const tasks = {
        t: defineTask({
          handler: async () => {
            tenant = propagation.getActiveBaggage()?.getEntry("tenant")?.value;
          },
        }),
      };
      const { queue } = queueOver(tasks, { telemetry: { ...otel, continueTrace: true } });
      const baggage = propagation.createBaggage({ tenant: { value: "acme" } });
      const request = otel.tracerProvider.getTracer("app").startSpan("request");
      const active = propagation.setBaggage(trace.setSpan(context.active(), request), baggage);
      const { id } = await context.with(active, () => queue.enqueue("t", {}));
      request.end();
      expect((await queue.getJob(id))!.meta[TRACE_META_KEY]).toMatchObject({
        baggage: "tenant=acme",
      });
      const worker = await queue.work({ pollInterval: 10 });
      const [run] = await otel.awaitRuns(1);
      await worker.stop();
      await queue.close();
      const enqueue = (await otel.finished()).find((s) => s.kind === SpanKind.PRODUCER)!;
      expect(ids(run!).traceId).toBe(request.spanContext().traceId);
      expect(run!.parentSpanContext?.spanId).toBe(ids(enqueue).spanId);
      expect(run!.links.map((l) => l.context.spanId)).toEqual([ids(enqueue).spanId]);
      expect(tenant).toBe("acme");
    } finally {
      propagation.disable();
    }
  });

  it("the lag gauge reports each queue's oldest due job while a worker runs, reading stats at most once per statsInterval", async () => {
    const otel = sdk();
    const tasks = { t: defineTask({ queue: "fast", handler: async () => {} }) };
    const { queue, storage } = queueOver(tasks, {
      telemetry: { ...otel, statsInterval: 1000 },
    });
    let reads = 0;
    const queueStats = storage.queueStats.bind(storage);
    storage.queueStats = () => {
      reads++;
      return queueStats();
    };
    const lagOf = async (name: string) =>
      (await otel.points("q.queue.lag")).find(
        (p) => p.attributes["messaging.destination.name"] === name,
      )?.value as number | undefined;
    // Nobody works "slow": its job waits.
    await queue.enqueue("t", {}, { queue: "slow" });
    expect(await otel.points("q.queue.lag")).toEqual([]);
    expect(reads).toBe(0);
    await new Promise((r) => setTimeout(r, 30));
    const worker = await queue.work({ pollInterval: 10 });
    const first = await lagOf("slow");
    expect(first).toBeGreaterThanOrEqual(0.03);
    expect(await lagOf("fast")).toBe(0);
    const ready = await otel.points("q.queue.ready");
    expect(ready.find((p) => p.attributes["messaging.destination.name"] === "slow")?.value).toBe(1);
    // Three collections, one read: the answer is kept for the interval.
    expect(reads).toBe(1);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await lagOf("slow")).toBeGreaterThan(first! + 1);
    expect(reads).toBe(2);
    await worker.stop();
    await new Promise((r) => setTimeout(r, 1100));
    await otel.points("q.queue.lag");
    // No worker: the gauges no longer ask.
    expect(reads).toBe(2);
    await queue.close();
  });

  it("telemetry: false records nothing, leaves meta alone, and jobs still run", async () => {
    const otel = sdk();
    trace.setGlobalTracerProvider(otel.tracerProvider);
    metrics.setGlobalMeterProvider(otel.meterProvider);
    try {
      const tasks = { t: defineTask({ handler: async () => "ok" }) };
      const { queue } = queueOver(tasks, { telemetry: false });
      const request = otel.tracerProvider.getTracer("app").startSpan("request");
      const { id } = await context.with(trace.setSpan(context.active(), request), () =>
        queue.enqueue("t", {}),
      );
      request.end();
      const worker = await queue.work({ pollInterval: 10 });
      await waitFor(async () => (await queue.getJob(id))?.state === "finished");
      await worker.stop();
      await queue.close();
      expect((await queue.getJob(id))!.meta).toEqual({});
      expect((await otel.finished()).map((s) => s.name)).toEqual(["request"]);
      expect(await otel.points("q.jobs.finished")).toEqual([]);
    } finally {
      trace.disable();
      metrics.disable();
    }
  });

  it("without a registered provider nothing is recorded and jobs still run; once one is registered, the global one is used", async () => {
    const active: unknown[] = [];
    const tasks = {
      t: defineTask({
        handler: async () => {
          active.push(trace.getActiveSpan());
          return "ok";
        },
      }),
    };
    const { queue } = queueOver(tasks);
    const { id } = await queue.enqueue("t", {});
    let worker = await queue.work({ pollInterval: 10 });
    await waitFor(async () => (await queue.getJob(id))?.state === "finished");
    await worker.stop();
    expect((await queue.getJob(id))!.meta).toEqual({});
    // Not even a span that records nothing: with no provider a run costs no span at all.
    expect(active).toEqual([undefined]);

    // Registered after the queue was made: spans follow at once, metrics from the next worker on.
    const otel = sdk();
    trace.setGlobalTracerProvider(otel.tracerProvider);
    metrics.setGlobalMeterProvider(otel.meterProvider);
    try {
      const second = await queue.enqueue("t", {});
      worker = await queue.work({ pollInterval: 10 });
      await otel.awaitRuns(1);
      await worker.stop();
      await queue.close();
      expect((await otel.runs())[0]!.attributes["q.job.id"]).toBe(second.id);
      expect((await otel.runs())[0]!.links).toHaveLength(1);
      const finished = await otel.points("q.jobs.finished");
      expect(finished.map((p) => p.value)).toEqual([1]);
    } finally {
      trace.disable();
      metrics.disable();
    }
  });

  it("an enqueue that fails gives an ERROR span; a bad telemetry option is INVALID_OPTION", async () => {
    const otel = sdk();
    const tasks = { t: defineTask({ handler: async () => {} }) };
    const { queue } = queueOver(tasks, { telemetry: otel });
    await expect(queue.enqueue("t", {}, { priority: 1.5 })).rejects.toMatchObject({
      code: "INVALID_OPTION",
    });
    const [span] = await otel.finished();
    expect(span!.kind).toBe(SpanKind.PRODUCER);
    expect(span!.status.code).toBe(SpanStatusCode.ERROR);
    expect(span!.attributes["error.type"]).toBe("INVALID_OPTION");
    await queue.close();

    for (const telemetry of [
      true,
      { tracerProvider: {} },
      { meterProvider: 1 },
      { continueTrace: "yes" },
    ]) {
      expect(() =>
        createQueue({ storage: new MemoryStorage(), tasks, telemetry: telemetry as never }),
      ).toThrow(expect.objectContaining({ code: "INVALID_OPTION" }));
    }
  });
});
