import pg from "pg";
import { afterAll, expect, inject, test } from "vitest";
import { createDatabase, dropDatabase, freshSchemaName } from "../src/index.js";

const url = inject("databaseUrl");

test("provides a PostgreSQL that answers", async () => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ answer: number }>("SELECT 41 + 1 AS answer");
    expect(rows).toEqual([{ answer: 42 }]);
  } finally {
    await client.end();
  }
});

test("freshSchemaName gives distinct lowercase identifiers", () => {
  const names = new Set(Array.from({ length: 100 }, () => freshSchemaName()));
  expect(names.size).toBe(100);
  for (const name of names) expect(name).toMatch(/^t_[0-9a-f]{8}$/);
  expect(freshSchemaName("q")).toMatch(/^q_[0-9a-f]{8}$/);
  expect(() => freshSchemaName("Bad-Prefix")).toThrow();
  expect(() => freshSchemaName("pg")).toThrow(); // pg_* schemas are reserved
});

const created: string[] = [];
afterAll(async () => {
  for (const name of created) await dropDatabase(url, name);
});

test("createDatabase makes a database one can connect to", async () => {
  const name = freshSchemaName("db");
  created.push(name);
  const client = new pg.Client({ connectionString: await createDatabase(url, name) });
  await client.connect();
  try {
    const { rows } = await client.query("SELECT current_database() AS name");
    expect(rows).toEqual([{ name }]);
  } finally {
    await client.end();
  }
});
