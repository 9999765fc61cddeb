import { createQueue, defineTask, type Executor, isQError, silentLogger } from "@q/core";
import { waitFor } from "@q/core/testing";
import { freshSchemaName } from "@q/test-postgres";
import postgres from "postgres";
import { afterAll, afterEach, describe, expect, inject, test } from "vitest";
import { createPostgresDriver, type PostgresDriverOptions } from "../src/index.js";

const url = inject("databaseUrl");
const quiet = { onnotice: () => {} };
const sql = postgres(url, { max: 2, ...quiet });
const drivers: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const driver of drivers.splice(0)) await driver.close();
});
afterAll(() => sql.end({ timeout: 5 }));

function makeDriver(options: PostgresDriverOptions = {}, on: postgres.Sql = sql) {
  const driver = createPostgresDriver(on, options);
  drivers.push(driver);
  return driver;
}

const pidOf = async (ex: Executor) =>
  (await ex.query<{ pid: number }>("SELECT pg_backend_pid() AS pid"))[0]!.pid;

/** Backends with the given application_name. */
const backends = async (applicationName: string) =>
  (
    await sql.unsafe<{ pid: number }[]>(
      "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
      [applicationName],
    )
  ).map((r) => r.pid);

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
    const small = postgres(url, { max: 1, ...quiet });
    const driver = makeDriver({}, small);
    const reserved = await small.reserve();
    try {
      const [{ pid: poolPid }] = await reserved.unsafe<[{ pid: number }]>(
        "SELECT pg_backend_pid() AS pid",
      );
      // The pool's only connection is reserved: a statement on the pool would wait.
      const controlPid = await pidOf(driver.control!);
      expect(controlPid).not.toBe(poolPid);
      const [row] = await driver.control!.query<{ name: string; timeout: string }>(
        "SELECT current_setting('application_name') AS name, current_setting('statement_timeout') AS timeout",
      );
      expect(row).toEqual({ name: "q-control", timeout: "10s" });
    } finally {
      reserved.release();
      await driver.close();
      await small.end({ timeout: 5 });
    }
  });

  test("keeps the column transform of sql: q's columns come back lowercase", async () => {
    const pascal = postgres(url, { max: 1, transform: postgres.pascal, ...quiet });
    const driver = makeDriver({}, pascal);
    try {
      expect(await driver.control!.query("SELECT 1 AS job")).toEqual([{ job: 1 }]);
    } finally {
      await driver.close();
      await pascal.end({ timeout: 5 });
    }
  });

  test("survives pg_terminate_backend: one statement fails at most, then a new connection", async () => {
    const driver = makeDriver();
    const control = driver.control!;
    for (let round = 0; round < 2; round++) {
      const old = await pidOf(control);
      const [row] = await sql.unsafe("SELECT pg_terminate_backend($1) AS done", [old]);
      expect(row).toEqual({ done: true });
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

  test("close() ends the connection; a later statement opens a new one", async () => {
    const driver = makeDriver();
    const first = await pidOf(driver.control!);
    expect(await backends("q-control")).toContain(first);
    await driver.close();
    await waitFor(async () => !(await backends("q-control")).includes(first), {
      what: "the control connection to close",
    });
    expect(await pidOf(driver.control!)).not.toBe(first);
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
      await sql.unsafe(`DROP SCHEMA "${schema}" CASCADE`);
    }
  });

  test("controlTimeout must be a positive number of ms", () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
      expect(() => createPostgresDriver(sql, { controlTimeout: bad })).toThrow(
        expect.objectContaining({ code: "INVALID_OPTION" }),
      );
    }
  });
});
