// @q/cron: two schedulers (as in two processes) share one database; each tick becomes one job.
import { createQueue, defineTask, type Job } from "@q/core";
import { type CronPlugin, cron } from "@q/cron";
import { createPgDriver } from "@q/pg";
import pg from "pg";

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
});
pool.on("error", (error) => console.error("idle pg client lost:", error.message));
await pool.query("DROP SCHEMA IF EXISTS q_example_cron CASCADE");

const tasks = {
  heartbeat: defineTask({
    handler: async (payload: { source: string }, { job }) => {
      const { tick } = (job.meta as { cron: { tick: string } }).cron;
      console.log(`heartbeat from ${payload.source} for tick ${tick}`);
    },
  }),
  report: defineTask({ handler: async () => {} }),
};

/** What one process declares; every process declares the same schedules. */
const schedules = () =>
  cron({
    schedules: [
      // Every two seconds; after a restart, ticks up to ten seconds old are caught up.
      {
        name: "heartbeat",
        cron: "*/2 * * * * *",
        task: "heartbeat",
        payload: { source: "cron" },
        catchUp: 10_000,
      },
      // 03:00 in Berlin, whatever the servers' zone; DST as croner defines it.
      { name: "nightly-report", cron: "0 3 * * *", timezone: "Europe/Berlin", task: "report" },
    ],
  });

const driver = createPgDriver(pool);
const queue = (plugin: CronPlugin) =>
  createQueue({ driver, schema: "q_example_cron", tasks, plugins: [plugin] });

// Two schedulers (as if in two processes) and a worker on the first.
const a = schedules();
const b = schedules();
const first = queue(a);
const second = queue(b);
await first.migrate();
await second.start();
const seen = new Set<string>();
const fiveJobs = new Promise<void>((resolve) =>
  first.on("finished", ({ job }) => {
    seen.add(job.id);
    if (seen.size === 5) resolve();
  }),
);
await first.work();
await fiveJobs;

for (const s of await a.list()) {
  console.log(
    `${s.name}: last ${s.last?.toISOString() ?? "never"}, next ${s.next?.toISOString() ?? "never"}`,
  );
}
await first.close();
await second.close();

const { rows } = await pool.query<{ ticks: number; jobs: number }>(
  `SELECT count(*)::int AS ticks, count(DISTINCT job_id)::int AS jobs
   FROM q_example_cron.cron_ticks WHERE schedule = 'heartbeat'`,
);
const job: Job | null = await first.getJob([...seen][0]!);
console.log(`job ${job?.id} meta: ${JSON.stringify(job?.meta)}`);
console.log(`two schedulers, ${rows[0]!.ticks} ticks, ${rows[0]!.jobs} jobs: one job per tick`);
await pool.query("DROP SCHEMA q_example_cron CASCADE");
await pool.end();
if (rows[0]!.ticks !== rows[0]!.jobs) process.exit(1);
