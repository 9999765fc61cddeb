import { expect, it } from "vitest";
import type { Driver } from "../driver.js";
import { silentLogger } from "../logger.js";
import { PostgresStorage } from "../postgres/storage.js";
import { createQueue } from "../queue.js";
import { defineTask } from "../task.js";

/**
 * What only PostgreSQL does of the operator's calls: counts of a large
 * history taken from the planner's statistics. Run by the driver suite.
 */
export function describeOperatePostgres(driver: () => Driver, schema: () => string): void {
  it("counts: a terminal state beyond the exact limit comes from the planner's statistics (exact: false); live states and small ones are counted", async () => {
    const d = driver();
    const s = schema();
    const queueWith = (exactCountLimit?: number) =>
      createQueue({
        storage: new PostgresStorage(
          d,
          exactCountLimit === undefined ? { schema: s } : { schema: s, exactCountLimit },
        ),
        tasks: { t: defineTask({ handler: async () => {} }) },
        logger: silentLogger,
      });
    const q = queueWith(100);
    await q.migrate();
    // A history written as an operator's bulk import would: 3 000 finished jobs, 50 failed.
    await d.query(`INSERT INTO "${s}".jobs (queue, task, payload, state, attempt, finished_at)
      SELECT CASE WHEN g % 3 = 0 THEN 'b' ELSE 'a' END, 't', '{}', 'finished', 1, now()
      FROM generate_series(1, 3000) g`);
    await d.query(`INSERT INTO "${s}".jobs (queue, task, payload, state, attempt, finished_at)
      SELECT 'a', 't', '{}', 'failed', 1, now() FROM generate_series(1, 50) g`);
    await q.enqueueMany([1, 2, 3].map((n) => ({ task: "t" as const, payload: n, queue: "b" })));
    await d.query(`ANALYZE "${s}".jobs`);

    const counts = await q.counts();
    // ANALYZE read every row of so small a table: the estimates come out right.
    expect(counts).toEqual([
      { queue: "a", state: "finished", count: 2000, exact: false },
      { queue: "a", state: "failed", count: 50, exact: true },
      { queue: "b", state: "ready", count: 3, exact: true },
      { queue: "b", state: "finished", count: 1000, exact: false },
    ]);
    // Below the default limit everything is counted.
    expect((await queueWith().counts()).every((c) => c.exact)).toBe(true);
    // Live counts do not wait for statistics.
    await q.enqueue("t", 4, { queue: "b" });
    expect((await q.counts()).find((c) => c.queue === "b" && c.state === "ready")).toEqual({
      queue: "b",
      state: "ready",
      count: 4,
      exact: true,
    });
    await q.close();
  });

  it("the exact limit is checked when the storage is made", () => {
    expect(() => new PostgresStorage(driver(), { exactCountLimit: -1 })).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION" }),
    );
  });
}
