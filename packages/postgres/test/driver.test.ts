import { createQueue, isQError, silentLogger } from "@q/core";
import { freshSchemaName } from "@q/test-postgres";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { createPostgresDriver } from "../src/index.js";
import { noDelaySocket } from "./harness.js";

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
});

afterAll(async () => {
  await sql.unsafe(`DROP SCHEMA ${schema} CASCADE`);
  await Promise.all([sql.end(), camel.end(), pascal.end()]);
});

const invalidHandle = (error: unknown) => isQError(error, "INVALID_HANDLE");

describe.each(flavours)("query (%s)", (_, d) => {
  test("runs several statements in one call when there are no parameters", async () => {
    const t = `${schema}.multi_${_}`;
    await d.query(
      `CREATE TABLE ${t} (v int); INSERT INTO ${t} VALUES (1); INSERT INTO ${t} VALUES (2)`,
    );
    expect(await d.query(`SELECT count(*)::int AS n FROM ${t}`)).toEqual([{ n: 2 }]);
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
      await reserved.unsafe("BEGIN");
      await d.executorFor(reserved).query(text, [1]);
      const rows = await reserved.unsafe(
        "SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1",
        [text],
      );
      return rows[0]!.n as number;
    } finally {
      await reserved.unsafe("ROLLBACK");
      reserved.release();
    }
  };

  test("are on by default", async () => {
    expect(await preparedOn(driver, "SELECT $1::int AS prepared_on")).toBe(1);
  });

  test("{ prepare: false } over an sql that prepares is refused: behind a pooler that sql could lose a COMMIT", () => {
    expect(() => createPostgresDriver(sql, { prepare: false })).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION", details: { option: "prepare" } }),
    );
  });

  test("an sql made with prepare: false never prepares q's statements", async () => {
    const unprepared = postgres(url, { max: 1, prepare: false, ...quiet });
    try {
      const off = createPostgresDriver(unprepared, { prepare: false, control: false });
      const text = "SELECT $1::int AS prepared_off";
      const [n] = await unprepared.begin(async (tx) => {
        await off.executorFor(tx).query(text, [1]);
        return tx.unsafe(
          "SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1",
          [text],
        );
      });
      expect(n!.n).toBe(0);
    } finally {
      await unprepared.end();
    }
  });
});

