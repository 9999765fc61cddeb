import { describeDriver } from "@q/core/conformance";
import { type PgBouncer, pgbouncerMissing, startPgBouncer } from "@q/test-postgres";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import { drizzle as drizzlePostgresJs } from "drizzle-orm/postgres-js";
import pg from "pg";
import postgres from "postgres";
import { afterAll, beforeAll, describe, inject } from "vitest";
import { createDrizzleDriver } from "../src/index.js";

const missing = pgbouncerMissing();

describe.skipIf(missing)("behind PgBouncer in transaction mode", () => {
  const direct = inject("databaseUrl");
  let bouncer: PgBouncer;
  beforeAll(async () => {
    bouncer = await startPgBouncer({ target: direct, poolMode: "transaction" });
  });
  afterAll(async () => {
    await bouncer?.stop();
  });

  // Over node-postgres: nothing prepared, LISTEN (and control, which follows it) straight at PostgreSQL.
  describeDriver(
    "drizzle-pg through PgBouncer",
    async (url) => {
      const pool = new pg.Pool({ connectionString: url, max: 10 });
      const db = drizzlePg({ client: pool });
      const driver = createDrizzleDriver(db, { prepare: false, listen: direct });
      return {
        driver,
        listens: true,
        withNativeTransaction: (fn) => db.transaction((tx) => fn(tx)),
        async close() {
          await driver.close?.();
          await pool.end();
        },
      };
    },
    { databaseUrl: () => bouncer.url, jobs: 2000 },
  );

  // Over postgres.js: the sql never prepares; LISTEN (and control, which follows it)
  // straight at PostgreSQL through @q/postgres's listen target.
  describeDriver(
    "drizzle-postgres-js through PgBouncer",
    async (url) => {
      const sql = postgres(url, { max: 10, prepare: false, onnotice: () => {} });
      const db = drizzlePostgresJs({ client: sql });
      const driver = createDrizzleDriver(db, { listen: direct });
      return {
        driver,
        listens: true,
        withNativeTransaction: (fn) => db.transaction((tx) => fn(tx)),
        async close() {
          await driver.close?.();
          await sql.end({ timeout: 5 });
        },
      };
    },
    { databaseUrl: () => bouncer.url, jobs: 2000 },
  );
});
