import { isQError } from "@q/core";
import { freshSchemaName } from "@q/test-postgres";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { createPostgresDriver } from "../src/index.js";

const url = inject("databaseUrl");
const schema = freshSchemaName("pgjs");
const quiet = { onnotice: () => {} };
const sql = postgres(url, { max: 4, ...quiet });
const camel = postgres(url, { max: 2, transform: postgres.camel, ...quiet });
const pascal = postgres(url, { max: 2, transform: postgres.pascal, ...quiet });
const flavours = [
  ["plain", createPostgresDriver(sql)],
  ["camel", createPostgresDriver(camel)],
  ["pascal", createPostgresDriver(pascal)],
] as const;
const driver = flavours[0][1];

beforeAll(async () => {
  await sql.unsafe(`CREATE SCHEMA ${schema}`);
  await sql.unsafe(`CREATE TABLE ${schema}.items (id bigserial PRIMARY KEY, name text NOT NULL)`);
});

afterAll(async () => {
  await sql.unsafe(`DROP SCHEMA ${schema} CASCADE`);
  await Promise.all([sql.end(), camel.end(), pascal.end()]);
});

const names = async () =>
  (await driver.query<{ name: string }>(`SELECT name FROM ${schema}.items ORDER BY id`)).map(
    (row) => row.name,
  );

const invalidHandle = (error: unknown) => isQError(error, "INVALID_HANDLE");

describe.each(flavours)("query (%s)", (_, d) => {
  test("returns a plain array of plain rows, binding scalars", async () => {
    const rows = await d.query(
      "SELECT $1::int + 1 AS n, $2::text AS s, $3::boolean AS b, $4::text AS z",
      [41, "x", true, null],
    );
    expect(rows).toEqual([{ n: 42, s: "x", b: true, z: null }]);
    expect(Object.getPrototypeOf(rows)).toBe(Array.prototype);
    expect(Object.keys(rows)).toEqual(["0"]);
    expect(await d.query("SELECT 1 WHERE false")).toEqual([]);
  });

  test("bigint comes back as a string", async () => {
    expect(await d.query("SELECT 9007199254740993::bigint AS big")).toEqual([
      { big: "9007199254740993" },
    ]);
  });

  test("single-word lowercase columns keep their names", async () => {
    const [row] = await d.query("SELECT 1 AS job, 2 AS rows, 3 AS input, 4 AS cancelled");
    expect(row).toEqual({ job: 1, rows: 2, input: 3, cancelled: 4 });
  });

  test("jsonb bound as text round-trips unchanged, keys with underscores too", async () => {
    const payloads: unknown[] = [
      { order_id: "o-1", nested: { line_items: [{ unit_price: 1.5 }] } },
      [1, "two", { three_3: 3 }],
      '{"looks":"like json"}',
      "[1,2]",
      "plain string",
      { text: "héllo – 日本語 🎉 \u2028", 'quote"key': "back\\slash" },
      42,
      true,
      null,
    ];
    for (const payload of payloads) {
      const [row] = await d.query<{ body: string }>("SELECT ($1::text::jsonb)::text AS body", [
        JSON.stringify(payload),
      ]);
      expect(JSON.parse(row!.body)).toEqual(payload);
    }
  });

  test("runs several statements in one call when there are no parameters", async () => {
    const t = `${schema}.multi_${_}`;
    await d.query(
      `CREATE TABLE ${t} (v int); INSERT INTO ${t} VALUES (1); INSERT INTO ${t} VALUES (2)`,
    );
    expect(await d.query(`SELECT count(*)::int AS n FROM ${t}`)).toEqual([{ n: 2 }]);
  });

  test("server errors pass through unchanged", async () => {
    await expect(d.query("SELECT * FROM no_such_table")).rejects.toMatchObject({ code: "42P01" });
  });
});

describe("column transforms", () => {
  test("camel renames snake_case columns and jsonb keys (why q returns JSON as text)", async () => {
    const [row] = await camel.unsafe(`SELECT 1 AS big_id, '{"order_id":1}'::jsonb AS body`);
    expect(row).toEqual({ bigId: 1, body: { orderId: 1 } });
  });

  test("pascal would rename q's columns: the driver lowercases them back", async () => {
    expect(await pascal.unsafe("SELECT 1 AS job")).toEqual([{ Job: 1 }]);
    expect(await createPostgresDriver(pascal).query("SELECT 1 AS job")).toEqual([{ job: 1 }]);
  });
});

