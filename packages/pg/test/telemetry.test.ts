// OpenTelemetry over PostgreSQL through node-postgres: the trace context of
// an enqueue is stored in the job's meta (jsonb) and the run links to it, in
// the caller's transaction too; failures, metrics and the lag gauge come from
// real runs and real stats; telemetry off leaves the rows as they were.
import {
  type Attributes,
  context,
  metrics,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { createQueue, defineTask, type QueueOptions, silentLogger, type TaskMap } from "@q/core";
import { waitFor } from "@q/core/testing";
import { freshSchemaName } from "@q/test-postgres";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, inject, test } from "vitest";
import { createPgDriver, type PgTransaction } from "../src/index.js";

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
  const points = async (name: string): Promise<Point[]> => {
    const { resourceMetrics } = await reader.collect();
    return resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .filter((m) => m.descriptor.name === name)
      .flatMap((m) => m.dataPoints as Point[]);
  };
  const finished = async () => {
    await tracerProvider.forceFlush();
    return spans.getFinishedSpans();
  };
  const ofKind = async (kind: SpanKind) => (await finished()).filter((s) => s.kind === kind);
  return { tracerProvider, meterProvider, points, finished, ofKind };
}

const ids = (s: ReadableSpan) => s.spanContext();

const url = inject("databaseUrl");
const pool = new pg.Pool({ connectionString: url, max: 6 });
const schemas: string[] = [];
const closing: { close(): Promise<void> }[] = [];

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterEach(async () => {
  for (const q of closing.splice(0)) await q.close();
});
afterAll(async () => {
  context.disable();
  for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
});

async function queueWith<T extends TaskMap>(
  tasks: T,
  telemetry: QueueOptions<T, PgTransaction>["telemetry"],
) {
  const schema = freshSchemaName("otel");
  schemas.push(schema);
  const driver = createPgDriver(pool);
  const queue = createQueue({ driver, schema, tasks, logger: silentLogger, telemetry });
  await queue.migrate();
  closing.push(queue);
  const metaOf = async (id: string) =>
    (await pool.query(`SELECT meta FROM "${schema}".jobs WHERE id = $1`, [id])).rows[0]?.meta as
      | Record<string, unknown>
      | undefined;
  return { queue, schema, metaOf };
}

