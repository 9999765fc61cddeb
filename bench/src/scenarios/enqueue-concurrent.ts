import type { Variant } from "../adapter.js";
import { timed } from "../measure.js";
import { type ScenarioContext, withAdapter } from "./context.js";

/** Callers enqueueing at once, as the request handlers of a busy web app would. */
const CALLERS = 10;

/**
 * Scenario 1b: N jobs enqueued one per call by ten concurrent callers. Here
 * every commit that sends a NOTIFY queues on PostgreSQL's notify lock.
 */
export async function enqueueConcurrentScenario(
  ctx: ScenarioContext,
  variants: Variant[],
): Promise<void> {
  const n = ctx.config.enqueueOne;
  for (const variant of variants.filter((v) => !v.workerOnly)) {
    await withAdapter(ctx, "enqueue-concurrent", variant, async (adapter) => {
      for (let i = 0; i < 100; i++) await adapter.enqueueOne(-1 - i);
      let next = 0;
      const ms = await timed(async () => {
        await Promise.all(
          Array.from({ length: CALLERS }, async () => {
            while (next < n) await adapter.enqueueOne(next++);
          }),
        );
      });
      ctx.emit({
        scenario: "enqueue-concurrent",
        library: variant.library,
        setting: variant.setting,
        figures: { "jobs/s": (n / ms) * 1000 },
        primary: "jobs/s",
        unit: "jobs/s",
        better: "higher",
        note: `(${n} calls from ${CALLERS} concurrent callers in ${(ms / 1000).toFixed(2)} s)`,
      });
    });
  }
}
