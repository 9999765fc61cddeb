import { QError } from "./errors.js";
import { assertJobId } from "./ids.js";
import type { JobState } from "./job.js";
import { dateOption, intOption, keyOption } from "./options.js";

/** What a listing asks for, checked: every storage builds its query from this. */
export interface ListQuery {
  queues?: readonly string[];
  tasks?: readonly string[];
  states?: readonly JobState[];
  key?: string;
  createdFrom?: Date;
  createdTo?: Date;
  finishedFrom?: Date;
  finishedTo?: Date;
  limit: number;
  order: "newest" | "oldest";
  /** The id the page starts after (exclusive), decoded from the cursor. */
  after?: string;
}

export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 1000;
/** Most queues or tasks one filter may name. */
export const MAX_FILTER_VALUES = 100;

export const JOB_STATES: readonly JobState[] = ["ready", "claimed", "finished", "failed"];

const FILTER_KEYS = new Set([
  "queue",
  "task",
  "state",
  "key",
  "createdFrom",
  "createdTo",
  "finishedFrom",
  "finishedTo",
]);
const PAGE_KEYS = new Set(["limit", "order", "after"]);
/** Same characters as queue and task names: the filter can only match what enqueue accepted. */
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$/;

function invalid(option: string, value: unknown, message: string): QError {
  return new QError("INVALID_OPTION", message, { details: { option, value } });
}

function plainObject(option: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid(option, value, `${option} must be an object`);
  }
  return value as Record<string, unknown>;
}

function onlyKnown(option: string, value: Record<string, unknown>, known: Set<string>): void {
  for (const key of Object.keys(value)) {
    if (!known.has(key)) {
      throw invalid(key, value[key], `${key} is not a ${option} field (${[...known].join(", ")})`);
    }
  }
}

/** One value or a non-empty list of them, each checked; duplicates dropped. */
function list<T>(option: string, value: unknown, check: (v: unknown) => T): T[] | undefined {
  if (value === undefined) return undefined;
  const values: unknown[] = Array.isArray(value) ? value : [value];
  if (values.length === 0 || values.length > MAX_FILTER_VALUES) {
    throw invalid(
      option,
      value,
      `${option} must be one value or a list of 1 to ${MAX_FILTER_VALUES}; leave it out to match any`,
    );
  }
  return [...new Set(values.map(check))];
}

const name = (option: string) => (v: unknown) => {
  if (typeof v !== "string" || !NAME.test(v)) {
    throw invalid(option, v, `${option} must be a name of 1-128 characters of [A-Za-z0-9_.:-]`);
  }
  return v;
};

const state = (v: unknown): JobState => {
  if (!JOB_STATES.includes(v as JobState)) {
    throw invalid("state", v, `state must be one of ${JOB_STATES.join(", ")}`);
  }
  return v as JobState;
};

function key(value: unknown): string {
  try {
    return keyOption(value);
  } catch (error) {
    throw invalid("key", value, (error as Error).message);
  }
}

/**
 * A listing's cursor: the order and the last id of the page, base64url. It
 * says nothing the caller needs to read, and a cursor of one order is refused
 * by the other.
 */
export function encodeCursor(order: "newest" | "oldest", id: string): string {
  return Buffer.from(`${order === "newest" ? "n" : "o"}:${id}`).toString("base64url");
}

function decodeCursor(value: unknown, order: "newest" | "oldest"): string {
  const bad = (why: string) =>
    invalid("after", value, `after is not a cursor of a listing: ${why}`);
  if (typeof value !== "string" || !/^[A-Za-z0-9_-]{1,40}$/.test(value)) {
    throw bad("pass the next of the previous page");
  }
  const match = /^([no]):(.*)$/.exec(Buffer.from(value, "base64url").toString());
  if (match === null) throw bad("pass the next of the previous page");
  if ((match[1] === "n") !== (order === "newest")) {
    throw bad(`it comes from a listing ${match[1] === "n" ? "newest" : "oldest"} first`);
  }
  try {
    return assertJobId(match[2]);
  } catch {
    throw bad("pass the next of the previous page");
  }
}

/**
 * Checks a listing's filter and page before any SQL: every bad value is an
 * `INVALID_OPTION` naming the field in `details.option`.
 */
export function listQuery(filter: unknown, page: unknown): ListQuery {
  const f = plainObject("filter", filter);
  const p = plainObject("page", page);
  onlyKnown("filter", f, FILTER_KEYS);
  onlyKnown("page", p, PAGE_KEYS);
  const order = p.order ?? "newest";
  if (order !== "newest" && order !== "oldest") {
    throw invalid("order", order, 'order must be "newest" or "oldest"');
  }
  const q: ListQuery = {
    limit: p.limit === undefined ? DEFAULT_PAGE : intOption("limit", p.limit, 1, MAX_PAGE),
    order,
  };
  const queues = list("queue", f.queue, name("queue"));
  if (queues !== undefined) q.queues = queues;
  const tasks = list("task", f.task, name("task"));
  if (tasks !== undefined) q.tasks = tasks;
  const states = list("state", f.state, state);
  if (states !== undefined) q.states = JOB_STATES.filter((s) => states.includes(s));
  if (f.key !== undefined) q.key = key(f.key);
  for (const field of ["createdFrom", "createdTo", "finishedFrom", "finishedTo"] as const) {
    if (f[field] !== undefined) q[field] = dateOption(field, f[field]);
  }
  if (p.after !== undefined) q.after = decodeCursor(p.after, order);
  return q;
}
