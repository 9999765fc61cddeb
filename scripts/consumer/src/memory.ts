// No test runner is installed here: @q/core/testing must load without one.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createQueue } from "@q/core";
import { MemoryStorage, waitFor } from "@q/core/testing";
import { tasks } from "./common.ts";

const queue = createQueue({ storage: new MemoryStorage(), tasks });
const { id } = await queue.enqueue("receipt", { orderId: 7 });
const worker = await queue.work({ pollInterval: 10 });
await waitFor(async () => (await queue.getJob(id))?.state === "finished", {
  what: "the job to finish",
});
await worker.stop();

// The SQL for teams with their own migration tool is exported.
const file = createRequire(import.meta.url).resolve("@q/core/sql/q.sql");
if (!readFileSync(file, "utf8").includes("CREATE TABLE")) throw new Error("q.sql is empty");
