import { describeDriver } from "@q/core/conformance";
import { type PgBouncer, pgbouncerMissing, startPgBouncer } from "@q/test-postgres";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createPostgresDriver } from "../src/index.js";

const missing = pgbouncerMissing();
const quiet = { onnotice: () => {} };

describe.skipIf(missing)("behind PgBouncer in transaction mode", () => {
  const direct = inject("databaseUrl");
  let bouncer: PgBouncer;
  beforeAll(async () => {
    bouncer = await startPgBouncer({ target: direct, poolMode: "transaction" });
  });
  afterAll(async () => {
    await bouncer?.stop();
  });

  // The documented set-up: the sql itself never prepares; LISTEN and control go straight to PostgreSQL.
  describeDriver(
    "postgres through PgBouncer",
    async (url) => {
      const sql = postgres(url, { max: 10, prepare: false, ...quiet });
      const driver = createPostgresDriver(sql, { listen: direct });
      return {
        driver,
        listens: true,
        withNativeTransaction: async (fn) =>
          (await sql.begin((tx) => fn(tx))) as Awaited<ReturnType<typeof fn>>,
        async close() {
          await driver.close();
          await sql.end({ timeout: 5 });
        },
      };
    },
    { databaseUrl: () => bouncer.url, jobs: 2000 },
  );

  it("refuses prepare: false on the driver alone: the sql's own COMMITs could be lost", () => {
    const sql = postgres(bouncer.url, { max: 1, ...quiet });
    expect(() => createPostgresDriver(sql, { prepare: false })).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION", details: { option: "prepare" } }),
    );
    void sql.end();
  });

  it("refuses a separate listen target over an sql that prepares: its COMMITs could be lost", async () => {
    const sql = postgres(bouncer.url, { max: 1, ...quiet });
    try {
      for (const listen of [direct, postgres(direct, { max: 1, ...quiet })]) {
        expect(() => createPostgresDriver(sql, { listen })).toThrow(
          expect.objectContaining({
            code: "INVALID_OPTION",
            message: expect.stringContaining("prepare: false"),
          }),
        );
        expect(() => createPostgresDriver(sql, { listen, prepare: false })).toThrow(
          expect.objectContaining({ code: "INVALID_OPTION" }),
        );
        if (typeof listen !== "string") await listen.end();
      }
    } finally {
      await sql.end({ timeout: 5 });
    }
  });

  it("listen takes an sql of the caller's own, which close() leaves open; listen: false polls", async () => {
    const sql = postgres(bouncer.url, { max: 2, prepare: false, ...quiet });
    const listenSql = postgres(direct, { max: 1, ...quiet });
    try {
      const driver = createPostgresDriver(sql, { listen: listenSql });
      const heard: string[] = [];
      const unlisten = await driver.listen!("q_bouncer_probe", { onMessage: (p) => heard.push(p) });
      await sql`SELECT pg_notify('q_bouncer_probe', 'hello')`;
      await expect.poll(() => heard, { timeout: 3000 }).toEqual(["hello"]);
      await unlisten();
      await driver.close();
      expect(await listenSql`SELECT 1 AS one`).toEqual([{ one: 1 }]);
      expect(createPostgresDriver(sql, { listen: false }).listen).toBeUndefined();
      expect(() => createPostgresDriver(sql, { listen: 42 as never })).toThrow(
        expect.objectContaining({ code: "INVALID_OPTION" }),
      );
    } finally {
      await Promise.all([sql.end({ timeout: 5 }), listenSql.end({ timeout: 5 })]);
    }
  });
});
