// The plugins from their tarballs: a cron schedule's job runs, and a cleanup
// pass deletes it once finished.
import { cleanup } from "@q/cleanup";
import { createQueue, defineTask, silentLogger } from "@q/core";
import { cron } from "@q/cron";
import { createPgDriver } from "@q/pg";
import pg from "pg";
import { databaseUrl } from "./common.ts";

const pool = new pg.Pool({ connectionString: databaseUrl });
pool.on("error", () => {});
const driver = createPgDriver(pool);
const schema = `q_consumer_plugins_${process.pid}`;
const ticks: string[] = [];
const schedules = cron({
  schedules: [{ name: "tick", cron: "* * * * * *", task: "tick", payload: {} }],
});
const retention = cleanup({ finishedAfter: 0 });
const queue = createQueue({
  driver,
  schema,
  logger: silentLogger,
  plugins: [schedules, retention],
  tasks: {
    tick: defineTask({
      handler: async (_: Record<string, never>, { job }) => {
        ticks.push(String((job.meta.cron as { tick: string }).tick));
      },
    }),
  },
});
await queue.migrate();
const worker = await queue.work({ pollInterval: 50 });
const deadline = Date.now() + 10_000;
while (ticks.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
if (ticks.length === 0) throw new Error("no cron job ran");
// Settles are batched: wait until the table says finished.
const finishedRows = async () =>
  (
    await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${schema}".jobs WHERE state = 'finished'`,
    )
  ).rows[0]!.n;
while ((await finishedRows()) === 0 && Date.now() < deadline)
  await new Promise((r) => setTimeout(r, 50));
const { finished } = await retention.run();
if (finished < 1) throw new Error(`cleanup deleted ${finished} finished jobs`);
await worker.stop();
await queue.close();
await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
await driver.close();
await pool.end();
