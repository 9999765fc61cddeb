import { createHash } from "node:crypto";
import { isQError } from "@q/core";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createDashboard, type DashboardOptions, type DashboardQueue } from "../src/index.js";
import { type Fixture, fixture, get, post, tokenFrom } from "./support.js";

let f: Fixture;
beforeEach(async () => {
  f = await fixture();
});
afterEach(async () => {
  await f.close();
});

const allow = () => true;
const dashboard = (options: Partial<DashboardOptions> = {}) =>
  createDashboard({ queue: f.queue, authorize: allow, ...options });

/** A failed job of chargeCard, with both its attempts' errors. */
async function failedJob(): Promise<string> {
  const { id } = await f.queue.enqueue("chargeCard", { orderId: "o-1" });
  await f.failJobs(1);
  return id;
}

describe("authorisation", () => {
  it("is required: no authorize → INVALID_OPTION before anything is served", () => {
    let error: unknown;
    try {
      createDashboard({ queue: f.queue } as unknown as DashboardOptions);
    } catch (e) {
      error = e;
    }
    expect(isQError(error, "INVALID_OPTION")).toBe(true);
    expect((error as Error).message).toMatch(/authorize/);
  });

  it("a refusal answers 403 with nothing of the queue, on every page and action", async () => {
    const id = await failedJob();
    const handler = dashboard({ authorize: () => false });
    for (const request of [
      get("/"),
      get("/jobs"),
      get(`/jobs/${id}`),
      get("/no-such-page"),
      post(`/jobs/${id}/retry`, {}),
    ]) {
      const response = await handler(request);
      expect(response.status).toBe(403);
      const body = await response.text();
      expect(body).not.toMatch(/chargeCard|card declined|default/);
      expect(response.headers.get("set-cookie")).toBeNull();
    }
    expect((await f.queue.getJob(id))?.state).toBe("failed");
  });

  it("a hook that throws, or answers anything but true, refuses too", async () => {
    const onError = vi.fn();
    for (const authorize of [
      () => {
        throw new Error("session store down");
      },
      async () => undefined as unknown as boolean,
      () => "yes" as unknown as boolean,
    ]) {
      const response = await dashboard({ authorize, onError })(get("/"));
      expect(response.status).toBe(403);
    }
    // The throw is reported; a plain refusal is not an error.
    expect(onError).toHaveBeenCalledOnce();
    expect(String(onError.mock.calls[0]![0])).toMatch(/session store down/);
  });

  it("a Response from the hook is sent as is (a 401 asking for credentials)", async () => {
    const handler = dashboard({
      authorize: (request) =>
        request.headers.get("authorization") === `Basic ${btoa("admin:secret")}` ||
        new Response("Credentials, please", {
          status: 401,
          headers: { "www-authenticate": 'Basic realm="q"' },
        }),
    });
    const refused = await handler(get("/"));
    expect(refused.status).toBe(401);
    expect(refused.headers.get("www-authenticate")).toBe('Basic realm="q"');
    const ok = await handler(
      get("/", { headers: { authorization: `Basic ${btoa("admin:secret")}` } }),
    );
    expect(ok.status).toBe(200);
  });

  it("the hook is told what the request asks: a view, or an action on a job or a queue", async () => {
    const id = await failedJob();
    const seen: unknown[] = [];
    const handler = dashboard({
      authorize: (_request, access) => {
        seen.push(access);
        return access.action === "view";
      },
    });
    const page = await handler(get(`/jobs/${id}`));
    expect(page.status).toBe(200);
    const { cookie, token } = await tokenFrom(page);
    const retry = await handler(post(`/jobs/${id}/retry`, { _csrf: token }, { cookie }));
    expect(retry.status).toBe(403);
    const pause = await handler(post("/queues/default/pause", { _csrf: token }, { cookie }));
    expect(pause.status).toBe(403);
    expect(seen).toEqual([
      { action: "view" },
      { action: "retry", job: id },
      { action: "pause", queue: "default" },
    ]);
    expect((await f.queue.getJob(id))?.state).toBe("failed");
  });
});

