import { QError } from "@q/core";
import type { DashboardQueue } from "./queue.js";

/**
 * What a request asks to do, as told to {@link DashboardOptions.authorize}:
 * look at the pages, or change a job or a queue.
 */
export type Access =
  | { action: "view" }
  | { action: "retry" | "cancel"; job: string }
  | { action: "pause" | "resume"; queue: string };

/**
 * Decides whether a request may see the dashboard or take an action. `true`
 * lets it through; `false` (or a throw) answers 403 with nothing of the queue
 * on it; a `Response` is sent as is (a 401 asking for credentials, a redirect
 * to your login page).
 */
export type Authorize = (
  request: Request,
  access: Access,
) => boolean | Response | Promise<boolean | Response>;

/** Options of {@link createDashboard}. */
export interface DashboardOptions {
  /** The queue to show: a `Queue` of `@q/core`. */
  queue: DashboardQueue;
  /**
   * Required: there is no default that serves the dashboard to anyone. Called
   * for every request before anything is read from the queue.
   */
  authorize: Authorize;
  /**
   * Where the dashboard is mounted, such as `"/admin/jobs"`: every link and
   * form points under it and requests outside it get 404. Default `""` (the
   * root).
   */
  basePath?: string;
  /** Shows no action buttons and refuses every POST with 403. Default `false`. */
  readOnly?: boolean;
  /**
   * The key that signs CSRF tokens, at least 32 characters. Give the same
   * secret to every process behind one load balancer; without one, each
   * dashboard makes a random key, so a form must be posted back to the process
   * that rendered it (and tokens end with a restart).
   */
  secret?: string;
  /**
   * Origins besides the request's own allowed to POST actions (`"https://admin.example.com"`),
   * for a dashboard behind a proxy that rewrites the Host header.
   */
  origins?: readonly string[];
  /** Shown in the page title and header. Default `"q"`. */
  title?: string;
  /**
   * Told of unexpected errors (the page shows only that something failed).
   * Default: `console.error`.
   */
  onError?: (error: unknown, request: Request) => void;
}

/** The options checked, with defaults. */
export interface Settings {
  queue: DashboardQueue;
  authorize: Authorize;
  basePath: string;
  readOnly: boolean;
  secret: string | undefined;
  origins: ReadonlySet<string>;
  title: string;
  onError: (error: unknown, request: Request) => void;
}

const KNOWN = new Set([
  "queue",
  "authorize",
  "basePath",
  "readOnly",
  "secret",
  "origins",
  "title",
  "onError",
]);
const QUEUE_METHODS = [
  "getJob",
  "retry",
  "cancel",
  "listJobs",
  "counts",
  "stats",
  "pause",
  "resume",
] as const;
/** Path segments of unreserved URL characters, so the base path needs no escaping anywhere. */
const BASE_PATH = /^(\/[A-Za-z0-9._~-]+)*$/;
export const MIN_SECRET = 32;

function invalid(option: string, value: unknown, expected: string): QError {
  return new QError("INVALID_OPTION", `createDashboard: ${option} ${expected}`, {
    details: { option, value },
  });
}

/** Checks the options of `createDashboard` and fills in the defaults. */
export function settings(options: DashboardOptions): Settings {
  if (typeof options !== "object" || options === null) {
    throw invalid("options", options, "must be an object");
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key))
      throw invalid(key, (options as unknown as Record<string, unknown>)[key], "is not an option");
  }
  const { queue, authorize } = options;
  if (typeof authorize !== "function") {
    throw invalid(
      "authorize",
      authorize,
      "is required: a function (request, access) => boolean that decides who may use the dashboard",
    );
  }
  if (typeof queue !== "object" || queue === null) {
    throw invalid("queue", queue, "must be a Queue of @q/core");
  }
  for (const method of QUEUE_METHODS) {
    if (typeof (queue as unknown as Record<string, unknown>)[method] !== "function") {
      throw invalid("queue", method, `must be a Queue of @q/core (it has no ${method}())`);
    }
  }
  if (options.basePath !== undefined && typeof options.basePath !== "string") {
    throw invalid("basePath", options.basePath, "must be a string");
  }
  const basePath = (options.basePath ?? "").replace(/\/$/, "");
  if (!BASE_PATH.test(basePath) || basePath.split("/").some((s) => s === "." || s === "..")) {
    throw invalid(
      "basePath",
      options.basePath,
      'must be a path such as "/admin/jobs": segments of letters, digits and . _ ~ -',
    );
  }
  if (options.readOnly !== undefined && typeof options.readOnly !== "boolean") {
    throw invalid("readOnly", options.readOnly, "must be a boolean");
  }
  if (
    options.secret !== undefined &&
    (typeof options.secret !== "string" || options.secret.length < MIN_SECRET)
  ) {
    throw invalid("secret", "(hidden)", `must be a string of at least ${MIN_SECRET} characters`);
  }
  const origins = new Set<string>();
  if (options.origins !== undefined) {
    if (!Array.isArray(options.origins)) {
      throw invalid("origins", options.origins, "must be an array of origins");
    }
    for (const origin of options.origins as readonly unknown[]) {
      if (typeof origin !== "string" || !isOrigin(origin)) {
        throw invalid("origins", origin, 'must hold origins such as "https://admin.example.com"');
      }
      origins.add(origin);
    }
  }
  if (options.title !== undefined && (typeof options.title !== "string" || options.title === "")) {
    throw invalid("title", options.title, "must be a non-empty string");
  }
  if (options.onError !== undefined && typeof options.onError !== "function") {
    throw invalid("onError", options.onError, "must be a function");
  }
  return {
    queue,
    authorize,
    basePath,
    readOnly: options.readOnly ?? false,
    secret: options.secret,
    origins,
    title: options.title ?? "q",
    onError: options.onError ?? ((error) => console.error("@q/dashboard:", error)),
  };
}

function isOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === "https:" || url.protocol === "http:") && url.origin === text;
  } catch {
    return false;
  }
}
