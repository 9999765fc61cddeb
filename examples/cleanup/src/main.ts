// @q/cleanup: finished jobs go after a day, failed ones after a week, rows of
// dead workers after an hour; ready and running jobs are never touched.
import { cleanup } from "@q/cleanup";
import { createQueue, defineTask, PermanentError } from "@q/core";
import { createPgDriver } from "@q/pg";
import pg from "pg";

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
});
pool.on("error", (error) => console.error("idle pg client lost:", error.message));
await pool.query("DROP SCHEMA IF EXISTS q_example_cleanup CASCADE");

const DAY = 24 * 60 * 60 * 1000;
const retention = cleanup({
  finishedAfter: DAY, // null or Infinity would keep them forever
  failedAfter: 7 * DAY,
  interval: 60_000, // a pass a minute in the background; run() below asks for one now
});
const queue = createQueue({
  driver: createPgDriver(pool),
  schema: "q_example_cleanup",
  tasks: {
    sendReceipt: defineTask({ handler: async (_: { orderId: number }) => {} }),
    chargeCard: defineTask({
      maxAttempts: 1,
      handler: async (_: { orderId: number }) => {
        throw new PermanentError("card declined");
      },
    }),
  },
  plugins: [retention],
});
queue.on("plugin", ({ plugin, event, data }) => {
  if (plugin === "cleanup" && event === "pass") console.log("cleanup pass:", JSON.stringify(data));
});
await queue.migrate();

// Some history: three receipts sent, one charge failed.
await queue.enqueueMany(
  [1, 2, 3].map((orderId) => ({ task: "sendReceipt", payload: { orderId } })),
);
await queue.enqueue("chargeCard", { orderId: 4 });
const worker = await queue.work({ pollInterval: 50 });
const ended = async () =>
  (
    await pool.query(
      "SELECT count(*)::int AS n FROM q_example_cleanup.jobs WHERE finished_at IS NOT NULL",
    )
  ).rows[0].n;
while ((await ended()) < 4) await new Promise((r) => setTimeout(r, 20));
await worker.stop();

// Pretend time passed: two receipts finished two days ago, the failed charge
// three days ago, and a worker process died yesterday without saying goodbye.
await pool.query(`UPDATE q_example_cleanup.jobs SET finished_at = now() - interval '2 days'
  WHERE task = 'sendReceipt' AND payload->>'orderId' IN ('1', '2')`);
await pool.query(`UPDATE q_example_cleanup.jobs SET finished_at = now() - interval '3 days'
  WHERE task = 'chargeCard'`);
await pool.query(`INSERT INTO q_example_cleanup.workers (id, queues, host, pid, heartbeat_at)
  VALUES ('crashed-host:123:abc', '{default}', 'crashed-host', 123, now() - interval '1 day')`);
// And a job waiting for tomorrow, which is never deleted however old it looks.
await queue.enqueue("sendReceipt", { orderId: 5 }, { delay: DAY });

await queue.start(); // plugins run from here until close()
const counts = await retention.run();
console.log(
  `deleted ${counts.finished} finished job(s), ${counts.failed} failed, ${counts.workers} dead worker row(s)`,
);
const { rows } = await pool.query<{ state: string; n: number }>(
  "SELECT state, count(*)::int AS n FROM q_example_cleanup.jobs GROUP BY state ORDER BY state",
);
console.log("left:", rows.map((r) => `${r.n} ${r.state}`).join(", "));
await queue.close();
await pool.query("DROP SCHEMA q_example_cleanup CASCADE");
await pool.end();
// Two old receipts went; the failed charge is younger than a week; the recent receipt and the waiting job stay.
const ok = counts.finished === 2 && counts.failed === 0 && counts.workers === 1;
if (!ok) process.exit(1);
