import { PostgresStorage } from "@q/core";
import { createPgDriver } from "@q/pg";
import type pg from "pg";
import { QAdapter } from "../adapters/q.js";
import { openPool, queryOn, withFreshDatabase } from "../database.js";
import type { ScenarioContext } from "./context.js";

/** The claim with nothing but the ids and tokens coming back: q's table and index, no library. */
const claimSql = `
WITH picked AS (
  SELECT id FROM q.jobs
  WHERE state = 'ready' AND queue = $1 AND run_at <= now()
  ORDER BY priority, run_at, id
  LIMIT $2
  FOR UPDATE SKIP LOCKED
)
UPDATE q.jobs j
SET state = 'claimed', attempt = j.attempt + 1, claimed_by = $3, claimed_at = now(),
    claim_token = gen_random_uuid()
FROM picked WHERE j.id = picked.id
RETURNING j.id, j.claim_token`;

/** The batch completion, one statement for the whole claimed batch. */
const completeSql = `
UPDATE q.jobs SET state = 'finished', finished_at = now(),
  claimed_by = NULL, claimed_at = NULL, claim_token = NULL
WHERE id = ANY ($1::bigint[]) AND state = 'claimed'`;

/** One claim→complete loop; returns when a claim comes back empty. */
type Loop = (id: number) => Promise<number>;

function rawLoop(pool: pg.Pool, batch: number): Loop {
  return async (id) => {
    let done = 0;
    for (;;) {
      const claimed = await pool.query<{ id: string }>(claimSql, ["default", batch, `floor-${id}`]);
      if (claimed.rows.length === 0) return done;
      await pool.query(completeSql, [claimed.rows.map((r) => r.id)]);
      done += claimed.rows.length;
    }
  };
}

/** The same loop through q's storage layer: q's own claim and settle statements, no worker. */
function storageLoop(pool: pg.Pool, batch: number): Loop {
  const storage = new PostgresStorage(createPgDriver(pool, { listen: false }));
  return async (id) => {
    let done = 0;
    for (;;) {
      const jobs = await storage.claim(`floor-${id}`, ["default"], batch);
      if (jobs.length === 0) return done;
      await storage.settle(
        jobs.map((j) => ({ kind: "finish" as const, id: j.id, token: j.token, result: null })),
      );
      done += jobs.length;
    }
  };
}

const kinds = {
  "raw-sql": {
    make: rawLoop,
    what: "claim ids (FOR UPDATE SKIP LOCKED LIMIT n) + one batch UPDATE",
  },
  "q storage": {
    make: storageLoop,
    what: "q's claim + settle statements via PostgresStorage, no Worker",
  },
} as const;

type Kind = (typeof kinds)[keyof typeof kinds];

/** One floor measurement: a fresh database with q's tables and `n` ready jobs, drained by `loops` loops. */
async function measureFloor(
  ctx: ScenarioContext,
  library: string,
  kind: Kind,
  batch: number,
  loops: number,
): Promise<void> {
  const n = ctx.config.drainJobs;
  const setting = `${loops} loop${loops === 1 ? "" : "s"} of ${batch}`;
  await withFreshDatabase(
    ctx.config.databaseUrl,
    `floor_${library}_${batch}_${loops}`,
    async (url) => {
      // q's own migration, so the table and its indexes are exactly q's.
      const q = new QAdapter({ setting, prefetch: undefined, concurrency: 1, profile: false });
      await q.setup(url);
      await q.teardown();
      await queryOn(
        url,
        `INSERT INTO q.jobs (queue, task, payload)
       SELECT 'default', 'noop', jsonb_build_object('i', g) FROM generate_series(1, $1::integer) g`,
        [n],
      );
      await queryOn(url, "ANALYZE");
      await queryOn(url, "CHECKPOINT").catch(() => {});
      const pool = openPool(url, loops);
      try {
        const loop = kind.make(pool, batch);
        const t0 = performance.now();
        const counts = await Promise.all(Array.from({ length: loops }, (_, id) => loop(id)));
        const ms = performance.now() - t0;
        const done = counts.reduce((a, b) => a + b, 0);
        ctx.emit({
          scenario: "floor",
          library,
          setting,
          figures: { "jobs/s": (done / ms) * 1000 },
          primary: "jobs/s",
          unit: "jobs/s",
          better: "higher",
          note: `(${done} jobs in ${(ms / 1000).toFixed(2)} s: ${kind.what})`,
          extra: { done, ms, loops, batch },
        });
      } finally {
        await pool.end();
      }
    },
  );
}

/**
 * Scenario 6: the floor. q's schema with N ready jobs, drained by bare loops
 * of claim-n then complete-n, by 1 or more loops at once: how fast the same
 * work goes with no library around it.
 */
export async function floorScenario(ctx: ScenarioContext): Promise<void> {
  for (const [library, kind] of Object.entries(kinds)) {
    for (const batch of ctx.config.floorBatches) {
      for (const loops of ctx.config.floorLoops) {
        try {
          await measureFloor(ctx, library, kind, batch, loops);
        } catch (error) {
          ctx.note(`floor ${library} failed: ${error instanceof Error ? error.message : error}`);
        }
      }
    }
  }
}
