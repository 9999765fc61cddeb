import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineTask, PermanentError } from "@q/core";
import { cron } from "@q/cron";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { fixture, json, ok, q } from "./helpers.js";

const work = {
  ok: defineTask({ handler: async (_: { n: number }) => {} }),
  bad: defineTask({
    maxAttempts: 1,
    handler: async (_: { n: number }) => {
      throw new PermanentError("no address");
    },
  }),
  report: defineTask({ handler: async (_: Record<string, never>) => {} }),
};

async function until(check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("q cleanup", () => {
  it("runs one pass with the flags as options: deletes what is old enough, keeps the rest", async () => {
    const f = await fixture({ tasks: work });
    try {
      await ok(f.args("migrate")); // @q/cron's tables too
      await f.queue.enqueueMany([
        ...Array.from({ length: 5 }, (_, n) => ({ task: "ok" as const, payload: { n } })),
        { task: "bad" as const, payload: { n: 9 } },
      ]);
      const worker = await f.queue.work({ pollInterval: 50 });
      const count = async (where: string) =>
        Number(
          (await f.pool.query(`SELECT count(*)::int AS n FROM "${f.schema}".jobs WHERE ${where}`))
            .rows[0].n,
        );
      await until(async () => (await count("state IN ('finished', 'failed')")) === 6);
      await worker.stop();
      // Waiting jobs are never a cleanup's business, however old.
      await f.queue.enqueue("ok", { n: 100 }, { delay: 3_600_000 });

      const counts = await json<{
        finished: number;
        failed: number;
        workers: number;
        plugins: Record<string, Record<string, number>>;
        settings: Record<string, unknown>;
      }>(
        f.args("cleanup", "--finished-after", "0", "--failed-after", "never", "--batch-size", "2"),
      );
      expect(counts).toMatchObject({ finished: 5, failed: 0, workers: 0 });
      expect(counts.settings).toMatchObject({ finishedAfter: 0, failedAfter: null, batchSize: 2 });
      // @q/cron is installed and migrated: its tick records were pruned in the same pass.
      expect(counts.plugins).toEqual({ cron: { ticks: 0, schedules: 0 } });
      expect(await count("state = 'finished'")).toBe(0);
      expect(await count("state = 'failed'")).toBe(1);
      expect(await count("state = 'ready'")).toBe(1);

      const out = await ok(f.args("cleanup", "--failed-after", "0"));
      expect(out).toBe(
        "deleted 0 finished job(s) (older than 1 d), 1 failed job(s) (older than 0 ms), 0 dead worker row(s)\n" +
          "pruned cron: 0 ticks, 0 schedules\n",
      );
      expect(await count("state = 'failed'")).toBe(0);
    } finally {
      await f.close();
    }
  });

  it("reports the plugin's own refusal of an option, and a malformed age as a usage error", async () => {
    const f = await fixture();
    try {
      const short = await q(f.args("cleanup", "--workers-after", "10s"));
      expect(short.code).toBe(1);
      expect(short.stderr).toMatch(/^q: INVALID_OPTION: cleanup: workersAfter must be/);
      const bad = await q(f.args("cleanup", "--finished-after", "soon"));
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/^q: option '--finished-after <age>' argument 'soon' is invalid/);
    } finally {
      await f.close();
    }
  });
});

