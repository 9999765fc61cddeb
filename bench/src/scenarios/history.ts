import type { Variant } from "../adapter.js";
import { queryOn } from "../database.js";
import { timed } from "../measure.js";
import { type ScenarioContext, withAdapter } from "./context.js";
import { drainResult, enqueueAndDrain, reportStatements } from "./drain.js";

/**
 * Scenario 5: the drain again, beside a large history of done jobs written
 * straight into each library's table, then vacuumed and analyzed as
 * autovacuum would have by then.
 */
export async function historyScenario(ctx: ScenarioContext, variants: Variant[]): Promise<void> {
  const { historyRows: rows, historyDrainJobs: n } = ctx.config;
  for (const variant of variants) {
    if (variant.store !== "postgres") {
      ctx.note(`history: ${variant.library} skipped (its jobs do not live in PostgreSQL)`);
      continue;
    }
    await withAdapter(ctx, "history", variant, async (adapter, url) => {
      if (adapter.insertHistory === undefined || url === null) {
        ctx.note(`history: ${variant.library} skipped (keeps no history)`);
        return;
      }
      let written = "";
      const insertMs = await timed(async () => {
        written = await adapter.insertHistory!(rows);
      });
      await queryOn(url, "VACUUM ANALYZE");
      const d = await enqueueAndDrain(ctx, adapter, url, n);
      const result = drainResult("history", variant, n, d, `; history: ${written}`);
      result.extra = { ...result.extra, historyRows: rows, historyInsertMs: insertMs, written };
      ctx.emit(result);
      reportStatements(ctx, adapter, result);
    });
  }
}
