import { createQueue, defineTask, isQError, silentLogger } from "@q/core";
import { freshSchemaName } from "@q/test-postgres";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import { drizzle as drizzlePostgresJs } from "drizzle-orm/postgres-js";
import pg from "pg";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { createDrizzleDriver, type DrizzleDatabase } from "../src/index.js";

// Drizzle lets a `tx` run after db.transaction returned: over node-postgres
// its client is back in the pool, over postgres.js it runs outside any
// transaction. The driver refuses it before anything is written.
const url = inject("databaseUrl");

const flavours = {
  pg: () => {
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    return { db: drizzlePg({ client: pool }) as DrizzleDatabase, end: () => pool.end() };
  },
  postgresjs: () => {
    const client = postgres(url, { max: 4, onnotice: () => {} });
    return {
      db: drizzlePostgresJs({ client }) as DrizzleDatabase,
      end: () => client.end({ timeout: 5 }),
    };
  },
  "a single pg Client": () => {
    const client = new pg.Client({ connectionString: url });
    const connected = client.connect();
    return {
      db: drizzlePg({ client }) as DrizzleDatabase,
      ready: connected,
      end: () => client.end(),
    };
  },
};

describe.each(Object.keys(flavours) as (keyof typeof flavours)[])(
  "a tx of Drizzle over %s",
  (name) => {
    const opened = flavours[name]();
    const { db } = opened;
    const driver = createDrizzleDriver(db);
    const schema = freshSchemaName("handles");
    const queue = createQueue({
      driver,
      schema,
      logger: silentLogger,
      tasks: { t: defineTask({ handler: async (_: string) => {} }) },
    });

    test("tx is typed: a Drizzle tx compiles, anything else does not", () => {
      // Never called: typecheck (part of CI) proves the @ts-expect-error lines are errors.
      const compileOnly = async () => {
        await db.transaction((tx) => queue.enqueue("t", "typed", { tx }));
        // @ts-expect-error a string is not a transaction
        await queue.enqueue("t", "typed", { tx: "BEGIN" });
        // @ts-expect-error nor is a number
        await queue.getJob("1", { tx: 42 });
      };
      expect(typeof compileOnly).toBe("function");
    });

    beforeAll(async () => {
      await ("ready" in opened ? opened.ready : undefined);
      await queue.migrate();
    });
    afterAll(async () => {
      await queue.close();
      await driver.query(`DROP SCHEMA "${schema}" CASCADE`);
      await driver.close();
      await opened.end();
    });

    const jobs = async (payload: string) =>
      (
        await driver.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM "${schema}".jobs WHERE payload = to_jsonb($1::text)`,
          [payload],
        )
      )[0]!.n;

    test("inside db.transaction joins it", async () => {
      await db.transaction((tx) => queue.enqueue("t", "inside", { tx }));
      expect(await jobs("inside")).toBe(1);
    });

    test("used after db.transaction returned is refused, and nothing is written", async () => {
      let leaked: unknown;
      await db.transaction(async (tx) => {
        leaked = tx;
      });
      const error = await queue.enqueue("t", "after", { tx: leaked as never }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isQError(error, "INVALID_HANDLE"), String(error)).toBe(true);
      expect(["idle", "released"]).toContain(
        (error as { details?: { reason?: string } }).details?.reason,
      );
      expect(await jobs("after")).toBe(0);
    });

    test("the database itself is still accepted: its statements commit on their own", async () => {
      await queue.enqueue("t", "db", { tx: db });
      expect(await jobs("db")).toBe(1);
    });
  },
);
