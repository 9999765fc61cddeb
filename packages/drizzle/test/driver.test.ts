import { isQError } from "@q/core";
import { waitFor } from "@q/core/testing";
import { freshSchemaName } from "@q/test-postgres";
import { sql } from "drizzle-orm";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import { bigserial, pgSchema, text } from "drizzle-orm/pg-core";
import { drizzle as drizzlePostgresJs } from "drizzle-orm/postgres-js";
import pg from "pg";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { createDrizzleDriver, type DrizzleExecutor } from "../src/index.js";

const url = inject("databaseUrl");
const base = freshSchemaName("drizzle");
const invalidHandle = (error: unknown) => isQError(error, "INVALID_HANDLE");

const flavours = {
  pg: () => {
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    return { db: drizzlePg({ client: pool }), end: () => pool.end() };
  },
  postgresjs: () => {
    const client = postgres(url, { max: 4, onnotice: () => {} });
    return { db: drizzlePostgresJs({ client }), end: () => client.end({ timeout: 5 }) };
  },
};

describe.each(["pg", "postgresjs"] as const)("Drizzle over %s", (name) => {
  const { db, end } = flavours[name]();
  const driver = createDrizzleDriver(db);
  const schema = `${base}_${name}`;
  const items = pgSchema(schema).table("items", {
    id: bigserial("id", { mode: "bigint" }).primaryKey(),
    itemName: text("item_name").notNull(),
  });
  const insert = `INSERT INTO "${schema}".items (item_name) VALUES ($1::text)`;
  const names = async () =>
    (await db.select({ n: items.itemName }).from(items).orderBy(items.id)).map((r) => r.n);

  beforeAll(async () => {
    await driver.query(`CREATE SCHEMA "${schema}"`);
    await driver.query(
      `CREATE TABLE "${schema}".items (id bigserial PRIMARY KEY, item_name text NOT NULL)`,
    );
  });

  afterAll(async () => {
    await driver.query(`DROP SCHEMA "${schema}" CASCADE`);
    await driver.close?.();
    await end();
  });

  describe("query", () => {
    test("through tx.execute, timestamps come back as strings (Drizzle's parsers)", async () => {
      const [row] = await db.transaction((tx) =>
        driver.executorFor(tx).query("SELECT now() AS at, $1::text AS s", ["x"]),
      );
      expect(typeof row!.at).toBe("string");
    });
  });

  describe("executorFor", () => {
    test("runs on the connection of the caller's tx", async () => {
      await db.transaction(async (tx) => {
        const pid = async () => {
          const own: DrizzleExecutor = tx;
          const result = await own.execute(sql`SELECT pg_backend_pid() AS pid`);
          const rows = Array.isArray(result) ? result : (result as { rows: unknown[] }).rows;
          return (rows[0] as { pid: number }).pid;
        };
        const [row] = await driver.executorFor(tx).query("SELECT pg_backend_pid() AS pid");
        expect(row!.pid).toBe(await pid());
      });
    });

    test("joins the caller's db.transaction: committed with the user's own writes", async () => {
      await db.transaction(async (tx) => {
        await tx.insert(items).values({ itemName: "user row" });
        await driver.executorFor(tx).query(insert, ["in caller tx"]);
        expect(await names()).not.toContain("in caller tx");
      });
      expect(await names()).toEqual(expect.arrayContaining(["user row", "in caller tx"]));
    });

    test("joins the caller's db.transaction: rolled back with the user's own writes", async () => {
      await expect(
        db.transaction(async (tx) => {
          await tx.insert(items).values({ itemName: "user row rolled back" });
          await driver.executorFor(tx).query(insert, ["caller rolled back"]);
          throw new Error("business write failed");
        }),
      ).rejects.toThrow("business write failed");
      const all = await names();
      expect(all).not.toContain("caller rolled back");
      expect(all).not.toContain("user row rolled back");
    });

    test("joins a nested transaction (savepoint) and rolls back with it", async () => {
      await db.transaction(async (tx) => {
        await tx
          .transaction(async (inner) => {
            await driver.executorFor(inner).query(insert, ["savepoint row"]);
            throw new Error("inner failed");
          })
          .catch(() => {});
        await driver.executorFor(tx).query(insert, ["outer row"]);
      });
      const all = await names();
      expect(all).toContain("outer row");
      expect(all).not.toContain("savepoint row");
    });

    test("accepts the database itself", async () => {
      expect(await driver.executorFor(db).query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
    });

    test("refuses a look-alike of a Drizzle database: an execute method alone", () => {
      expect(() => driver.executorFor({ execute: () => {} })).toThrow(
        expect.objectContaining({ code: "INVALID_HANDLE" }),
      );
    });
  });

  test("listens through the client under Drizzle", async () => {
    const channel = freshSchemaName("ch");
    const messages: string[] = [];
    const unlisten = await driver.listen!(channel, { onMessage: (p) => messages.push(p) });
    await db.transaction((tx) =>
      driver.executorFor(tx).query("SELECT pg_notify($1::text, $2::text)", [channel, "hi"]),
    );
    await waitFor(() => messages.length === 1, { what: "the notification" });
    expect(messages).toEqual(["hi"]);
    await unlisten();
  });

  test("prepare and listen pass on to the client's driver", async () => {
    const one =
      name === "pg"
        ? (() => {
            const pool = new pg.Pool({ connectionString: url, max: 1 });
            return { db: drizzlePg({ client: pool }), end: () => pool.end() };
          })()
        : (() => {
            const client = postgres(url, { max: 1, onnotice: () => {} });
            return { db: drizzlePostgresJs({ client }), end: () => client.end({ timeout: 5 }) };
          })();
    const prepared = async (d: ReturnType<typeof createDrizzleDriver>, text: string) => {
      await d.query(text, [1]);
      const [row] = await d.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1::text",
        [text],
      );
      return Number(row!.n);
    };
    const on = createDrizzleDriver(one.db, { control: false });
    if (name === "postgresjs") {
      // Over an sql that prepares, prepare: false is refused (@q/postgres): behind a pooler
      // that sql could lose a COMMIT. The sql itself must not prepare.
      expect(() => createDrizzleDriver(one.db, { prepare: false })).toThrow(
        expect.objectContaining({ code: "INVALID_OPTION" }),
      );
    }
    const unprepared =
      name === "pg"
        ? one
        : (() => {
            const client = postgres(url, { max: 1, prepare: false, onnotice: () => {} });
            return { db: drizzlePostgresJs({ client }), end: () => client.end({ timeout: 5 }) };
          })();
    const off = createDrizzleDriver(unprepared.db, {
      control: false,
      prepare: false,
      listen: false,
    });
    try {
      expect(await prepared(on, `SELECT $1::int AS v -- ${schema} on`)).toBe(1);
      expect(await prepared(off, `SELECT $1::int AS v -- ${schema} off`)).toBe(0);
      expect(on.listen).toBeTypeOf("function");
      expect(off.listen).toBeUndefined();
    } finally {
      await on.close();
      await off.close();
      await one.end();
      if (unprepared !== one) await unprepared.end();
    }
    if (name === "postgresjs") {
      // A LISTEN target elsewhere means the sql goes through a pooler: over an sql that
      // prepares, postgres.js could lose a COMMIT there, so @q/postgres refuses it.
      expect(() => createDrizzleDriver(one.db, { listen: "postgres://elsewhere/db" })).toThrow(
        expect.objectContaining({ code: "INVALID_OPTION" }),
      );
    }
  });

  test("a closed client reports INVALID_HANDLE", async () => {
    const gone = flavours[name]();
    const d = createDrizzleDriver(gone.db);
    await d.query("SELECT 1");
    await gone.end();
    await expect(d.query("SELECT 1")).rejects.toSatisfy(invalidHandle);
    await expect(d.executorFor(gone.db).query("SELECT 1")).rejects.toSatisfy(invalidHandle);
  });
});

describe("Drizzle over a client q does not know (a single pg Client)", () => {
  const client = new pg.Client({ connectionString: url });
  const db = drizzlePg({ client });
  const driver = createDrizzleDriver(db);
  const schema = `${base}_client`;

  beforeAll(async () => {
    await client.connect();
    await driver.query(`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".t (v text)`);
  });

  afterAll(async () => {
    await driver.query(`DROP SCHEMA "${schema}" CASCADE`);
    await client.end();
  });

  test("runs through db.execute and db.transaction, without LISTEN", async () => {
    expect(driver.listen).toBeUndefined();
    expect(await driver.query("SELECT $1::int AS n", [7])).toEqual([{ n: 7 }]);
    await driver.transaction((tx) =>
      tx.query(`INSERT INTO "${schema}".t VALUES ($1::text)`, ["a"]),
    );
    await expect(
      driver.transaction(async (tx) => {
        await tx.query(`INSERT INTO "${schema}".t VALUES ($1::text)`, ["b"]);
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");
    expect(await driver.query(`SELECT v FROM "${schema}".t`)).toEqual([{ v: "a" }]);
  });
});
