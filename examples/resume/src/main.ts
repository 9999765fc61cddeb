// ctx.checkpoint: a backfill of 20 000 rows is killed with SIGKILL half-way;
// another worker rescues the job and its next run starts at the checkpoint,
// not at row 1.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { backfillQueue, type Checkpoint, ROWS, SCHEMA } from "./backfill.js";

const LEASE_MS = 2_000; // short, so the dead worker's job is rescued within seconds

if (process.argv[2] === "worker") {
  // The worker that dies: it runs the job until the parent kills it.
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
  await backfillQueue(pool).work({ leaseTimeout: LEASE_MS, pollInterval: 100 });
} else {
  const db = await database();
  const pool = new pg.Pool({ connectionString: db.url });
  pool.on("error", (error) => console.error("idle pg client lost:", error.message));
  await pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await pool.query("DROP SCHEMA IF EXISTS resume_shop CASCADE");
  await pool.query(`CREATE SCHEMA resume_shop;
    CREATE TABLE resume_shop.orders (id int PRIMARY KEY, amount int NOT NULL, total_cents int);
    INSERT INTO resume_shop.orders (id, amount) SELECT g, g % 97 FROM generate_series(1, ${ROWS}) g;
    CREATE TABLE resume_shop.runs (job_id bigint, attempt int, started_at_id int)`);
  const queue = backfillQueue(pool);
  await queue.migrate();
  const { id } = await queue.enqueue("backfill", { total: ROWS });

  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "worker"], {
    env: { ...process.env, DATABASE_URL: db.url },
    stdio: "inherit",
  });
  let checkpoint: Checkpoint | null = null;
  while (!checkpoint || checkpoint.next < ROWS / 2) {
    await new Promise((r) => setTimeout(r, 50));
    checkpoint = (await queue.getJob(id))?.checkpoint as Checkpoint | null;
  }
  child.kill("SIGKILL");
  await new Promise((r) => child.once("exit", r));
  const killed = await queue.getJob(id);
  console.log(
    `killed the worker at row ${checkpoint.next - 1} of ${ROWS}: the job is ${killed?.state}, ` +
      `checkpoint ${JSON.stringify(killed?.checkpoint)}, progress ${JSON.stringify(killed?.progress)} ` +
      "(written at most once a second)",
  );

  // A worker of this process rescues the job once the dead one's lease is over.
  queue.on("rescued", ({ jobs }) =>
    console.log(`rescued ${jobs.length} job(s) of the dead worker`),
  );
  const worker = await queue.work({ leaseTimeout: LEASE_MS, pollInterval: 100 });
  let job = await queue.getJob(id);
  while (job?.state !== "finished") {
    await new Promise((r) => setTimeout(r, 100));
    job = await queue.getJob(id);
  }
  await worker.stop();
  const runs = (
    await pool.query<{ attempt: number; started_at_id: number }>(
      "SELECT attempt, started_at_id FROM resume_shop.runs ORDER BY attempt",
    )
  ).rows;
  for (const r of runs) console.log(`run ${r.attempt} started at row ${r.started_at_id}`);
  const left = (
    await pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM resume_shop.orders WHERE total_cents IS DISTINCT FROM amount * 100",
    )
  ).rows[0]!.n;
  console.log(
    `finished: ${ROWS - left} of ${ROWS} rows done, result ${JSON.stringify(job.result)}`,
  );
  await queue.close();
  await pool.end();
  await db.stop();
  // The second run must have started where the first one's checkpoint was, not at row 1.
  const resumed = runs.length === 2 && runs[1]!.started_at_id >= checkpoint.next;
  if (!resumed || left !== 0) {
    console.error("the job did not resume from its checkpoint");
    process.exit(1);
  }
}

/** DATABASE_URL, else an embedded PostgreSQL of this example's own, removed at the end. */
async function database(): Promise<{ url: string; stop(): Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (url) return { url, stop: async () => {} };
  console.log("No DATABASE_URL: starting an embedded PostgreSQL …");
  const { startPrivateServer } = await import("@q/test-postgres/private-server");
  const server = await startPrivateServer();
  return { url: server.url, stop: () => server.destroy() };
}
