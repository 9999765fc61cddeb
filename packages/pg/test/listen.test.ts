import type { ListenHandlers } from "@q/core";
import { waitFor as waitUntil } from "@q/core/testing";
import { createDatabase, dropDatabase, freshSchemaName } from "@q/test-postgres";
import pg from "pg";
import { afterAll, afterEach, beforeAll, expect, inject, test } from "vitest";
import { createPgDriver } from "../src/index.js";

// A database of its own: other files that kill LISTEN backends in theirs cannot touch these.
const server = inject("databaseUrl");
const database = freshSchemaName("listen");
let url: string;
let pool: pg.Pool;
const drivers: { close?(): Promise<void> }[] = [];

beforeAll(async () => {
  url = await createDatabase(server, database);
  pool = new pg.Pool({ connectionString: url, max: 4 });
});
afterEach(async () => {
  for (const driver of drivers.splice(0)) await driver.close?.();
});
afterAll(async () => {
  await pool.end();
  await dropDatabase(server, database);
});

function makeDriver(options?: Parameters<typeof createPgDriver>[1]) {
  const driver = createPgDriver(pool, options);
  drivers.push(driver);
  return driver;
}

/** A driver whose listener connection has an application_name of its own, to find it by. */
function namedListenerDriver() {
  const applicationName = freshSchemaName("listener");
  const driver = makeDriver({
    listen: { connectionString: url, application_name: applicationName },
  });
  return { driver, applicationName };
}

/** Handlers that record what they are called with. */
function recorder() {
  const seen = { messages: [] as string[], reconnects: 0, errors: [] as unknown[] };
  const handlers: ListenHandlers = {
    onMessage: (payload) => void seen.messages.push(payload),
    onReconnect: () => void seen.reconnects++,
    onError: (error) => void seen.errors.push(error),
  };
  return { seen, handlers };
}

const notify = (channel: string, payload: string) =>
  pool.query("SELECT pg_notify($1, $2)", [channel, payload]);

/** Backends of this server with the given application_name. */
const backends = async (applicationName: string) =>
  (
    await pool.query<{ pid: number; query: string }>(
      `SELECT pid, query FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = $1`,
      [applicationName],
    )
  ).rows;

test("LISTEN receives a NOTIFY, on a connection named q-listener", async () => {
  const driver = makeDriver();
  const channel = freshSchemaName("ch");
  const { seen, handlers } = recorder();
  await driver.listen?.(channel, handlers);
  const mine = (await backends("q-listener")).filter((b) => b.query.includes(channel));
  expect(mine).toHaveLength(1);
  await notify(channel, "hello");
  await waitUntil(() => seen.messages.includes("hello"), { what: "the notification" });
  expect(seen.messages).toEqual(["hello"]);
});

test("channel names keep their case and odd characters", async () => {
  const driver = makeDriver();
  const channel = `Mixed"Case ${freshSchemaName("ch")}`;
  const { seen, handlers } = recorder();
  await driver.listen?.(channel, handlers);
  await notify(channel, "odd");
  await waitUntil(() => seen.messages.includes("odd"), { what: "the notification" });
});

test("all channels share one connection; unlisten stops delivery and the last one closes it", async () => {
  const { driver, applicationName } = namedListenerDriver();
  const [a, b] = [freshSchemaName("ch"), freshSchemaName("ch")];
  const first = recorder();
  const second = recorder();
  const alsoB = recorder();
  const unlistenA = await driver.listen!(a, first.handlers);
  const unlistenB = await driver.listen!(b, second.handlers);
  const unlistenB2 = await driver.listen!(b, alsoB.handlers);
  expect(await backends(applicationName)).toHaveLength(1);

  await notify(a, "to a");
  await notify(b, "to b");
  await waitUntil(() => alsoB.seen.messages.includes("to b"), { what: "b's notification" });
  expect(first.seen.messages).toEqual(["to a"]);
  expect(second.seen.messages).toEqual(["to b"]);

  await unlistenA();
  await unlistenB2();
  // Notifications arrive in the order sent: once b's is in, a's would have been too.
  await pool.query("SELECT pg_notify($1, 'again'), pg_notify($2, 'again')", [a, b]);
  await waitUntil(() => second.seen.messages.includes("again"), {
    what: "b's second notification",
  });
  expect(first.seen.messages).toEqual(["to a"]);
  expect(alsoB.seen.messages).toEqual(["to b"]);

  await unlistenB();
  await waitUntil(async () => (await backends(applicationName)).length === 0, {
    what: "the listener to close",
  });
});

