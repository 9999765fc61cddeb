// Figures of the inspection API beside a large history, through @q/pg:
//
//   node scripts/inspect-scale.mjs insert    # 20 × enqueueMany(1 000) on a fresh schema, keyless and keyed
//   node scripts/inspect-scale.mjs seed      # a schema with 10 000 000 finished jobs (and a few live and failed)
//   node scripts/inspect-scale.mjs measure   # one listing page per filter shape, counts and stats on it
//   node scripts/inspect-scale.mjs drop      # drops the seeded schema
//
// DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres); SCALE_ROWS
// changes the size of the history (default 10 000 000). Not a test: it prints.
import { createQueue, defineTask, silentLogger } from "@q/core";
import { createPgDriver } from "@q/pg";
import pg from "pg";

const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const ROWS = Number(process.env.SCALE_ROWS ?? 10_000_000);
const SCHEMA = "q_scale";
const phase = process.argv[2] ?? "measure";

const pool = new pg.Pool({ connectionString: url, max: 4 });
pool.on("error", () => {});
const driver = createPgDriver(pool);
const tasks = { t: defineTask({ handler: async () => {} }) };
const queueIn = (schema) => createQueue({ driver, schema, tasks, logger: silentLogger });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = async (fn) => {
  const started = performance.now();
  const out = await fn();
  return { ms: performance.now() - started, out };
};

/**
 * What the indexes of migration 4 cost a bulk insert: the same 20 × 1 000 jobs
 * into a fresh schema with the indexes of version 3 (the new ones dropped),
 * of version 4, and of version 4 plus an index on (task, id) that q does not
 * have, runs interleaved so load on the host hits each alike.
 */
async function insert() {
  const variants = {
    "version 3 indexes": ["DROP INDEX %s.jobs_failed_idx", "DROP INDEX %s.jobs_key_any_idx"],
    "version 4 indexes": [],
    "version 4 + (task, id)": ["CREATE INDEX ON %s.jobs (task, id)"],
  };
  const rounds = Number(process.env.SCALE_ROUNDS ?? 7);
  for (const keyed of [false, true]) {
    const runs = Object.fromEntries(Object.keys(variants).map((v) => [v, []]));
    for (let round = 0; round < rounds; round++) {
      for (const [variant, statements] of Object.entries(variants)) {
        const schema = "q_scale_insert";
        await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await queueIn(schema).migrate();
        for (const sql of statements) await pool.query(sql.replace("%s", schema));
        const queue = queueIn(schema);
        const { ms } = await time(async () => {
          for (let b = 0; b < 20; b++) {
            await queue.enqueueMany(
              Array.from({ length: 1000 }, (_, i) => ({
                task: "t",
                payload: { b, i },
                ...(keyed ? { key: `k:${round}:${b}:${i}` } : {}),
              })),
            );
          }
        });
        runs[variant].push(ms);
        await pool.query(`DROP SCHEMA ${schema} CASCADE`);
      }
    }
    for (const [variant, ms] of Object.entries(runs)) {
      const m = median(ms);
      console.log(
        `20 × enqueueMany(1 000) ${keyed ? "keyed" : "keyless"}, ${variant}: median ${m.toFixed(0)} ms ` +
          `of ${rounds} (${Math.round(20_000 / (m / 1000))} jobs/s)`,
      );
    }
  }
}

async function seed() {
  await pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await queueIn(SCHEMA).migrate();
  const t = `${SCHEMA}.jobs`;
  // Five queues (60 %, 25 %, 10 %, 4 %, 1 %), twenty tasks and one rare one (1 in
  // 10 000), a key on every tenth job, thirty days of history in id order.
  const { ms } = await time(() =>
    pool.query(
      `INSERT INTO ${t} (queue, task, payload, state, run_at, attempt, key, result, created_at, finished_at)
       SELECT 'queue' || CASE WHEN g % 100 < 60 THEN 0 WHEN g % 100 < 85 THEN 1
                WHEN g % 100 < 95 THEN 2 WHEN g % 100 < 99 THEN 3 ELSE 4 END,
              CASE WHEN g % 10000 = 7 THEN 'rare' ELSE 'task' || (g % 20) END,
              jsonb_build_object('n', g, 'user', g % 100000), 'finished', ts, 1,
              CASE WHEN g % 10 = 0 THEN 'key:' || g END, '{"ok": true}', ts, ts + interval '50 ms'
       FROM generate_series(1, $1::int) g,
            LATERAL (SELECT now() - interval '30 days' + g * (interval '30 days' / $1::int) AS ts) x`,
      [ROWS],
    ),
  );
  console.log(`inserted ${ROWS} finished jobs in ${(ms / 1000).toFixed(1)} s`);
  // Some failures (mostly in queue1), a backlog and a few running jobs.
  await pool.query(
    `INSERT INTO ${t} (queue, task, payload, state, attempt, errors, created_at, finished_at)
     SELECT CASE WHEN g % 4 = 0 THEN 'queue0' ELSE 'queue1' END, 'task' || (g % 20), '{}', 'failed', 25,
            '[{"attempt": 25, "at": "2026-01-01T00:00:00Z", "message": "boom", "code": "Error"}]',
            now() - g * interval '1 second', now() - g * interval '1 second'
     FROM generate_series(1, 20000) g`,
  );
  await pool.query(
    `INSERT INTO ${t} (queue, task, payload, run_at) SELECT 'queue' || (g % 3), 'task' || (g % 20), '{}',
       now() + CASE WHEN g % 2 = 0 THEN interval '1 hour' ELSE - interval '1 minute' END
     FROM generate_series(1, 10000) g`,
  );
  await pool.query(
    `INSERT INTO ${t} (queue, task, payload, state, attempt, claimed_by, claimed_at, claim_token)
     SELECT 'queue0', 'task1', '{}', 'claimed', 1, 'w-scale', now(), gen_random_uuid()
     FROM generate_series(1, 50) g`,
  );
  const vacuum = await time(() => pool.query(`VACUUM ANALYZE ${t}`));
  console.log(`VACUUM ANALYZE in ${(vacuum.ms / 1000).toFixed(1)} s`);
  const size = await pool.query(`SELECT pg_size_pretty(pg_total_relation_size($1)) AS s`, [t]);
  console.log(`table with indexes: ${size.rows[0].s}`);
}

