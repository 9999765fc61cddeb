import { createQueue, defineTask, isQError, silentLogger } from "@q/core";
import { freshSchemaName } from "@q/test-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { createPgDriver } from "../src/index.js";

// A `tx` that is not inside an open transaction is refused before anything is
// written: released to the pool, never in BEGIN, already committed, or failed.
const url = inject("databaseUrl");
const schema = freshSchemaName("handles");
const pool = new pg.Pool({ connectionString: url, max: 4 });
const driver = createPgDriver(pool, { listen: false });
const queue = createQueue({
  driver,
  schema,
  logger: silentLogger,
  tasks: { t: defineTask({ handler: async (_: string) => {} }) },
});

beforeAll(() => queue.migrate());
afterAll(async () => {
  await queue.close();
  await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
  await pool.end();
});

const jobs = async (payload: string) =>
  (
    await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${schema}".jobs WHERE payload = to_jsonb($1::text)`,
      [payload],
    )
  ).rows[0]!.n;

/** `queue.enqueue` with `tx`: refused with INVALID_HANDLE for `reason`, and nothing written. */
async function refused(tx: unknown, payload: string, reason: string) {
  // Refused at run time; the cast gets it past the compile-time check a user would hit.
  const error = await queue.enqueue("t", payload, { tx: tx as never }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isQError(error, "INVALID_HANDLE"), String(error)).toBe(true);
  expect((error as { details?: { reason?: string } }).details?.reason).toBe(reason);
  expect(await jobs(payload)).toBe(0);
}

describe("a PoolClient", () => {
  test("released to the pool is refused, even with its transaction left open", async () => {
    // A pool of one: the released client is the one the next borrower gets.
    const small = new pg.Pool({ connectionString: url, max: 1 });
    const smallQueue = createQueue({
      driver: createPgDriver(small, { listen: false }),
      schema,
      logger: silentLogger,
      tasks: { t: defineTask({ handler: async (_: string) => {} }) },
    });
    try {
      const client = await small.connect();
      await client.query("BEGIN");
      client.release();
      const error = await smallQueue.enqueue("t", "released in BEGIN", { tx: client }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isQError(error, "INVALID_HANDLE")).toBe(true);
      expect((error as { details?: { reason?: string } }).details?.reason).toBe("released");

      const next = await small.connect();
      expect(next).toBe(client);
      await next.query("ROLLBACK");
      next.release();
      expect(await jobs("released in BEGIN")).toBe(0);
    } finally {
      await smallQueue.close();
      await small.end();
    }
  });

  test("released after COMMIT is refused", async () => {
    const client = await pool.connect();
    await client.query("BEGIN");
    await client.query("COMMIT");
    client.release();
    await refused(client, "released after commit", "released");
  });

  test("never in BEGIN is refused: a job would commit on its own", async () => {
    const client = await pool.connect();
    try {
      await refused(client, "no begin", "idle");
    } finally {
      client.release();
    }
  });

  test("used after its transaction committed is refused", async () => {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await queue.enqueue("t", "inside", { tx: client });
      await client.query("COMMIT");
      expect(await jobs("inside")).toBe(1);
      await refused(client, "after commit", "idle");
    } finally {
      client.release();
    }
  });

  test("in a failed transaction is refused: roll it back", async () => {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await expect(client.query("SELECT 1/0")).rejects.toThrow();
      await refused(client, "failed tx", "failed");
      await client.query("ROLLBACK");
    } finally {
      client.release();
    }
  });

  test("checked before every statement: an executor kept past COMMIT is refused", async () => {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const ex = driver.executorFor(client);
      expect(await ex.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
      await client.query("COMMIT");
      await expect(
        ex.query(
          `INSERT INTO "${schema}".jobs (queue, task, payload) VALUES ('default', 't', '"kept"')`,
        ),
      ).rejects.toSatisfy((e) => isQError(e, "INVALID_HANDLE"));
      expect(await jobs("kept")).toBe(0);
    } finally {
      client.release();
    }
  });
});

describe("a standalone Client", () => {
  test("inside BEGIN joins; after COMMIT it is refused", async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query("BEGIN");
      await queue.enqueue("t", "standalone", { tx: client });
      await client.query("COMMIT");
      expect(await jobs("standalone")).toBe(1);
      await refused(client, "standalone after commit", "idle");
    } finally {
      await client.end();
    }
  });
});

test("tx is typed: a PoolClient or Client compiles, a Pool or anything else does not", () => {
  // Never called: typecheck (part of CI) proves the @ts-expect-error lines are errors.
  const compileOnly = async (client: pg.PoolClient, own: pg.Client) => {
    await queue.enqueue("t", "typed", { tx: client });
    await queue.enqueue("t", "typed", { tx: own });
    await queue.getJob("1", { tx: client });
    // @ts-expect-error a Pool is not a transaction
    await queue.enqueue("t", "typed", { tx: pool });
    // @ts-expect-error nor is a string
    await queue.cancel("1", { tx: "BEGIN" });
  };
  expect(typeof compileOnly).toBe("function");
});
