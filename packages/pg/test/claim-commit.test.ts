import { createQueue, defineTask, PostgresStorage, silentLogger } from "@q/core";
import { freshSchemaName } from "@q/test-postgres";
import pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createPgDriver } from "../src/index.js";

// A claim turns synchronous_commit off for its own transaction only: the
// pool's connection, which the user's next query gets, is as it was.
describe("the claim's commit setting", () => {
  const pool = new pg.Pool({ connectionString: inject("databaseUrl"), max: 1 });
  const driver = createPgDriver(pool, { listen: false });
  const schema = freshSchemaName("commit");
  afterAll(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await driver.close?.();
    await pool.end();
  });

  it("does not outlive the claim on the connection", async () => {
    const storage = new PostgresStorage(driver, { schema });
    const queue = createQueue({
      storage,
      logger: silentLogger,
      tasks: { t: defineTask({ handler: async () => {} }) },
    });
    await queue.migrate();
    const before = (await pool.query("SHOW synchronous_commit")).rows[0].synchronous_commit;
    await queue.enqueueMany([1, 2, 3].map((n) => ({ task: "t" as const, payload: n })));
    for (const queues of [["default"], ["default", "other"]]) {
      const claimed = await storage.claim("w", queues, 1);
      expect(claimed).toHaveLength(1);
      // One connection in the pool: this is the very one the claim ran on.
      const after = (await pool.query("SHOW synchronous_commit")).rows[0].synchronous_commit;
      expect(after).toBe(before);
      // …and what the claim wrote is there for everyone.
      expect((await queue.getJob(claimed[0]!.id))!.state).toBe("claimed");
    }
    await queue.close();
  });
});
