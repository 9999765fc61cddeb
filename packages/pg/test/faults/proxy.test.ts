import { waitFor } from "@q/core/testing";
import { freshSchemaName, startProxy, type TcpProxy } from "@q/test-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

// The proxy the fault tests rely on does what they take for granted.
describe("the test proxy", () => {
  const url = inject("databaseUrl");
  const schema = freshSchemaName("proxy");
  const admin = new pg.Client({ connectionString: url });
  let proxy: TcpProxy;
  const clients: pg.Client[] = [];

  const through = async () => {
    const client = new pg.Client({ connectionString: proxy.url(url) });
    client.on("error", () => {});
    clients.push(client);
    await client.connect();
    return client;
  };

  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE SCHEMA "${schema}"`);
    await admin.query(`CREATE TABLE "${schema}".t (v int NOT NULL)`);
    proxy = await startProxy(url);
  });
  afterAll(async () => {
    for (const client of clients) await client.end().catch(() => {});
    await proxy?.close();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });

  it("counts connections", async () => {
    const before = proxy.connections;
    const a = await through();
    await through();
    expect(proxy.connections).toBe(before + 2);
    const open = proxy.open;
    await a.end();
    // The proxy sees the close a moment after the client.
    await waitFor(() => proxy.open === open - 1, { what: "the proxy to see the close" });
  });

  it("cuts after a statement: it commits, the client never gets the reply", async () => {
    const client = await through();
    const cut = proxy.cutAfter("VALUES (41 + $1::int)");
    const query = client.query(
      `INSERT INTO "${schema}".t (v) VALUES (41 + $1::int) RETURNING v`,
      [1],
    );
    await expect(query).rejects.toThrow();
    expect(await cut).toMatchObject({ status: "I" });
    const { rows } = await admin.query(`SELECT v FROM "${schema}".t`);
    expect(rows).toEqual([{ v: 42 }]);
    // Other connections are untouched.
    expect((await (await through()).query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
  });

  it("black-holes every connection until healed, losing nothing", async () => {
    const client = await through();
    const heal = proxy.blackhole();
    let answered = false;
    const query = client.query("SELECT 7 AS seven").then((r) => {
      answered = true;
      return r.rows;
    });
    const connecting = through();
    // Nothing can come back while the hole is open: look for a while.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(answered).toBe(false);
    heal();
    expect(await query).toEqual([{ seven: 7 }]);
    expect((await (await connecting).query("SELECT 8 AS eight")).rows).toEqual([{ eight: 8 }]);
  });
});
