import { type Executor, isQError } from "@q/core";
import { waitFor } from "@q/core/testing";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import { drizzle as drizzlePostgresJs } from "drizzle-orm/postgres-js";
import pg from "pg";
import postgres from "postgres";
import { afterAll, describe, expect, inject, test } from "vitest";
import { createDrizzleDriver, type DrizzleDatabase } from "../src/index.js";

// The control connection is the one of the client's own driver (@q/pg or
// @q/postgres, tested there in depth): here, that it is there and behaves.
const url = inject("databaseUrl");

const flavours = {
  pg: () => {
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    pool.on("error", () => {});
    return { db: drizzlePg({ client: pool }) as DrizzleDatabase, end: () => pool.end() };
  },
  postgresjs: () => {
    const client = postgres(url, { max: 1, onnotice: () => {} });
    return {
      db: drizzlePostgresJs({ client }) as DrizzleDatabase,
      end: () => client.end({ timeout: 5 }),
    };
  },
};

const pidOf = async (ex: Executor) =>
  (await ex.query<{ pid: number }>("SELECT pg_backend_pid() AS pid"))[0]!.pid;

describe.each(["pg", "postgresjs"] as const)("control of Drizzle over %s", (name) => {
  const { db, end } = flavours[name]();
  const driver = createDrizzleDriver(db, { controlTimeout: 200 });
  afterAll(async () => {
    await driver.close();
    await end();
  });

  test("runs on a connection other than the pool's, even while the pool is busy", async () => {
    await db.transaction(async (tx) => {
      // The pool's only connection is this transaction's.
      const poolPid = await pidOf(driver.executorFor(tx));
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

  test("control: false leaves none", () => {
    expect(createDrizzleDriver(db, { control: false }).control).toBeUndefined();
  });
});
