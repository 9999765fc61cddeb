import { cpus, totalmem } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Variant } from "./adapter.js";
import { bullMqVariants } from "./adapters/bullmq.js";
import { graphileWorkerVariants } from "./adapters/graphile-worker.js";
import { pgBossVariants } from "./adapters/pg-boss.js";
import { qVariants } from "./adapters/q.js";
import { readConfig, type ScenarioName, scenarioNames } from "./config.js";
import { serverVersion } from "./database.js";
import { redisReachable } from "./redis.js";
import { formatRatio, formatResult, type Result, ratios, writeJson } from "./report.js";
import { queuesScenario, scheduledScenario } from "./scenarios/claim-paths.js";
import { cleanupScenario } from "./scenarios/cleanup.js";
import type { ScenarioContext } from "./scenarios/context.js";
import { drainScenario } from "./scenarios/drain.js";
import { enqueueBulkScenario } from "./scenarios/enqueue-bulk.js";
import { enqueueConcurrentScenario } from "./scenarios/enqueue-concurrent.js";
import { enqueueOneScenario } from "./scenarios/enqueue-one.js";
import { floorScenario } from "./scenarios/floor.js";
import { historyScenario } from "./scenarios/history.js";
import { latencyScenario } from "./scenarios/latency.js";
import { usage } from "./usage.js";

const runners: Record<ScenarioName, (ctx: ScenarioContext, variants: Variant[]) => Promise<void>> =
  {
    "enqueue-one": enqueueOneScenario,
    "enqueue-concurrent": enqueueConcurrentScenario,
    "enqueue-bulk": enqueueBulkScenario,
    drain: drainScenario,
    latency: latencyScenario,
    history: historyScenario,
    floor: (ctx) => floorScenario(ctx),
    cleanup: cleanupScenario,
    queues: (ctx) => queuesScenario(ctx),
    scheduled: (ctx) => scheduledScenario(ctx),
  };

async function main(): Promise<void> {
  // `pnpm bench` forwards its arguments after a `--`.
  const args = process.argv.slice(2).filter((a) => a !== "--");
  if (args.includes("--help") || args.includes("-h")) {
    console.log(usage);
    return;
  }
  if (args.length > 0) {
    console.error(`unknown arguments: ${args.join(" ")}\n\n${usage}`);
    process.exitCode = 2;
    return;
  }
  const config = readConfig();
  const started = new Date();
  const results: Result[] = [];
  const notes: string[] = [];
  const ctx: ScenarioContext = {
    config,
    emit(result) {
      results.push(result);
      console.log(formatResult(result));
    },
    detail(line) {
      console.log(`  ${line}`);
    },
    note(message) {
      notes.push(message);
      console.log(`  note: ${message}`);
    },
  };

  const postgres = await serverVersion(config.databaseUrl);
  const redis = await redisReachable(config.redisUrl);
  const cpu = cpus();
  const machine = {
    cpus: cpu.length,
    cpuModel: cpu[0]?.model ?? "unknown",
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    postgres,
    redis: redis === true ? "reachable" : `unreachable (${redis})`,
  };
  console.log(
    `q benchmark — ${started.toISOString()} — ${machine.cpus} × ${machine.cpuModel}, PostgreSQL ${postgres}, Node ${process.version}`,
  );
  console.log(
    `jobs: enqueue-one ${config.enqueueOne}, enqueue-bulk ${config.bulkCalls}×${config.bulkSize}, drain ${config.drainJobs}, latency ${config.latencyJobs}, history ${config.historyRows} (+${config.historyDrainJobs} drained), queues ${config.queuesReady} ready (${config.queuesDrain} drained), scheduled ${config.scheduledJobs}; concurrency ${config.concurrency}; budget ${config.budgetMs / 1000} s per measurement`,
  );

  let variants: Variant[] = [
    ...qVariants({ concurrency: config.concurrency, profile: config.profile }),
    ...graphileWorkerVariants(config.concurrency),
    ...pgBossVariants(config.concurrency),
  ];
  if (redis === true) variants.push(...bullMqVariants(config.redisUrl, config.concurrency));
  else ctx.note(`BullMQ skipped: no Redis at ${config.redisUrl} (${redis})`);
  if (config.libraries !== null) {
    const wanted = config.libraries;
    variants = variants.filter((v) => wanted.has(v.library));
  }

  for (const scenario of scenarioNames) {
    if (config.scenarios !== null && !config.scenarios.has(scenario)) continue;
    const qOnly = scenario === "floor" || scenario === "queues" || scenario === "scheduled";
    if (qOnly && config.libraries !== null && !config.libraries.has("q")) continue;
    console.log("");
    await runners[scenario](ctx, variants);
  }

  const rs = ratios(results);
  console.log(
    "\nratios: q's figure ÷ the peer's, both from this run (jobs/s: above 1× means q is faster; latency: below 1× means q is faster)",
  );
  for (const r of rs) console.log(formatRatio(r));

  // A relative results path is taken from the bench package's folder, wherever it is run from.
  const file = resolve(fileURLToPath(new URL("..", import.meta.url)), config.resultsFile);
  await writeJson(file, {
    date: started.toISOString(),
    finished: new Date().toISOString(),
    machine,
    config: {
      ...config,
      scenarios: config.scenarios && [...config.scenarios],
      libraries: config.libraries && [...config.libraries],
      databaseUrl: undefined,
    },
    results,
    ratios: rs,
    notes,
  });
  const minutes = ((Date.now() - started.getTime()) / 60_000).toFixed(1);
  console.log(`\nresults written to ${config.resultsFile} (whole run ${minutes} min)`);
}

// No process.exit on success: every library must close what it opened for the process to end.
main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
