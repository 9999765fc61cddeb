import type { JobFilter, JobPage, PageOptions, QueueStats, StateCount } from "./inspect.js";
import type { ClaimedJob, Job, JobError, JobState } from "./job.js";

/** A job to insert, already validated and serialised by the queue. */
export interface NewJob {
  queue: string;
  task: string;
  /** The payload as JSON text. */
  payload: string;
  priority: number;
  /** Absolute start time; wins over `delayMs`. */
  runAt: Date | null;
  /** Start after this many ms, by the database clock. */
  delayMs: number;
  maxAttempts: number;
  key: string | null;
  /** `meta` as JSON text of a plain object. */
  meta: string;
}

/** What to do when a job's key matches a live (ready or claimed) job. */
export type KeyConflict = "skip" | "replace";

/** One inserted (or deduplicated) job. */
export interface Inserted {
  id: string;
  queue: string;
  task: string;
  /** True when a live job with the same key already existed and no row was added. */
  deduped: boolean;
}

/** How a worker ends one claim. Every outcome is guarded by the claim token. */
export type Settlement =
  | { kind: "finish"; id: string; token: string; result: string | null }
  | { kind: "retry"; id: string; token: string; delayMs: number; error: JobError }
  | { kind: "fail"; id: string; token: string; error: JobError }
  | { kind: "snooze"; id: string; token: string; delayMs: number }
  | { kind: "release"; id: string; token: string };

/** The result of one settlement: applied, or the claim was already lost. */
export interface Settled {
  id: string;
  kind: Settlement["kind"];
  applied: boolean;
  /**
   * The job's state after an applied settlement: `failed` for a retry, snooze
   * or release of a job whose cancel was requested.
   */
  state?: JobState;
}

/** A job moved by a rescue. */
export interface Rescued {
  id: string;
  task: string;
  queue: string;
  /** `ready` when it has attempts left, else `failed` with `WORKER_LOST`. */
  state: "ready" | "failed";
  worker: string;
}

/** A message on the storage's notification channel. */
export type Notice =
  | { type: "jobs"; queue: string }
  | { type: "cancel"; id: string; worker: string | null };

/** A registered worker process. */
export interface WorkerInfo {
  id: string;
  queues: string[];
  host: string;
  pid: number;
}

/** A claim as the table records it: which job, under which token. */
export interface Held {
  id: string;
  token: string;
}

/** What a heartbeat learns back. */
export interface Beat {
  /** Ids of this worker's claimed jobs that someone asked to cancel. */
  cancelled: string[];
  /**
   * Every job the table says this worker holds. A claim whose reply was lost
   * shows up here and nowhere in the worker's memory: the worker releases it.
   */
  held: Held[];
}

/** The outcome of `cancel`. */
export type CancelOutcome =
  | "cancelled" // it was ready: now failed (cancelled)
  | "requested" // it is running: its worker is told to abort it
  | "terminal"; // already finished or failed: nothing to do

/**
 * The state machine's storage. The queue and worker speak only in these
 * operations; each transition is one statement guarded by the state it leaves
 * (and, for claimed jobs, the claim token).
 *
 * `tx` parameters are the caller's native transaction handle; a storage that
 * has no transactions ignores them.
 */
export interface Storage {
  /** Creates or upgrades the tables. Idempotent and safe to run concurrently. */
  migrate(): Promise<void>;
  /** Inserts jobs in one statement, honouring keys, and wakes idle workers. */
  insert(jobs: NewJob[], conflict: KeyConflict, tx?: unknown): Promise<Inserted[]>;
  /**
   * Claims up to `limit` ready jobs of `queues` for `worker`, charging one
   * attempt each. With `tasks` (a worker passes the tasks it has handlers
   * for), only jobs of those tasks: others wait for a worker that knows them.
   */
  claim(
    worker: string,
    queues: readonly string[],
    limit: number,
    tasks?: readonly string[],
  ): Promise<ClaimedJob[]>;
  /**
   * Applies settlements in one statement; stale ones change nothing. A retry,
   * snooze or release of a job with a recorded cancel request fails it as
   * `CANCELLED` instead: a cancelled job never runs again.
   */
  settle(settlements: readonly Settlement[]): Promise<Settled[]>;
  /**
   * Registers or refreshes a worker; returns cancel requests for its jobs and
   * every claim the table says it holds. Runs on the driver's control
   * connection when it has one, so it never waits behind the user's queries.
   */
  heartbeat(worker: WorkerInfo): Promise<Beat>;
  /**
   * Of `ids`, those `worker` holds with a recorded cancel request. A cancel
   * notification is only a hint: the worker asks this before aborting.
   */
  cancelRequested(worker: string, ids: readonly string[]): Promise<string[]>;
  /** Removes a worker row (after it released its jobs). */
  unregister(workerId: string): Promise<void>;
  /**
   * Returns claimed jobs of workers silent for `leaseMs` to ready (or failed
   * when spent, or cancelled when a cancel was requested), and removes the
   * rows of those workers.
   */
  rescue(leaseMs: number): Promise<Rescued[]>;
  getJob(id: string, tx?: unknown): Promise<Job | null>;
  /** `failed → ready` with a fresh set of attempts. */
  retry(id: string, tx?: unknown): Promise<Job>;
  /** Cancels a ready job at once, or asks the owner of a claimed job to abort it. */
  cancel(id: string, tx?: unknown): Promise<CancelOutcome>;
  /**
   * One page of jobs matching `filter`, newest or oldest first, after the
   * page's cursor (keyset on the id: no OFFSET). Checks both before any query
   * (`INVALID_OPTION`).
   */
  listJobs(filter?: JobFilter, page?: PageOptions): Promise<JobPage>;
  /**
   * Jobs by queue and state. Ready and claimed counts are exact; terminal
   * ones may be estimates over a large history (`exact: false`).
   */
  countJobs(): Promise<StateCount[]>;
  /** Per queue: due, scheduled and claimed jobs, lag, throughput, pause. */
  queueStats(): Promise<QueueStats[]>;
  /** Stops claims from `queue` everywhere, until {@link Storage.resume}. Idempotent. */
  pause(queue: string): Promise<void>;
  /** Lets `queue` be claimed from again and wakes its workers. Idempotent. */
  resume(queue: string): Promise<void>;
  /** The paused queues, by name. */
  paused(): Promise<string[]>;
  /**
   * Stores a run's latest progress (JSON text), guarded by its claim token:
   * false when the claim is lost (nothing changed).
   */
  saveProgress(id: string, token: string, progress: string): Promise<boolean>;
  /**
   * Stores a run's checkpoint (JSON text) for the job's next run, guarded by
   * its claim token: false when the claim is lost (nothing changed).
   */
  saveCheckpoint(id: string, token: string, checkpoint: string): Promise<boolean>;
  /** Subscribes to notices; `undefined` when the storage cannot push (callers poll). */
  listen?(
    onNotice: (notice: Notice) => void,
    onReconnect: () => void,
    onError: (error: unknown) => void,
  ): Promise<() => Promise<void>>;
  /** The storage's clock (`now()` for PostgreSQL). */
  now(): Promise<Date>;
  /** Releases what the storage opened itself. */
  close?(): Promise<void>;
}
