import { createQueue, defineTask, isQError, silentLogger } from "@q/core";
import { freshSchemaName } from "@q/test-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { createPgDriver } from "../src/index.js";

const url = inject("databaseUrl");
const schema = freshSchemaName("driver");
const pool = new pg.Pool({ connectionString: url, max: 4 });
const driver = createPgDriver(pool);

beforeAll(async () => {
  await pool.query(`CREATE SCHEMA ${schema}`);
  await pool.query(`CREATE TABLE ${schema}.items (id bigserial PRIMARY KEY, name text NOT NULL)`);
});

afterAll(async () => {
  await pool.query(`DROP SCHEMA ${schema} CASCADE`);
  await driver.close?.();
  await pool.end();
});

const names = async () =>
  (await driver.query<{ name: string }>(`SELECT name FROM ${schema}.items ORDER BY id`)).map(
    (row) => row.name,
  );

const invalidHandle = (error: unknown) => isQError(error, "INVALID_HANDLE");

describe("prepared statements", () => {
  const prepared = async (client: pg.PoolClient, text: string) =>
    (
      await client.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1",
        [text],
      )
    ).rows[0]!.n;

  test("parameterised statements are prepared once per connection by default", async () => {
    const text = `SELECT $1::int AS n -- ${schema} prepared`;
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const tx = driver.executorFor(client);
      expect(await tx.query(text, [1])).toEqual([{ n: 1 }]);
      expect(await tx.query(text, [2])).toEqual([{ n: 2 }]);
      expect(await prepared(client, text)).toBe(1);
    } finally {
      await client.query("ROLLBACK");
      client.release();
    }
  });

  test("q's statements are named after what they do: q_<statement>_<hash>", async () => {
    const queue = createQueue({
      driver,
      schema: `${schema}_named`,
      tasks: { noop: defineTask({ handler: async () => {} }) },
      logger: silentLogger,
    });
    await queue.migrate();
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await queue.enqueue("noop", null, { tx: client });
      await queue.getJob("1", { tx: client });
      const { rows } = await client.query<{ name: string }>(
        "SELECT name FROM pg_prepared_statements WHERE name LIKE 'q\\_%' ORDER BY name",
      );
      const names = rows.map((r) => r.name);
      expect(names).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^q_insertKeyless_[0-9a-f]{10}$/),
          expect.stringMatching(/^q_getJob_[0-9a-f]{10}$/),
        ]),
      );
      expect(names.some((n) => /^q_\d+$/.test(n))).toBe(false);
    } finally {
      await client.query("ROLLBACK");
      client.release();
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}_named" CASCADE`);
    }
  });

  test("prepare: false never prepares, for transaction-mode poolers", async () => {
    const unprepared = createPgDriver(pool, { prepare: false, listen: false });
    const text = `SELECT $1::int AS n -- ${schema} unprepared`;
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      expect(await unprepared.executorFor(client).query(text, [3])).toEqual([{ n: 3 }]);
      expect(await prepared(client, text)).toBe(0);
    } finally {
      await client.query("ROLLBACK");
      client.release();
    }
  });
});

describe("query", () => {
  test("several statements without parameters give the last one's rows", async () => {
    expect(await driver.query("SELECT 1 AS a; SELECT 2 AS b")).toEqual([{ b: 2 }]);
    expect(await driver.query(`CREATE TEMP TABLE t1 (v int); DROP TABLE t1`)).toEqual([]);
    const inTx = await driver.transaction((tx) =>
      tx.query("SET LOCAL lock_timeout = 1000; SELECT 3 AS c"),
    );
    expect(inTx).toEqual([{ c: 3 }]);
  });
});

describe("transaction", () => {
  test("gives every connection back, even after many failures", async () => {
    for (let i = 0; i < 10; i++) {
      await expect(driver.transaction(() => Promise.reject(new Error("no")))).rejects.toThrow();
    }
    expect(await driver.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
    expect(pool.totalCount).toBeLessThanOrEqual(4);
    expect(pool.waitingCount).toBe(0);
  });

  test("a connection killed mid-transaction is destroyed, not reused", async () => {
    const small = new pg.Pool({ connectionString: url, max: 1 });
    small.on("error", () => {});
    const smallDriver = createPgDriver(small);
    try {
      await expect(
        smallDriver.transaction(async (tx) => {
          await tx.query("SELECT pg_terminate_backend(pg_backend_pid())");
        }),
      ).rejects.toThrow();
      expect(await smallDriver.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
    } finally {
      await small.end();
    }
  });

  test("the tx executor refuses to run once the transaction is over", async () => {
    let leaked: { query: (sql: string) => Promise<unknown> } | undefined;
    await driver.transaction(async (tx) => {
      leaked = tx;
    });
    await expect(leaked?.query("SELECT 1")).rejects.toSatisfy(invalidHandle);
  });
});

describe("executorFor", () => {
  test("works with a standalone Client", async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query("BEGIN");
      await driver
        .executorFor(client)
        .query(`INSERT INTO ${schema}.items (name) VALUES ($1)`, ["standalone"]);
      await client.query("COMMIT");
    } finally {
      await client.end();
    }
    expect(await names()).toContain("standalone");
  });

  test("look-alikes are INVALID_HANDLE: a query that is no function, the Pool itself", () => {
    for (const bad of [{ query: "nope" }, pool]) {
      expect(() => driver.executorFor(bad)).toThrow(
        expect.objectContaining({ name: "QError", code: "INVALID_HANDLE" }),
      );
    }
  });

  test("a handle whose query does not give { rows } is INVALID_HANDLE", async () => {
    const fake = { query: async () => [{ a: 1 }] };
    await expect(driver.executorFor(fake).query("SELECT 1")).rejects.toSatisfy(invalidHandle);
  });

  test("an ended client is INVALID_HANDLE", async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.end();
    // Refused when wrapped (not inside BEGIN) or, at the latest, when it runs.
    const attempt = Promise.resolve().then(() => driver.executorFor(client).query("SELECT 1"));
    await expect(attempt).rejects.toSatisfy(invalidHandle);
  });
});

