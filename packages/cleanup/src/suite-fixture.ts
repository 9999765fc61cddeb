import {
  createQueue,
  type Driver,
  type Logger,
  type Plugin,
  type Queue,
  type QueueEvents,
  type Row,
  silentLogger,
  type TaskMap,
} from "@q/core";
import type { DriverHarness } from "@q/core/testing";
import type { CleanupOptions } from "./options.js";
import { type Cleanup, cleanup } from "./plugin.js";

let schemas = 0;
/** A schema name of this test alone, so suites of several drivers share one database. */
export const freshSchema = (): string =>
  `qc_${process.pid}_${Date.now().toString(36)}_${(schemas++).toString(36)}_${Math.random().toString(36).slice(2, 6)}`;

/** One statement a wrapped driver saw, with the rows it answered. */
export interface Seen {
  sql: string;
  rows: Row[];
}

/**
 * The harness's driver, recording every statement sent through it on the
 * pool (not the caller's or the plugin's transactions, which cleanup never uses).
 */
export function recordingDriver(driver: Driver, seen: Seen[]): Driver {
  return {
    name: driver.name,
    async query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<R[]> {
      const rows = await driver.query<R>(sql, params);
      seen.push({ sql, rows });
      return rows;
    },
    transaction: (fn) => driver.transaction(fn),
    executorFor: (native) => driver.executorFor(native),
    ...(driver.listen ? { listen: driver.listen.bind(driver) } : {}),
    ...(driver.control ? { control: driver.control } : {}),
  };
}

/** A logger that keeps every line. */
export function recordingLogger(): Logger & {
  lines: { level: string; fields: object; message?: string }[];
} {
  const lines: { level: string; fields: object; message?: string }[] = [];
  const at = (level: string) => (fields: object, message?: string) => {
    lines.push({ level, fields, ...(message === undefined ? {} : { message }) });
  };
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** What a test works with: a migrated schema, a queue with the cleanup plugin, SQL on it. */
export interface Fixture<T extends TaskMap> {
  schema: string;
  queue: Queue<T>;
  retention: Cleanup;
  /** Runs SQL on the harness's pool; `$S` stands for the quoted schema. */
  sql<R extends Row = Row>(text: string, params?: readonly unknown[]): Promise<R[]>;
  /** Jobs by state (`{ finished: 3, ready: 1 }`). */
  states(): Promise<Record<string, number>>;
  /** The `plugin` events of the cleanup, in order. */
  passes: Record<string, unknown>[];
  errors: Record<string, unknown>[];
}

export interface FixtureOptions<T extends TaskMap> {
  tasks: T;
  cleanup?: CleanupOptions;
  plugins?: Plugin[];
  schema?: string;
  driver?: Driver;
  logger?: Logger;
}

/** Makes fixtures on one harness and closes every queue it made. */
export function fixtures(harness: () => DriverHarness) {
  const queues: { close(): Promise<void> }[] = [];
  const schemasMade: string[] = [];

  async function make<T extends TaskMap>(o: FixtureOptions<T>): Promise<Fixture<T>> {
    const h = harness();
    const schema = o.schema ?? freshSchema();
    if (o.schema === undefined) schemasMade.push(schema);
    const retention = cleanup(o.cleanup);
    const queue = createQueue({
      driver: o.driver ?? h.driver,
      schema,
      tasks: o.tasks,
      plugins: [retention, ...(o.plugins ?? [])],
      logger: o.logger ?? silentLogger,
    });
    queues.push(queue);
    await queue.migrate();
    const passes: Record<string, unknown>[] = [];
    const errors: Record<string, unknown>[] = [];
    queue.on("plugin", (e: QueueEvents["plugin"]) => {
      if (e.plugin !== "cleanup") return;
      if (e.event === "pass") passes.push(e.data);
      if (e.event === "error") errors.push(e.data);
    });
    const sql = <R extends Row = Row>(text: string, params?: readonly unknown[]) =>
      h.driver.query<R>(text.replaceAll("$S", `"${schema}"`), params);
    return {
      schema,
      queue,
      retention,
      sql,
      async states() {
        const rows = await sql<{ state: string; n: number }>(
          "SELECT state, count(*)::integer AS n FROM $S.jobs GROUP BY state",
        );
        return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
      },
      passes,
      errors,
    };
  }

  async function closeAll(): Promise<void> {
    await Promise.all(queues.splice(0).map((q) => q.close()));
  }

  async function dropAll(): Promise<void> {
    await closeAll();
    for (const s of schemasMade.splice(0)) {
      await harness().driver.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    }
  }

  return { make, closeAll, dropAll };
}

/** A promise and its resolve, to hold a handler until the test lets it go. */
export function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