describe("executorFor", () => {
  test("accepts a transaction of a camel-transformed sql", async () => {
    const camelDriver = createPostgresDriver(camel);
    const rows = await camel.begin((tx) => camelDriver.executorFor(tx).query("SELECT 1 AS job"));
    expect(rows).toEqual([{ job: 1 }]);
  });

  test("accepts a reserved connection inside BEGIN, and sql itself", async () => {
    const reserved = await sql.reserve();
    try {
      await reserved.unsafe("BEGIN");
      expect(await driver.executorFor(reserved).query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
      await reserved.unsafe("COMMIT");
    } finally {
      reserved.release();
    }
    expect(await driver.executorFor(sql).query("SELECT 2 AS two")).toEqual([{ two: 2 }]);
  });

  test("refuses look-alikes of a postgres.js handle: a query method, a bare function", () => {
    for (const bad of [{ query: () => {} }, () => {}]) {
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

describe("migrate", () => {
  test("a migrate with nothing to do sends no NOTICE (no 'already exists, skipping')", async () => {
    const notices: unknown[] = [];
    const noisy = postgres(url, { max: 2, onnotice: (n) => void notices.push(n) });
    const s = freshSchemaName("quiet");
    try {
      const queue = createQueue({
        driver: createPostgresDriver(noisy),
        schema: s,
        tasks: {},
        logger: silentLogger,
      });
      await queue.migrate();
      notices.length = 0;
      await queue.migrate();
      await queue.migrate();
      expect(notices).toEqual([]);
    } finally {
      await noisy.unsafe(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
      await noisy.end();
    }
  });
});

describe("copy", () => {
  const table = `${schema}.copied`;
  const copy = `COPY ${table} (v) FROM STDIN`;
  const fast = postgres(url, { max: 2, ...quiet, ...(noDelaySocket as object) });
  const copying = createPostgresDriver(fast, { copy: true });
  const values = async () =>
    (await sql.unsafe(`SELECT v FROM ${table} ORDER BY id`)).map((r) => r.v as string);
  beforeAll(async () => {
    await sql.unsafe(`CREATE TABLE ${table} (id bigserial PRIMARY KEY, v text NOT NULL)`);
  });
  afterAll(async () => {
    await fast.end();
  });

  test("off by default; copy must be a boolean", async () => {
    expect(await driver.transaction(async (tx) => tx.copyFrom)).toBeUndefined();
    await sql.begin(async (tx) => {
      expect(driver.executorFor(tx).copyFrom).toBeUndefined();
    });
    expect(() => createPostgresDriver(sql, { copy: "yes" as never })).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION" }),
    );
  });

  test("with copy: true, offered on transactions and reserved connections, never on a pool", async () => {
    expect(copying.copyFrom).toBeUndefined();
    expect(copying.executorFor(fast).copyFrom).toBeUndefined();
    expect(await copying.transaction(async (tx) => typeof tx.copyFrom)).toBe("function");
    await fast.begin(async (tx) => {
      expect(typeof copying.executorFor(tx).copyFrom).toBe("function");
    });
    const reserved = await fast.reserve();
    try {
      await reserved.unsafe("BEGIN");
      await copying.executorFor(reserved).copyFrom!(copy, "reserved\n");
      await reserved.unsafe("COMMIT");
    } finally {
      reserved.release();
    }
    expect(await values()).toContain("reserved");
  });

  test("writes the rows in the transaction: committed or rolled back with it", async () => {
    await copying.transaction((tx) => tx.copyFrom!(copy, "one\nback\\\\slash\n"));
    expect(await values()).toEqual(expect.arrayContaining(["one", "back\\slash"]));
    const boom = new Error("roll back");
    await expect(
      fast.begin(async (tx) => {
        await copying.executorFor(tx).copyFrom!(copy, "rolled back\n");
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await values()).not.toContain("rolled back");
  });

  test("a server error keeps its SQLSTATE, before the rows or after them, and the connection goes on", async () => {
    const one = postgres(url, { max: 1, ...quiet, ...(noDelaySocket as object) });
    const d = createPostgresDriver(one, { copy: true, control: false });
    try {
      // Refused once the rows are all sent: postgres.js alone would wait forever.
      await expect(
        d.transaction((tx) => tx.copyFrom!(copy, `${"fine\n".repeat(2000)}\\N\n`)),
      ).rejects.toMatchObject({ code: "23502" });
      await expect(
        d.transaction((tx) => tx.copyFrom!(`COPY ${schema}.nope (v) FROM STDIN`, "1\n")),
      ).rejects.toMatchObject({ code: "42P01" });
      expect(await d.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
      await d.transaction((tx) => tx.copyFrom!(copy, "after errors\n"));
      expect(await values()).toContain("after errors");
    } finally {
      await one.end();
    }
  });

  test("refused outside a transaction and once it is over, like query", async () => {
    let leaked: { copyFrom?: (sql: string, data: string) => Promise<void> } | undefined;
    await copying.transaction(async (tx) => {
      leaked = tx;
    });
    await expect(leaked?.copyFrom?.(copy, "late\n")).rejects.toSatisfy(invalidHandle);
    const reserved = await fast.reserve();
    try {
      // Never in BEGIN: the rows would commit on their own.
      await expect(
        copying.executorFor(reserved).copyFrom!(copy, "not in a transaction\n"),
      ).rejects.toSatisfy(invalidHandle);
    } finally {
      reserved.release();
    }
    expect(await values()).not.toContain("late");
    expect(await values()).not.toContain("not in a transaction");
  });
});
