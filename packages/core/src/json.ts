/// <reference lib="es2024.string" />
import { QError } from "./errors.js";

/**
 * Text PostgreSQL cannot store: NUL (refused by `text` and `jsonb`) and lone
 * UTF-16 surrogates (no UTF-8 encoding; refused by `jsonb`).
 */
export function isStorableText(s: string): boolean {
  return s.isWellFormed() && !s.includes("\u0000");
}

/**
 * Makes text storable: NUL and lone surrogates become U+FFFD (the replacement
 * character). Ordinary text comes back as the very same string.
 */
export function storableText(s: string): string {
  return isStorableText(s) ? s : s.toWellFormed().replaceAll("\u0000", "\uFFFD");
}

/**
 * The escapes of unstorable text in JSON that `JSON.stringify` wrote. It
 * writes NUL as `\u0000` and a lone surrogate as `\udXXX` (lowercase), and a
 * surrogate pair, like any other character above U+001F, as itself. Matching
 * an escaped backslash too keeps `\\u0000` (a literal backslash before
 * `u0000`) from being mistaken for one.
 */
const UNSTORABLE_ESCAPE = /\\(\\|u0000|ud[89a-f][0-9a-f]{2})/g;

/** Whether JSON text written by `JSON.stringify` holds NUL or a lone surrogate. */
export function hasUnstorableEscape(json: string): boolean {
  // Most JSON has no `\u` escape at all.
  if (!json.includes("\\u")) return false;
  for (const match of json.matchAll(UNSTORABLE_ESCAPE)) {
    if (match[1] !== "\\") return true;
  }
  return false;
}

const at = (key: string) => (key === "" ? "" : ` at key ${JSON.stringify(key)}`);

/** Refuses, per value, what `JSON.stringify` would drop or change. */
function strictReplacer(what: string) {
  return (key: string, v: unknown): unknown => {
    const type = typeof v;
    if (type === "function" || type === "symbol" || type === "bigint") {
      throw new QError("PAYLOAD_NOT_JSON", `${what} holds a ${type}${at(key)}; it is not JSON`, {
        details: { key, type },
      });
    }
    if (type === "number" && !Number.isFinite(v)) {
      throw new QError("PAYLOAD_NOT_JSON", `${what} holds ${String(v)}${at(key)}; it is not JSON`, {
        details: { key },
      });
    }
    return v;
  };
}

function stringify(value: unknown, what: string): string {
  if (value === undefined) {
    throw new QError("PAYLOAD_NOT_JSON", `${what} is undefined; use null or an object`);
  }
  let text: string;
  try {
    text = JSON.stringify(value, strictReplacer(what));
  } catch (error) {
    if (error instanceof QError) throw error;
    throw new QError("PAYLOAD_NOT_JSON", `${what} is not JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  // A `toJSON()` that returns undefined leaves nothing to store.
  if (text === undefined) throw new QError("PAYLOAD_NOT_JSON", `${what} serialises to nothing`);
  return text;
}

/** Finds the first unstorable key or string (slow; only to word an error). */
function unstorableKey(value: unknown): { key: string; inKey: boolean } | undefined {
  let found: { key: string; inKey: boolean } | undefined;
  try {
    JSON.stringify(value, (key, v: unknown) => {
      if (!isStorableText(key)) found = { key, inKey: true };
      else if (typeof v === "string" && !isStorableText(v)) found = { key, inKey: false };
      if (found !== undefined) throw found;
      return v;
    });
  } catch {
    // Stopped at the first one (or by a toJSON that throws: nothing to name).
  }
  return found;
}

/**
 * Serialises a value that must survive a trip through jsonb unchanged.
 * `JSON.stringify` silently drops functions and turns NaN into null; a job
 * payload must not change shape on its way to the handler, so those are errors.
 * So are NUL and lone UTF-16 surrogates in any string or object key, which
 * jsonb cannot store (a literal backslash followed by `u0000` is fine).
 */
export function toJsonText(value: unknown, what = "payload"): string {
  const text = stringify(value, what);
  if (hasUnstorableEscape(text)) {
    const where = unstorableKey(value);
    const place =
      where === undefined
        ? ""
        : where.inKey
          ? ` in the key ${JSON.stringify(where.key)}`
          : at(where.key);
    throw new QError(
      "PAYLOAD_NOT_JSON",
      `${what} holds a NUL character or a lone UTF-16 surrogate${place}, which PostgreSQL cannot store`,
      { details: where === undefined ? {} : { key: where.key } },
    );
  }
  return text;
}

/**
 * Serialises what a handler produced (its result) so that it can always be
 * stored: NUL and lone surrogates, in strings and in object keys, become
 * U+FFFD (two keys that become equal keep the later value). What is not JSON
 * at all (a BigInt, a cycle, a function, NaN) is still refused with
 * `PAYLOAD_NOT_JSON`.
 */
export function storableJsonText(value: unknown, what = "result"): string {
  const text = stringify(value, what);
  if (!hasUnstorableEscape(text)) return text;
  return text.replace(UNSTORABLE_ESCAPE, (match, seq: string) =>
    seq === "\\" ? match : "\\ufffd",
  );
}