describe("q cron list", () => {
  it("lists the stored schedules with their last tick and its job, as the plugin sees them", async () => {
    const schedules = cron({
      schedules: [{ name: "every-second", cron: "* * * * * *", task: "report", payload: {} }],
    });
    const f = await fixture({ tasks: work, plugins: [schedules] });
    try {
      expect(await json(f.args("cron", "list"))).toEqual([]);
      await f.queue.start();
      await until(async () => (await schedules.list())[0]?.lastJobId != null);
      await f.queue.close(); // the scheduler stops: the mark stays where it is
      const { rows } = await f.pool.query(
        `SELECT id::text AS id, created_at FROM "${f.schema}".jobs WHERE task = 'report' ORDER BY id DESC LIMIT 1`,
      );
      const listed = await json<Record<string, unknown>[]>(f.args("cron", "list"));
      expect(listed).toEqual([
        {
          name: "every-second",
          lastTick: expect.any(String),
          lastJobId: rows[0].id,
          lastJobTask: "report",
          lastJobState: "ready",
          seenAt: expect.any(String),
          since: expect.any(String),
          catchUpMs: 60_000,
        },
      ]);
      const job = await f.queue.getJob(rows[0].id);
      expect(new Date(String(listed[0]!.lastTick)).toISOString()).toBe(
        (job!.meta.cron as { tick: string }).tick,
      );

      const table = await ok(f.args("cron", "list"));
      const [header, line] = table.split("\n");
      expect(header).toMatch(/^schedule\s+task\s+last tick\s+job\s+state\s+last seen\s+catch-up$/);
      expect(line).toMatch(
        new RegExp(`^every-second\\s+report\\s+\\S+ \\S+Z\\s+${rows[0].id}\\s+ready\\s+.*1 min$`),
      );
    } finally {
      await f.close();
    }
  });

  it("says what to migrate when @q/cron's tables are missing", async () => {
    const f = await fixture({ migrate: false });
    try {
      await ok(f.args("migrate", "--with", "none"));
      const ran = await q(f.args("cron", "list"));
      expect(ran.code).toBe(1);
      expect(ran.stderr).toBe(
        `q: NOT_MIGRATED: @q/cron's tables are missing in schema "${f.schema}" (q migrate creates them)\n`,
      );
    } finally {
      await f.close();
    }
  });
});

describe("without the plugin packages", () => {
  // The built CLI alone in a folder, with its own dependencies and neither plugin.
  let dir: string;
  const here = fileURLToPath(new URL("..", import.meta.url));
  beforeAll(() => {
    dir = mkdtempSync(join(realpathSync(tmpdir()), "q-cli-bare-"));
    const modules = join(dir, "node_modules");
    mkdirSync(join(modules, "@q", "cli"), { recursive: true });
    cpSync(join(here, "dist"), join(modules, "@q", "cli", "dist"), { recursive: true });
    cpSync(join(here, "package.json"), join(modules, "@q", "cli", "package.json"));
    for (const dep of ["@q/core", "@q/pg", "pg", "commander", "picocolors"]) {
      symlinkSync(realpathSync(join(here, "node_modules", dep)), join(modules, dep));
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const bare = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const bin = join(dir, "node_modules", "@q", "cli", "dist", "bin.js");
      execFile(
        process.execPath,
        [bin, ...args],
        { env: { ...process.env, DATABASE_URL: inject("databaseUrl") } },
        (error, stdout, stderr) =>
          resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }),
      );
    });

  it("q cleanup and q cron list say in one line what to install", async () => {
    const c = await bare(["cleanup"]);
    expect(c.code).toBe(1);
    expect(c.stderr).toBe(
      "q: q cleanup needs @q/cleanup: install it beside @q/cli (npm install @q/cleanup)\n",
    );
    const l = await bare(["cron", "list"]);
    expect(l.code).toBe(1);
    expect(l.stderr).toBe(
      "q: q cron list needs @q/cron: install it beside @q/cli (npm install @q/cron)\n",
    );
    const m = await bare(["migrate", "--with", "cron"]);
    expect(m.stderr).toBe(
      "q: q migrate needs @q/cron: install it beside @q/cli (npm install @q/cron)\n",
    );
  });

  it("q migrate and q sql work with core's migrations only", async () => {
    const { migrationScript } = await import("@q/core");
    const sql = await bare(["sql", "--schema", "bare_q"]);
    expect(sql.code).toBe(0);
    expect(sql.stdout).toBe(migrationScript("bare_q"));
  });
});

describe("q cleanup without @q/cron's tables", () => {
  it("prunes no plugin and says nothing of cron", async () => {
    const f = await fixture();
    try {
      const counts = await json<{ plugins: object }>(f.args("cleanup"));
      expect(counts.plugins).toEqual({});
      expect(await ok(f.args("cleanup"))).not.toMatch(/cron/);
    } finally {
      await f.close();
    }
  });
});