describe("CSRF", () => {
  async function session(id: string) {
    const handler = dashboard();
    return { handler, ...(await tokenFrom(await handler(get(`/jobs/${id}`)))) };
  }

  it("a POST without the token, with a wrong one, or with another browser's is refused", async () => {
    const id = await failedJob();
    const { handler, cookie, token } = await session(id);
    const other = await tokenFrom(await handler(get(`/jobs/${id}`)));
    expect(other.cookie).not.toBe(cookie);
    const attempts = [
      post(`/jobs/${id}/retry`, {}, { cookie }),
      post(`/jobs/${id}/retry`, { _csrf: "A".repeat(43) }, { cookie }),
      post(`/jobs/${id}/retry`, { _csrf: token }), // no cookie
      post(`/jobs/${id}/retry`, { _csrf: other.token }, { cookie }),
      post(`/jobs/${id}/retry`, { _csrf: token }, { cookie: other.cookie }),
    ];
    for (const request of attempts) {
      const response = await handler(request);
      expect(response.status).toBe(403);
      expect(await response.text()).toMatch(/CSRF/);
    }
    expect((await f.queue.getJob(id))?.state).toBe("failed");
  });

  it("a POST from a foreign origin is refused even with a valid token", async () => {
    const id = await failedJob();
    const { handler, cookie, token } = await session(id);
    const cases: Record<string, string>[] = [
      { cookie, origin: "https://evil.example" },
      { cookie, origin: "null" },
      { cookie, origin: "", "sec-fetch-site": "cross-site" },
    ];
    for (const headers of cases) {
      const request = post(`/jobs/${id}/retry`, { _csrf: token }, headers);
      if (headers.origin === "") request.headers.delete("origin");
      const response = await handler(request);
      expect(response.status).toBe(403);
    }
    expect((await f.queue.getJob(id))?.state).toBe("failed");
  });

  it("the `origins` option lets a known proxy's origin post", async () => {
    const id = await failedJob();
    const handler = dashboard({ origins: ["https://admin.example.com"] });
    const { cookie, token } = await tokenFrom(await handler(get(`/jobs/${id}`)));
    const response = await handler(
      post(`/jobs/${id}/retry`, { _csrf: token }, { cookie, origin: "https://admin.example.com" }),
    );
    expect(response.status).toBe(303);
  });

  it("tokens signed with a shared secret hold across dashboards; a random key's do not", async () => {
    const id = await failedJob();
    const secret = "s".repeat(32);
    const a = dashboard({ secret });
    const { cookie, token } = await tokenFrom(await a(get(`/jobs/${id}`)));
    const stranger = await dashboard()(post(`/jobs/${id}/retry`, { _csrf: token }, { cookie }));
    expect(stranger.status).toBe(403);
    const sibling = await dashboard({ secret })(
      post(`/jobs/${id}/retry`, { _csrf: token }, { cookie }),
    );
    expect(sibling.status).toBe(303);
  });

  it("an action by GET is refused, and a form that is not urlencoded too", async () => {
    const id = await failedJob();
    const { handler, cookie, token } = await session(id);
    const byGet = await handler(get(`/jobs/${id}/retry?_csrf=${token}`, { headers: { cookie } }));
    expect(byGet.status).toBe(405);
    expect(byGet.headers.get("allow")).toBe("POST");
    const json = await handler(
      new Request(`http://dash.test/jobs/${id}/retry`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie, origin: "http://dash.test" },
        body: JSON.stringify({ _csrf: token }),
      }),
    );
    expect(json.status).toBe(415);
    const big = await handler(
      post(`/jobs/${id}/retry`, { _csrf: token, pad: "x".repeat(10_000) }, { cookie }),
    );
    expect(big.status).toBe(413);
    expect((await f.queue.getJob(id))?.state).toBe("failed");
  });
});

