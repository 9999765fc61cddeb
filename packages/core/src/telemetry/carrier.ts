import type { Context, SpanContext } from "@opentelemetry/api";
import type { OtelApi } from "./api.js";
import { TRACE_META_KEY } from "./attributes.js";

type Carrier = Record<string, string>;

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;

/**
 * The trace context of `ctx` as text fields. The app's propagator writes
 * first; when it wrote no `traceparent` (no propagator registered, or one of
 * another format), q writes the W3C one itself, so a run always finds its
 * enqueue. Undefined when `ctx` holds no valid span.
 */
export function injectContext(api: OtelApi, ctx: Context): Carrier | undefined {
  const span = api.trace.getSpanContext(ctx);
  if (span === undefined || !api.isSpanContextValid(span)) return undefined;
  const carrier: Carrier = {};
  api.propagation.inject(ctx, carrier);
  if (carrier.traceparent === undefined) {
    const flags = (span.traceFlags & 0xff).toString(16).padStart(2, "0");
    carrier.traceparent = `00-${span.traceId}-${span.spanId}-${flags}`;
    const state = span.traceState?.serialize();
    if (state) carrier.tracestate = state;
  }
  return carrier;
}

/**
 * A job's meta text with the carrier under {@link TRACE_META_KEY}, written
 * last so that it wins over a key of the same name (jsonb and `JSON.parse`
 * keep the last of duplicate keys).
 */
export function metaWithContext(meta: string, carrier: Carrier): string {
  if (!meta.startsWith("{") || !meta.endsWith("}")) return meta;
  const entry = `${JSON.stringify(TRACE_META_KEY)}:${JSON.stringify(carrier)}`;
  return meta === "{}" ? `{${entry}}` : `${meta.slice(0, -1)},${entry}}`;
}

/** What a run learns from its job's meta: the enqueue's context and span. */
export interface Extracted {
  /** The context the app's propagator rebuilt (baggage included), with the enqueue's span. */
  context: Context;
  /** The enqueue's span, to link to. */
  span: SpanContext;
}

/** Reads the enqueue's trace context back from a job's meta; undefined when there is none. */
export function extractContext(api: OtelApi, meta: Record<string, unknown>): Extracted | undefined {
  const raw = meta[TRACE_META_KEY];
  if (typeof raw !== "object" || raw === null) return undefined;
  const carrier: Carrier = {};
  for (const [key, value] of Object.entries(raw))
    if (typeof value === "string") carrier[key] = value;
  let context = api.propagation.extract(api.ROOT_CONTEXT, carrier);
  let span = api.trace.getSpanContext(context);
  if (span === undefined || !api.isSpanContextValid(span)) {
    span = parseTraceparent(api, carrier.traceparent, carrier.tracestate);
    if (span === undefined) return undefined;
    context = api.trace.setSpanContext(context, span);
  }
  return { context, span };
}

function parseTraceparent(
  api: OtelApi,
  traceparent: string | undefined,
  tracestate: string | undefined,
): SpanContext | undefined {
  const match = traceparent === undefined ? null : TRACEPARENT.exec(traceparent.trim());
  if (match === null || match[1] === "ff") return undefined;
  const span: SpanContext = {
    traceId: match[2]!,
    spanId: match[3]!,
    traceFlags: Number.parseInt(match[4]!, 16),
    isRemote: true,
  };
  if (tracestate) span.traceState = api.createTraceState(tracestate);
  return api.isSpanContextValid(span) ? span : undefined;
}
