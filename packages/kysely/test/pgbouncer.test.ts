import { describeDriver } from "@q/core/conformance";
import { createPgDriver } from "@q/pg";
import { createPostgresDriver } from "@q/postgres";
import { type PgBouncer, pgbouncerMissing, startPgBouncer } from "@q/test-postgres";
import { CamelCasePlugin, type Dialect, Kysely, PostgresDialect } from "kysely";
import { PostgresJSDialect } from "kysely-postgres-js";
import pg from "pg";
import postgres from "postgres";
import { afterAll, beforeAll, describe, inject } from "vitest";
import { createKyselyDriver, type KyselyListener } from "../src/index.js";

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

  const harness =
    (
      setup: (url: string) => { dialect: Dialect; listener: KyselyListener; end(): Promise<void> },
    ) =>
    async (url: string) => {
      const { dialect, listener, end } = setup(url);
      const db = new Kysely<Record<string, never>>({ dialect, plugins: [new CamelCasePlugin()] });
      const driver = createKyselyDriver(db, { listener });
      return {
        driver,
        listens: true,
        withNativeTransaction: <T>(fn: (tx: unknown) => Promise<T>) =>
          db.transaction().execute((trx) => fn(trx)),
        async close() {
          await driver.close();
          await db.destroy();
          await end();
        },
      };
    };

  // The lent listener driver is where LISTEN and control point: straight at PostgreSQL.
  describeDriver(
    "kysely-pg through PgBouncer",
    harness((url) => {
      const pool = new pg.Pool({ connectionString: url, max: 10 });
      const listener = createPgDriver(pool, { prepare: false, listen: direct });
      return { dialect: new PostgresDialect({ pool }), listener, end: () => listener.close() };
    }),
    { databaseUrl: () => bouncer.url, jobs: 2000 },
  );

  describeDriver(
    "kysely-postgres-js through PgBouncer",
    harness((url) => {
      const sql = postgres(url, { max: 10, prepare: false, onnotice: () => {} });
      const listener = createPostgresDriver(sql, { listen: direct });
      return {
        dialect: new PostgresJSDialect({ postgres: sql }),
        listener,
        end: () => listener.close(),
      };
    }),
    { databaseUrl: () => bouncer.url, jobs: 2000 },
  );
});
