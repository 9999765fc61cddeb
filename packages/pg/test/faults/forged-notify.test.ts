import { createQueue, defineTask, silentLogger } from "@q/core";
import { waitFor } from "@q/core/testing";
import { freshSchemaName } from "@q/test-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createPgDriver } from "../../src/index.js";
import { collectUnhandled, createLoginRole, dropRole, poolWithErrors } from "./helpers.js";

// Anyone who can connect can NOTIFY on q's channel. A notification is a hint:
// a cancel notice from a role without any right on q's schema cancels nothing.
describe("a forged cancel notification", () => {
  const url = inject("databaseUrl");
  const schema = freshSchemaName("forged");
  const admin = new pg.Client({ connectionString: url });
  let forger: { name: string; url: string } | undefined;
  const unhandled = collectUnhandled();

  beforeAll(async () => {
    await admin.connect();
    forger = await createLoginRole(admin, url, "q_forger");
  });
  afterAll(async () => {
    unhandled.stop();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    if (forger) await dropRole(admin, forger.name);
    await admin.end();
  });

  it("does not cancel a running job, which finishes", async () => {
    // One connection: the worker's checks of the table are answered in the order asked.
    const { pool } = poolWithErrors({ connectionString: url, max: 1 });
    const driver = createPgDriver(pool);
    const started = new Map<string, AbortSignal>();
    const release = new Map<string, () => void>();
    const queue = createQueue({
      driver,
      schema,
      logger: silentLogger,
      tasks: {
        // Runs until the test lets it go, or its signal aborts.
        hold: defineTask({
          handler: async (_payload, { job, signal }) => {
            started.set(job.id, signal);
            await new Promise<void>((resolve, reject) => {
              release.set(job.id, resolve);
              signal.addEventListener("abort", () => reject(signal.reason), { once: true });
            });
            return "done";
          },
        }),
      },
    });
    const forgerClient = new pg.Client({ connectionString: forger!.url });
    forgerClient.on("error", () => {});
    try {
      await queue.migrate();
      const worker = await queue.work({ concurrency: 5, pollInterval: 100 });
      const target = await queue.enqueue("hold", "target");
      const witness = await queue.enqueue("hold", "witness");
      await waitFor(() => started.has(target.id) && started.has(witness.id), {
        what: "both jobs to start",
      });

      await forgerClient.connect();
      // The forger has no right on q's schema: it cannot even read the jobs.
      const rights = await admin.query<{ usage: boolean }>(
        "SELECT has_schema_privilege($1, $2, 'USAGE') AS usage",
        [forger!.name, schema],
      );
      expect(rights.rows[0]!.usage).toBe(false);
      await expect(forgerClient.query(`SELECT 1 FROM "${schema}".jobs`)).rejects.toThrow(
        /permission denied/,
      );
      // What a real cancel sends, for a job nobody asked to cancel.
      const forged = JSON.stringify({ type: "cancel", id: target.id, worker: null });
      await forgerClient.query("SELECT pg_notify($1, $2)", [`${schema}_q`, forged]);

      // A real cancel of the witness travels the same LISTEN connection after
      // the forged notice: once it took effect, the forged one has been handled.
      expect(await queue.cancel(witness.id)).toBe("requested");
      await waitFor(() => started.get(witness.id)!.aborted, {
        what: "the real cancel to abort the witness",
      });
      await waitFor(async () => (await queue.getJob(witness.id))?.state === "failed", {
        what: "the witness to fail cancelled",
      });

      expect(started.get(target.id)!.aborted).toBe(false);
      release.get(target.id)!();
      await waitFor(async () => (await queue.getJob(target.id))?.state === "finished", {
        what: "the target to finish",
      });
      await worker.stop();

      const job = await queue.getJob(target.id);
      expect(job).toMatchObject({
        state: "finished",
        result: "done",
        errors: [],
        cancelRequestedAt: null,
      });
      expect((await queue.getJob(witness.id))!.errors.map((e) => e.code)).toEqual(["CANCELLED"]);
      expect(unhandled.errors).toEqual([]);
    } finally {
      await forgerClient.end().catch(() => {});
      for (const resolve of release.values()) resolve();
      await queue.close();
      await driver.close?.();
      await pool.end();
    }
  }, 30_000);
});
