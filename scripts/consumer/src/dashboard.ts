// @q/dashboard as installed: the handler over a real queue, mounted in Node's
// http server through @q/dashboard/node and in Hono; a refused request, a page
// with its CSP, and a retry by POST with the page's CSRF token.
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createDashboard } from "@q/dashboard";
import { toNodeHandler } from "@q/dashboard/node";
import { createPgDriver } from "@q/pg";
import { Hono } from "hono";
import pg from "pg";
import { databaseUrl, queueOver } from "./common.ts";

const pool = new pg.Pool({ connectionString: databaseUrl });
pool.on("error", () => {});
const driver = createPgDriver(pool);
const { queue, schema } = await queueOver(driver, "dashboard");
const { id } = await queue.enqueue("receipt", { orderId: 1 });
await queue.cancel(id); // failed (cancelled): a job to retry

const dashboard = createDashboard({
  queue,
  basePath: "/admin/jobs",
  authorize: (request) => request.headers.get("x-admin") === "yes",
});
const server = createServer(toNodeHandler(dashboard));
server.listen(0, "127.0.0.1");
await once(server, "listening");
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin/jobs`;
const admin = { "x-admin": "yes" };

const check = (ok: boolean, what: string) => {
  if (!ok) throw new Error(`dashboard: ${what}`);
};
check((await fetch(`${base}/`)).status === 403, "a request the hook refuses gets 403");
const page = await fetch(`${base}/jobs/${id}`, { headers: admin });
check(page.status === 200, "the job page answers 200");
check(/default-src 'none'/.test(page.headers.get("content-security-policy") ?? ""), "CSP");
const cookie = page.headers.getSetCookie()[0]?.split(";")[0] ?? "";
const token = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? "";
const retry = await fetch(`${base}/jobs/${id}/retry`, {
  method: "POST",
  redirect: "manual",
  headers: {
    ...admin,
    cookie,
    origin: new URL(base).origin,
    "content-type": "application/x-www-form-urlencoded",
  },
  body: new URLSearchParams({ _csrf: token }).toString(),
});
check(retry.status === 303, `the retry redirects (got ${retry.status})`);
check((await queue.getJob(id))?.state === "ready", "the retried job is ready");

const app = new Hono();
app.all("/admin/jobs/*", (c) => dashboard(c.req.raw));
check((await app.request("/admin/jobs/jobs", { headers: admin })).status === 200, "Hono mounts it");

server.close();
await queue.close();
await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
await driver.close?.();
await pool.end();
