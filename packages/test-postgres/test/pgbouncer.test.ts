import pg from "pg";
import { expect, inject, test } from "vitest";
import { pgbouncerMissing, startPgBouncer } from "../src/index.js";

const missing = pgbouncerMissing();

test.skipIf(missing)("startPgBouncer pools in transaction mode and stops", async () => {
  const bouncer = await startPgBouncer({
    target: inject("databaseUrl"),
    poolMode: "transaction",
    poolSize: 1,
  });
  const pool = new pg.Pool({ connectionString: bouncer.url, max: 4 });
  try {
    const { rows } = await pool.query<{ answer: number }>("SELECT 41 + 1 AS answer");
    expect(rows).toEqual([{ answer: 42 }]);
    const client = await pool.connect();
    const other = await pool.connect();
    try {
      await client.query("BEGIN");
      const inside = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      const again = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      expect(again.rows[0]!.pid).toBe(inside.rows[0]!.pid); // one server connection per transaction
      await client.query("COMMIT");
      // Transaction mode: a session setting stays with the server connection,
      // which the next client's statement gets.
      await client.query("SET application_name = 'left_behind'");
      const seen = await other.query<{ application_name: string }>("SHOW application_name");
      expect(seen.rows[0]!.application_name).toBe("left_behind");
    } finally {
      other.release();
      client.release();
    }
  } finally {
    await pool.end();
    await bouncer.stop();
  }
  const after = new pg.Client({ connectionString: bouncer.url, connectionTimeoutMillis: 1000 });
  after.on("error", () => {});
  await expect(after.connect()).rejects.toThrow();
});
