import { coreMigrations, migrationScript } from "@q/core";
import { cronMigrations } from "@q/cron";
import { freshSchemaName } from "@q/test-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { json, ok, q } from "./helpers.js";

let pool: pg.Pool;
const schemas: string[] = [];
const fresh = () => {
  const s = freshSchemaName("cli");
  schemas.push(s);
  return s;
};

beforeAll(() => {
  pool = new pg.Pool({ connectionString: inject("databaseUrl"), max: 2 });
});
afterAll(async () => {
  for (const s of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await pool.end();
});

async function tables(schema: string): Promise<string[]> {
  const { rows } = await pool.query<{ t: string }>(
    "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1",
    [schema],
  );
  return rows.map((r) => r.t);
}

describe("q migrate", () => {
  it("creates core's tables and those of the installed plugins, and says which versions", async () => {
    const schema = fresh();
    const out = await ok(["migrate", "--schema", schema]);
    const core = Math.max(...coreMigrations.map((m) => m.version));
    const cron = Math.max(...cronMigrations.map((m) => m.version));
    expect(out).toBe(`migrated schema "${schema}": core ${core}, cron ${cron}\n`);
    expect(await tables(schema)).toEqual(
      expect.arrayContaining(["jobs", "workers", "migrations", "cron_schedules", "cron_ticks"]),
    );
  });

  it("is idempotent and prints the versions as JSON", async () => {
    const schema = fresh();
    await ok(["migrate", "--schema", schema]);
    const again = await json<{ schema: string; plugins: string[]; versions: unknown[] }>([
      "migrate",
      "--schema",
      schema,
    ]);
    expect(again).toEqual({
      schema,
      plugins: ["cron", "cleanup"],
      versions: [
        { owner: "core", version: Math.max(...coreMigrations.map((m) => m.version)) },
        { owner: "cron", version: Math.max(...cronMigrations.map((m) => m.version)) },
      ],
    });
  });

  it("--with none creates core's tables only", async () => {
    const schema = fresh();
    await ok(["migrate", "--schema", schema, "--with", "none"]);
    const t = await tables(schema);
    expect(t).toEqual(expect.arrayContaining(["jobs", "workers", "migrations"]));
    expect(t).not.toContain("cron_ticks");
  });

  it("refuses a plugin it does not know, before connecting (exit 2)", async () => {
    const ran = await q(["migrate", "--with", "cron,mail"], {
      DATABASE_URL: "postgres://nobody@127.0.0.1:1/x",
    });
    expect(ran.code).toBe(2);
    expect(ran.stderr).toMatch(/^q: .*"mail" is no plugin of q: use cron, cleanup or none/);
    expect(ran.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("refuses a bad schema name with INVALID_SCHEMA_NAME", async () => {
    const ran = await q(["migrate", "--schema", "Bad-Name"]);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/^q: INVALID_SCHEMA_NAME: /);
  });
});

describe("q sql", () => {
  it("prints migrationScript for the schema with the installed plugins' migrations", async () => {
    const out = await ok(["sql", "--schema", "billing_q"]);
    expect(out).toBe(migrationScript("billing_q", [...coreMigrations, ...cronMigrations]));
  });

  it("--with none prints core's migrations only, the same as q-sql", async () => {
    expect(await ok(["sql", "--with", "none"], { DATABASE_URL: undefined })).toBe(
      migrationScript("q"),
    );
  });

  it("prints SQL that applies as is, after which q migrate has nothing left to do", async () => {
    const schema = fresh();
    await pool.query(await ok(["sql", "--schema", schema]));
    const before = await pool.query(
      `SELECT owner, version, applied_at FROM "${schema}".migrations ORDER BY 1, 2`,
    );
    await ok(["migrate", "--schema", schema]);
    const after = await pool.query(
      `SELECT owner, version, applied_at FROM "${schema}".migrations ORDER BY 1, 2`,
    );
    expect(after.rows).toEqual(before.rows);
    expect(before.rows.length).toBe(coreMigrations.length + cronMigrations.length);
  });
});
