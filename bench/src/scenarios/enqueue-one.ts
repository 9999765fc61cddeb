import type { Variant } from "../adapter.js";
import { timed } from "../measure.js";
import { type ScenarioContext, withAdapter } from "./context.js";

/** Scenario 1: N jobs enqueued one at a time, each call awaited before the next. */
export async function enqueueOneScenario(ctx: ScenarioContext, variants: Variant[]): Promise<void> {
  const n = ctx.config.enqueueOne;
  const warmup = Math.min(100, Math.ceil(n / 20));
  for (const variant of variants.filter((v) => !v.workerOnly)) {
    await withAdapter(ctx, "enqueue-one", variant, async (adapter) => {
      // Untimed warm-up: connections opened, statements and code paths warm.
      for (let i = 0; i < warmup; i++) await adapter.enqueueOne(-1 - i);
      const ms = await timed(async () => {
        for (let i = 0; i < n; i++) await adapter.enqueueOne(i);
      });
      ctx.emit({
        scenario: "enqueue-one",
        library: variant.library,
        setting: variant.setting,
        figures: { "jobs/s": (n / ms) * 1000 },
        primary: "jobs/s",
        unit: "jobs/s",
        better: "higher",
        note: `(${n} sequential calls in ${(ms / 1000).toFixed(2)} s)`,
      });
    });
  }
}
