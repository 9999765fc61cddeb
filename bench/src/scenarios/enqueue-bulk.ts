import type { Variant } from "../adapter.js";
import { timed } from "../measure.js";
import { type ScenarioContext, withAdapter } from "./context.js";

/** Scenario 2: jobs enqueued through the library's bulk call, `bulkSize` per call. */
export async function enqueueBulkScenario(
  ctx: ScenarioContext,
  variants: Variant[],
): Promise<void> {
  const { bulkCalls, bulkSize } = ctx.config;
  const n = bulkCalls * bulkSize;
  for (const variant of variants.filter((v) => !v.workerOnly)) {
    await withAdapter(ctx, "enqueue-bulk", variant, async (adapter) => {
      // One untimed call first, so connections and code paths are warm.
      await adapter.enqueueBulk(-bulkSize, bulkSize);
      const ms = await timed(async () => {
        for (let c = 0; c < bulkCalls; c++) await adapter.enqueueBulk(c * bulkSize, bulkSize);
      });
      ctx.emit({
        scenario: "enqueue-bulk",
        library: variant.library,
        setting: variant.setting,
        figures: { "jobs/s": (n / ms) * 1000 },
        primary: "jobs/s",
        unit: "jobs/s",
        better: "higher",
        note: `(${bulkCalls} calls of ${bulkSize} in ${(ms / 1000).toFixed(2)} s)`,
      });
    });
  }
}
