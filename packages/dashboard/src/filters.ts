import type { JobFilter, JobState, PageOptions } from "@q/core";

/** A listing as the URL of the jobs page spells it. */
export interface Listing {
  filter: JobFilter;
  page: PageOptions;
  /** The raw values, to fill the filter form back in. */
  form: Record<FormField, string>;
}

export const STATES: readonly JobState[] = ["ready", "claimed", "finished", "failed"];
export const FORM_FIELDS = [
  "queue",
  "task",
  "state",
  "key",
  "createdFrom",
  "createdTo",
  "finishedFrom",
  "finishedTo",
  "order",
  "limit",
] as const;
export type FormField = (typeof FORM_FIELDS)[number];
export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;
const DATE_FIELDS = ["createdFrom", "createdTo", "finishedFrom", "finishedTo"] as const;

/** A filter value that makes no sense, told to the user on the page. */
export class BadFilter extends Error {}

/**
 * A date from the filter form: `datetime-local` gives `2025-06-01T12:30`
 * without a zone, read as UTC (the pages show UTC); a full ISO string works too.
 */
function date(field: string, text: string): Date {
  const withZone = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/.test(text)
    ? `${text}Z`
    : text;
  const d = /^\d{4}-\d{2}-\d{2}/.test(withZone) ? new Date(withZone) : new Date(Number.NaN);
  if (Number.isNaN(d.getTime())) {
    throw new BadFilter(`${field} must be a date and time such as 2025-06-01T12:30 (UTC)`);
  }
  return d;
}

/** Reads the jobs page's query; a value that cannot be meant → {@link BadFilter}. */
export function parseListing(params: URLSearchParams): Listing {
  const form = Object.fromEntries(
    FORM_FIELDS.map((f) => [f, (params.get(f) ?? "").trim()]),
  ) as Record<FormField, string>;
  const filter: JobFilter = {};
  if (form.queue !== "") filter.queue = form.queue;
  if (form.task !== "") filter.task = form.task;
  if (form.key !== "") filter.key = form.key;
  if (form.state !== "") {
    if (!(STATES as readonly string[]).includes(form.state)) {
      throw new BadFilter(`state must be one of ${STATES.join(", ")}`);
    }
    filter.state = form.state as JobState;
  }
  for (const field of DATE_FIELDS) {
    if (form[field] !== "") filter[field] = date(field, form[field]);
  }
  const page: PageOptions = { limit: DEFAULT_LIMIT };
  if (form.order !== "") {
    if (form.order !== "newest" && form.order !== "oldest") {
      throw new BadFilter("order must be newest or oldest");
    }
    page.order = form.order;
  }
  if (form.limit !== "") {
    const limit = Number(form.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new BadFilter(`limit must be a whole number from 1 to ${MAX_LIMIT}`);
    }
    page.limit = limit;
  }
  const after = params.get("after");
  if (after !== null && after !== "") page.after = after;
  return { filter, page, form };
}
