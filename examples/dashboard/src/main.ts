// @q/dashboard in Node's http server, under /admin/jobs, behind HTTP Basic.
//
//   pnpm start           seeds a schema of its own, serves it, checks it answers, and stops
//   pnpm serve           serves until Ctrl-C; Q_SCHEMA=q_demo shows the demo's jobs
//
// DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), PORT (default 3000
// with --serve), DASHBOARD_USER (default admin) and DASHBOARD_PASSWORD (default: a
// random one, printed).
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createQueue, defineTask, isQError, PermanentError } from "@q/core";
import { createDashboard } from "@q/dashboard";
import { toNodeHandler } from "@q/dashboard/node";
import { createPgDriver } from "@q/pg";
import pg from "pg";
import { basicAuth } from "./basic-auth.js";

const serveOnly = process.argv.includes("--serve");
const OWN_SCHEMA = "q_example_dashboard";
const schema = process.env.Q_SCHEMA ?? OWN_SCHEMA;
const seeding = schema === OWN_SCHEMA;
const user = process.env.DASHBOARD_USER ?? "admin";
const password = process.env.DASHBOARD_PASSWORD ?? randomBytes(9).toString("base64url");

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
});
pool.on("error", (error) => console.error("idle pg client lost:", error.message));
const driver = createPgDriver(pool);
const queue = createQueue({
  driver,
  schema,
  tasks: {
    sendReceipt: defineTask({ handler: async ({ orderId }: { orderId: number }) => ({ orderId }) }),
    chargeCard: defineTask({
      maxAttempts: 2,
      backoff: () => 50,
      handler: async ({ orderId }: { orderId: number }) => {
        if (orderId % 3 === 0) throw new PermanentError(`order ${orderId}: card declined`);
      },
    }),
  },
});

if (seeding) await seed();
else {
  // Someone else's schema: read it, never migrate or change it from here.
  try {
    await queue.counts();
  } catch (error) {
    if (isQError(error, "NOT_MIGRATED")) {
      console.error(`schema ${schema} holds no q tables on this database`);
      process.exit(1);
    }
    throw error;
  }
}

const basePath = "/admin/jobs";
const dashboard = createDashboard({
  queue,
  basePath,
  authorize: basicAuth(user, password),
  title: "q example",
});
const handler = toNodeHandler(dashboard);
const server = createServer((req, res) => {
  if (req.url === "/" || req.url === "") {
    res.writeHead(302, { location: `${basePath}/` }).end();
    return;
  }
  void handler(req, res);
});
server.listen(serveOnly ? Number(process.env.PORT ?? 3000) : 0, "127.0.0.1");
await once(server, "listening");
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${basePath}/`;

if (serveOnly) {
  console.log(
    `dashboard of schema ${schema}: ${url}\n  user ${user}, password ${password}\n  Ctrl-C stops it`,
  );
  const stop = async () => {
    server.closeAllConnections();
    server.close();
    await queue.close();
    await driver.close();
    await pool.end();
  };
  process.once("SIGINT", () => void stop());
  process.once("SIGTERM", () => void stop());
} else {
  // What a person sees, checked by the example itself.
  const refused = await fetch(url);
  const auth = { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` };
  const overview = await fetch(url, { headers: auth });
  const html = await overview.text();
  const failed = await fetch(`${url}jobs?state=failed`, { headers: auth });
  const failedRows = (await failed.text()).match(/<tr data-job=/g)?.length ?? 0;
  console.log(`${url} without credentials: ${refused.status}; with them: ${overview.status}`);
  console.log(`the overview lists queue "default": ${html.includes('data-queue="default"')}`);
  console.log(`failed jobs listed: ${failedRows}`);
  server.close();
  await queue.close();
  await pool.query(`DROP SCHEMA ${OWN_SCHEMA} CASCADE`);
  await driver.close();
  await pool.end();
  if (refused.status !== 401 || overview.status !== 200 || failedRows !== 2) process.exit(1);
}

/** A few jobs in every state: finished, failed with their errors, waiting and scheduled. */
async function seed(): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS ${OWN_SCHEMA} CASCADE`);
  await queue.migrate();
  await queue.enqueueMany([
    ...[1, 2, 3, 4, 5, 6].map((orderId) => ({ task: "chargeCard" as const, payload: { orderId } })),
    ...[1, 2, 3].map((orderId) => ({ task: "sendReceipt" as const, payload: { orderId } })),
  ]);
  let settled = 0;
  const all = new Promise<void>((resolve) => {
    const count = () => {
      if (++settled === 9) resolve();
    };
    queue.on("finished", count);
    queue.on("failed", count);
  });
  const worker = await queue.work({ pollInterval: 50 });
  await all;
  await worker.stop();
  await queue.enqueue("sendReceipt", { orderId: 7 }, { delay: 3_600_000 });
}
