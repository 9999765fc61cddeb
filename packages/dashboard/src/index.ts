/**
 * A web dashboard for q: queues, jobs, errors, and retry, cancel, pause and
 * resume, as one web-standard request handler behind your authorisation.
 *
 * @module
 */
export { FLASHES, type FlashCode } from "./actions.js";
export { contentSecurityPolicy, createDashboard, type DashboardHandler } from "./handler.js";
export { escapeHtml } from "./html.js";
export type { Access, Authorize, DashboardOptions } from "./options.js";
export type { DashboardQueue } from "./queue.js";