describe("actions", () => {
  it("retry: POST, 303 back to the page it came from, which says what happened", async () => {
    const id = await failedJob();
    const handler = dashboard();
    const { cookie, token } = await tokenFrom(await handler(get(`/jobs/${id}`)));
    const response = await handler(
      post(`/jobs/${id}/retry`, { _csrf: token, back: "/jobs?state=failed" }, { cookie }),
    );
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/jobs?state=failed&flash=retried");
    expect((await f.queue.getJob(id))?.state).toBe("ready");
    const next = await handler(get("/jobs?state=failed&flash=retried", { headers: { cookie } }));
    expect(await next.text()).toMatch(/Retried: the job is ready again/);
  });

  it("retrying a job that is not failed says so, and changes nothing", async () => {
    const { id } = await f.queue.enqueue("sendReceipt", { orderId: "o-2" });
    const handler = dashboard();
    const { cookie, token } = await tokenFrom(await handler(get(`/jobs/${id}`)));
    const response = await handler(post(`/jobs/${id}/retry`, { _csrf: token }, { cookie }));
    expect(response.headers.get("location")).toBe(`/jobs/${id}?flash=not-retryable`);
    expect((await f.queue.getJob(id))?.state).toBe("ready");
  });

  it("cancel: a waiting job fails as cancelled", async () => {
    const { id } = await f.queue.enqueue("sendReceipt", { orderId: "o-3" });
    const handler = dashboard();
    const { cookie, token } = await tokenFrom(await handler(get(`/jobs/${id}`)));
    const response = await handler(post(`/jobs/${id}/cancel`, { _csrf: token }, { cookie }));
    expect(response.headers.get("location")).toBe(`/jobs/${id}?flash=cancelled`);
    const job = await f.queue.getJob(id);
    expect(job?.state).toBe("failed");
    expect(job?.errors.at(-1)?.code).toBe("CANCELLED");
  });

  it("never redirects off the dashboard: a foreign or odd `back` falls back to the job", async () => {
    const handler = dashboard({ basePath: "/admin" });
    const { id } = await f.queue.enqueue("sendReceipt", { orderId: "o-4" });
    const { cookie, token } = await tokenFrom(await handler(get(`/admin/jobs/${id}`)));
    for (const back of [
      "//evil.example/x",
      "https://evil.example/admin/jobs",
      "/\\evil.example",
      "/elsewhere",
      "/admin/jobs/1/retry",
    ]) {
      const { id: next } = await f.queue.enqueue("sendReceipt", { orderId: back });
      const response = await handler(
        post(`/admin/jobs/${next}/cancel`, { _csrf: token, back }, { cookie }),
      );
      expect(response.headers.get("location")).toBe(`/admin/jobs/${next}?flash=cancelled`);
    }
  });

  it("pause and resume a queue, back to the overview", async () => {
    await f.queue.enqueue("sendReceipt", { orderId: "o-5" });
    const handler = dashboard();
    const overview = await handler(get("/"));
    const { cookie, token } = await tokenFrom(overview);
    const paused = await handler(
      post("/queues/default/pause", { _csrf: token, back: "/" }, { cookie }),
    );
    expect(paused.headers.get("location")).toBe("/?flash=paused");
    expect((await f.queue.stats()).find((s) => s.queue === "default")?.paused).toBe(true);
    const page = await (await handler(get("/", { headers: { cookie } }))).text();
    expect(page).toMatch(/action="\/queues\/default\/resume"/);
    const resumed = await handler(post("/queues/default/resume", { _csrf: token }, { cookie }));
    expect(resumed.headers.get("location")).toBe("/?flash=resumed");
    expect((await f.queue.stats()).find((s) => s.queue === "default")?.paused).toBe(false);
  });
});

describe("escaping and headers", () => {
  const evil = `<script>alert("x")</script>`;

  it("payloads, keys, results and errors are escaped on every page", async () => {
    const { id } = await f.queue.enqueue(
      "chargeCard",
      { orderId: evil },
      { key: `"><img src=x onerror=alert(1)>` },
    );
    await f.failJobs(1);
    const handler = dashboard();
    for (const path of [`/jobs/${id}`, "/jobs", `/jobs?key=${encodeURIComponent(evil)}`]) {
      const body = await (await handler(get(path))).text();
      expect(body).not.toContain("<script>");
      expect(body).not.toContain("<img src=x");
      expect(body).toContain("&lt;script&gt;");
    }
    const detail = await (await handler(get(`/jobs/${id}`))).text();
    expect(detail).toContain(
      "card declined for order &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;",
    );
  });

  it("a strict CSP: no script at all, the one inline stylesheet allowed by its hash", async () => {
    const response = await dashboard()(get("/"));
    const csp = response.headers.get("content-security-policy")!;
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(csp).toMatch(/form-action 'self'/);
    expect(csp).not.toMatch(/unsafe|script-src/);
    const body = await response.text();
    expect(body).not.toMatch(/<script|\son\w+=|style="/i);
    const style = /<style>([\s\S]*?)<\/style>/.exec(body)![1]!;
    const hash = createHash("sha256").update(style).digest("base64");
    expect(csp).toContain(`'sha256-${hash}'`);
    expect(response.headers.get("x-frame-options")).toBe("DENY");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("set-cookie")).toMatch(/HttpOnly; SameSite=Strict/);
  });

  it("the cookie is Secure over https", async () => {
    const response = await dashboard()(new Request("https://dash.test/"));
    expect(response.headers.get("set-cookie")).toMatch(/; Secure$/);
  });

  it("HEAD answers the headers of a page without its body", async () => {
    const response = await dashboard()(get("/", { method: "HEAD" }));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/text\/html/);
    expect(await response.text()).toBe("");
  });
});

