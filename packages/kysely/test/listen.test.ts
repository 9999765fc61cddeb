import { waitFor } from "@q/core/testing";
import { createPgDriver } from "@q/pg";
import { createPostgresDriver } from "@q/postgres";
import { freshSchemaName } from "@q/test-postgres";
import { Kysely, PostgresDialect } from "kysely";
import { PostgresJSDialect } from "kysely-postgres-js";
import pg from "pg";
import postgres from "postgres";
import { afterAll, describe, expect, inject, test } from "vitest";
import { createKyselyDriver } from "../src/index.js";

const url = inject("databaseUrl");
const pool = new pg.Pool({ connectionString: url, max: 2 });
const sql = postgres(url, { max: 2, onnotice: () => {} });
const pgDb = new Kysely({ dialect: new PostgresDialect({ pool }) });
const jsDb = new Kysely({ dialect: new PostgresJSDialect({ postgres: sql }) });

afterAll(async () => {
  await pgDb.destroy();
  await jsDb.destroy();
});

describe("listen", () => {
  test("is absent without a listener (core polls)", () => {
    expect(createKyselyDriver(pgDb).listen).toBeUndefined();
  });

  test.each([
    [
      "@q/pg over the same pool",
      () => createKyselyDriver(pgDb, { listener: createPgDriver(pool) }),
    ],
    [
      "@q/postgres over the same sql",
      () => createKyselyDriver(jsDb, { listener: createPostgresDriver(sql) }),
    ],
  ])("goes through the listener: %s", async (_, make) => {
    const driver = make();
    const channel = freshSchemaName("ch");
    const messages: string[] = [];
    const unlisten = await driver.listen!(channel, { onMessage: (p) => messages.push(p) });
    await driver.transaction((tx) =>
      tx.query("SELECT pg_notify($1::text, $2::text)", [channel, "hello"]),
    );
    await waitFor(() => messages.length === 1, { what: "the notification" });
    expect(messages).toEqual(["hello"]);
    await unlisten();
    await driver.close?.();
  });

  test("close() closes the listener", async () => {
    let closed = 0;
    const driver = createKyselyDriver(pgDb, {
      listener: { listen: async () => async () => {}, close: async () => void closed++ },
    });
    await driver.close?.();
    expect(closed).toBe(1);
  });

  test("refuses a listener that is not a q driver", () => {
    for (const bad of [sql, pool, {}, 42]) {
      expect(() => createKyselyDriver(pgDb, { listener: bad as never })).toThrow(
        expect.objectContaining({ code: "INVALID_OPTION" }),
      );
    }
  });
});
