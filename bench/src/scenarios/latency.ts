import type { Variant } from "../adapter.js";
import { percentile } from "../measure.js";
import { type ScenarioContext, withAdapter } from "./context.js";

/** Scenario 4: enqueue→start latency with an idle worker. */
export async function latencyScenario(ctx: ScenarioContext, variants: Variant[]): Promise<void> {
  const { latencyJobs: jobs, latencyGapMs: gapMs, budgetMs } = ctx.config;
  for (const variant of variants) {
    await withAdapter(ctx, "latency", variant, async (adapter) => {
      const { samples, unstarted } = await adapter.latency({ jobs, gapMs, budgetMs });
      const short = samples.length < jobs ? `, budget spent after ${samples.length}` : "";
      const lost = unstarted > 0 ? `, ${unstarted} never started` : "";
      ctx.emit({
        scenario: "latency",
        library: variant.library,
        setting: variant.setting,
        figures: {
          p50: percentile(samples, 50),
          p95: percentile(samples, 95),
          p99: percentile(samples, 99),
        },
        primary: "p50",
        unit: "ms",
        better: "lower",
        note: `(${samples.length} jobs${short}${lost})`,
        extra: { samples: samples.length, unstarted, max: Math.max(...samples) },
      });
    });
  }
}
