import { afterEach } from "vitest";
import { silentLogger } from "../logger.js";
import { createQueue } from "../queue.js";
import type { Storage } from "../storage.js";
import type { TaskMap } from "../task.js";
import type { WorkOptions } from "../worker/options.js";
import type { Worker } from "../worker/worker.js";
import type { StorageFixture } from "./storage-suite.js";

/**
 * Queues and quick-polling workers for a suite's tests, stopped after each
 * test with the clean-ups the test registered. Call it inside `describe`.
 */
export function suiteWorkers(fixture: () => StorageFixture) {
  const workers: Worker[] = [];
  const cleanups: (() => void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) cleanup();
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });
  const queueOf = <T extends TaskMap>(tasks: T, storage: Storage = fixture().storage) =>
    createQueue({ storage, tasks, logger: silentLogger });
  const work = async (
    queue: { work(options?: WorkOptions): Promise<Worker> },
    options: WorkOptions = {},
  ) => {
    const w = await queue.work({ pollInterval: 20, settleDelay: 1, ...options });
    workers.push(w);
    return w;
  };
  return { cleanups, queueOf, work };
}
