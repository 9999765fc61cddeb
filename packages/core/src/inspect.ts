import type { Job, JobState } from "./job.js";

/**
 * Which jobs {@link Storage.listJobs} returns. Every field narrows; an empty
 * filter lists every job. Ranges are half-open: `from` inclusive, `to`
 * exclusive.
 */
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

/** One page of a listing: newest (highest id) first unless `order` is `"oldest"`. */
export interface PageOptions {
  /** Default 50, at most 1 000. */
  limit?: number;
  /** Default `"newest"`. */
  order?: "newest" | "oldest";
  /** The `next` cursor of the previous page; opaque to callers. */
  after?: string;
}

/** A page of jobs and the cursor of the next one (`null` on the last page). */
export interface JobPage {
  jobs: Job[];
  next: string | null;
}

/** How many jobs one queue holds in one state. */
export interface StateCount {
  queue: string;
  state: JobState;
  count: number;
  /**
   * False when the count is the planner's estimate: terminal states of a large
   * history are estimated so a call stays cheap at any table size.
   */
  exact: boolean;
}

/** What an operator wants to know of one queue at a glance. */
export interface QueueStats {
  queue: string;
  /** Ready jobs whose time has come. */
  ready: number;
  /** Ready jobs scheduled for later. */
  scheduled: number;
  claimed: number;
  /** Milliseconds the oldest due ready job has waited (0 when none waits). */
  lagMs: number;
  /** Jobs finished or failed over the last minute, per second. */
  throughput: number;
  paused: boolean;
  /** Since when the queue is paused (`null` when it is not). */
  pausedAt: Date | null;
}
