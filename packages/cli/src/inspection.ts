/**
 * The inspection and pause API of the queue, as the CLI uses it.
 *
 * @module
 */
import type { Job, JobState } from "@q/core";
import type { AdminQueue } from "./connection.js";

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
export interface PageOptions {
  limit?: number;
  order?: "newest" | "oldest";
  after?: string;
}
export interface JobPage {
  jobs: Job[];
  next: string | null;
}
export interface StateCount {
  queue: string;
  state: JobState;
  count: number;
  exact: boolean;
}
export interface QueueStats {
  queue: string;
  ready: number;
  scheduled: number;
  claimed: number;
  lagMs: number;
  throughput: number;
  paused: boolean;
  pausedAt: Date | null;
}

interface Inspecting {
  listJobs(filter?: JobFilter, page?: PageOptions): Promise<JobPage>;
  counts(): Promise<StateCount[]>;
  stats(): Promise<QueueStats[]>;
  pause(queue: string): Promise<unknown>;
  resume(queue: string): Promise<unknown>;
}

/** The queue with its inspection methods. */
export function inspecting(queue: AdminQueue): Inspecting {
  return queue as unknown as Inspecting;
}
