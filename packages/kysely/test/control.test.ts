import { type Executor, isQError } from "@q/core";
import { waitFor } from "@q/core/testing";
import { createPgDriver } from "@q/pg";
import { createPostgresDriver } from "@q/postgres";
import { Kysely, PostgresDialect } from "kysely";
import { PostgresJSDialect } from "kysely-postgres-js";
import pg from "pg";
import postgres from "postgres";
import { afterAll, describe, expect, inject, test } from "vitest";
import { createKyselyDriver } from "../src/index.js";

// Kysely cannot open a connection of its own: the control connection is the
// companion driver's (the `listener` option), tested in depth in @q/pg and
// @q/postgres. Without a companion there is none, and heartbeats use the pool.
const url = inject("databaseUrl");

const setups = {
  "@q/pg": () => {
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    pool.on("error", () => {});
    const db = new Kysely<object>({ dialect: new PostgresDialect({ pool }) });
    return { db, listener: createPgDriver(pool, { controlTimeout: 200 }) };
  },
  "@q/postgres": () => {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    const db = new Kysely<object>({ dialect: new PostgresJSDialect({ postgres: sql }) });
    return { db, listener: createPostgresDriver(sql, { controlTimeout: 200 }) };
  },
};

const pidOf = async (ex: Executor) =>
  (await ex.query<{ pid: number }>("SELECT pg_backend_pid() AS pid"))[0]!.pid;

describe.each(["@q/pg", "@q/postgres"] as const)("control through a %s companion", (name) => {
  const { db, listener } = setups[name]();
  const driver = createKyselyDriver(db, { listener });
  afterAll(async () => {
    await driver.close();
    await db.destroy();
  });

  test("is the companion's, on a connection other than the pool's, even while the pool is busy", async () => {
    expect(driver.control).toBe(listener.control);
    await db.transaction().execute(async (trx) => {
      const poolPid = await pidOf(driver.executorFor(trx));
      expect(await pidOf(driver.control!)).not.toBe(poolPid);
    });
  });

  test("survives pg_terminate_backend of its backend", async () => {
    const old = await pidOf(driver.control!);
    await driver.query("SELECT pg_terminate_backend($1::int)", [old]);
    let failures = 0;
    let pid = old;
    await waitFor(
      async () => {
        try {
          pid = await pidOf(driver.control!);
        } catch {
          failures++;
        }
        return pid !== old;
      },
      { what: "a new control connection" },
    );
    expect(failures).toBeLessThanOrEqual(1);
  });

  test("times out a statement beyond controlTimeout, then works again", async () => {
    await expect(driver.control!.query("SELECT pg_sleep(5)")).rejects.toSatisfy(
      (e) => (e as { code?: string }).code === "57014" || isQError(e, "STATEMENT_TIMEOUT"),
    );
    expect(await driver.control!.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
  });
});

describe("without a companion", () => {
  test("there is no control connection", async () => {
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    const db = new Kysely<object>({ dialect: new PostgresDialect({ pool }) });
    expect(createKyselyDriver(db).control).toBeUndefined();
    await db.destroy();
  });

  test("a companion without LISTEN still carries the control connection", async () => {
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    const db = new Kysely<object>({ dialect: new PostgresDialect({ pool }) });
    const companion = createPgDriver(pool, { listen: false });
    const driver = createKyselyDriver(db, { listener: companion });
    try {
      expect(driver.listen).toBeUndefined();
      expect(await driver.control!.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
    } finally {
      await driver.close();
      await db.destroy();
    }
  });
});
