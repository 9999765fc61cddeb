// @q/core as a user installs it, with @opentelemetry/api and the SDK beside
// it: the optional peer is found, an enqueue inside a span makes a producer
// span, and the run's consumer span links to it.
import { context, SpanKind, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { createQueue, defineTask, silentLogger } from "@q/core";
import { MemoryStorage, waitFor } from "@q/core/testing";

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
trace.setGlobalTracerProvider(provider);

const tasks = { receipt: defineTask({ handler: async (_: { orderId: number }) => "sent" }) };
const queue = createQueue({ storage: new MemoryStorage(), tasks, logger: silentLogger });
const request = trace.getTracer("app").startSpan("POST /orders");
await context.with(trace.setSpan(context.active(), request), () =>
  queue.enqueue("receipt", { orderId: 7 }),
);
request.end();
const worker = await queue.work({ pollInterval: 10 });
const spans = async () => {
  await provider.forceFlush();
  return exporter.getFinishedSpans();
};
const run = await waitFor(async () => (await spans()).find((s) => s.kind === SpanKind.CONSUMER), {
  what: "the run's span",
});
await worker.stop();
await queue.close();
const enqueue = (await spans()).find((s) => s.kind === SpanKind.PRODUCER);
if (enqueue?.spanContext().traceId !== request.spanContext().traceId) {
  throw new Error("no enqueue span in the request's trace");
}
if (run.links[0]?.context.spanId !== enqueue.spanContext().spanId) {
  throw new Error("the run's span does not link to the enqueue");
}
if (run.attributes["q.job.outcome"] !== "finished") throw new Error("the run did not finish");
