import type { Attributes, Tracer } from "@opentelemetry/api";
import type { Inserted, NewJob } from "../storage.js";
import type { OtelApi } from "./api.js";
import {
  BATCH_COUNT,
  DESTINATION,
  JOB_DEDUPED,
  JOB_ID,
  MESSAGE_ID,
  OPERATION_NAME,
  OPERATION_TYPE,
  SCOPE,
  SYSTEM,
  TASK,
} from "./attributes.js";
import { injectContext, metaWithContext } from "./carrier.js";
import { recordError } from "./span-error.js";
import type { EnqueueTrace, EnqueueTracing } from "./types.js";

/** The only value of a set of one, else undefined. */
function single(values: Iterable<string>): string | undefined {
  const set = new Set(values);
  return set.size === 1 ? set.values().next().value : undefined;
}

/**
 * One PRODUCER span per enqueue call (`enqueue <queue>`), a child of the
 * caller's active span. Its context goes into each job's meta, so the runs
 * link to it; the insert runs with it active, so a traced database client's
 * spans are its children.
 */
export class EnqueueSpans implements EnqueueTracing {
  readonly #api: OtelApi;
  readonly #tracer: Tracer;

  constructor(api: OtelApi, tracer: Tracer) {
    this.#api = api;
    this.#tracer = tracer;
  }

  async enqueue(
    count: number,
    insert: (trace: EnqueueTrace) => Promise<Inserted[]>,
  ): Promise<Inserted[]> {
    const api = this.#api;
    const parent = api.context.active();
    const attributes: Attributes = {
      [SYSTEM]: SCOPE,
      [OPERATION_TYPE]: "send",
      [OPERATION_NAME]: "enqueue",
    };
    // The conventions count messages on batch operations only.
    if (count !== 1) attributes[BATCH_COUNT] = count;
    const span = this.#tracer.startSpan(
      "enqueue",
      { kind: api.SpanKind.PRODUCER, attributes },
      parent,
    );
    const active = api.trace.setSpan(parent, span);
    const carrier = injectContext(api, active);
    const trace: EnqueueTrace = {
      prepared(jobs: NewJob[]) {
        if (carrier !== undefined) {
          for (const job of jobs) job.meta = metaWithContext(job.meta, carrier);
        }
        if (!span.isRecording()) return;
        const queue = single(jobs.map((j) => j.queue));
        if (queue !== undefined) {
          span.updateName(`enqueue ${queue}`);
          span.setAttribute(DESTINATION, queue);
        }
        const task = single(jobs.map((j) => j.task));
        if (task !== undefined) span.setAttribute(TASK, task);
      },
    };
    try {
      const inserted = await api.context.with(active, () => insert(trace));
      const [only] = inserted;
      if (inserted.length === 1 && only !== undefined && span.isRecording()) {
        span.setAttributes({
          [MESSAGE_ID]: only.id,
          [JOB_ID]: only.id,
          [JOB_DEDUPED]: only.deduped,
        });
      }
      return inserted;
    } catch (error) {
      recordError(api, span, error);
      throw error;
    } finally {
      span.end();
    }
  }
}
