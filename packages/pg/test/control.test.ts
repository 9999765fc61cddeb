import { createQueue, defineTask, type Executor, isQError, silentLogger } from "@q/core";
import { waitFor } from "@q/core/testing";
import { createDatabase, dropDatabase, freshSchemaName } from "@q/test-postgres";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, inject, test } from "vitest";
import { createPgDriver, type PgDriverOptions } from "../src/index.js";

// A database of its own: these tests terminate backends.
const server = inject("databaseUrl");
const database = freshSchemaName("control");
let url: string;
let pool: pg.Pool;
const drivers: { close?(): Promise<void> }[] = [];

beforeAll(async () => {
  url = await createDatabase(server, database);
  pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on("error", () => {});
});
afterEach(async () => {
  for (const driver of drivers.splice(0)) await driver.close?.();
});
afterAll(async () => {
  await pool.end();
  await dropDatabase(server, database);
});

function makeDriver(options: PgDriverOptions = {}, on: pg.Pool = pool) {
  const driver = createPgDriver(on, { listen: false, ...options });
  drivers.push(driver);
  return driver;
}

const pidOf = async (ex: Executor) =>
  (await ex.query<{ pid: number }>("SELECT pg_backend_pid() AS pid"))[0]!.pid;

/** Backends of this database with the given application_name. */
const backends = async (applicationName: string) =>
  (
    await pool.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1",
      [applicationName],
    )
  ).rows.map((r) => r.pid);

/** Calls `control` until it answers from a backend other than `old`; counts the failures. */
async function nextPid(control: Executor, old: number) {
  let failures = 0;
  let pid = old;
  await waitFor(
    async () => {
      try {
        pid = await pidOf(control);
      } catch {
        failures++;
      }
      return pid !== old;
    },
    { what: "the control connection to come back on a new backend" },
  );
  return { pid, failures };
}

