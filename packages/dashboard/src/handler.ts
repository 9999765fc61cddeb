import { isQError } from "@q/core";
import { FLASHES, type FlashCode, perform } from "./actions.js";
import { Csrf, fromOwnOrigin, newSeed, seedCookie, seedOf } from "./csrf.js";
import { BadFilter, type Listing, parseListing } from "./filters.js";
import type { Html } from "./html.js";
import { type DashboardOptions, type Settings, settings } from "./options.js";
import { jobPage, missingJobPage } from "./pages/job.js";
import { jobsPage } from "./pages/jobs.js";
import { overviewPage } from "./pages/overview.js";
import type { View } from "./pages/view.js";
import { accessOf, type Route, route } from "./routes.js";
import { styleHash } from "./style.js";

/** A web-standard request handler: mount it in any server that speaks `Request`/`Response`. */
export type DashboardHandler = (request: Request) => Promise<Response>;

/** Forms post a token and a page to come back to: a few hundred bytes. */
const MAX_FORM = 8 * 1024;

/**
 * A dashboard for `queue`: the queues overview, the job list, job detail, and
 * retry, cancel, pause and resume. Every request goes through `authorize`
 * first; actions are POSTs with a CSRF token from the dashboard's own origin.
 *
 * @example
 * const dashboard = createDashboard({
 *   queue,
 *   basePath: "/admin/jobs",
 *   authorize: async (request) => (await session(request))?.isAdmin === true,
 * });
 * // Hono: app.all("/admin/jobs/*", (c) => dashboard(c.req.raw));
 */
export function createDashboard(options: DashboardOptions): DashboardHandler {
  const s = settings(options);
  const csrf = new Csrf(s.secret);
  return async (request) => {
    try {
      return await handle(s, csrf, request);
    } catch (error) {
      report(s, error, request);
      return await plain(
        500,
        "The dashboard failed to answer; the error went to the server's log.",
      );
    }
  };
}

function report(s: Settings, error: unknown, request: Request): void {
  try {
    s.onError(error, request);
  } catch {}
}

async function handle(s: Settings, csrf: Csrf, request: Request): Promise<Response> {
  const url = new URL(request.url);
  const path = url.pathname;
  if (path !== s.basePath && !path.startsWith(`${s.basePath}/`)) return plain(404, "Not found");
  const r = route(path.slice(s.basePath.length));

  // Before anything else, and for every path under the base: who may not use
  // the dashboard learns nothing of it, not even which pages exist.
  let verdict: boolean | Response;
  try {
    verdict = await s.authorize(request, accessOf(r));
  } catch (error) {
    // Refused, and told: a hook that throws is a bug or an outage of its own.
    report(s, error, request);
    verdict = false;
  }
  if (verdict instanceof Response) return verdict;
  if (verdict !== true) return plain(403, "Forbidden");

  const method = request.method.toUpperCase();
  if (r.kind === "none") return plain(404, "Not found");
  if (r.kind === "action") {
    if (method !== "POST") return plain(405, "Actions are POST only", { allow: "POST" });
    return act(s, csrf, request, r);
  }
  if (method !== "GET" && method !== "HEAD") {
    return plain(405, "Pages are GET only", { allow: "GET, HEAD" });
  }
  const response = await show(s, csrf, request, url, r);
  return method === "HEAD" ? new Response(null, response) : response;
}

async function act(
  s: Settings,
  csrf: Csrf,
  request: Request,
  r: Extract<Route, { kind: "action" }>,
): Promise<Response> {
  if (s.readOnly) return plain(403, "The dashboard is read-only");
  if (!fromOwnOrigin(request, s.origins)) return plain(403, "Cross-origin request refused");
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/x-www-form-urlencoded\b/i.test(type)) {
    return plain(415, "Actions take a form (application/x-www-form-urlencoded)");
  }
  const form = await readForm(request);
  if (form === null) return plain(413, "Form too large");
  if (!(await csrf.check(seedOf(request), form.get("_csrf")))) {
    return plain(403, "CSRF check failed: reload the page and try again");
  }
  const flash = await perform(s.queue, r.access);
  const fallback =
    r.access.action === "retry" || r.access.action === "cancel"
      ? `${s.basePath}/jobs/${r.access.job}`
      : `${s.basePath}/`;
  const location = new URL(backTo(s, request, form.get("back")) ?? fallback, request.url);
  location.searchParams.set("flash", flash);
  // 303: the browser follows with a GET, so a reload never posts again.
  return new Response(null, {
    status: 303,
    headers: { ...securityHeaders(), location: `${location.pathname}${location.search}` },
  });
}

