import { type ClaimedJob, createQueue, defineTask, PostgresStorage, silentLogger } from "@q/core";
import { MemoryStorage } from "@q/core/testing";
import { freshSchemaName } from "@q/test-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { createPgDriver } from "../src/index.js";

// The claim walks the index one priority at a time and merges several queues
// itself; MemoryStorage sorts everything. Both must pick the same jobs.
const server = inject("databaseUrl");
let pool: pg.Pool;
const drivers: { close?(): Promise<void> }[] = [];
const schemas: string[] = [];

beforeAll(() => {
  pool = new pg.Pool({ connectionString: server, max: 6 });
  pool.on("error", () => {});
});
afterAll(async () => {
  for (const driver of drivers.splice(0)) await driver.close?.();
  for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
});

const tasks = { noop: defineTask({ handler: async (_: string) => {} }) };

async function postgres() {
  const driver = createPgDriver(pool, { listen: false });
  drivers.push(driver);
  const schema = freshSchemaName("claim");
  schemas.push(schema);
  const storage = new PostgresStorage(driver, { schema });
  await storage.migrate();
  return storage;
}

const now = Date.now();
/** Jobs across three queues and four priorities, due at different times or later. */
function jobs() {
  const out: { name: string; queue: string; priority: number; runAt: Date }[] = [];
  const queues = ["a", "b", "c"];
  const priorities = [3, -2, 0, 0, 7];
  for (let i = 0; i < 90; i++) {
    const queue = queues[(i * 7) % 3]!;
    const priority = priorities[(i * 5) % priorities.length]!;
    // A third scheduled for later, the rest due at times that interleave across queues.
    const later = i % 3 === 1;
    const runAt = new Date(later ? now + 3_600_000 + i : now - 60_000 + ((i * 37) % 90) * 100);
    out.push({ name: `j${i}`, queue, priority, runAt });
  }
  // Ties on priority and run_at: the id decides.
  for (let i = 0; i < 6; i++) {
    out.push({
      name: `tie${i}`,
      queue: i % 2 ? "a" : "b",
      priority: 0,
      runAt: new Date(now - 5_000),
    });
  }
  return out;
}

async function enqueueAll(storage: PostgresStorage | MemoryStorage) {
  const queue = createQueue({ storage, tasks, logger: silentLogger });
  for (const j of jobs()) {
    await queue.enqueue("noop", j.name, { queue: j.queue, priority: j.priority, runAt: j.runAt });
  }
}

/** Claims `limit` at a time until nothing is left; the payloads in claim order. */
async function drain(storage: PostgresStorage | MemoryStorage, queues: string[], limit: number) {
  const order: string[] = [];
  for (;;) {
    const got: ClaimedJob[] = await storage.claim("w", queues, limit, ["noop"]);
    if (got.length === 0) return order;
    order.push(...got.map((j) => j.payload as string));
  }
}

describe("claim order on PostgreSQL matches MemoryStorage", () => {
  for (const queues of [["a"], ["a", "b"], ["c", "a", "b", "a"]]) {
    for (const limit of [1, 4, 25]) {
      test(`queues ${queues.join(",")}, ${limit} at a time`, async () => {
        const pgStorage = await postgres();
        const memory = new MemoryStorage();
        await enqueueAll(pgStorage);
        await enqueueAll(memory);
        const expected = await drain(memory, queues, limit);
        const due = jobs().filter((j) => queues.includes(j.queue) && j.runAt.getTime() <= now);
        expect(expected).toHaveLength(due.length);
        expect(await drain(pgStorage, queues, limit)).toEqual(expected);
      });
    }
  }

  test("a job scheduled for later at a higher priority waits; due ones behind it are claimed", async () => {
    const storage = await postgres();
    const queue = createQueue({ storage, tasks, logger: silentLogger });
    await queue.enqueue("noop", "later", { queue: "a", priority: -5, delay: 3_600_000 });
    await queue.enqueue("noop", "due", { queue: "b", priority: 5 });
    const got = await storage.claim("w", ["a", "b"], 10, ["noop"]);
    expect(got.map((j) => j.payload)).toEqual(["due"]);
    expect(await storage.claim("w", ["a"], 10, ["noop"])).toEqual([]);
  });

  test("claims at once from several queues take every due job exactly once", async () => {
    const storage = await postgres();
    const queue = createQueue({ storage, tasks, logger: silentLogger });
    await queue.enqueueMany(
      Array.from({ length: 300 }, (_, i) => ({
        task: "noop" as const,
        payload: `p${i}`,
        queue: ["a", "b", "c"][i % 3]!,
        priority: i % 4,
      })),
    );
    const seen: string[] = [];
    const loop = async (queues: string[]) => {
      for (let empty = 0; empty < 3; ) {
        const got = await storage.claim("w", queues, 7, ["noop"]);
        if (got.length === 0) empty += 1;
        seen.push(...got.map((j) => j.payload as string));
      }
    };
    await Promise.all([loop(["a", "b", "c"]), loop(["c", "b", "a"]), loop(["b", "a", "c"])]);
    expect(seen).toHaveLength(300);
    expect(new Set(seen).size).toBe(300);
  });
});