describe("control", () => {
  test("runs on a connection of its own, named q-control, even while the pool is exhausted", async () => {
    const small = new pg.Pool({ connectionString: url, max: 1 });
    small.on("error", () => {});
    const driver = makeDriver({}, small);
    const held = await small.connect();
    try {
      const poolPid = (await held.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!
        .pid;
      // The pool's only connection is checked out: a statement on the pool would wait.
      const controlPid = await pidOf(driver.control!);
      expect(controlPid).not.toBe(poolPid);
      const [row] = await driver.control!.query<{ name: string; timeout: string }>(
        "SELECT current_setting('application_name') AS name, current_setting('statement_timeout') AS timeout",
      );
      expect(row).toEqual({ name: "q-control", timeout: "10s" });
    } finally {
      held.release();
      await driver.close?.();
      await small.end();
    }
  });

  test("survives pg_terminate_backend: one statement fails at most, then a new connection", async () => {
    const driver = makeDriver();
    const control = driver.control!;
    for (let round = 0; round < 2; round++) {
      const old = await pidOf(control);
      const { rows } = await pool.query("SELECT pg_terminate_backend($1) AS done", [old]);
      expect(rows).toEqual([{ done: true }]);
      const { pid, failures } = await nextPid(control, old);
      expect(failures).toBeLessThanOrEqual(1);
      expect(await pidOf(control)).toBe(pid);
    }
  });

  test("a statement beyond controlTimeout is cancelled by the server, and the connection replaced", async () => {
    const driver = makeDriver({ controlTimeout: 200 });
    const control = driver.control!;
    const old = await pidOf(control);
    const started = Date.now();
    await expect(control.query("SELECT pg_sleep(5)")).rejects.toMatchObject({ code: "57014" });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await pidOf(control)).not.toBe(old);
    const [row] = await control.query("SELECT current_setting('statement_timeout') AS timeout");
    expect(row).toEqual({ timeout: "200ms" });
  });

  test("a server that does not answer in time: the client gives up with STATEMENT_TIMEOUT", async () => {
    const driver = makeDriver({ controlTimeout: 200 });
    const control = driver.control!;
    const old = await pidOf(control);
    const started = Date.now();
    // Lifting the server's timeout leaves only the client's deadline (timeout + 1 s).
    await expect(control.query("SET statement_timeout = 0; SELECT pg_sleep(5)")).rejects.toSatisfy(
      (error) => isQError(error, "STATEMENT_TIMEOUT"),
    );
    expect(Date.now() - started).toBeLessThan(3_000);
    // (The abandoned backend itself lives on until pg_sleep ends: the server
    // notices a vanished client only when it next talks to it.)
    expect(await pidOf(control)).not.toBe(old);
    const [row] = await control.query("SELECT current_setting('statement_timeout') AS timeout");
    expect(row).toEqual({ timeout: "200ms" });
  });

  test("concurrent statements run one after another on the one connection", async () => {
    const driver = makeDriver();
    const pids = await Promise.all(Array.from({ length: 8 }, () => pidOf(driver.control!)));
    expect(new Set(pids).size).toBe(1);
  });

  test("a failing statement costs that statement only", async () => {
    const driver = makeDriver();
    const control = driver.control!;
    await expect(control.query("SELECT 1/0")).rejects.toMatchObject({ code: "22012" });
    expect(await control.query("SELECT $1::int AS n", [5])).toEqual([{ n: 5 }]);
  });

  test("respects prepare", async () => {
    const text = `SELECT $1::int AS n -- ${freshSchemaName("control")}`;
    const count = `SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = '${text}'`;
    const prepared = makeDriver();
    await prepared.control!.query(text, [1]);
    expect(await prepared.control!.query(count)).toEqual([{ n: 1 }]);
    const unprepared = makeDriver({ prepare: false });
    await unprepared.control!.query(text, [1]);
    expect(await unprepared.control!.query(count)).toEqual([{ n: 0 }]);
  });

  test("close() ends the connection; a later statement opens a new one", async () => {
    const applicationName = freshSchemaName("ctl");
    const driver = makeDriver({
      control: { connectionString: url, application_name: applicationName },
    });
    const first = await pidOf(driver.control!);
    expect(await backends(applicationName)).toEqual([first]);
    await driver.close?.();
    await waitFor(async () => (await backends(applicationName)).length === 0, {
      what: "the control connection to close",
    });
    expect(await pidOf(driver.control!)).not.toBe(first);
  });

  test("follows listen's target when control is not given", async () => {
    const applicationName = freshSchemaName("direct");
    const driver = createPgDriver(pool, {
      listen: { connectionString: url, application_name: applicationName },
    });
    drivers.push(driver);
    const pid = await pidOf(driver.control!);
    expect(await backends(applicationName)).toEqual([pid]);
  });

  test("is made with the pool's own Client class and keeps the pool's options", async () => {
    let made = 0;
    class CountingClient extends pg.Client {
      constructor(config?: pg.ClientConfig) {
        super(config);
        made++;
      }
    }
    const own = new pg.Pool({ connectionString: url, Client: CountingClient });
    const driver = makeDriver({}, own);
    try {
      await pidOf(driver.control!);
      expect(made).toBe(1);
    } finally {
      await driver.close?.();
      await own.end();
    }
  });

  test("control: false: no control; the driver still runs a queue", async () => {
    const driver = makeDriver({ control: false });
    expect(driver.control).toBeUndefined();
    const schema = freshSchemaName("noctl");
    const ran: number[] = [];
    const queue = createQueue({
      driver,
      schema,
      logger: silentLogger,
      tasks: { t: defineTask({ handler: async (n: number) => void ran.push(n) }) },
    });
    await queue.migrate();
    const worker = await queue.work({ pollInterval: 20 });
    try {
      await queue.enqueue("t", 1);
      await waitFor(() => ran.length === 1, { what: "the job to run" });
    } finally {
      await worker.stop();
      await queue.close();
      await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
    }
  });

  test("controlTimeout must be a positive number of ms", () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
      expect(() => createPgDriver(pool, { controlTimeout: bad })).toThrow(
        expect.objectContaining({ code: "INVALID_OPTION" }),
      );
    }
  });
});
