import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDashboard } from "../src/index.js";
import { chromiumMissing, launch, serve } from "./browser.js";
import { type Fixture, fixture } from "./support.js";

const missing = chromiumMissing();
if (missing) console.warn(`browser tests skipped: ${missing}`);

// One browser, one database and one server for the file; each test goes on
// from where the previous left the data, as a person clicking through would.
describe.skipIf(missing !== null)("the dashboard in Chromium", () => {
  let f: Fixture;
  let browser: Browser;
  let server: Awaited<ReturnType<typeof serve>>;
  let admin: BrowserContext;
  let page: Page;
  const problems: string[] = [];
  const base = "/admin/q";

  beforeAll(async () => {
    f = await fixture();
    await f.queue.enqueueMany([
      ...Array.from({ length: 6 }, (_, i) => ({
        task: "sendReceipt" as const,
        payload: { orderId: `r-${i}` },
        queue: "mail",
        delay: 3_600_000,
      })),
      { task: "chargeCard", payload: { orderId: "c-1" } },
      { task: "chargeCard", payload: { orderId: "c-2" } },
    ]);
    await f.failJobs(2);
    const dashboard = createDashboard({
      queue: f.queue,
      basePath: base,
      // A stand-in for the app's session check: only requests with the admin header get in.
      authorize: (request) => request.headers.get("x-dashboard-user") === "admin",
    });
    server = await serve(dashboard);
    browser = await launch();
    admin = await browser.newContext({ extraHTTPHeaders: { "x-dashboard-user": "admin" } });
    page = await admin.newPage();
    // A CSP violation or a failed load shows up here; a clean page has none.
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(m.text());
    });
    page.on("pageerror", (e) => problems.push(e.message));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await f?.close();
  });

  const url = (path: string) => `${server.url}${base}${path}`;
  const rows = () => page.locator("tbody tr[data-job]");

  it("lists every job, styled by the inline stylesheet the CSP allows", async () => {
    await page.goto(url("/jobs"));
    await expect.poll(() => rows().count()).toBe(8);
    expect(await page.title()).toBe("Jobs · q");
    const header = await page
      .locator("header")
      .evaluate((e) => e.ownerDocument.defaultView!.getComputedStyle(e).backgroundColor);
    expect(header).toBe("rgb(29, 35, 48)");
    expect(problems).toEqual([]);
  });

  it("filters by state and by queue", async () => {
    await page.selectOption("select[name=state]", "failed");
    await page.click("button:has-text('Filter')");
    await page.waitForURL(/state=failed/);
    expect(await rows().count()).toBe(2);
    expect(await page.locator("tbody .badge").allTextContents()).toEqual(["failed", "failed"]);
    await page.goto(url("/jobs"));
    await page.fill("input[name=queue]", "mail");
    await page.click("button:has-text('Filter')");
    await page.waitForURL(/queue=mail/);
    expect(await rows().count()).toBe(6);
    expect(new Set(await page.locator("tbody tr td:nth-child(3)").allTextContents())).toEqual(
      new Set(["mail"]),
    );
  });

  it("opens a failed job: payload, every error with its attempt", async () => {
    await page.goto(url("/jobs?state=failed"));
    const id = await rows().first().getAttribute("data-job");
    await rows().first().locator("td a").first().click();
    await page.waitForURL(new RegExp(`/jobs/${id}$`));
    expect(await page.locator("h1").textContent()).toBe(`Job ${id}`);
    expect(await page.locator(".title .badge").textContent()).toBe("failed");
    expect(await page.locator("section:has(h2:text('Payload')) pre").textContent()).toMatch(
      /"orderId": "c-\d"/,
    );
    expect(await page.locator("h2:text-matches('Errors')").textContent()).toBe("Errors (2)");
    expect(await page.locator(".error .head strong").allTextContents()).toEqual([
      "attempt 2",
      "attempt 1",
    ]);
  });

  it("retries it: the job is ready again and the page says so", async () => {
    const id = (await page.locator("h1").textContent())!.replace("Job ", "");
    await page.click("button:has-text('Retry')");
    await page.waitForURL(/flash=retried/);
    expect(await page.locator(".notice").textContent()).toMatch(/Retried/);
    expect(await page.locator(".title .badge").textContent()).toBe("ready");
    expect(await page.locator("button:has-text('Retry')").count()).toBe(0);
    expect((await f.queue.getJob(id))?.state).toBe("ready");
    // A reload repeats the GET, not the POST.
    await page.reload();
    expect((await f.queue.getJob(id))?.state).toBe("ready");
  });

  it("pauses a queue and resumes it from the overview", async () => {
    await page.goto(url("/"));
    const mail = page.locator("tr[data-queue=mail]");
    expect(await mail.locator(".badge").textContent()).toBe("active");
    await mail.locator("button:has-text('Pause')").click();
    await page.waitForURL(/flash=paused/);
    expect(await mail.locator(".badge").textContent()).toBe("paused");
    const stats = async () => (await f.queue.stats()).find((s) => s.queue === "mail");
    expect((await stats())?.paused).toBe(true);
    await mail.locator("button:has-text('Resume')").click();
    await page.waitForURL(/flash=resumed/);
    expect(await mail.locator(".badge").textContent()).toBe("active");
    expect((await stats())?.paused).toBe(false);
    expect(problems).toEqual([]);
  });

  it("refuses a browser the authorisation hook does not let in", async () => {
    const stranger = await browser.newContext();
    try {
      const other = await stranger.newPage();
      const response = await other.goto(url("/jobs"));
      expect(response?.status()).toBe(403);
      expect((await other.locator("body").textContent())?.trim()).toBe("Forbidden");
      expect(await other.locator("table").count()).toBe(0);
    } finally {
      await stranger.close();
    }
  });
});
