/**
 * What the dashboard needs of a queue, typed by shape: a `Queue` of
 * `@q/core` fits, whatever its tasks and transaction type.
 *
 * @module
 */
import type { CancelOutcome, Job, JobState } from "@q/core";

/** Which jobs a listing returns; the fields of `@q/core`'s `JobFilter` that the dashboard sets. */
export interface JobFilter {
  queue?: string | readonly string[];
  task?: string | readonly string[];
  state?: JobState | readonly JobState[];
  key?: string;
  createdFrom?: Date;
  createdTo?: Date;
  finishedFrom?: Date;
  finishedTo?: Date;
}

/** One page of a listing (`@q/core`'s `PageOptions`). */
export interface PageOptions {
  limit?: number;
  order?: "newest" | "oldest";
  after?: string;
}

/** A page of jobs and the cursor of the next one. */
export interface JobPage {
  jobs: Job[];
  next: string | null;
}

/** How many jobs one queue holds in one state. */
export interface StateCount {
  queue: string;
  state: JobState;
  count: number;
  exact: boolean;
}

/** One queue at a glance. */
export interface QueueStats {
  queue: string;
  ready: number;
  scheduled: number;
  claimed: number;
  lagMs: number;
  throughput: number;
  paused: boolean;
  /** Since when the queue is paused, where the core reports it. */
  pausedAt?: Date | null;
}

/** The queue operations the dashboard reads and calls. */
export interface DashboardQueue {
  getJob(id: string): Promise<Job | null>;
  retry(id: string): Promise<Job>;
  cancel(id: string): Promise<CancelOutcome>;
  listJobs(filter?: JobFilter, page?: PageOptions): Promise<JobPage>;
  counts(): Promise<StateCount[]>;
  stats(): Promise<QueueStats[]>;
  pause(queue: string): Promise<unknown>;
  resume(queue: string): Promise<unknown>;
}