describe("telemetry over PostgreSQL", () => {
  test("an enqueue in the caller's transaction and span: its context is stored in meta and the run links to it", async () => {
    const otel = sdk();
    const app = otel.tracerProvider.getTracer("app");
    const tasks = {
      receipt: defineTask({
        queue: "mail",
        handler: async (_: { orderId: string }) => {
          // A query of the handler's own, then a span: a child of the run.
          await pool.query("SELECT pg_sleep(0.01)");
          app.startSpan("render").end();
        },
      }),
    };
    const { queue, metaOf } = await queueWith(tasks, otel);
    const request = app.startSpan("POST /orders");
    const client = await pool.connect();
    let committed: string;
    let rolledBack: string;
    try {
      await context.with(trace.setSpan(context.active(), request), async () => {
        await client.query("BEGIN");
        committed = (
          await queue.enqueue(
            "receipt",
            { orderId: "o-1" },
            { tx: client, meta: { by: "checkout", otel: "mine" } },
          )
        ).id;
        await client.query("COMMIT");
        await client.query("BEGIN");
        rolledBack = (await queue.enqueue("receipt", { orderId: "o-2" }, { tx: client })).id;
        await client.query("ROLLBACK");
      });
    } finally {
      client.release();
      request.end();
    }

    const producers = await otel.ofKind(SpanKind.PRODUCER);
    expect(producers.map((s) => s.name)).toEqual(["enqueue mail", "enqueue mail"]);
    for (const span of producers) {
      expect(span.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
      expect(ids(span).traceId).toBe(request.spanContext().traceId);
    }
    const enqueue = producers.find((s) => s.attributes["q.job.id"] === committed!)!;
    // The stored meta keeps the enqueuer's keys; `otel` is q's.
    const meta = await metaOf(committed!);
    expect(meta).toEqual({
      by: "checkout",
      otel: { traceparent: `00-${ids(enqueue).traceId}-${ids(enqueue).spanId}-01` },
    });
    expect(await metaOf(rolledBack!)).toBeUndefined();

    const worker = await queue.work({ pollInterval: 50 });
    const [run] = await waitFor(async () => {
      const runs = await otel.ofKind(SpanKind.CONSUMER);
      return runs.length > 0 ? runs : undefined;
    });
    await worker.stop();
    expect((await otel.ofKind(SpanKind.CONSUMER)).length).toBe(1);
    expect(run!.name).toBe("process mail");
    expect(run!.parentSpanContext).toBeUndefined();
    expect(run!.links.map((l) => [l.context.traceId, l.context.spanId])).toEqual([
      [ids(enqueue).traceId, ids(enqueue).spanId],
    ]);
    expect(run!.attributes).toMatchObject({
      "messaging.system": "q",
      "messaging.destination.name": "mail",
      "q.task": "receipt",
      "q.job.id": committed!,
      "q.job.attempt": 1,
      "q.job.outcome": "finished",
    });
    const render = (await otel.finished()).find((s) => s.name === "render")!;
    expect(render.parentSpanContext?.spanId).toBe(ids(run!).spanId);
    expect(ids(render).traceId).toBe(ids(run!).traceId);
  });

  test("enqueueMany is one span for the batch; every job of it links to that span", async () => {
    const otel = sdk();
    const tasks = { t: defineTask({ handler: async (_: number) => {} }) };
    const { queue, metaOf } = await queueWith(tasks, otel);
    const results = await queue.enqueueMany([1, 2, 3].map((n) => ({ task: "t", payload: n })));
    const [batch, ...others] = await otel.ofKind(SpanKind.PRODUCER);
    expect(others).toEqual([]);
    expect(batch!.attributes).toMatchObject({
      "messaging.batch.message_count": 3,
      "messaging.destination.name": "default",
      "q.task": "t",
    });
    // A batch has no single id.
    expect(batch!.attributes["q.job.id"]).toBeUndefined();
    for (const { id } of results) {
      expect(((await metaOf(id))!.otel as { traceparent: string }).traceparent).toContain(
        ids(batch!).spanId,
      );
    }
    const worker = await queue.work({ pollInterval: 50 });
    await waitFor(async () => (await otel.ofKind(SpanKind.CONSUMER)).length === 3);
    await worker.stop();
    for (const run of await otel.ofKind(SpanKind.CONSUMER)) {
      expect(run.links.map((l) => l.context.spanId)).toEqual([ids(batch!).spanId]);
    }
  });

  test("a failing job: ERROR spans with the exception, outcome retry then failed; metrics count the runs", async () => {
    const otel = sdk();
    const tasks = {
      flaky: defineTask({
        maxAttempts: 2,
        backoff: () => 0,
        handler: async (): Promise<void> => {
          throw new RangeError("out of paper");
        },
      }),
      fine: defineTask({ handler: async () => "ok" }),
    };
    const { queue } = await queueWith(tasks, otel);
    const failing = await queue.enqueue("flaky", {});
    await queue.enqueueMany([
      { task: "fine", payload: {} },
      { task: "fine", payload: {} },
    ]);
    const worker = await queue.work({ pollInterval: 50 });
    await waitFor(async () => (await otel.ofKind(SpanKind.CONSUMER)).length === 4, {
      what: "four runs",
    });
    await worker.stop();
    expect((await queue.getJob(failing.id))?.state).toBe("failed");
    const flaky = (await otel.ofKind(SpanKind.CONSUMER))
      .filter((s) => s.attributes["q.task"] === "flaky")
      .sort(
        (a, b) => Number(a.attributes["q.job.attempt"]) - Number(b.attributes["q.job.attempt"]),
      );
    expect(flaky.map((s) => s.attributes["q.job.outcome"])).toEqual(["retry", "failed"]);
    for (const span of flaky) {
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: "out of paper" });
      expect(span.attributes["error.type"]).toBe("RangeError");
      expect(span.events.find((e) => e.name === "exception")?.attributes).toMatchObject({
        "exception.type": "RangeError",
        "exception.message": "out of paper",
      });
    }
    const value = async (name: string, task: string) =>
      (await otel.points(name)).find((p) => p.attributes["q.task"] === task)?.value;
    expect(await value("q.jobs.finished", "fine")).toBe(2);
    expect(await value("q.jobs.failed", "flaky")).toBe(1);
    expect(await value("q.jobs.retried", "flaky")).toBe(1);
    const durations = await otel.points("messaging.process.duration");
    const runs = durations.reduce((n, p) => n + (p.value as { count: number }).count, 0);
    expect(runs).toBe(4);
    const fine = durations.find((p) => p.attributes["q.task"] === "fine")!;
    expect(fine.attributes).toMatchObject({
      "messaging.destination.name": "default",
      "messaging.operation.name": "process",
      "q.job.outcome": "finished",
    });
  });

  test("the lag gauge reports the database's lag of a queue nobody works, while a worker runs", async () => {
    const otel = sdk();
    const tasks = { t: defineTask({ queue: "fast", handler: async () => {} }) };
    const { queue } = await queueWith(tasks, otel);
    await queue.enqueue("t", {}, { queue: "slow" });
    expect(await otel.points("q.queue.lag")).toEqual([]);
    await new Promise((r) => setTimeout(r, 200));
    const worker = await queue.work({ pollInterval: 50 });
    const lag = await otel.points("q.queue.lag");
    const slow = lag.find((p) => p.attributes["messaging.destination.name"] === "slow");
    expect(slow?.value as number).toBeGreaterThanOrEqual(0.2);
    expect(slow?.value as number).toBeLessThan(60);
    const ready = await otel.points("q.queue.ready");
    expect(ready.find((p) => p.attributes["messaging.destination.name"] === "slow")?.value).toBe(1);
    await worker.stop();
  });

  test("telemetry: false, or no provider registered: rows as they were, nothing recorded, jobs run", async () => {
    const otel = sdk();
    trace.setGlobalTracerProvider(otel.tracerProvider);
    metrics.setGlobalMeterProvider(otel.meterProvider);
    const tasks = { t: defineTask({ handler: async () => "ok" }) };
    try {
      const off = await queueWith(tasks, false);
      const request = otel.tracerProvider.getTracer("app").startSpan("request");
      const { id } = await context.with(trace.setSpan(context.active(), request), () =>
        off.queue.enqueue("t", {}, { meta: { by: "me" } }),
      );
      request.end();
      const worker = await off.queue.work({ pollInterval: 50 });
      await waitFor(async () => (await off.queue.getJob(id))?.state === "finished");
      await worker.stop();
      expect(await off.metaOf(id)).toEqual({ by: "me" });
      expect((await otel.finished()).map((s) => s.name)).toEqual(["request"]);
      expect(await otel.points("q.jobs.finished")).toEqual([]);
    } finally {
      trace.disable();
      metrics.disable();
    }
    // The global API with no provider behind it.
    const bare = await queueWith(tasks, undefined);
    const request = trace.getTracer("app").startSpan("request");
    const { id } = await context.with(trace.setSpan(context.active(), request), () =>
      bare.queue.enqueue("t", {}),
    );
    request.end();
    const worker = await bare.queue.work({ pollInterval: 50 });
    await waitFor(async () => (await bare.queue.getJob(id))?.state === "finished");
    await worker.stop();
    expect(await bare.metaOf(id)).toEqual({});
  });
});
