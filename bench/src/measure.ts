import { getHeapSpaceStatistics } from "node:v8";
import type { DrainResult, LatencyOptions, LatencyResult } from "./adapter.js";

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What an adapter gives the shared drain and latency loops. */
export interface WorkerControl {
  /** Starts the library's workers; `onJob(i)` must be called as each handler starts. */
  start(onJob: (i: number) => void): Promise<void>;
  /** Stops the workers (gracefully). */
  stop(): Promise<void>;
  /** Jobs not yet settled (queued or running), as the library's own storage says. */
  pending(): Promise<number>;
}

/**
 * Times from worker start until `n` queued jobs are settled in storage: waits
 * for `n` handler starts, then polls `pending()` down to 0. Stops at the budget.
 */
export async function measureDrain(
  control: WorkerControl,
  n: number,
  budgetMs: number,
): Promise<DrainResult> {
  let started = 0;
  // A full collection first, where the process runs with --expose-gc (a worker
  // process): what set-up and enqueueing left in the heap is not counted.
  (globalThis as { gc?: () => void }).gc?.();
  // The drain's peak resident set: sampled every 5 ms, and on every poll below.
  const rssStartBytes = process.memoryUsage.rss();
  let rssPeakBytes = rssStartBytes;
  const sample = () => {
    const rss = process.memoryUsage.rss();
    if (rss > rssPeakBytes) rssPeakBytes = rss;
  };
  const sampler = setInterval(sample, 5);
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const elapsed = () => performance.now() - t0;
  await control.start(() => {
    started += 1;
  });
  while (started < n && elapsed() < budgetMs) {
    sample();
    await sleep(2);
  }
  let left = n;
  while (elapsed() < budgetMs) {
    left = await control.pending();
    sample();
    if (left === 0) break;
    await sleep(2);
  }
  const ms = elapsed();
  const used = process.cpuUsage(cpu);
  clearInterval(sampler);
  sample();
  // Where the memory is at the end: V8 sizes its young generation by the
  // allocation rate, and a fast drain grows it (it is not given back soon).
  const memory = process.memoryUsage();
  const newSpace = getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
  if (left !== 0) left = await control.pending();
  await control.stop();
  return {
    done: n - left,
    ms,
    complete: left === 0,
    cpuMs: (used.user + used.system) / 1000,
    rssStartBytes,
    rssPeakBytes,
    heapEnd: {
      heapTotalBytes: memory.heapTotal,
      heapUsedBytes: memory.heapUsed,
      newSpaceBytes: newSpace?.space_size ?? 0,
      externalBytes: memory.external,
    },
  };
}

/**
 * Starts the worker, lets it go idle, then enqueues jobs one at a time, each
 * once the previous one has started and `gapMs` passed: every job meets an
 * idle worker. The time from just before the enqueue call to the handler's
 * start is one sample.
 */
export async function measureLatency(
  control: WorkerControl,
  enqueueOne: (i: number) => Promise<void>,
  { jobs, gapMs, budgetMs }: LatencyOptions,
): Promise<LatencyResult> {
  const waiting = new Map<number, (at: number) => void>();
  await control.start((i) => {
    const at = performance.now();
    waiting.get(i)?.(at);
    waiting.delete(i);
  });
  await sleep(500);
  const samples: number[] = [];
  let unstarted = 0;
  const t0 = performance.now();
  for (let i = 0; i < jobs; i++) {
    const left = budgetMs - (performance.now() - t0);
    if (left <= 0) break;
    const started = new Promise<number>((resolve) => waiting.set(i, resolve));
    const before = performance.now();
    await enqueueOne(i);
    let timer: NodeJS.Timeout | undefined;
    const at = await Promise.race([
      started,
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), left);
      }),
    ]);
    clearTimeout(timer);
    if (at === null) {
      unstarted += 1;
      break;
    }
    samples.push(at - before);
    await sleep(gapMs);
  }
  await control.stop();
  return { samples, unstarted };
}

/** The p-th percentile (0–100) of the samples, nearest rank. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** Milliseconds taken by `fn`. */
export async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}
