import type { Span } from "@opentelemetry/api";
import { QError } from "../errors.js";
import type { OtelApi } from "./api.js";
import { ERROR_TYPE } from "./attributes.js";

/** What `error.type` says of a thrown value: q's code, else the error's name. */
export function errorType(error: unknown): string {
  if (error instanceof QError) return error.code;
  if (error instanceof Error) return error.name || "Error";
  return typeof error;
}

/** Marks the span failed: an exception event, `error.type`, and status ERROR. */
export function recordError(api: OtelApi, span: Span, error: unknown): void {
  const exception = error instanceof Error ? error : String(error);
  span.recordException(exception);
  span.setAttribute(ERROR_TYPE, errorType(error));
  span.setStatus({
    code: api.SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}
