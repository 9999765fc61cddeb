import { QError } from "./errors.js";

/**
 * Serialises a value that must survive a trip through jsonb unchanged.
 * `JSON.stringify` silently drops functions and turns NaN into null; a job
 * payload must not change shape on its way to the handler, so those are errors.
 */
export function toJsonText(value: unknown, what = "payload"): string {
  if (value === undefined) {
    throw new QError("PAYLOAD_NOT_JSON", `${what} is undefined; use null or an object`);
  }
  let text: string;
  try {
    text = JSON.stringify(value, (key, v: unknown) => {
      const type = typeof v;
      if (type === "function" || type === "symbol" || type === "bigint") {
        throw new QError(
          "PAYLOAD_NOT_JSON",
          `${what} holds a ${type}${key === "" ? "" : ` at key ${JSON.stringify(key)}`}; it is not JSON`,
          { details: { key, type } },
        );
      }
      if (type === "number" && !Number.isFinite(v)) {
        throw new QError(
          "PAYLOAD_NOT_JSON",
          `${what} holds ${String(v)}${key === "" ? "" : ` at key ${JSON.stringify(key)}`}; it is not JSON`,
          { details: { key } },
        );
      }
      return v;
    });
  } catch (error) {
    if (error instanceof QError) throw error;
    throw new QError("PAYLOAD_NOT_JSON", `${what} is not JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  // A `toJSON()` that returns undefined leaves nothing to store.
  if (text === undefined) throw new QError("PAYLOAD_NOT_JSON", `${what} serialises to nothing`);
  // PostgreSQL's jsonb rejects the NUL character that JSON allows.
  if (text.includes("\\u0000")) {
    throw new QError(
      "PAYLOAD_NOT_JSON",
      `${what} contains a NUL character, which jsonb cannot store`,
    );
  }
  return text;
}
