import { expect, it } from "vitest";
import type { Driver } from "../driver.js";
import { silentLogger } from "../logger.js";
import { coreMigrations, migrationsTableSql } from "../postgres/migrations.js";
import { createQueue } from "../queue.js";
import { defineTask } from "../task.js";
import { waitFor } from "./wait.js";

/**
 * Upgrades: a schema left at each older core version, holding jobs in every
 * state, is brought to the newest by `migrate()` and keeps working. Every new
 * migration is covered by this without a test of its own.
 */
export function describeUpgrades(driver: () => Driver, schema: () => string): void {
  const newest = Math.max(...coreMigrations.map((m) => m.version));
  const older = coreMigrations.map((m) => m.version).filter((v) => v < newest);

  /** What an older q left behind: its migrations applied, and jobs of every state. */
  const leaveAt = async (d: Driver, s: string, version: number) => {
    await d.query(`CREATE SCHEMA "${s}"`);
    await d.query(migrationsTableSql(s));
    for (const m of coreMigrations.filter((x) => x.version <= version)) {
      for (const statement of m.statements(s)) await d.query(statement);
      await d.query(
        `INSERT INTO "${s}".migrations (owner, version, name) VALUES ('core', $1, $2)`,
        [m.version, m.name],
      );
    }
    // Columns of the first version only: every later one must cope with these rows.
    await d.query(`INSERT INTO "${s}".jobs (queue, task, payload, state, attempt, run_at,
        claimed_by, claimed_at, claim_token, finished_at, result)
      VALUES
        ('default', 't', '{"n": "due"}', 'ready', 0, now() - interval '1 minute', NULL, NULL, NULL, NULL, NULL),
        ('default', 't', '{"n": "later"}', 'ready', 0, now() + interval '1 hour', NULL, NULL, NULL, NULL, NULL),
        ('default', 't', '{"n": "held"}', 'claimed', 1, now(), 'w-old', now(), gen_random_uuid(), NULL, NULL),
        ('default', 't', '{"n": "done"}', 'finished', 1, now(), NULL, NULL, NULL, now(), '"ok"'),
        ('default', 't', '{"n": "dead"}', 'failed', 1, now(), NULL, NULL, NULL, now(), NULL)`);
  };

  for (const version of older) {
    it(`a schema at core version ${version}, with jobs in every state, upgrades to ${newest} and runs them`, async () => {
      const d = driver();
      const s = schema();
      await leaveAt(d, s, version);
      const ran: unknown[] = [];
      const queue = createQueue({
        driver: d,
        schema: s,
        tasks: { t: defineTask({ handler: async (p: { n: string }) => void ran.push(p.n) }) },
        logger: silentLogger,
      });
      await queue.migrate();

      const applied = await d.query<{ v: number }>(
        `SELECT version AS v FROM "${s}".migrations WHERE owner = 'core' ORDER BY version`,
      );
      expect(applied.map((r) => Number(r.v))).toEqual(coreMigrations.map((m) => m.version));
      // Version 3: the jobs table vacuums early and leaves room on its pages.
      const options = await d.query<{ o: string }>(
        `SELECT coalesce(array_to_string(c.reloptions, ','), '') AS o FROM pg_catalog.pg_class c
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relname = 'jobs'`,
        [s],
      );
      expect(options[0]!.o).toContain("autovacuum_vacuum_scale_factor=0.01");
      expect(options[0]!.o).toContain("fillfactor=90");

      const rows = await d.query<{ id: string; n: string }>(
        `SELECT id::text AS id, payload->>'n' AS n FROM "${s}".jobs ORDER BY id`,
      );
      const id = Object.fromEntries(rows.map((r) => [r.n, r.id]));
      const done = await queue.getJob(id.done!);
      expect(done).toMatchObject({ state: "finished", result: "ok", meta: {} });
      // Version 4: no progress or checkpoint yet, no queue paused; the old rows list and count.
      expect(done).toMatchObject({ progress: null, progressAt: null, checkpoint: null });
      expect(await queue.paused()).toEqual([]);
      expect(
        (await queue.listJobs({ state: ["claimed", "finished", "failed"] })).jobs,
      ).toHaveLength(3);
      expect((await queue.counts()).map((c) => [c.state, c.count])).toEqual([
        ["ready", 2],
        ["claimed", 1],
        ["finished", 1],
        ["failed", 1],
      ]);
      expect((await queue.getJob(id.dead!))!.state).toBe("failed");
      expect((await queue.getJob(id.held!))!.state).toBe("claimed");

      const more = await queue.enqueue("t", { n: "new" });
      const worker = await queue.work({ pollInterval: 50, settleDelay: 1 });
      try {
        await waitFor(async () => (await queue.getJob(more.id))?.state === "finished", {
          what: "the job enqueued after the upgrade",
        });
        await waitFor(async () => (await queue.getJob(id.due!))?.state === "finished", {
          what: "the job left ready by the older version",
        });
      } finally {
        await worker.stop();
      }
      // What was done stays done; what was not due yet waits.
      expect(ran.sort()).toEqual(["due", "new"]);
      expect((await queue.getJob(id.later!))!.state).toBe("ready");
      await queue.close();
    });
  }
}
