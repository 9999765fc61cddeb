import type { Adapter, DrainResult, Variant } from "../adapter.js";
import type { ScenarioName } from "../config.js";
import { queryOn } from "../database.js";
import { isolated } from "../isolate.js";
import type { StatementStats } from "../profile.js";
import type { Result } from "../report.js";
import { preEnqueue, type ScenarioContext, withAdapter } from "./context.js";

const MiB = 2 ** 20;

/** The result line of a drain. */
export function drainResult(
  scenario: ScenarioName,
  variant: Variant,
  n: number,
  d: DrainResult,
  extraNote = "",
): Result {
  const budget = d.complete ? "" : `, budget spent: ${d.done} of ${n} settled`;
  const wal =
    d.walBytes === undefined || d.done === 0
      ? ""
      : `, WAL ${(d.walBytes / d.done).toFixed(0)} B/job`;
  const process = isolated() ? "worker process" : "bench process";
  return {
    scenario,
    library: variant.library,
    setting: variant.setting,
    figures: { "jobs/s": (d.done / d.ms) * 1000, "peak RSS": d.rssPeakBytes / MiB },
    primary: "jobs/s",
    unit: "jobs/s",
    better: "higher",
    compared: { "peak RSS": { unit: "MiB", better: "lower" } },
    ...(variant.against === undefined ? {} : { against: variant.against }),
    note: `(${d.done} jobs in ${(d.ms / 1000).toFixed(2)} s, ${process} cpu ${(d.cpuMs / 1000).toFixed(2)} s, RSS ${(d.rssStartBytes / MiB).toFixed(0)} MiB at the start${wal}${budget}${extraNote})`,
    extra: { ...d, n, process },
  };
}

/**
 * Queues `n` jobs in bulk, refreshes the planner's statistics and flushes
 * dirty pages (so no library pays for the previous one's writes), then times
 * the drain.
 */
export async function enqueueAndDrain(
  ctx: ScenarioContext,
  adapter: Adapter,
  databaseUrl: string | null,
  n: number,
): Promise<DrainResult> {
  await preEnqueue(adapter, n, ctx.config.bulkSize);
  if (databaseUrl !== null) {
    await queryOn(databaseUrl, "ANALYZE");
    // Needs superuser or pg_checkpoint; without it the drain just runs unflushed.
    await queryOn(databaseUrl, "CHECKPOINT").catch(() => {});
  }
  if (databaseUrl === null) return adapter.drain(n, ctx.config.budgetMs);
  const [start] = await queryOn<{ lsn: string }>(
    databaseUrl,
    "SELECT pg_current_wal_lsn()::text AS lsn",
  );
  const d = await adapter.drain(n, ctx.config.budgetMs);
  const [wal] = await queryOn<{ bytes: number }>(
    databaseUrl,
    "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::float8 AS bytes",
    [start!.lsn],
  );
  return { ...d, walBytes: wal!.bytes };
}

/** With BENCH_PROFILE=1, q's statements of the drain: calls, time and rows of each kind. */
export function reportStatements(ctx: ScenarioContext, adapter: Adapter, result: Result): void {
  const statements = (adapter as { statements?: () => StatementStats[] }).statements?.();
  if (statements === undefined) return;
  result.extra = { ...result.extra, statements };
  for (const s of statements) {
    ctx.detail(
      `${s.statement.padEnd(24)} ${String(s.calls).padStart(6)} calls  ${(s.totalMs / s.calls).toFixed(2)} ms/call  ${(s.rows / s.calls).toFixed(1)} rows/call  ${(s.totalMs / 1000).toFixed(2)} s in all`,
    );
  }
}

/** Scenario 3: drain N queued no-op jobs with `concurrency` handlers. */
export async function drainScenario(ctx: ScenarioContext, variants: Variant[]): Promise<void> {
  const n = ctx.config.drainJobs;
  for (const variant of variants) {
    await withAdapter(ctx, "drain", variant, async (adapter, url) => {
      const d = await enqueueAndDrain(ctx, adapter, url, n);
      const result = drainResult("drain", variant, n, d);
      ctx.emit(result);
      const h = d.heapEnd;
      const mib = (b: number) => (b / MiB).toFixed(0);
      ctx.detail(
        `at the end: V8 heap ${mib(h.heapTotalBytes)} MiB committed (young generation ${mib(h.newSpaceBytes)} MiB), ${mib(h.heapUsedBytes)} MiB in use; ${mib(h.externalBytes)} MiB outside it`,
      );
      reportStatements(ctx, adapter, result);
    });
  }
}
