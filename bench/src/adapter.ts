/** What every library under test offers the scenarios. One instance serves one scenario. */
export interface Adapter {
  /** The library, as printed: "q", "graphile-worker", "pg-boss", "bullmq". */
  readonly library: string;
  /** The setting, as printed: "default", "prefetch 10", "fast". */
  readonly setting: string;
  /** Creates the library's tables in the given (fresh) database, or its queue in Redis. No worker yet. */
  setup(databaseUrl: string): Promise<void>;
  /** Enqueues one job with payload `{ i }`. */
  enqueueOne(i: number): Promise<void>;
  /** Enqueues `count` jobs with payloads `{ i: from … from + count - 1 }` in one call. */
  enqueueBulk(from: number, count: number): Promise<void>;
  /** Starts the workers, waits until `n` queued jobs are settled (or the budget is spent), stops them. */
  drain(n: number, budgetMs: number): Promise<DrainResult>;
  /** Starts an idle worker and measures enqueue→start of jobs enqueued one by one. */
  latency(options: LatencyOptions): Promise<LatencyResult>;
  /**
   * Writes `rows` jobs that are done straight into the library's table with one
   * `INSERT … SELECT generate_series`. Absent where the library keeps no history
   * in PostgreSQL. Returns what was written, for the report.
   */
  insertHistory?(rows: number): Promise<string>;
  /** Stops everything and closes every connection. */
  teardown(): Promise<void>;
}

export interface DrainResult {
  /** Jobs settled before the end. */
  done: number;
  ms: number;
  /** Whether all `n` were settled within the budget. */
  complete: boolean;
  /** CPU time of this process during the drain, ms (user + system). */
  cpuMs: number;
  /** Resident set size of this process when the drain started, bytes. */
  rssStartBytes: number;
  /** Highest resident set size of this process sampled during the drain, bytes. */
  rssPeakBytes: number;
  /**
   * WAL the server wrote during the drain, bytes: the work of every write a
   * library makes per job, which host load does not move. The whole cluster's
   * WAL, so on a shared server it counts others' writes too.
   */
  walBytes?: number;
  /** V8's heap when the drain ended: committed, in use, of which the young generation, and memory outside it. */
  heapEnd: {
    heapTotalBytes: number;
    heapUsedBytes: number;
    newSpaceBytes: number;
    externalBytes: number;
  };
}

export interface LatencyOptions {
  jobs: number;
  gapMs: number;
  budgetMs: number;
}

export interface LatencyResult {
  /** Enqueue→start of each job that started, ms. */
  samples: number[];
  /** Jobs enqueued that had not started when the budget ran out. */
  unstarted: number;
}

/** A library in one setting, as a factory: each scenario gets a new adapter. */
export interface Variant {
  library: string;
  setting: string;
  /** Where its jobs live: PostgreSQL gets a fresh database per scenario. */
  store: "postgres" | "redis";
  /** True when the setting changes only the worker, so enqueue scenarios skip it. */
  workerOnly: boolean;
  /** The only scenarios it runs in; absent: every scenario it fits. */
  scenarios?: readonly string[];
  /**
   * The setting of the same library its results are a ratio of (q's other
   * drivers against `@q/pg`); such results are compared with nothing else.
   */
  against?: string;
  create(): Adapter;
}
