import { cleanup } from "@q/cleanup";
import { createQueue, silentLogger } from "@q/core";
import { createPgDriver } from "@q/pg";
import type { Variant } from "../adapter.js";
import { openPool, queryOn } from "../database.js";
import { timed } from "../measure.js";
import { type ScenarioContext, withAdapter } from "./context.js";
import { drainResult, enqueueAndDrain } from "./drain.js";

/**
 * Scenario 7: the cost of a cleanup pass. A million finished jobs an hour
 * old, as in the history scenario; after an untimed warm-up drain, q drains
 * 50 000 jobs once alone and once
 * while one cleanup pass deletes the million (on a pool of its own, as a
 * second process would). The drain's throughput during the pass, against
 * the drain alone, is the cost.
 */
export async function cleanupScenario(ctx: ScenarioContext, variants: Variant[]): Promise<void> {
  const { historyRows: rows, historyDrainJobs: n } = ctx.config;
  const variant = variants.find((v) => v.library === "q" && v.setting === "default");
  if (variant === undefined) return;
  await withAdapter(ctx, "cleanup", variant, async (adapter, url) => {
    if (adapter.insertHistory === undefined || url === null) return;
    await adapter.insertHistory(rows);
    await queryOn(url, "VACUUM ANALYZE");
    // An untimed drain first: the first one on a fresh table pays for what the second would not.
    await enqueueAndDrain(ctx, adapter, url, Math.ceil(n / 5));
    const alone = await enqueueAndDrain(ctx, adapter, url, n);
    const first = drainResult("cleanup", variant, n, alone);
    first.setting = "drain alone";
    ctx.emit(first);

    const pool = openPool(url, 2);
    // The history is an hour old; the drain's own jobs are younger than the age.
    const retention = cleanup({ finishedAfter: 10 * 60_000 });
    const queue = createQueue({
      driver: createPgDriver(pool),
      tasks: {},
      plugins: [retention],
      logger: silentLogger,
    });
    try {
      await queue.start();
      for (let from = 0; from < n; from += ctx.config.bulkSize) {
        await adapter.enqueueBulk(2 * n + from, Math.min(ctx.config.bulkSize, n - from));
      }
      await queryOn(url, "ANALYZE");
      await queryOn(url, "CHECKPOINT").catch(() => {});
      let passMs = 0;
      let deleted = 0;
      let passEnd = 0;
      const pass = timed(async () => {
        deleted = (await retention.run()).finished;
        passEnd = performance.now();
      }).then((ms) => {
        passMs = ms;
      });
      const during = await adapter.drain(n, ctx.config.budgetMs);
      const drainEnd = performance.now();
      await pass;
      const overlap =
        passEnd >= drainEnd
          ? "; the whole drain ran during the pass"
          : `; the pass ended ${((drainEnd - passEnd) / 1000).toFixed(2)} s before the drain did`;
      const result = drainResult("cleanup", variant, n, during, overlap);
      result.setting = "during a pass";
      ctx.emit(result);
      ctx.detail(
        `cleanup pass: ${deleted} finished jobs deleted in ${(passMs / 1000).toFixed(2)} s (${Math.round((deleted / passMs) * 1000)} rows/s), batches of 1000; drain during it ${((during.done / during.ms / (alone.done / alone.ms)) * 100).toFixed(0)} % of the drain alone`,
      );
      result.extra = { ...result.extra, historyRows: rows, deleted, passMs, alone };
    } finally {
      await queue.close();
      await pool.end();
    }
  });
}
