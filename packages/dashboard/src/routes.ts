import type { Access } from "./options.js";

/** What a path under the dashboard names. */
export type Route =
  | { kind: "page"; page: "overview" | "jobs" }
  | { kind: "page"; page: "job"; id: string }
  | { kind: "action"; access: Exclude<Access, { action: "view" }> }
  | { kind: "none" };

const JOB = /^\/jobs\/(\d{1,19})$/;
const JOB_ACTION = /^\/jobs\/(\d{1,19})\/(retry|cancel)$/;
const QUEUE_ACTION = /^\/queues\/([^/]+)\/(pause|resume)$/;

/** The route of `path`, the part of the URL's path after the base path. */
export function route(path: string): Route {
  if (path === "" || path === "/") return { kind: "page", page: "overview" };
  if (path === "/jobs" || path === "/jobs/") return { kind: "page", page: "jobs" };
  let m = JOB.exec(path);
  if (m) return { kind: "page", page: "job", id: m[1]! };
  m = JOB_ACTION.exec(path);
  if (m) return { kind: "action", access: { action: m[2] as "retry" | "cancel", job: m[1]! } };
  m = QUEUE_ACTION.exec(path);
  if (m) {
    let queue: string;
    try {
      queue = decodeURIComponent(m[1]!);
    } catch {
      return { kind: "none" };
    }
    return { kind: "action", access: { action: m[2] as "pause" | "resume", queue } };
  }
  return { kind: "none" };
}

/** What a route asks of `authorize`. */
export function accessOf(r: Route): Access {
  return r.kind === "action" ? r.access : { action: "view" };
}
