import { describe, expect, it } from "vitest";
import { silentLogger } from "../src/logger.js";
import { createQueue } from "../src/queue.js";
import type { Storage } from "../src/storage.js";
import { defineTask } from "../src/task.js";
import { MemoryStorage, waitFor } from "../src/testing/index.js";

/** A memory storage that records how many jobs each claim asked for. */
function recording() {
  const storage = new MemoryStorage();
  const limits: number[] = [];
  const original = storage.claim.bind(storage);
  const claim: Storage["claim"] = (worker, queues, limit) => {
    limits.push(limit);
    return original(worker, queues, limit);
  };
  return { storage: Object.assign(storage, { claim }), limits };
}

describe("auto prefetch", () => {
  it("claims quick jobs in large batches", async () => {
    const { storage, limits } = recording();
    const queue = createQueue({
      storage,
      logger: silentLogger,
      tasks: { quick: defineTask({ handler: async () => {} }) },
    });
    const total = 20_000;
    await queue.enqueueMany(
      Array.from({ length: total }, (_, i) => ({ task: "quick" as const, payload: i })),
    );
    let done = 0;
    queue.on("finished", () => done++);
    const worker = await queue.work({ concurrency: 4, settleDelay: 1 });
    await waitFor(() => done === total, { timeoutMs: 30_000, what: "all jobs" });
    await worker.stop();
    expect(Math.max(...limits)).toBeGreaterThan(100);
    expect(limits.length).toBeLessThan(total / 20);
  });

  it("does not hoard slow jobs: a second worker gets its share", async () => {
    const { storage, limits } = recording();
    const ranBy = new Map<string, number>();
    const queue = createQueue({
      storage,
      logger: silentLogger,
      tasks: {
        slow: defineTask({
          handler: async (_: number, { job }) => {
            await new Promise((r) => setTimeout(r, 40));
            ranBy.set(job.claimedBy!, (ranBy.get(job.claimedBy!) ?? 0) + 1);
          },
        }),
      },
    });
    await queue.enqueueMany(
      Array.from({ length: 60 }, (_, i) => ({ task: "slow" as const, payload: i })),
    );
    const first = await queue.work({ concurrency: 2, settleDelay: 1, pollInterval: 20 });
    await waitFor(() => (ranBy.get(first.id) ?? 0) >= 10, { what: "the first worker warming up" });
    const second = await queue.work({ concurrency: 2, settleDelay: 1, pollInterval: 20 });
    await waitFor(() => [...ranBy.values()].reduce((a, b) => a + b, 0) === 60, {
      what: "all jobs",
    });
    await Promise.all([first.stop(), second.stop()]);
    // About a quarter second of work (2 at a time, 40 ms each: ~13 jobs) at the most.
    expect(Math.max(...limits)).toBeLessThanOrEqual(20);
    expect(ranBy.get(second.id) ?? 0).toBeGreaterThan(10);
  });
});
