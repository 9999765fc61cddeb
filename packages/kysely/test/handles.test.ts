import { createQueue, defineTask, isQError, silentLogger } from "@q/core";
import { freshSchemaName } from "@q/test-postgres";
import { CamelCasePlugin, Kysely, PostgresDialect } from "kysely";
import { PostgresJSDialect } from "kysely-postgres-js";
import pg from "pg";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { createKyselyDriver } from "../src/index.js";

// A Kysely transaction used after it ended is refused (Kysely itself refuses
// it; the driver reports INVALID_HANDLE) before anything is written.
const url = inject("databaseUrl");

const dialects = {
  pg: () => new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 4 }) }),
  postgresjs: () =>
    new PostgresJSDialect({ postgres: postgres(url, { max: 4, onnotice: () => {} }) }),
};

describe.each(["pg", "postgresjs"] as const)("a transaction of Kysely over %s", (name) => {
  const db = new Kysely<object>({ dialect: dialects[name](), plugins: [new CamelCasePlugin()] });
  const driver = createKyselyDriver(db);
  const schema = freshSchemaName("handles");
  const queue = createQueue({
    driver,
    schema,
    logger: silentLogger,
    tasks: { t: defineTask({ handler: async (_: string) => {} }) },
  });

  beforeAll(() => queue.migrate());
  afterAll(async () => {
    await queue.close();
    await driver.query(`DROP SCHEMA "${schema}" CASCADE`);
    await driver.close();
    await db.destroy();
  });

  const jobs = async (payload: string) =>
    (
      await driver.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${schema}".jobs WHERE payload = to_jsonb($1::text)`,
        [payload],
      )
    )[0]!.n;

  test("tx is typed: a Kysely Transaction compiles, anything else does not", () => {
    // Never called: typecheck (part of CI) proves the @ts-expect-error lines are errors.
    const compileOnly = async () => {
      await db.transaction().execute((trx) => queue.enqueue("t", "typed", { tx: trx }));
      // @ts-expect-error a string is not a transaction
      await queue.enqueue("t", "typed", { tx: "BEGIN" });
      // @ts-expect-error nor is a plain object
      await queue.getJob("1", { tx: {} });
    };
    expect(typeof compileOnly).toBe("function");
  });

  async function refused(tx: unknown, payload: string) {
    // Refused at run time; the cast gets it past the compile-time check a user would hit.
    const error = await queue.enqueue("t", payload, { tx: tx as never }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isQError(error, "INVALID_HANDLE"), String(error)).toBe(true);
    expect(await jobs(payload)).toBe(0);
  }

  test("inside db.transaction().execute() joins it", async () => {
    await db.transaction().execute((trx) => queue.enqueue("t", "inside", { tx: trx }));
    expect(await jobs("inside")).toBe(1);
  });

  test("used after it committed is refused", async () => {
    let leaked: unknown;
    await db.transaction().execute(async (trx) => {
      leaked = trx;
    });
    await refused(leaked, "after commit");
  });

  test("used after it rolled back is refused", async () => {
    let leaked: unknown;
    await db
      .transaction()
      .execute(async (trx) => {
        leaked = trx;
        throw new Error("roll back");
      })
      .catch(() => {});
    await refused(leaked, "after rollback");
  });

  test("a ControlledTransaction used after commit is refused", async () => {
    const trx = await db.startTransaction().execute();
    await trx.commit().execute();
    await refused(trx, "controlled after commit");
  });
});
