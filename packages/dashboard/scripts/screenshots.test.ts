// Seeds a queue with jobs in every state, serves the dashboard over it and
// saves the main pages as PNG in docs/, for the README.
import { fileURLToPath } from "node:url";
import { createQueue, defineTask, PermanentError } from "@q/core";
import { createPgDriver } from "@q/pg";
import { freshSchemaName } from "@q/test-postgres";
import pg from "pg";
import { expect, inject, it } from "vitest";
import { createDashboard } from "../src/index.js";
import { chromiumMissing, launch, serve } from "../test/browser.js";

const docs = (name: string) => fileURLToPath(new URL(`../docs/${name}`, import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it("takes the screenshots of the README", async () => {
  const missing = chromiumMissing();
  if (missing) throw new Error(missing);
  const pool = new pg.Pool({ connectionString: inject("databaseUrl"), max: 8 });
  const driver = createPgDriver(pool);
  const schema = freshSchemaName("shots");
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const queue = createQueue({
    driver,
    schema,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    tasks: {
      sendReceipt: defineTask({
        queue: "mail",
        handler: async ({ orderId }: { orderId: number }) => ({
          to: `customer-${orderId}@example.com`,
        }),
      }),
      chargeCard: defineTask({
        queue: "billing",
        maxAttempts: 3,
        backoff: () => 30,
        handler: async ({ orderId }: { orderId: number; amount: number }, { job }) => {
          if (orderId % 4 === 0)
            throw new Error(`card declined: insufficient funds (order ${orderId})`);
          if (orderId % 3 === 0 && job.attempt === 1)
            throw new Error("payment gateway timed out after 10 s");
          return { charged: true, reference: `ch_${orderId}a9f` };
        },
      }),
      resizeImages: defineTask({
        queue: "media",
        handler: async (_: { album: string }, ctx) => {
          ctx.progress({ done: 37, total: 120 });
          await ctx.checkpoint({ lastImage: "IMG_0037.jpg" });
          await held;
        },
      }),
      buildReport: defineTask({
        queue: "reports",
        handler: async () => {
          throw new PermanentError("report template 'monthly-v2' not found");
        },
      }),
    },
  });
  await queue.migrate();
  await queue.enqueueMany([
    ...Array.from({ length: 24 }, (_, i) => ({
      task: "sendReceipt" as const,
      payload: { orderId: 1000 + i },
    })),
    ...Array.from({ length: 12 }, (_, i) => ({
      task: "chargeCard" as const,
      payload: { orderId: 1000 + i, amount: 19.9 + i },
    })),
    { task: "resizeImages", payload: { album: "summer-2025" } },
    { task: "buildReport", payload: {} },
  ]);
  let settled = 0;
  queue.on("finished", () => settled++);
  queue.on("failed", () => settled++);
  const worker = await queue.work({ concurrency: 8, pollInterval: 20 });
  for (let i = 0; i < 200 && settled < 37; i++) await sleep(50);
  expect(settled).toBe(37);
  // Waiting work: receipts due now (the mail queue is paused), reminders for tomorrow.
  await queue.pause("mail");
  await queue.enqueueMany([
    ...Array.from({ length: 5 }, (_, i) => ({
      task: "sendReceipt" as const,
      payload: { orderId: 2000 + i },
    })),
    ...Array.from({ length: 3 }, (_, i) => ({
      task: "buildReport" as const,
      payload: {},
      delay: 86_400_000 + i * 3_600_000,
    })),
  ]);
  await sleep(1200);

  const server = await serve(
    createDashboard({ queue, authorize: () => true, basePath: "/admin/jobs" }),
  );
  const browser = await launch();
  try {
    const page = await browser.newPage({
      viewport: { width: 1280, height: 800 },
      colorScheme: "light",
    });
    const url = (path: string) => `${server.url}/admin/jobs${path}`;
    await page.goto(url("/"));
    await page.screenshot({ path: docs("overview.png"), fullPage: true });
    await page.goto(url("/jobs"));
    await page.screenshot({ path: docs("jobs.png") });
    await page.goto(url("/jobs?queue=billing&state=failed"));
    const failed = await page.locator("tbody tr[data-job]").first().getAttribute("data-job");
    await page.goto(url(`/jobs/${failed}`));
    await page.screenshot({ path: docs("job.png"), fullPage: true });
    await page.goto(url("/jobs?queue=media"));
    const running = await page.locator("tbody tr[data-job]").first().getAttribute("data-job");
    await page.goto(url(`/jobs/${running}`));
    await page.screenshot({ path: docs("running-job.png"), fullPage: true });
  } finally {
    await browser.close();
    await server.close();
    release();
    await worker.stop();
    await queue.close();
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await driver.close?.();
    await pool.end();
  }
});