describe("read-only", () => {
  it("shows no action and refuses every POST", async () => {
    const id = await failedJob();
    const handler = dashboard({ readOnly: true });
    for (const path of ["/", "/jobs", `/jobs/${id}`]) {
      const response = await handler(get(path));
      expect(response.status).toBe(200);
      expect(response.headers.get("set-cookie")).toBeNull();
      const body = await response.text();
      expect(body).not.toMatch(/<form[^>]*method="post"|_csrf|>Retry<|>Pause</);
      expect(body).toMatch(/read-only/);
    }
    // Even with a token a writable dashboard on the same secret would accept.
    const secret = "k".repeat(40);
    const { cookie, token } = await tokenFrom(await dashboard({ secret })(get(`/jobs/${id}`)));
    const response = await dashboard({ readOnly: true, secret })(
      post(`/jobs/${id}/retry`, { _csrf: token }, { cookie }),
    );
    expect(response.status).toBe(403);
    expect(await response.text()).toMatch(/read-only/);
    expect((await f.queue.getJob(id))?.state).toBe("failed");
  });
});

describe("base path", () => {
  it("serves under its base path only, and every link and form points there", async () => {
    const id = await failedJob();
    const handler = dashboard({ basePath: "/admin/jobs-ui/" });
    expect((await handler(get("/"))).status).toBe(404);
    expect((await handler(get("/admin"))).status).toBe(404);
    expect((await handler(get("/admin/jobs-uiX"))).status).toBe(404);
    for (const path of [
      "/admin/jobs-ui",
      "/admin/jobs-ui/",
      "/admin/jobs-ui/jobs",
      `/admin/jobs-ui/jobs/${id}`,
    ]) {
      const response = await handler(get(path));
      expect(response.status, path).toBe(200);
      const body = await response.text();
      const targets = [...body.matchAll(/(?:href|action)="([^"]*)"/g)].map((m) => m[1]!);
      expect(targets.length).toBeGreaterThan(2);
      for (const target of targets) {
        if (target.startsWith("data:")) continue;
        expect(target, `${path}: ${target}`).toMatch(/^\/admin\/jobs-ui(\/|$|\?)/);
      }
    }
    const page = await handler(get(`/admin/jobs-ui/jobs/${id}`));
    expect(page.headers.get("set-cookie")).toMatch(/Path=\/admin\/jobs-ui;/);
  });

  it("a base path that is not a plain path → INVALID_OPTION", () => {
    for (const basePath of ["admin", "/a/../b", "/a b", "/a//b", "/<x>", 42]) {
      let error: unknown;
      try {
        dashboard({ basePath: basePath as string });
      } catch (e) {
        error = e;
      }
      expect(isQError(error, "INVALID_OPTION"), String(basePath)).toBe(true);
    }
  });
});

