import { isQError } from "@q/core";
import { freshSchemaName } from "@q/test-postgres";
import {
  CamelCasePlugin,
  CompiledQuery,
  type Generated,
  Kysely,
  PostgresDialect,
  sql,
} from "kysely";
import { PostgresJSDialect } from "kysely-postgres-js";
import pg from "pg";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { createKyselyDriver } from "../src/index.js";

const url = inject("databaseUrl");
const base = freshSchemaName("kysely");

interface DB {
  items: { id: Generated<string>; itemName: string };
}

const dialects = {
  pg: () => new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 4 }) }),
  postgresjs: () =>
    new PostgresJSDialect({ postgres: postgres(url, { max: 4, onnotice: () => {} }) }),
};
const open = (name: keyof typeof dialects) =>
  new Kysely<DB>({ dialect: dialects[name](), plugins: [new CamelCasePlugin()] });

const invalidHandle = (error: unknown) => isQError(error, "INVALID_HANDLE");

describe.each(["pg", "postgresjs"] as const)("Kysely over %s with CamelCasePlugin", (name) => {
  const db = open(name);
  const driver = createKyselyDriver(db);
  const schema = `${base}_${name}`;

  beforeAll(async () => {
    await sql`CREATE SCHEMA ${sql.id(schema)}`.execute(db);
    await sql`CREATE TABLE ${sql.id(schema, "items")} (id bigserial PRIMARY KEY, item_name text)`.execute(
      db,
    );
  });

  afterAll(async () => {
    await sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`.execute(db);
    await db.destroy();
  });

  const insert = `INSERT INTO "${schema}".items (item_name) VALUES ($1::text)`;
  const names = async () =>
    (
      await db.withSchema(schema).selectFrom("items").select("itemName").orderBy("id").execute()
    ).map((r) => r.itemName);

  describe("query", () => {
    test("CamelCasePlugin renames the user's rows but never q's", async () => {
      const text = "SELECT 1 AS big_id";
      expect((await db.executeQuery(CompiledQuery.raw(text))).rows).toEqual([{ bigId: 1 }]);
      expect(await driver.query(text)).toEqual([{ big_id: 1 }]);
      expect(await db.transaction().execute((trx) => driver.executorFor(trx).query(text))).toEqual([
        { big_id: 1 },
      ]);
    });
  });

  describe("executorFor", () => {
    test("joins the caller's Kysely transaction: rolled back with the user's own writes", async () => {
      await expect(
        db.transaction().execute(async (trx) => {
          await trx
            .withSchema(schema)
            .insertInto("items")
            .values({ itemName: "user row" })
            .execute();
          await driver.executorFor(trx).query(insert, ["caller rolled back"]);
          throw new Error("business write failed");
        }),
      ).rejects.toThrow("business write failed");
      expect(await names()).not.toContain("caller rolled back");
      expect(await names()).not.toContain("user row");
    });

    test("accepts a controlled transaction and the Kysely instance", async () => {
      const trx = await db.startTransaction().execute();
      await driver.executorFor(trx).query(insert, ["controlled"]);
      await trx.rollback().execute();
      expect(await names()).not.toContain("controlled");
      expect(await driver.executorFor(db).query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
    });

    test("a finished transaction reports INVALID_HANDLE", async () => {
      let saved: unknown;
      await db.transaction().execute(async (trx) => {
        saved = trx;
      });
      await expect(driver.executorFor(saved).query("SELECT 1")).rejects.toSatisfy(invalidHandle);
      const trx = await db.startTransaction().execute();
      await trx.rollback().execute();
      await expect(driver.executorFor(trx).query("SELECT 1")).rejects.toSatisfy(invalidHandle);
    });

    test("refuses look-alikes of a Kysely handle: a query method, a bare function", () => {
      for (const bad of [{ query: () => {} }, () => {}]) {
        expect(() => driver.executorFor(bad)).toThrow(
          expect.objectContaining({ code: "INVALID_HANDLE" }),
        );
      }
    });
  });

  test("a destroyed Kysely reports INVALID_HANDLE", async () => {
    const gone = open(name);
    const d = createKyselyDriver(gone);
    await d.query("SELECT 1");
    await gone.destroy();
    await expect(d.query("SELECT 1")).rejects.toSatisfy(invalidHandle);
    await expect(d.transaction(async () => 1)).rejects.toSatisfy(invalidHandle);
  });
});

describe("several statements in one call", () => {
  test("work over node-postgres (simple protocol when there are no parameters)", async () => {
    const db = open("pg");
    try {
      const d = createKyselyDriver(db);
      const s = freshSchemaName("multi");
      await d.query(
        `CREATE SCHEMA ${s}; CREATE TABLE ${s}.t (v int); INSERT INTO ${s}.t VALUES (1), (2)`,
      );
      expect(await d.query(`SELECT count(*)::int AS n FROM ${s}.t`)).toEqual([{ n: 2 }]);
      await d.query(`DROP SCHEMA ${s} CASCADE`);
    } finally {
      await db.destroy();
    }
  });

  test("are refused by kysely-postgres-js, which always prepares (42601)", async () => {
    const db = open("postgresjs");
    try {
      await expect(createKyselyDriver(db).query("SELECT 1; SELECT 2")).rejects.toMatchObject({
        code: "42601",
      });
    } finally {
      await db.destroy();
    }
  });
});