describe("prepared statements", () => {
  const preparedOn = async (d: ReturnType<typeof createPostgresDriver>, text: string) => {
    const reserved = await sql.reserve();
    try {
      await d.executorFor(reserved).query(text, [1]);
      const rows = await reserved.unsafe(
        "SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1",
        [text],
      );
      return rows[0]!.n as number;
    } finally {
      reserved.release();
    }
  };

  test("are on by default", async () => {
    expect(await preparedOn(driver, "SELECT $1::int AS prepared_on")).toBe(1);
  });

  test("are off with { prepare: false } (transaction-mode poolers)", async () => {
    const off = createPostgresDriver(sql, { prepare: false });
    expect(await preparedOn(off, "SELECT $1::int AS prepared_off")).toBe(0);
  });
});

describe("transaction", () => {
  test("commits what fn did and returns its result", async () => {
    const result = await driver.transaction(async (tx) => {
      await tx.query(`INSERT INTO ${schema}.items (name) VALUES ($1::text)`, ["committed"]);
      return "done";
    });
    expect(result).toBe("done");
    expect(await names()).toContain("committed");
  });

  test("rolls back and rethrows when fn throws", async () => {
    const boom = new Error("boom");
    await expect(
      driver.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${schema}.items (name) VALUES ($1::text)`, ["rolled back"]);
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await names()).not.toContain("rolled back");
  });

  test("runs every statement on one connection", async () => {
    const pids = await driver.transaction(async (tx) => {
      const all = [];
      for (let i = 0; i < 5; i++) all.push(...(await tx.query("SELECT pg_backend_pid() AS pid")));
      return new Set(all.map((r) => r.pid));
    });
    expect(pids.size).toBe(1);
  });
});

describe("executorFor", () => {
  test("joins the caller's sql.begin: committed with it", async () => {
    await sql.begin(async (tx) => {
      await driver
        .executorFor(tx)
        .query(`INSERT INTO ${schema}.items (name) VALUES ($1::text)`, ["in caller tx"]);
      // Not visible from outside before COMMIT.
      expect(await names()).not.toContain("in caller tx");
    });
    expect(await names()).toContain("in caller tx");
  });

  test("joins the caller's sql.begin: rolled back with it", async () => {
    await expect(
      sql.begin(async (tx) => {
        await driver
          .executorFor(tx)
          .query(`INSERT INTO ${schema}.items (name) VALUES ($1::text)`, ["caller rolled back"]);
        throw new Error("business write failed");
      }),
    ).rejects.toThrow("business write failed");
    expect(await names()).not.toContain("caller rolled back");
  });

  test("accepts a transaction of a camel-transformed sql", async () => {
    const camelDriver = createPostgresDriver(camel);
    const rows = await camel.begin((tx) => camelDriver.executorFor(tx).query("SELECT 1 AS job"));
    expect(rows).toEqual([{ job: 1 }]);
  });

  test("accepts a reserved connection and sql itself", async () => {
    const reserved = await sql.reserve();
    try {
      expect(await driver.executorFor(reserved).query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
    } finally {
      reserved.release();
    }
    expect(await driver.executorFor(sql).query("SELECT 2 AS two")).toEqual([{ two: 2 }]);
  });

  test("refuses what is not a postgres.js handle", () => {
    for (const bad of [undefined, null, 42, "tx", {}, { query: () => {} }, () => {}]) {
      expect(() => driver.executorFor(bad)).toThrow(
        expect.objectContaining({ code: "INVALID_HANDLE" }),
      );
    }
  });

  test("createPostgresDriver refuses what is not an sql", () => {
    expect(() => createPostgresDriver({} as never)).toThrow(
      expect.objectContaining({ code: "INVALID_HANDLE" }),
    );
  });
});

describe("a closed sql", () => {
  test("query, transaction and executorFor report INVALID_HANDLE", async () => {
    const ended = postgres(url, { max: 1, ...quiet });
    const d = createPostgresDriver(ended);
    await d.query("SELECT 1");
    let saved: unknown;
    await ended.begin(async (tx) => {
      saved = tx;
    });
    await ended.end();
    await expect(d.query("SELECT 1")).rejects.toSatisfy(invalidHandle);
    await expect(d.transaction(async () => 1)).rejects.toSatisfy(invalidHandle);
    await expect(d.executorFor(saved).query("SELECT 1")).rejects.toSatisfy(invalidHandle);
  });
});