describe("pages", () => {
  it("the overview counts jobs by queue and state", async () => {
    await f.queue.enqueueMany([
      { task: "sendReceipt", payload: { orderId: "a" } },
      { task: "sendReceipt", payload: { orderId: "b" }, queue: "mail" },
      { task: "sendReceipt", payload: { orderId: "c" }, queue: "mail", delay: 3_600_000 },
    ]);
    const body = await (await dashboard()(get("/"))).text();
    const mail = /<tr data-queue="mail">([\s\S]*?)<\/tr>/.exec(body)![1]!;
    const cells = [...mail.matchAll(/<td class="num">(.*?)<\/td>/g)].map((m) =>
      m[1]!.replace(/<[^>]+>/g, ""),
    );
    expect(cells.slice(0, 5)).toEqual(["1", "1", "0", "0", "0"]);
    expect(body).toContain('<tr data-queue="default">');
  });

  it("job detail: payload, result, every error with its attempt, timings", async () => {
    const id = await failedJob();
    const { id: ok } = await f.queue.enqueue("sendReceipt", { orderId: "o-9" });
    const done = new Promise<void>((resolve) => f.queue.on("finished", () => resolve()));
    const worker = await f.queue.work({ pollInterval: 20 });
    await done;
    await worker.stop();
    const handler = dashboard();
    const failed = await (await handler(get(`/jobs/${id}`))).text();
    expect(failed).toMatch(/attempt 1<\/strong>[\s\S]*card declined for order o-1/);
    expect(failed).toMatch(/attempt 2<\/strong>/);
    expect(failed).toContain("Errors (2)");
    expect(failed).toContain("&quot;orderId&quot;: &quot;o-1&quot;");
    expect(failed).toMatch(/>Retry</);
    const finished = await (await handler(get(`/jobs/${ok}`))).text();
    expect(finished).toContain("&quot;sent&quot;: true");
    expect(finished).toMatch(/<dt>Total<\/dt><dd>\d+ ms/);
    expect(finished).not.toMatch(/>Retry<|>Cancel</);
  });

  it("job detail: the progress a handler reported, as a bar, and its checkpoint", async () => {
    const { id } = await f.queue.enqueue("backfill", {});
    const done = new Promise<void>((resolve) => f.queue.on("finished", () => resolve()));
    const worker = await f.queue.work({ pollInterval: 20 });
    await done;
    await worker.stop();
    const body = await (await dashboard()(get(`/jobs/${id}`))).text();
    expect(body).toMatch(/<progress max="100" value="75\.0">300 of 400<\/progress> 300 of 400/);
    expect(body).toMatch(/<h2>Checkpoint<\/h2>[\s\S]*&quot;cursor&quot;: &quot;row-300&quot;/);
  });

  it("an unknown or impossible job id → 404", async () => {
    const handler = dashboard();
    expect((await handler(get("/jobs/999999"))).status).toBe(404);
    expect((await handler(get("/jobs/99999999999999999999"))).status).toBe(404);
    expect((await handler(get("/jobs/abc"))).status).toBe(404);
  });

  it("the list filters by state and pages by cursor", async () => {
    await f.queue.enqueueMany(
      Array.from({ length: 5 }, (_, i) => ({
        task: "sendReceipt" as const,
        payload: { orderId: `p${i}` },
      })),
    );
    const failed = await failedJob();
    const handler = dashboard();
    const only = await (await handler(get("/jobs?state=failed"))).text();
    expect([...only.matchAll(/<tr data-job="(\d+)">/g)].map((m) => m[1])).toEqual([failed]);
    const first = await (await handler(get("/jobs?task=sendReceipt&limit=3"))).text();
    const ids = [...first.matchAll(/<tr data-job="(\d+)">/g)].map((m) => m[1]);
    expect(ids).toHaveLength(3);
    const next = /rel="next" href="([^"]+)"/.exec(first)![1]!.replace(/&amp;/g, "&");
    expect(next).toMatch(/task=sendReceipt/);
    const second = await (await handler(get(next))).text();
    const more = [...second.matchAll(/<tr data-job="(\d+)">/g)].map((m) => m[1]);
    expect(more).toHaveLength(2);
    expect(new Set([...ids, ...more]).size).toBe(5);
    expect(second).toContain("last page");
  });

  it("a filter that cannot be meant → 400 with the reason", async () => {
    const handler = dashboard();
    for (const [query, reason] of [
      ["state=done", /state must be one of/],
      ["createdFrom=yesterday", /createdFrom must be a date/],
      ["limit=0", /limit must be/],
      ["order=random", /order must be/],
    ] as const) {
      const response = await handler(get(`/jobs?${query}`));
      expect(response.status, query).toBe(400);
      expect(await response.text()).toMatch(reason);
    }
  });

  it("an unexpected failure answers 500 without details and goes to onError", async () => {
    const onError = vi.fn();
    const q = f.queue;
    const broken: DashboardQueue = {
      getJob: (id) => q.getJob(id),
      retry: (id) => q.retry(id),
      cancel: (id) => q.cancel(id),
      listJobs: (filter, page) => q.listJobs(filter, page),
      counts: () => q.counts(),
      stats: () => Promise.reject(new Error("connection refused at 10.0.0.1")),
      pause: (name) => q.pause(name),
      resume: (name) => q.resume(name),
    };
    const handler = createDashboard({ queue: broken, authorize: allow, onError });
    const response = await handler(get("/"));
    expect(response.status).toBe(500);
    expect(await response.text()).not.toMatch(/10\.0\.0\.1/);
    expect(onError).toHaveBeenCalledOnce();
  });
});
