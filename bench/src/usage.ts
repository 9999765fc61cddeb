import { driverNames, scenarioNames } from "./config.js";

/**
 * `pnpm bench --help`: what the benchmark runs and every variable that
 * steers it (the same table as the README).
 */
export const usage = `Usage: [VARIABLE=value …] pnpm bench [--help]

Runs q, graphile-worker, pg-boss and BullMQ side by side on one PostgreSQL
(BullMQ on Redis) and prints every figure with q's ratio to each peer; q's
drivers other than @q/pg (postgres.js, Drizzle, Kysely) run beside it in
the worker-side scenarios, with their ratio to @q/pg. Each drain runs in a
process of its own and reports that process's peak RSS. Each scenario gets a
database of its own, created and dropped through DATABASE_URL.

Variables:
  DATABASE_URL          postgres://postgres@127.0.0.1:5432/test  admin connection; the scenarios create and drop databases next to it
  REDIS_URL             redis://127.0.0.1:6379                   Redis for BullMQ
  BENCH_SCALE           1                                        multiplies every job count below (e.g. 0.1 for a quick look)
  BENCH_ENQUEUE_ONE     2000                                     scenario 1
  BENCH_BULK_CALLS      20                                       scenario 2 (calls)
  BENCH_BULK_SIZE       1000                                     jobs per bulk call, also for queuing the drains
  BENCH_DRAIN           50000                                    scenarios 3 and 6
  BENCH_LATENCY_JOBS    300                                      scenario 4
  BENCH_LATENCY_GAP_MS  5                                        pause between a job's start and the next enqueue
  BENCH_HISTORY         1000000                                  done jobs written before the drain of scenarios 5 and 7 (10000000: about 4 min per library and setting)
  BENCH_HISTORY_DRAIN   50000                                    jobs drained in scenarios 5 and 7
  BENCH_FLOOR_LOOPS     1,2                                      loops at once in scenario 6
  BENCH_FLOOR_BATCH     10,200                                   jobs per claim in scenario 6
  BENCH_QUEUES_READY    1000000                                  ready jobs in one queue before the drains of scenario 8
  BENCH_QUEUES_DRAIN    100000                                   jobs drained from them per measurement in scenario 8
  BENCH_SCHEDULED       1000000                                  jobs scheduled for later beside the drain of scenario 9
  BENCH_CLAIM_ROUNDS    2                                        rounds of each pair of drains in scenarios 8 and 9
  BENCH_CONCURRENCY     10                                       handlers at once
  BENCH_BUDGET_S        20                                       longest one measurement may run
  BENCH_ONLY            all                                      scenarios to run: ${scenarioNames.join(",")}
  BENCH_LIBS            all                                      libraries to run: q,graphile-worker,pg-boss,bullmq
  BENCH_DRIVERS         all                                      q's drivers in scenarios 3-5: ${driverNames.join(",")} (@q/pg always runs, the baseline)
  BENCH_ISOLATE         1                                        0: run the drains in the bench process (peak RSS then includes earlier libraries)
  BENCH_PROFILE         off                                      1: time every statement q sends during the drains and print a breakdown
  BENCH_RESULTS         results/latest.json                      where the JSON report goes (relative to this package)

Example: BENCH_ONLY=drain BENCH_LIBS=q BENCH_PROFILE=1 pnpm bench
`;