describe("a pool that was ended", () => {
  test("query and transaction fail with INVALID_HANDLE", async () => {
    const ended = new pg.Pool({ connectionString: url });
    const endedDriver = createPgDriver(ended);
    await ended.end();
    await expect(endedDriver.query("SELECT 1")).rejects.toSatisfy(invalidHandle);
    await expect(endedDriver.transaction(async () => 1)).rejects.toSatisfy(invalidHandle);
  });

  test("close() never ends the caller's pool", async () => {
    const own = new pg.Pool({ connectionString: url });
    const ownDriver = createPgDriver(own);
    await ownDriver.close?.();
    expect(await own.query("SELECT 1 AS one")).toMatchObject({ rows: [{ one: 1 }] });
    expect(own.ended).toBe(false);
    await own.end();
  });

  test("createPgDriver refuses what is not a pool", () => {
    expect(() => createPgDriver({} as pg.Pool)).toThrow(
      expect.objectContaining({ code: "INVALID_HANDLE" }),
    );
  });
});

describe("copyFrom", () => {
  const copy = `COPY ${schema}.items (name) FROM STDIN`;

  test("offered on one connection (a transaction, the caller's client), never by the pool", async () => {
    expect(driver.copyFrom).toBeUndefined();
    expect(await driver.transaction(async (tx) => typeof tx.copyFrom)).toBe("function");
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      expect(typeof driver.executorFor(client).copyFrom).toBe("function");
      await client.query("ROLLBACK");
    } finally {
      client.release();
    }
    // A look-alike with no wire connection to write COPY data to: no COPY, the INSERT instead.
    const fake = { query: async () => ({ rows: [] }) };
    expect(driver.executorFor(fake).copyFrom).toBeUndefined();
  });

  test("writes the rows in the connection's transaction: committed or rolled back with it", async () => {
    await driver.transaction((tx) => tx.copyFrom!(copy, "copied 1\ncopied\\t2\n"));
    expect(await names()).toEqual(expect.arrayContaining(["copied 1", "copied\t2"]));
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await driver.executorFor(client).copyFrom!(copy, "rolled back\n");
      expect(
        (
          await client.query(
            `SELECT count(*)::int AS n FROM ${schema}.items WHERE name = 'rolled back'`,
          )
        ).rows[0].n,
      ).toBe(1);
      await client.query("ROLLBACK");
    } finally {
      client.release();
    }
    expect(await names()).not.toContain("rolled back");
  });

  test("a server error keeps its SQLSTATE and leaves the connection usable", async () => {
    const small = new pg.Pool({ connectionString: url, max: 1 });
    const smallDriver = createPgDriver(small, { listen: false, control: false });
    try {
      // NULL in a NOT NULL column, after rows that were fine.
      await expect(
        smallDriver.transaction((tx) => tx.copyFrom!(copy, `${"fine\n".repeat(1000)}\\N\n`)),
      ).rejects.toMatchObject({ code: "23502" });
      await expect(
        smallDriver.transaction((tx) => tx.copyFrom!(`COPY ${schema}.nope (v) FROM STDIN`, "1\n")),
      ).rejects.toMatchObject({ code: "42P01" });
      // The one connection of the pool is back and sane.
      expect(await smallDriver.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
      await smallDriver.transaction((tx) => tx.copyFrom!(copy, "after errors\n"));
      expect(await names()).toContain("after errors");
    } finally {
      await small.end();
    }
  });

  test("refused once the transaction is over, like query", async () => {
    let leaked: { copyFrom?: (sql: string, data: string) => Promise<void> } | undefined;
    await driver.transaction(async (tx) => {
      leaked = tx;
    });
    await expect(leaked?.copyFrom?.(copy, "late\n")).rejects.toSatisfy(invalidHandle);
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const own = driver.executorFor(client);
      await client.query("COMMIT");
      await expect(own.copyFrom!(copy, "after commit\n")).rejects.toSatisfy(invalidHandle);
    } finally {
      client.release();
    }
    expect(await names()).not.toContain("late");
    expect(await names()).not.toContain("after commit");
  });
});
