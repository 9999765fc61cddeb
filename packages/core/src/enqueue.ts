import type { StandardSchemaV1 } from "@standard-schema/spec";
import { QError } from "./errors.js";
import { toJsonText } from "./json.js";
import { assertQueueName, assertTaskName } from "./names.js";
import { dateOption, delayOption, INT32_MAX, intOption, keyOption, metaOption } from "./options.js";
import type { KeyConflict, NewJob } from "./storage.js";
import type { TaskMap } from "./task.js";

/** Options of one job at enqueue. */
export interface JobOptions {
  /** Queue to put the job in. Default: the task's queue, else `"default"`. */
  queue?: string;
  /** Lower runs first. Default: the task's priority, else 0. */
  priority?: number;
  /** Do not start before this time: a valid Date from year 1 to year 9999 (UTC). */
  runAt?: Date;
  /**
   * Do not start before this many milliseconds from now (by the database
   * clock): from 0 to `MAX_DELAY_MS` (100 years).
   */
  delay?: number;
  /**
   * Dedupe key: at most one ready or running job holds it. 1 to 512
   * characters, without NUL or lone UTF-16 surrogates.
   */
  key?: string;
  /** Runs in all. Default: the task's maxAttempts, else 25. */
  maxAttempts?: number;
  /**
   * A plain JSON object stored with the job and shown by `getJob` and the
   * handler's `ctx.job.meta` (for tracing ids, who asked, which schedule).
   * q never reads it. Default `{}`.
   */
  meta?: Record<string, unknown>;
}

/** Options of an enqueue call as a whole. */
export interface EnqueueOptions<Tx = unknown> {
  /**
   * The caller's own transaction (or client inside BEGIN) as its driver knows it:
   * a pg `PoolClient`, a postgres.js `sql.begin` handle, a Drizzle `tx`, a Kysely
   * `Transaction`. The job commits or rolls back with the caller's work.
   */
  tx?: Tx;
  /** When a live job holds the same key: keep it (`"skip"`, default) or update it while it waits (`"replace"`). */
  onConflict?: KeyConflict;
}

/** The result of enqueueing one job. */
export interface EnqueueResult {
  id: string;
  task: string;
  queue: string;
  /** A live job with the same key existed: nothing was added (`id` is that job's). */
  deduped: boolean;
}

export const DEFAULT_QUEUE = "default";
export const DEFAULT_MAX_ATTEMPTS = 25;

async function validate(schema: StandardSchemaV1, task: string, payload: unknown) {
  let result = schema["~standard"].validate(payload);
  if (result instanceof Promise) result = await result;
  if (result.issues !== undefined) {
    const summary = result.issues
      .slice(0, 3)
      .map((i) => {
        const path = i.path?.map((p) => (typeof p === "object" ? p.key : p)).join(".");
        return path ? `${path}: ${i.message}` : i.message;
      })
      .join("; ");
    throw new QError("INVALID_PAYLOAD", `invalid payload for task "${task}": ${summary}`, {
      details: { task, issues: result.issues },
    });
  }
  return result.value;
}

/** Checks one job against its task and turns it into a row to insert; throws before any SQL. */
export async function prepareJob(
  tasks: TaskMap,
  task: unknown,
  payload: unknown,
  options: JobOptions = {},
): Promise<NewJob> {
  const name = assertTaskName(task);
  const def = Object.hasOwn(tasks, name) ? tasks[name] : undefined;
  if (def === undefined) {
    throw new QError("UNKNOWN_TASK", `unknown task "${name}"`, {
      details: { task: name, known: Object.keys(tasks) },
    });
  }
  const value = def.schema === undefined ? payload : await validate(def.schema, name, payload);
  if (options.runAt !== undefined && options.delay !== undefined) {
    throw new QError("INVALID_OPTION", "give runAt or delay, not both", {
      details: { option: "runAt" },
    });
  }
  return {
    task: name,
    queue: assertQueueName(options.queue ?? def.queue ?? DEFAULT_QUEUE),
    payload: toJsonText(value),
    priority: intOption("priority", options.priority ?? def.priority ?? 0, -INT32_MAX, INT32_MAX),
    runAt: options.runAt === undefined ? null : dateOption("runAt", options.runAt),
    delayMs: options.delay === undefined ? 0 : delayOption("delay", options.delay),
    maxAttempts: intOption(
      "maxAttempts",
      options.maxAttempts ?? def.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      1,
      1_000_000,
    ),
    key: options.key === undefined ? null : keyOption(options.key),
    meta: options.meta === undefined ? "{}" : metaOption(options.meta),
  };
}

/**
 * Collapses jobs of one batch that share a key, as the database would across
 * batches: `skip` keeps the first, `replace` the last. Returns the jobs to send
 * and, per input job, the index of the job that stands for it.
 */
export function collapseKeys(
  jobs: NewJob[],
  conflict: KeyConflict,
): { unique: NewJob[]; index: number[] } {
  const byKey = new Map<string, number>();
  const unique: NewJob[] = [];
  const index: number[] = [];
  for (const job of jobs) {
    const seen = job.key === null ? undefined : byKey.get(job.key);
    if (seen === undefined) {
      if (job.key !== null) byKey.set(job.key, unique.length);
      index.push(unique.length);
      unique.push(job);
    } else {
      if (conflict === "replace") unique[seen] = job;
      index.push(seen);
    }
  }
  return { unique, index };
}