/** `back` when it is a page of this dashboard on this origin: never an open redirect. */
function backTo(s: Settings, request: Request, back: string | null): string | null {
  if (back === null || !back.startsWith("/") || back.startsWith("//") || back.includes("\\")) {
    return null;
  }
  let url: URL;
  try {
    url = new URL(back, request.url);
  } catch {
    return null;
  }
  if (url.origin !== new URL(request.url).origin) return null;
  const path = url.pathname;
  if (path !== s.basePath && !path.startsWith(`${s.basePath}/`)) return null;
  if (route(path.slice(s.basePath.length)).kind !== "page") return null;
  url.searchParams.delete("flash");
  return `${url.pathname}${url.search}`;
}

async function readForm(request: Request): Promise<URLSearchParams | null> {
  if (request.body === null) return new URLSearchParams();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_FORM) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return new URLSearchParams(new TextDecoder().decode(bytes));
}

async function show(
  s: Settings,
  csrf: Csrf,
  request: Request,
  url: URL,
  r: Extract<Route, { kind: "page" }>,
): Promise<Response> {
  const headers: Record<string, string> = {};
  let token = "";
  if (!s.readOnly) {
    let seed = seedOf(request);
    if (seed === null) {
      seed = newSeed();
      headers["set-cookie"] = seedCookie(seed, s.basePath, url.protocol === "https:");
    }
    token = await csrf.token(seed);
  }
  const here = new URL(url);
  here.searchParams.delete("flash");
  const flashCode = url.searchParams.get("flash");
  const view: View = {
    base: s.basePath,
    title: s.title,
    readOnly: s.readOnly,
    token,
    here: `${here.pathname}${here.search}`,
    flash:
      flashCode !== null && Object.hasOwn(FLASHES, flashCode)
        ? FLASHES[flashCode as FlashCode]
        : null,
  };
  const { status, body } = await render(s, view, url, r);
  return page(status, body, headers);
}

async function render(
  s: Settings,
  view: View,
  url: URL,
  r: Extract<Route, { kind: "page" }>,
): Promise<{ status: number; body: Html }> {
  const queue = s.queue;
  switch (r.page) {
    case "overview": {
      const [stats, counts] = await Promise.all([queue.stats(), queue.counts()]);
      return { status: 200, body: overviewPage(view, stats, counts) };
    }
    case "jobs": {
      const tasks = taskNames(queue);
      let listing: Listing;
      try {
        listing = parseListing(url.searchParams);
      } catch (error) {
        if (!(error instanceof BadFilter)) throw error;
        listing = parseListing(new URLSearchParams());
        const queues = (await queue.stats()).map((q) => q.queue);
        return {
          status: 400,
          body: jobsPage(view, listing, null, { queues, tasks, error: error.message }),
        };
      }
      const [stats, jobs] = await Promise.all([
        queue.stats(),
        queue.listJobs(listing.filter, listing.page).catch((error: unknown) => {
          // q refuses a malformed name or cursor before any SQL; tell the user why.
          if (isQError(error)) return error;
          throw error;
        }),
      ]);
      const queues = stats.map((q) => q.queue);
      if (jobs instanceof Error) {
        return {
          status: 400,
          body: jobsPage(view, listing, null, { queues, tasks, error: jobs.message }),
        };
      }
      return { status: 200, body: jobsPage(view, listing, jobs, { queues, tasks }) };
    }
    case "job": {
      const job = await queue.getJob(r.id).catch((error: unknown) => {
        if (isQError(error, "INVALID_JOB_ID")) return null;
        throw error;
      });
      if (job === null) return { status: 404, body: missingJobPage(view, r.id) };
      return { status: 200, body: jobPage(view, job) };
    }
  }
}

function taskNames(queue: unknown): string[] {
  const tasks = (queue as { tasks?: unknown }).tasks;
  return typeof tasks === "object" && tasks !== null ? Object.keys(tasks).sort() : [];
}

function securityHeaders(): Record<string, string> {
  return {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    // Same-origin form posts keep their Origin header (no-referrer would make it "null").
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
  };
}

/** The policy of every page: no script at all, the one stylesheet by its hash, forms to self. */
export async function contentSecurityPolicy(): Promise<string> {
  return [
    "default-src 'none'",
    `style-src ${await styleHash()}`,
    "img-src data:",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join("; ");
}

async function page(status: number, body: Html, extra: Record<string, string>): Promise<Response> {
  return new Response(body.toString(), {
    status,
    headers: {
      ...securityHeaders(),
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": await contentSecurityPolicy(),
      ...extra,
    },
  });
}

async function plain(
  status: number,
  text: string,
  extra: Record<string, string> = {},
): Promise<Response> {
  return new Response(`${text}\n`, {
    status,
    headers: {
      ...securityHeaders(),
      "content-type": "text/plain; charset=utf-8",
      "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
      ...extra,
    },
  });
}
