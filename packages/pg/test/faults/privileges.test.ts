import { createQueue, defineTask, PermanentError, silentLogger } from "@q/core";
import { waitFor } from "@q/core/testing";
import { freshSchemaName } from "@q/test-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createPgDriver } from "../../src/index.js";
import { collectUnhandled, countByState, createLoginRole, dropRole } from "./helpers.js";

// A privileged role migrates once; the application then runs under a role that
// may only read and write q's rows: enqueue, work, cancel, retry, migrate.
describe("an application role with DML rights only", () => {
  const url = inject("databaseUrl");
  const schema = freshSchemaName("dml");
  const admin = new pg.Client({ connectionString: url });
  let app: { name: string; url: string } | undefined;
  const unhandled = collectUnhandled();

  const tasks = {
    ok: defineTask({ handler: async (n: number) => n * 2 }),
    flaky: defineTask({
      maxAttempts: 3,
      backoff: () => 0,
      handler: async (_payload: null, { job }) => {
        if (job.attempt === 1) throw new Error("first attempt fails");
        return "second time lucky";
      },
    }),
    broken: defineTask({
      handler: async () => {
        throw new PermanentError("never works");
      },
    }),
  };

  beforeAll(async () => {
    await admin.connect();
    const privileged = new pg.Pool({ connectionString: url, max: 2 });
    const driver = createPgDriver(privileged, { listen: false });
    await createQueue({ driver, schema, tasks, logger: silentLogger }).migrate();
    await driver.close?.();
    await privileged.end();

    app = await createLoginRole(admin, url, "q_app");
    await admin.query(`GRANT USAGE ON SCHEMA "${schema}" TO "${app.name}"`);
    await admin.query(
      `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "${schema}" TO "${app.name}"`,
    );
    await admin.query(`GRANT USAGE ON ALL SEQUENCES IN SCHEMA "${schema}" TO "${app.name}"`);
  });
  afterAll(async () => {
    unhandled.stop();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    if (app) await dropRole(admin, app.name);
    await admin.end();
  });

  it("has no right to create anything", async () => {
    const { rows } = await admin.query<{ schema: boolean; database: boolean }>(
      `SELECT has_schema_privilege($1, $2, 'CREATE') AS schema,
              has_database_privilege($1, current_database(), 'CREATE') AS database`,
      [app!.name, schema],
    );
    expect(rows[0]).toEqual({ schema: false, database: false });
  });

  /** A queue connected as the application role. */
  function appQueue() {
    const pool = new pg.Pool({ connectionString: app!.url, max: 4 });
    pool.on("error", () => {});
    const driver = createPgDriver(pool);
    const queue = createQueue({ driver, schema, tasks, logger: silentLogger });
    const close = async () => {
      await queue.close();
      await driver.close?.();
      await pool.end();
    };
    return { pool, queue, close };
  }

  it("migrate() succeeds when nothing is missing: it needs no CREATE", async () => {
    const { pool, queue, close } = appQueue();
    try {
      await queue.migrate();
      // Idempotent under that role too, and it changed nothing.
      await queue.migrate();
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${schema}".migrations`,
      );
      expect(rows[0]!.n).toBeGreaterThan(0);
    } finally {
      await close();
    }
  });

  it("enqueues and works jobs to completion", async () => {
    const { pool, queue, close } = appQueue();
    const workerErrors: unknown[] = [];
    queue.on("error", (e) => void workerErrors.push(e.error));
    try {
      // Enqueue alone and inside the application's own transaction.
      const oks = await queue.enqueueMany(
        Array.from({ length: 20 }, (_, i) => ({ task: "ok" as const, payload: i })),
      );
      const client = await pool.connect();
      let flaky: string;
      try {
        await client.query("BEGIN");
        flaky = (await queue.enqueue("flaky", null, { tx: client })).id;
        await client.query("COMMIT");
      } finally {
        client.release();
      }
      const broken = await queue.enqueue("broken", null);
      const later = await queue.enqueue("ok", 99, { delay: 3_600_000 });
      expect(await queue.cancel(later.id)).toBe("cancelled");

      const worker = await queue.work({ concurrency: 5, pollInterval: 100 });
      await waitFor(
        async () => {
          const states = await countByState(pool, schema);
          return states.finished === 21 && states.failed === 2;
        },
        { what: "every job to end" },
      );
      // A failed job can be retried by hand, and runs again.
      expect((await queue.retry(later.id)).state).toBe("ready");
      await waitFor(async () => (await queue.getJob(later.id))?.state === "finished", {
        what: "the retried job to finish",
      });
      await worker.stop();

      expect((await queue.getJob(oks[3]!.id))?.result).toBe(6);
      expect(await queue.getJob(flaky!)).toMatchObject({
        state: "finished",
        attempt: 2,
        result: "second time lucky",
      });
      expect((await queue.getJob(broken.id))?.state).toBe("failed");
      expect(await countByState(pool, schema)).toEqual({ finished: 22, failed: 1 });
      expect(workerErrors).toEqual([]);
      expect(unhandled.errors).toEqual([]);
    } finally {
      await close();
    }
  }, 30_000);
});
