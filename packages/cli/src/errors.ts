import { isQError, sqlState } from "@q/core";

/** Exit status of a command that ran into a runtime error (the database, a job, a plugin). */
export const EXIT_FAILURE = 1;
/** Exit status of a command that was called wrongly: a flag, an argument, a missing URL. */
export const EXIT_USAGE = 2;

/**
 * The command line itself is wrong (a flag's value, a missing database URL):
 * nothing was asked of the database. Exits with {@link EXIT_USAGE}.
 */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The one message of an error, whatever threw it, on one line. */
function messageOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0 && !error.message) {
    // node-postgres trying every address of a host name fails with all of them.
    return messageOf(error.errors[0]);
  }
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, " ").trim();

/**
 * The line the CLI prints for an error: `q: CODE: message` for q's own
 * errors, the SQLSTATE or system error code for the database's and the
 * network's.
 */
export function errorLine(error: unknown): string {
  if (isQError(error)) {
    const hint = error.code === "NOT_MIGRATED" ? " (q migrate creates them)" : "";
    return `q: ${error.code}: ${oneLine(error.message)}${hint}`;
  }
  if (error instanceof UsageError) return `q: ${oneLine(error.message)}`;
  const state = sqlState(error);
  if (state !== undefined) return `q: ${oneLine(messageOf(error))} (SQLSTATE ${state})`;
  const code = systemCode(error);
  if (code !== undefined) return `q: cannot reach the database: ${oneLine(messageOf(error))}`;
  return `q: ${oneLine(messageOf(error))}`;
}

/** `ECONNREFUSED`, `ENOTFOUND`, `ETIMEDOUT`, … of a network error, also inside an AggregateError. */
function systemCode(error: unknown): string | undefined {
  const first = error instanceof AggregateError ? error.errors[0] : error;
  if (typeof first === "object" && first !== null && "code" in first) {
    const code = (first as { code: unknown }).code;
    if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return code;
  }
  return undefined;
}

/** The exit status for an error. */
export function exitStatus(error: unknown): number {
  return error instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
}

/** The stack and every cause, for `--debug`. */
export function debugText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 5; depth++) {
    parts.push(current instanceof Error ? (current.stack ?? String(current)) : String(current));
    current = current instanceof Error ? current.cause : undefined;
    if (current !== undefined) parts.push("caused by:");
  }
  return parts.join("\n");
}
