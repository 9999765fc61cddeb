/**
 * What the dashboard needs of a queue, typed by shape: a `Queue` of
 * `@q/core` fits, whatever its tasks and transaction type.
 *
 * @module
 */
import type {
  CancelOutcome,
  Job,
  JobFilter,
  JobPage,
  PageOptions,
  QueueStats,
  StateCount,
} from "@q/core";

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
