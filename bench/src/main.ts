import { cpus, totalmem } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Variant } from "./adapter.js";
import { readConfig, type ScenarioName, scenarioNames } from "./config.js";
import { serverVersion } from "./database.js";
import { runInChild } from "./isolate.js";
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
import { libraryNames, loadVariants } from "./variants.js";

/** Scenarios whose every variant runs in a worker process of its own (unless BENCH_ISOLATE=0). */
const isolatedScenarios: ReadonlySet<ScenarioName> = new Set(["drain", "history"]);

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

  const wanted = config.libraries;
  const libraries = libraryNames.filter((l) => wanted === null || wanted.has(l));
  if (redis !== true && libraries.includes("bullmq")) {
    ctx.note(`BullMQ skipped: no Redis at ${config.redisUrl} (${redis})`);
  }
  const variants: Variant[] = await loadVariants(
    config,
    libraries,
    redis === true ? config.redisUrl : null,
  );

  for (const scenario of scenarioNames) {
    if (config.scenarios !== null && !config.scenarios.has(scenario)) continue;
    const qOnly = scenario === "floor" || scenario === "queues" || scenario === "scheduled";
    if (qOnly && config.libraries !== null && !config.libraries.has("q")) continue;
    console.log("");
    const here = variants.filter(
      (v) => v.scenarios === undefined || v.scenarios.includes(scenario),
    );
    if (config.isolate && isolatedScenarios.has(scenario)) {
      for (const variant of here) await runInChild(ctx, scenario, variant);
    } else {
      await runners[scenario](ctx, here);
    }
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