test("reconnects after its backend is terminated, calls onReconnect, then delivers again", async () => {
  const { driver, applicationName } = namedListenerDriver();
  const channel = freshSchemaName("ch");
  const { seen, handlers } = recorder();
  await driver.listen?.(channel, handlers);

  for (const round of [1, 2]) {
    const [backend] = await backends(applicationName);
    const { rows } = await pool.query("SELECT pg_terminate_backend($1) AS done", [backend?.pid]);
    expect(rows).toEqual([{ done: true }]);
    await waitUntil(() => seen.reconnects >= round, { what: `reconnect #${round}` });
    expect(seen.errors.length).toBeGreaterThanOrEqual(round);
    await notify(channel, `after ${round}`);
    await waitUntil(() => seen.messages.includes(`after ${round}`), {
      what: `notification after ${round}`,
    });
  }
  expect(await backends(applicationName)).toHaveLength(1);
});

test("keeps retrying while the server refuses connections, then catches up", async () => {
  const { driver, applicationName } = namedListenerDriver();
  const channel = freshSchemaName("ch");
  const { seen, handlers } = recorder();
  await driver.listen?.(channel, handlers);
  // Said from another database: a session cannot lock its own database out.
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`ALTER DATABASE ${database} WITH ALLOW_CONNECTIONS false`);
  try {
    await pool.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
      [applicationName],
    );
    // The lost connection plus at least two refused attempts.
    await waitUntil(() => seen.errors.length >= 3, { what: "refused reconnects" });
    expect(seen.reconnects).toBe(0);
  } finally {
    await admin.query(`ALTER DATABASE ${database} WITH ALLOW_CONNECTIONS true`);
    await admin.end();
  }
  await waitUntil(() => seen.reconnects === 1, { what: "the reconnect" });
  await notify(channel, "back");
  await waitUntil(() => seen.messages.includes("back"), {
    what: "the notification after reconnect",
  });
});

test("close() ends the listener and leaves the pool usable", async () => {
  const { driver, applicationName } = namedListenerDriver();
  await driver.listen?.(freshSchemaName("ch"), recorder().handlers);
  expect(await backends(applicationName)).toHaveLength(1);
  await driver.close?.();
  await waitUntil(async () => (await backends(applicationName)).length === 0, {
    what: "the listener to close",
  });
  expect(await driver.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
});

test("the listener is made with the pool's own Client class", async () => {
  let made = 0;
  class CountingClient extends pg.Client {
    constructor(config?: pg.ClientConfig) {
      super(config);
      made++;
    }
  }
  const own = new pg.Pool({ connectionString: url, Client: CountingClient });
  const driver = createPgDriver(own);
  try {
    const { seen, handlers } = recorder();
    const channel = freshSchemaName("ch");
    await driver.listen?.(channel, handlers);
    expect(made).toBe(1);
    await notify(channel, "via subclass");
    await waitUntil(() => seen.messages.includes("via subclass"), { what: "the notification" });
  } finally {
    await driver.close?.();
    await own.end();
  }
});

test("a listener that cannot connect at all rejects listen()", async () => {
  const driver = makeDriver({ listen: "postgres://postgres@127.0.0.1:1/nowhere" });
  await expect(driver.listen?.("ch", recorder().handlers)).rejects.toThrow();
});

test("listen: false gives a driver without LISTEN (core polls)", () => {
  expect(makeDriver({ listen: false }).listen).toBeUndefined();
});
