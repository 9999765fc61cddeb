import { PostgresStorage } from "@q/core";
import { createPgDriver } from "@q/pg";
import type { DrainResult } from "../adapter.js";
import { QAdapter } from "../adapters/q.js";
import type { ScenarioName } from "../config.js";
import { queryOn, withFreshDatabase } from "../database.js";
import { percentile, timed } from "../measure.js";
import type { ScenarioContext } from "./context.js";

/**
 * Scenarios 8 and 9: q against itself, on backlogs that the claim must not
 * read. Each pairs two drains in one database (or two databases side by
 * side), alternating for `BENCH_CLAIM_ROUNDS` rounds, with `VACUUM ANALYZE`
 * and `CHECKPOINT` before each drain, and reports the second drain of each
 * round as a ratio of the first.
 */

/** Finished jobs, by the partial index of terminal jobs. */
async function finished(adapter: QAdapter): Promise<number> {
  const { rows } = await adapter.probe.query<{ n: string }>(
    "SELECT count(*) AS n FROM q.jobs WHERE state IN ('finished', 'failed')",
  );
  return Number(rows[0]?.n);
}

/**
 * Drains `n` jobs of whatever is due: timed from the worker's start until `n`
 * handlers have started and `n` more jobs are finished in storage.
 */
async function drainCounted(adapter: QAdapter, n: number, budgetMs: number): Promise<DrainResult> {
  const before = await finished(adapter);
  adapter.pendingOverride = async () => Math.max(0, n - ((await finished(adapter)) - before));
  try {
    return await adapter.drain(n, budgetMs);
  } finally {
    adapter.pendingOverride = undefined;
  }
}

async function settle(url: string): Promise<void> {
  await queryOn(url, "VACUUM ANALYZE q.jobs");
  // Needs superuser or pg_checkpoint; without it the drain just runs unflushed.
  await queryOn(url, "CHECKPOINT").catch(() => {});
}

function emit(
  ctx: ScenarioContext,
  scenario: ScenarioName,
  setting: string,
  n: number,
  d: DrainResult,
  against?: string,
  extraNote = "",
): void {
  const budget = d.complete ? "" : `, budget spent: ${d.done} of ${n} settled`;
  ctx.emit({
    scenario,
    library: "q",
    setting,
    figures: { "jobs/s": (d.done / d.ms) * 1000 },
    primary: "jobs/s",
    unit: "jobs/s",
    better: "higher",
    note: `(${d.done} jobs in ${(d.ms / 1000).toFixed(2)} s, bench process cpu ${(d.cpuMs / 1000).toFixed(2)} s${budget}${extraNote})`,
    extra: { ...d, n },
    ...(against === undefined ? {} : { against }),
  });
}

const newAdapter = (ctx: ScenarioContext, setting: string) =>
  new QAdapter({
    setting,
    prefetch: undefined,
    concurrency: ctx.config.concurrency,
    profile: false,
  });

/**
 * Scenario 8, queues: a backlog of ready jobs in one queue, drained by a
 * worker on that queue and by one on it and a second, empty queue (as a worker
 * serving every queue its tasks name would be).
 */
export async function queuesScenario(ctx: ScenarioContext): Promise<void> {
  const { queuesReady: ready, queuesDrain: n, claimRounds: rounds } = ctx.config;
  await withFreshDatabase(ctx.config.databaseUrl, "queues_q", async (url) => {
    const adapter = newAdapter(ctx, "1 queue");
    try {
      await adapter.setup(url);
      const insertMs = await timed(async () => {
        await adapter.probe.query(
          `INSERT INTO q.jobs (queue, task, payload)
           SELECT 'default', 'noop', jsonb_build_object('i', g) FROM generate_series(1, $1::integer) g`,
          [ready],
        );
      });
      ctx.detail(
        `${ready} ready jobs in queue "default" written in ${(insertMs / 1000).toFixed(1)} s`,
      );
      for (let round = 1; round <= rounds; round++) {
        const one = `1 queue, round ${round}`;
        for (const [setting, queues] of [
          [one, ["default"]],
          [`2 queues, round ${round}`, ["default", "other"]],
        ] as const) {
          await settle(url);
          adapter.serve([...queues]);
          const d = await drainCounted(adapter, n, ctx.config.budgetMs);
          emit(ctx, "queues", setting, n, d, setting === one ? undefined : one);
        }
      }
    } finally {
      await adapter.teardown();
    }
  });
}

/** The median time of 20 claims that find nothing due, through q's storage on the probe connection. */
async function idleClaimMs(adapter: QAdapter): Promise<number> {
  const storage = new PostgresStorage(createPgDriver(adapter.probe, { listen: false }));
  const times: number[] = [];
  for (let i = 0; i < 21; i++) {
    const t0 = performance.now();
    const got = await storage.claim("idle-probe", ["default"], 10, ["noop"]);
    if (i > 0) times.push(performance.now() - t0);
    if (got.length > 0) throw new Error("scheduled: an idle claim found a job");
  }
  return percentile(times, 50);
}

/**
 * Scenario 9, scheduled: the drain of `BENCH_DRAIN` jobs in a database with
 * nothing else, and in databases beside a backlog of jobs scheduled for later
 * in the same queue (run_at from an hour ahead on): once at the drained jobs'
 * priority (0), once ahead of it (-1, as retries of urgent jobs would be).
 * After each drain, the median time of a claim that finds nothing due.
 */
export async function scheduledScenario(ctx: ScenarioContext): Promise<void> {
  const { scheduledJobs: later, drainJobs: n, claimRounds: rounds } = ctx.config;
  const kinds = [
    { setting: "no backlog", priority: null },
    { setting: "later at 0", priority: 0 },
    { setting: "later at -1", priority: -1 },
  ] as const;
  const open: { setting: string; adapter: QAdapter; url: string }[] = [];
  const nest = async (i: number): Promise<void> => {
    if (i === kinds.length) return measure();
    const kind = kinds[i]!;
    await withFreshDatabase(ctx.config.databaseUrl, `scheduled_${i}`, async (url) => {
      const adapter = newAdapter(ctx, kind.setting);
      try {
        await adapter.setup(url);
        if (kind.priority !== null) {
          const insertMs = await timed(async () => {
            await adapter.probe.query(
              `INSERT INTO q.jobs (queue, task, payload, priority, run_at)
               SELECT 'default', 'noop', jsonb_build_object('i', -g), $2::integer,
                      now() + interval '1 hour' + g * interval '10 ms'
               FROM generate_series(1, $1::integer) g`,
              [later, kind.priority],
            );
          });
          ctx.detail(
            `${later} jobs scheduled for later at priority ${kind.priority} written in ${(insertMs / 1000).toFixed(1)} s`,
          );
        }
        open.push({ setting: kind.setting, adapter, url });
        await nest(i + 1);
      } finally {
        await adapter.teardown();
      }
    });
  };
  const measure = async () => {
    for (let round = 1; round <= rounds; round++) {
      const alone = `${kinds[0].setting}, round ${round}`;
      for (const { setting, adapter, url } of open) {
        for (let from = 0; from < n; from += ctx.config.bulkSize) {
          await adapter.enqueueBulk(from, Math.min(ctx.config.bulkSize, n - from));
        }
        await settle(url);
        const d = await drainCounted(adapter, n, ctx.config.budgetMs);
        const idle = await idleClaimMs(adapter);
        const label = `${setting}, round ${round}`;
        emit(
          ctx,
          "scheduled",
          label,
          n,
          d,
          label === alone ? undefined : alone,
          `; empty claim ${idle.toFixed(2)} ms`,
        );
      }
    }
  };
  await nest(0);
}
