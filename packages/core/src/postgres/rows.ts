import type { ClaimedJob, Job } from "../job.js";

/** Raw job as `json_build_object` renders it. */
interface JobJson
  extends Omit<
    Job,
    "runAt" | "claimedAt" | "cancelRequestedAt" | "createdAt" | "finishedAt" | "progressAt"
  > {
  runAt: string;
  claimedAt: string | null;
  cancelRequestedAt: string | null;
  createdAt: string;
  finishedAt: string | null;
  progressAt: string | null;
  token: string | null;
}

const date = (v: string | null): Date | null => (v === null ? null : new Date(v));

function toJob(j: JobJson): Job {
  const { token: _token, ...rest } = j;
  return {
    ...rest,
    runAt: new Date(j.runAt),
    claimedAt: date(j.claimedAt),
    cancelRequestedAt: date(j.cancelRequestedAt),
    createdAt: new Date(j.createdAt),
    finishedAt: date(j.finishedAt),
    progressAt: date(j.progressAt),
  };
}

/** Parses a job rendered as JSON text by the storage's SQL. */
export function parseJob(text: string): Job {
  return toJob(JSON.parse(text) as JobJson);
}

const jsonOrNull = (v: unknown): unknown =>
  v === null || v === undefined ? null : JSON.parse(String(v));

/** Most claimed jobs have no errors and no meta yet: skip the parser for those. */
const errorsOf = (v: unknown): ClaimedJob["errors"] =>
  v === "[]" ? [] : (JSON.parse(String(v)) as ClaimedJob["errors"]);
const metaOf = (v: unknown): ClaimedJob["meta"] =>
  v === null || v === undefined || v === "{}" ? {} : (JSON.parse(String(v)) as ClaimedJob["meta"]);

/** A claimed job from the claim's plain columns. */
export function claimedFromRow(r: Record<string, unknown>): ClaimedJob {
  return {
    id: String(r.id),
    queue: String(r.queue),
    task: String(r.task),
    payload: JSON.parse(String(r.payload)),
    state: "claimed",
    priority: Number(r.priority),
    runAt: new Date(Number(r.runat)),
    attempt: Number(r.attempt),
    maxAttempts: Number(r.maxattempts),
    key: r.key === null || r.key === undefined ? null : String(r.key),
    claimedBy: String(r.claimedby),
    claimedAt: new Date(Number(r.claimedat)),
    token: String(r.token),
    errors: errorsOf(r.errors),
    meta: metaOf(r.meta),
    result: null,
    cancelRequestedAt: null,
    createdAt: new Date(Number(r.createdat)),
    finishedAt: null,
    progress: jsonOrNull(r.progress),
    progressAt:
      r.progressat === null || r.progressat === undefined ? null : new Date(Number(r.progressat)),
    checkpoint: jsonOrNull(r.checkpoint),
  };
}

/** Reads the one text column a statement returns, whatever the driver's casing. */
export function textColumn(
  rows: readonly Record<string, unknown>[],
  column: string,
): string | null {
  const row = rows[0];
  if (row === undefined) return null;
  const value = row[column];
  return value === null || value === undefined ? null : String(value);
}
