import { cleanup } from "@q/cleanup";
import { createQueue, defineTask, fixedBackoff, PermanentError } from "@q/core";
import { cron } from "@q/cron";
import { createPgDriver } from "@q/pg";
import pg from "pg";
import { qCounts } from "./cli.js";
import { database } from "./database.js";

const ORDERS = Number(process.env.DEMO_ORDERS ?? 500);

const db = await database();
const pool = new pg.Pool({ connectionString: db.url, max: 12 });
// An idle pooled client whose backend is terminated emits 'error' on the pool: without a
// listener that error would end the process. The pool replaces the client by itself.
pool.on("error", (error) => console.error("idle pg client lost:", error.message));
const driver = createPgDriver(pool);

// The demo owns these two schemas and starts from scratch each run.
await pool.query("DROP SCHEMA IF EXISTS q_demo CASCADE; DROP SCHEMA IF EXISTS demo_shop CASCADE");
await pool.query(
  "CREATE SCHEMA demo_shop; CREATE TABLE demo_shop.orders (id int PRIMARY KEY, total numeric NOT NULL)",
);

const tries = new Map<number, number>();
// Plugins: a cron schedule that enqueues one job per second cluster-wide, and
// a retention pass (run on demand below) that deletes finished jobs.
const schedules = cron({
  schedules: [{ name: "heartbeat-report", cron: "* * * * * *", task: "report", payload: {} }],
});
const retention = cleanup({ finishedAfter: 0, failedAfter: null, interval: 3_600_000 });
const reports: string[] = [];
const queue = createQueue({
  driver,
  schema: "q_demo",
  plugins: [schedules, retention],
  tasks: {
    report: defineTask({
      handler: async (_payload: Record<string, never>, { job }) => {
        reports.push((job.meta.cron as { tick: string }).tick);
      },
    }),
    sendReceipt: defineTask({
      maxAttempts: 3,
      backoff: fixedBackoff(20),
      handler: async ({ orderId }: { orderId: number }) => {
        const n = (tries.get(orderId) ?? 0) + 1;
        tries.set(orderId, n);
        await new Promise((r) => setTimeout(r, 5)); // the mail server
        if (orderId % 97 === 0) throw new PermanentError(`order ${orderId}: no e-mail address`);
        if (orderId % 10 === 0 && n === 1) throw new Error("mail server busy"); // retried
        return { sentTo: `customer-${orderId}@example.com` };
      },
    }),
  },
});
await queue.migrate();

// The business write and its jobs commit together, or not at all.
const client = await pool.connect();
try {
  await client.query("BEGIN");
  await client.query(
    "INSERT INTO demo_shop.orders (id, total) SELECT i, i * 1.5 FROM generate_series(1, $1::int) i",
    [ORDERS],
  );
  await queue.enqueueMany(
    Array.from({ length: ORDERS }, (_, i) => ({
      task: "sendReceipt" as const,
      payload: { orderId: i + 1 },
    })),
    { tx: client },
  );
  await client.query("COMMIT");
} catch (error) {
  await client.query("ROLLBACK");
  throw error;
} finally {
  client.release();
}
console.log(`Committed ${ORDERS} orders and their ${ORDERS} receipt jobs in one transaction.`);

let finished = 0;
let failed = 0;
let retried = 0;
queue.on("finished", ({ job }) => job.task === "sendReceipt" && finished++);
queue.on("failed", ({ job }) => job.task === "sendReceipt" && failed++);
queue.on("retried", () => retried++);

const started = performance.now();
const worker = await queue.work({ concurrency: 20 });
const tty = process.stdout.isTTY;
let lastPrinted = -1;
const progress = () => {
  const done = finished + failed;
  const line = `  ${done}/${ORDERS} done · ${finished} finished · ${failed} failed · ${retried} retried`;
  if (tty) process.stdout.write(`\r${line}`);
  else if (Math.floor(done / 100) !== Math.floor(lastPrinted / 100) || done === ORDERS)
    console.log(line);
  lastPrinted = done;
};
const timer = setInterval(progress, 100);
while (finished + failed < ORDERS) await new Promise((r) => setTimeout(r, 20));
const seconds = (performance.now() - started) / 1000;
clearInterval(timer);
progress();
if (tty) process.stdout.write("\n");

// The cron schedule has been ticking meanwhile: wait for two of its jobs.
const until = Date.now() + 10_000;
while (reports.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
const [listed] = await schedules.list();

const { rows } = await pool.query<{ state: string; n: number }>(
  "SELECT state, count(*)::int AS n FROM q_demo.jobs GROUP BY state ORDER BY state",
);
const cleaned = await retention.run();
const left = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM q_demo.jobs");
await worker.stop();
await queue.close();
// The driver's own connections (LISTEN, heartbeats) first, then the pool: the server stops
// once every connection is gone.
await driver.close();
await pool.end();
// What an operator sees of the same data, through the q command itself.
const counts = await qCounts(db.url, "q_demo");
await db.stop();

console.log(`
Summary
  finished  ${finished}
  failed    ${failed} (permanent errors, kept with their error for queue.retry(id))
  retried   ${retried} (failed once, then succeeded)
  jobs/s    ${Math.round(ORDERS / seconds)} (${seconds.toFixed(2)} s with 20 concurrent handlers)
  in the database: ${rows.map((r) => `${r.state} ${r.n}`).join(", ")}
  cron      ${reports.length} report jobs from "${listed?.name}" (one per second, by the database clock; next ${listed?.next?.toISOString()})
  cleanup   one pass deleted ${cleaned.finished} finished jobs, kept the failed ones; ${left.rows[0]?.n} jobs left`);

console.log(`\n$ q counts --schema q_demo\n${counts.output}`);

// The dashboard needs the data to outlive the demo: an embedded server goes with it.
const url = process.env.DATABASE_URL;
console.log(`
${
  url === undefined
    ? "The dashboard (@q/dashboard) on jobs like these: the embedded server is gone, so run\n  DATABASE_URL=<your database> pnpm demo\nthen"
    : "The dashboard (@q/dashboard) on these jobs:"
}
  DATABASE_URL=${url ?? "<your database>"} Q_SCHEMA=q_demo pnpm dashboard
  and open http://127.0.0.1:3000/admin/jobs/ (user admin; the password is printed there, or set DASHBOARD_PASSWORD)`);

const expectedFailed = Math.floor(ORDERS / 97);
if (
  failed !== expectedFailed ||
  finished !== ORDERS - expectedFailed ||
  reports.length < 2 ||
  cleaned.finished < finished ||
  counts.code !== 0
) {
  console.error("unexpected outcome");
  process.exit(1);
}
