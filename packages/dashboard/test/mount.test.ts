import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Hono } from "hono";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDashboard } from "../src/index.js";
import { toNodeHandler } from "../src/node.js";
import { type Fixture, fixture } from "./support.js";

let f: Fixture;
let server: Server | undefined;
beforeEach(async () => {
  f = await fixture();
});
afterEach(async () => {
  if (server) {
    server.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
  }
  await f.close();
});

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

describe("Node http, through toNodeHandler", () => {
  it("serves the pages and takes an action end to end, cookie and redirect included", async () => {
    const { id } = await f.queue.enqueue("sendReceipt", { orderId: "n-1" });
    const dashboard = createDashboard({
      queue: f.queue,
      basePath: "/admin/q",
      authorize: (request) => request.headers.get("x-admin") === "yes",
    });
    const base = await listen(toNodeHandler(dashboard));
    expect((await fetch(`${base}/admin/q/`)).status).toBe(403);
    const page = await fetch(`${base}/admin/q/jobs/${id}`, { headers: { "x-admin": "yes" } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toMatch(/default-src 'none'/);
    const cookie = page.headers.getSetCookie()[0]!.split(";")[0]!;
    const token = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
    const cancel = await fetch(`${base}/admin/q/jobs/${id}/cancel`, {
      method: "POST",
      redirect: "manual",
      headers: {
        "x-admin": "yes",
        cookie,
        origin: base,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: form({ _csrf: token }),
    });
    expect(cancel.status).toBe(303);
    expect(cancel.headers.get("location")).toBe(`/admin/q/jobs/${id}?flash=cancelled`);
    expect((await f.queue.getJob(id))?.state).toBe("failed");
  });

  it("an Express-style mount: the full path comes from originalUrl", async () => {
    const dashboard = createDashboard({
      queue: f.queue,
      basePath: "/ops",
      authorize: () => true,
    });
    const handler = toNodeHandler(dashboard);
    const base = await listen((req, res) => {
      // What app.use("/ops", …) hands a middleware: req.url without the mount path.
      (req as typeof req & { originalUrl?: string }).originalUrl = req.url;
      req.url = req.url!.replace(/^\/ops/, "") || "/";
      void handler(req, res);
    });
    const response = await fetch(`${base}/ops/jobs`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('action="/ops/jobs"');
  });

  it("a foreign Origin is refused through the bridge too", async () => {
    const { id } = await f.queue.enqueue("sendReceipt", { orderId: "n-2" });
    const dashboard = createDashboard({ queue: f.queue, authorize: () => true });
    const base = await listen(toNodeHandler(dashboard));
    const page = await fetch(`${base}/jobs/${id}`);
    const cookie = page.headers.getSetCookie()[0]!.split(";")[0]!;
    const token = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
    const response = await fetch(`${base}/jobs/${id}/cancel`, {
      method: "POST",
      redirect: "manual",
      headers: {
        cookie,
        origin: "http://evil.example",
        "content-type": "application/x-www-form-urlencoded",
      },
      body: form({ _csrf: token }),
    });
    expect(response.status).toBe(403);
    expect((await f.queue.getJob(id))?.state).toBe("ready");
  });
});

describe("Hono, which takes web handlers as they are", () => {
  it("mounts under a base path with app.all", async () => {
    const { id } = await f.queue.enqueue("sendReceipt", { orderId: "h-1" });
    const dashboard = createDashboard({
      queue: f.queue,
      basePath: "/admin/jobs",
      authorize: () => true,
    });
    const app = new Hono();
    app.get("/", (c) => c.text("the app"));
    app.all("/admin/jobs/*", (c) => dashboard(c.req.raw));
    app.all("/admin/jobs", (c) => dashboard(c.req.raw));
    expect(await (await app.request("/")).text()).toBe("the app");
    expect((await app.request("/admin/jobs")).status).toBe(200);
    const detail = await app.request(`/admin/jobs/jobs/${id}`);
    expect(detail.status).toBe(200);
    expect(await detail.text()).toContain("h-1");
  });
});
