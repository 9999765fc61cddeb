import { createQueue, defineTask, silentLogger } from "@q/core";
import { waitFor } from "@q/core/testing";
import { freshSchemaName } from "@q/test-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createPgDriver } from "../src/index.js";

// Inserts outside a transaction that overlap share a NOTIFY; the one owed to
// those that skipped theirs must still wake an idle worker for every job.
describe("rate-limited notifications", () => {
  const pool = new pg.Pool({ connectionString: inject("databaseUrl"), max: 10 });
  const driver = createPgDriver(pool);
  const schema = freshSchemaName("notify");
  const ran = new Set<number>();
  const queue = createQueue({
    driver,
    schema,
    logger: silentLogger,
    tasks: { mark: defineTask({ handler: async (n: number) => void ran.add(n) }) },
  });

  beforeAll(() => queue.migrate());
  afterAll(async () => {
    await queue.close();
    await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
    await driver.close?.();
    await pool.end();
  });

  it("a burst of enqueues wakes an idle worker for every job, without polling", async () => {
    // Polling would take a minute: only notifications can deliver these in time.
    const worker = await queue.work({ pollInterval: 60_000, rescueInterval: 60_000 });
    try {
      for (let round = 0; round < 3; round++) {
        const burst = Array.from({ length: 40 }, (_, i) => round * 100 + i);
        // One after another: the worker wakes on each and claims while the
        // next ones are inserted.
        for (const n of burst) await queue.enqueue("mark", n);
        await waitFor(() => burst.every((n) => ran.has(n)), {
          what: `burst ${round}`,
          timeoutMs: 5000,
        });
        // Let the idle worker's last claim pass before the next burst.
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await worker.stop();
    }
    expect(ran.size).toBe(120);
  });

  it("enqueues one after another each send their own NOTIFY, so an idle worker hears each at its commit", async () => {
    const notifications: string[] = [];
    const unlisten = await driver.listen!(`${schema}_q`, {
      onMessage: (payload) => notifications.push(payload),
    });
    try {
      for (let n = 2000; n < 2020; n++) await queue.enqueue("mark", n);
      await waitFor(() => notifications.length >= 20, { what: "20 NOTIFYs", timeoutMs: 5000 });
    } finally {
      await unlisten();
    }
    // Sent with each insert, not one shared and trailing after a window.
    expect(notifications.filter((p) => p.includes('"jobs"'))).toHaveLength(20);
  });

  it("a concurrent burst shares a few NOTIFYs", async () => {
    const notifications: string[] = [];
    const unlisten = await driver.listen!(`${schema}_q`, {
      onMessage: (payload) => notifications.push(payload),
    });
    const worker = await queue.work({ pollInterval: 60_000, rescueInterval: 60_000 });
    let elapsed = 0;
    try {
      const burst = Array.from({ length: 40 }, (_, i) => 1000 + i);
      const started = performance.now();
      await Promise.all(burst.map((n) => queue.enqueue("mark", n)));
      elapsed = performance.now() - started;
      await waitFor(() => burst.every((n) => ran.has(n)), { what: "the burst", timeoutMs: 5000 });
    } finally {
      await worker.stop();
      await unlisten();
    }
    // The first insert's own, then at most one owed NOTIFY per 10 ms window the
    // burst spanned (more windows on a loaded machine), and never one per insert.
    expect(notifications.length).toBeGreaterThan(0);
    expect(notifications.length).toBeLessThanOrEqual(Math.min(39, 2 * Math.ceil(elapsed / 10) + 2));
  });
});