async function measure() {
  const queue = queueIn(SCHEMA);
  const migrated = await time(() => queue.migrate());
  console.log(`migrate() on the seeded schema: ${migrated.ms.toFixed(0)} ms`);
  // The extended statistics of migration 4 fill with the next ANALYZE (autovacuum's, or this one).
  const analyzed = await time(() => pool.query(`ANALYZE ${SCHEMA}.jobs`));
  console.log(`ANALYZE: ${analyzed.ms.toFixed(0)} ms`);
  const { rows } = await pool.query(
    `SELECT id::text AS id, key FROM ${SCHEMA}.jobs WHERE key IS NOT NULL ORDER BY id LIMIT 1 OFFSET 400000`,
  );
  const key = rows[0].key;
  const day = 24 * 3600_000;
  const shapes = [
    ["no filter, newest", {}, {}],
    ["no filter, oldest", {}, { order: "oldest" }],
    ["queue + state finished", { queue: "queue4", state: "finished" }, {}],
    ["queue + state failed", { queue: "queue1", state: "failed" }, {}],
    ["state failed", { state: "failed" }, {}],
    ["queue + state ready", { queue: "queue0", state: "ready" }, {}],
    ["state claimed", { state: "claimed" }, {}],
    ["task (1 in 20)", { task: "task3" }, {}],
    ["task (1 in 10 000)", { task: "rare" }, {}],
    ["key", { key }, {}],
    [
      "finished in one hour, 10 days ago",
      {
        finishedFrom: new Date(Date.now() - 10 * day),
        finishedTo: new Date(Date.now() - 10 * day + 3600_000),
      },
      {},
    ],
    [
      "created in one hour, 10 days ago",
      {
        createdFrom: new Date(Date.now() - 10 * day),
        createdTo: new Date(Date.now() - 10 * day + 3600_000),
      },
      {},
    ],
  ];
  for (const [label, filter, page] of shapes) {
    await queue.listJobs(filter, page); // warm
    const runs = [];
    let out;
    for (let i = 0; i < 5; i++) {
      const r = await time(() => queue.listJobs(filter, { limit: 50, ...page }));
      runs.push(r.ms);
      out = r.out;
    }
    const next =
      out.next === null
        ? null
        : await time(() => queue.listJobs(filter, { limit: 50, ...page, after: out.next }));
    console.log(
      `listJobs ${label}: ${median(runs).toFixed(1)} ms (${out.jobs.length} jobs)` +
        (next === null ? "" : `; next page ${next.ms.toFixed(1)} ms`),
    );
  }
  for (const [label, fn] of [
    ["counts()", () => queue.counts()],
    ["stats()", () => queue.stats()],
  ]) {
    await fn();
    const runs = [];
    let out;
    for (let i = 0; i < 5; i++) {
      const r = await time(fn);
      runs.push(r.ms);
      out = r.out;
    }
    console.log(`${label}: ${median(runs).toFixed(1)} ms`);
    console.log(JSON.stringify(out));
  }
  const truth = await time(() =>
    pool.query(
      `SELECT queue, state, count(*)::int AS n FROM ${SCHEMA}.jobs GROUP BY 1, 2 ORDER BY 1, 2`,
    ),
  );
  console.log(`exact GROUP BY over the table, for comparison: ${truth.ms.toFixed(0)} ms`);
  console.log(JSON.stringify(truth.out.rows));
}

try {
  if (phase === "insert") await insert();
  else if (phase === "seed") await seed();
  else if (phase === "measure") await measure();
  else if (phase === "drop") await pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  else throw new Error(`unknown phase ${phase}: insert, seed, measure or drop`);
} finally {
  await driver.close?.();
  await pool.end();
}
