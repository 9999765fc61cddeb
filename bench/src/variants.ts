import type { Variant } from "./adapter.js";
import type { Config } from "./config.js";

export const libraryNames = ["q", "graphile-worker", "pg-boss", "bullmq"] as const;

/**
 * The variants of the given libraries. Each library's adapter (and so the
 * library itself) is loaded only when asked for, so that a worker process
 * running one library holds no other in memory.
 */
export async function loadVariants(
  config: Config,
  libraries: readonly string[],
  redisUrl: string | null,
): Promise<Variant[]> {
  const out: Variant[] = [];
  for (const library of libraries) {
    switch (library) {
      case "q": {
        const { qVariants } = await import("./adapters/q.js");
        out.push(
          ...qVariants({
            concurrency: config.concurrency,
            profile: config.profile,
            drivers: config.drivers,
          }),
        );
        break;
      }
      case "graphile-worker": {
        const { graphileWorkerVariants } = await import("./adapters/graphile-worker.js");
        out.push(...graphileWorkerVariants(config.concurrency));
        break;
      }
      case "pg-boss": {
        const { pgBossVariants } = await import("./adapters/pg-boss.js");
        out.push(...pgBossVariants(config.concurrency));
        break;
      }
      case "bullmq": {
        if (redisUrl === null) break;
        const { bullMqVariants } = await import("./adapters/bullmq.js");
        out.push(...bullMqVariants(redisUrl, config.concurrency));
        break;
      }
    }
  }
  return out;
}
