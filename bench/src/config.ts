/** Every knob of the benchmark, read once from the environment. */
export interface Config {
  /** Admin connection: each scenario creates (and drops) its own database through it. */
  databaseUrl: string;
  redisUrl: string;
  /** Handlers running at once in every worker-side scenario. */
  concurrency: number;
  enqueueOne: number;
  bulkCalls: number;
  bulkSize: number;
  drainJobs: number;
  latencyJobs: number;
  latencyGapMs: number;
  historyRows: number;
  historyDrainJobs: number;
  floorLoops: number[];
  floorBatches: number[];
  /** Ready jobs in one queue before the several-queues drains. */
  queuesReady: number;
  /** Jobs drained from that backlog per measurement. */
  queuesDrain: number;
  /** Jobs scheduled for later beside the scheduled-backlog drain. */
  scheduledJobs: number;
  /** Rounds of each pair of q-against-itself drains. */
  claimRounds: number;
  /** Longest any one measurement may run; a slower library is reported on what it did by then. */
  budgetMs: number;
  scenarios: Set<string> | null;
  libraries: Set<string> | null;
  /** q's drivers to run beside `@q/pg` (BENCH_DRIVERS); null: all. */
  drivers: Set<string> | null;
  /** Run each library's drain (and history drain) in a process of its own. */
  isolate: boolean;
  profile: boolean;
  resultsFile: string;
}

export const scenarioNames = [
  "enqueue-one",
  "enqueue-concurrent",
  "enqueue-bulk",
  "drain",
  "latency",
  "history",
  "floor",
  "cleanup",
  "queues",
  "scheduled",
] as const;
export type ScenarioName = (typeof scenarioNames)[number];

/**
 * q's drivers (BENCH_DRIVERS): `pg` is `@q/pg`, the baseline, which always
 * runs; the others run beside it in the worker-side scenarios.
 */
export const driverNames = [
  "pg",
  "postgres",
  "drizzle-pg",
  "drizzle-postgres",
  "kysely-pg",
  "kysely-postgres",
] as const;
export type DriverName = (typeof driverNames)[number];

function num(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw.replaceAll("_", ""));
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number ≥ 0`);
  return value;
}

function list(env: NodeJS.ProcessEnv, name: string): Set<string> | null {
  const raw = env[name]?.trim();
  if (!raw) return null;
  return new Set(raw.split(",").map((s) => s.trim()));
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const scale = num(env, "BENCH_SCALE", 1);
  const scaled = (name: string, fallback: number) =>
    Math.max(1, Math.round(num(env, name, fallback * scale)));
  const scenarios = list(env, "BENCH_ONLY");
  for (const s of scenarios ?? []) {
    if (!(scenarioNames as readonly string[]).includes(s)) {
      throw new Error(`BENCH_ONLY: unknown scenario "${s}" (know ${scenarioNames.join(", ")})`);
    }
  }
  const drivers = list(env, "BENCH_DRIVERS");
  for (const d of drivers ?? []) {
    if (!(driverNames as readonly string[]).includes(d)) {
      throw new Error(`BENCH_DRIVERS: unknown driver "${d}" (know ${driverNames.join(", ")})`);
    }
  }
  const drainJobs = scaled("BENCH_DRAIN", 50_000);
  return {
    databaseUrl: env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/test",
    redisUrl: env.REDIS_URL || "redis://127.0.0.1:6379",
    concurrency: num(env, "BENCH_CONCURRENCY", 10),
    enqueueOne: scaled("BENCH_ENQUEUE_ONE", 2000),
    bulkCalls: scaled("BENCH_BULK_CALLS", 20),
    bulkSize: num(env, "BENCH_BULK_SIZE", 1000),
    drainJobs,
    latencyJobs: scaled("BENCH_LATENCY_JOBS", 300),
    latencyGapMs: num(env, "BENCH_LATENCY_GAP_MS", 5),
    historyRows: Math.round(num(env, "BENCH_HISTORY", 1_000_000 * scale)),
    historyDrainJobs: scaled("BENCH_HISTORY_DRAIN", 50_000),
    floorLoops: (env.BENCH_FLOOR_LOOPS || "1,2").split(",").map(Number),
    floorBatches: (env.BENCH_FLOOR_BATCH || "10,200").split(",").map(Number),
    queuesReady: scaled("BENCH_QUEUES_READY", 1_000_000),
    queuesDrain: scaled("BENCH_QUEUES_DRAIN", 100_000),
    scheduledJobs: scaled("BENCH_SCHEDULED", 1_000_000),
    claimRounds: Math.max(1, Math.round(num(env, "BENCH_CLAIM_ROUNDS", 2))),
    budgetMs: num(env, "BENCH_BUDGET_S", 20) * 1000,
    scenarios,
    libraries: list(env, "BENCH_LIBS"),
    drivers,
    isolate: env.BENCH_ISOLATE !== "0",
    profile: env.BENCH_PROFILE === "1",
    resultsFile: env.BENCH_RESULTS || "results/latest.json",
  };
}
