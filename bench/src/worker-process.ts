import type { Variant } from "./adapter.js";
import { readConfig } from "./config.js";
import { type ChildMessage, markIsolated } from "./isolate.js";
import type { ScenarioContext } from "./scenarios/context.js";
import { drainScenario } from "./scenarios/drain.js";
import { historyScenario } from "./scenarios/history.js";
import { loadVariants } from "./variants.js";

/**
 * The entry of a worker process: one scenario for one library in one
 * setting, `node worker-process.js <scenario> <library> <setting>`, forked by
 * the bench process, which it reports to over IPC.
 */
const runners: Record<string, (ctx: ScenarioContext, variants: Variant[]) => Promise<void>> = {
  drain: drainScenario,
  history: historyScenario,
};

const send = (message: ChildMessage) =>
  new Promise<void>((resolve, reject) =>
    process.send!(message, undefined, {}, (error) => (error ? reject(error) : resolve())),
  );

async function main(): Promise<void> {
  const [scenario = "", library, setting] = process.argv.slice(2);
  const runner = runners[scenario];
  if (process.send === undefined || runner === undefined) {
    throw new Error(
      "run by the bench process only: worker-process.js <scenario> <library> <setting>",
    );
  }
  markIsolated();
  const config = readConfig();
  // The bench process only forks a BullMQ variant when Redis answered.
  const variants = await loadVariants(config, [library ?? ""], config.redisUrl);
  const variant = variants.find((v) => v.library === library && v.setting === setting);
  if (variant === undefined) throw new Error(`no variant ${library}(${setting})`);
  const pending: Promise<void>[] = [];
  const ctx: ScenarioContext = {
    config,
    emit: (result) => void pending.push(send({ kind: "emit", result })),
    detail: (line) => void pending.push(send({ kind: "detail", line })),
    note: (message) => void pending.push(send({ kind: "note", message })),
  };
  await runner(ctx, [variant]);
  await Promise.all(pending);
  // maxRSS is in KiB.
  await send({ kind: "end", maxRssBytes: process.resourceUsage().maxRSS * 1024 });
  // The IPC channel would keep the process alive; everything else must close by itself.
  process.disconnect();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
