import { createQueue, defineTask, isQError, silentLogger } from "@q/core";
import { freshSchemaName } from "@q/test-postgres";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { createPostgresDriver } from "../src/index.js";

// postgres.js lets a TransactionSql run after sql.begin returned, and a
// ReservedSql after release(): on a pooled connection, outside any
// transaction. The driver refuses such a `tx` before anything is written.
const url = inject("databaseUrl");
const schema = freshSchemaName("handles");
const sql = postgres(url, { max: 2, onnotice: () => {} });
const driver = createPostgresDriver(sql);
const queue = createQueue({
  driver,
  schema,
  logger: silentLogger,
  tasks: { t: defineTask({ handler: async (_: string) => {} }) },
});

beforeAll(() => queue.migrate());
afterAll(async () => {
  await queue.close();
  await driver.close();
  await sql.unsafe(`DROP SCHEMA "${schema}" CASCADE`);
  await sql.end({ timeout: 5 });
});

const jobs = async (payload: string) =>
  (
    await sql.unsafe<[{ n: number }]>(
      `SELECT count(*)::int AS n FROM "${schema}".jobs WHERE payload = to_jsonb($1::text)`,
      [payload],
    )
  )[0].n;

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

describe("a TransactionSql", () => {
  test("inside sql.begin joins the transaction", async () => {
    await sql.begin((tx) => queue.enqueue("t", "inside", { tx }));
    expect(await jobs("inside")).toBe(1);
  });

  test("used after its sql.begin returned is refused", async () => {
    let leaked: unknown;
    await sql.begin(async (tx) => {
      leaked = tx;
    });
    await refused(leaked, "after begin", "idle");
  });

  test("in a failed transaction is refused", async () => {
    await expect(
      sql.begin(async (tx) => {
        await tx`SELECT 1/0`.catch(() => {});
        await refused(tx, "failed tx", "failed");
      }),
    ).rejects.toThrow();
  });
});

describe("a ReservedSql", () => {
  test("inside BEGIN joins; outside BEGIN and after release() it is refused", async () => {
    const reserved = await sql.reserve();
    try {
      await refused(reserved, "reserved no begin", "idle");
      await reserved.unsafe("BEGIN");
      await queue.enqueue("t", "reserved in begin", { tx: reserved });
      await reserved.unsafe("COMMIT");
      expect(await jobs("reserved in begin")).toBe(1);
    } finally {
      reserved.release();
    }
    await refused(reserved, "reserved released", "idle");
  });
});

test("tx is typed: a sql.begin tx or a reserved connection compiles, sql itself or anything else does not", () => {
  // Never called: typecheck (part of CI) proves the @ts-expect-error lines are errors.
  const compileOnly = async () => {
    await sql.begin((tx) => queue.enqueue("t", "typed", { tx }));
    const reserved = await sql.reserve();
    await queue.enqueue("t", "typed", { tx: reserved });
    // @ts-expect-error the sql pool is not a transaction
    await queue.enqueue("t", "typed", { tx: sql });
    // @ts-expect-error nor is a string
    await queue.getJob("1", { tx: "BEGIN" });
  };
  expect(typeof compileOnly).toBe("function");
});
