import { MemoryStorage } from "../src/memory/storage.js";
import { describeStorage } from "../src/testing/storage-suite.js";

describeStorage("memory", async () => {
  const storage = new MemoryStorage();
  return {
    storage,
    countJobs: async () => storage.jobs().length,
    countWorkers: async () => storage.workers().length,
    close: async () => {},
  };
});
