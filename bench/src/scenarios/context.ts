import type { Adapter, Variant } from "../adapter.js";
import type { Config } from "../config.js";
import { withFreshDatabase } from "../database.js";
import type { Result } from "../report.js";

/** What every scenario gets from main. */
export interface ScenarioContext {
  config: Config;
  /** Records a result and prints its line. */
  emit(result: Result): void;
  /** Prints a line under the last result (statement profile, …). */
  detail(line: string): void;
  /** Prints a remark (a skipped library, a failure) and keeps it for the report. */
  note(message: string): void;
}

/**
 * Runs `fn` with a set-up adapter of `variant` on a fresh database (or a fresh
 * queue in Redis), then tears everything down. A failure is noted, not thrown,
 * so one library's trouble does not end the run.
 */
export async function withAdapter(
  ctx: ScenarioContext,
  scenario: string,
  variant: Variant,
  fn: (adapter: Adapter, databaseUrl: string | null) => Promise<void>,
): Promise<void> {
  const run = async (url: string | null) => {
    const adapter = variant.create();
    try {
      await adapter.setup(url ?? "");
      await fn(adapter, url);
    } finally {
      await adapter.teardown();
    }
  };
  try {
    if (variant.store === "redis") await run(null);
    else {
      const label = `${scenario}_${variant.library}_${variant.setting}`;
      await withFreshDatabase(ctx.config.databaseUrl, label, run);
    }
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    ctx.note(`${scenario} ${variant.library}(${variant.setting}) failed: ${message}`);
  }
}

/** Enqueues `n` jobs in calls of `size` through the library's bulk call. */
export async function preEnqueue(adapter: Adapter, n: number, size: number): Promise<void> {
  for (let from = 0; from < n; from += size) {
    await adapter.enqueueBulk(from, Math.min(size, n - from));
  }
}
