import { describe, expect, it } from "vitest";
import type { Driver, Executor } from "../driver.js";
import { QError } from "../errors.js";
import type { QueueEvents } from "../events.js";
import { type Logger, silentLogger } from "../logger.js";
import type { Plugin, PluginContext } from "../plugin.js";
import { createQueue } from "../queue.js";
import { defineTask } from "../task.js";
import { waitFor } from "./wait.js";

/** A plugin that records what core lends it, with a table of its own. */
function probe(name = "probe", options: { failStart?: boolean; log?: string[] } = {}) {
  const log = options.log ?? [];
  let ctx: PluginContext | undefined;
  const plugin: Plugin = {
    name,
    migrations: [
      {
        owner: name,
        version: 1,
        name: "notes",
        statements: (s) => [
          `CREATE TABLE IF NOT EXISTS "${s}".${name}_notes (id bigserial PRIMARY KEY, note text NOT NULL)`,
        ],
      },
    ],
    async start(c) {
      log.push(`start ${name}`);
      if (options.failStart) throw new Error(`${name} cannot start`);
      ctx = c;
      c.signal.addEventListener("abort", () => log.push(`abort ${name}`));
    },
    async stop() {
      log.push(`stop ${name}`);
    },
  };
  return {
    plugin,
    log,
    get ctx(): PluginContext {
      if (ctx === undefined) throw new Error(`${name} has not started`);
      return ctx;
    },
  };
}

/**
 * The plugin interface on PostgreSQL through a driver: migrations, start and
 * stop with the queue, the transaction a plugin shares with its jobs, events
 * and logging. Run by {@link describeDriver}.
 */
export function describePlugins(driver: () => Driver, schema: () => string): void {
  describe("plugins", () => {
    const echo = defineTask({ handler: async (_p: unknown) => {} });
    const count = async (s: string, table: string) =>
      Number(
        (await driver().query<{ n: number }>(`SELECT count(*)::int AS n FROM "${s}".${table}`))[0]!
          .n,
      );
    const setup = async (plugins: Plugin[], logger: Logger = silentLogger) => {
      const s = schema();
      const queue = createQueue({ driver: driver(), schema: s, tasks: { echo }, plugins, logger });
      await queue.migrate();
      return { queue, s };
    };

    it("migrate() applies a plugin's migrations under its own name, once", async () => {
      const p = probe();
      const { queue, s } = await setup([p.plugin]);
      await queue.migrate();
      const rows = await driver().query<{ owner: string; version: number }>(
        `SELECT owner, version FROM "${s}".migrations WHERE owner = 'probe'`,
      );
      expect(rows).toEqual([{ owner: "probe", version: 1 }]);
      expect(await count(s, "probe_notes")).toBe(0);
    });

    it("plugins start with the first worker, get the schema and the database clock, and stop with the last", async () => {
      const a = probe("a");
      const b = probe("b", { log: a.log });
      const { queue, s } = await setup([a.plugin, b.plugin]);
      expect(a.log).toEqual([]);
      const w1 = await queue.work({ pollInterval: 50 });
      const w2 = await queue.work({ pollInterval: 50 });
      expect(a.log).toEqual(["start a", "start b"]);
      expect(a.ctx.schema).toBe(s);
      expect(a.ctx.name).toBe("a");
      expect(a.ctx.plugins).toEqual([b.plugin]);
      const [db] = await driver().query<{ ms: number }>(
        "SELECT (extract(epoch FROM now()) * 1000)::float8 AS ms",
      );
      const clock = await a.ctx.now();
      expect(clock).toBeInstanceOf(Date);
      expect(Math.abs(clock.getTime() - Number(db!.ms))).toBeLessThan(5_000);
      await w1.stop();
      expect(a.ctx.signal.aborted).toBe(false);
      await w2.stop();
      // Stopped in reverse order, each after its signal aborted.
      expect(a.log).toEqual(["start a", "start b", "abort a", "abort b", "stop b", "stop a"]);
      expect(a.ctx.signal.aborted).toBe(true);
      await queue.close();
      expect(a.log.filter((l) => l.startsWith("stop"))).toHaveLength(2);
    });

    it("queue.start() runs plugins without a worker until close(); a stopped worker does not stop them", async () => {
      const p = probe();
      const { queue } = await setup([p.plugin]);
      await queue.start();
      await queue.start();
      const w = await queue.work({ pollInterval: 50 });
      await w.stop();
      expect(p.log).toEqual(["start probe"]);
      await queue.close();
      expect(p.log).toEqual(["start probe", "abort probe", "stop probe"]);
      await expect(queue.start()).rejects.toMatchObject({ code: "QUEUE_CLOSED" });
    });

    it("close() stops the plugins before it refuses jobs: a plugin may enqueue until it has stopped", async () => {
      let ctx: PluginContext | undefined;
      let lastWord: Promise<string> | undefined;
      const plugin: Plugin = {
        name: "last-word",
        start(c) {
          ctx = c;
        },
        async stop() {
          lastWord = ctx!.queue.enqueue("echo", "bye").then((r) => r.id);
          await lastWord;
        },
      };
      const { queue } = await setup([plugin]);
      await queue.start();
      await queue.close();
      expect((await queue.getJob(await lastWord!))?.state).toBe("ready");
      await expect(ctx!.queue.enqueue("echo", "late")).rejects.toMatchObject({
        code: "QUEUE_CLOSED",
      });
      await expect(queue.work()).rejects.toMatchObject({ code: "QUEUE_CLOSED" });
    });

    it("a plugin's transaction carries its own rows and the jobs it enqueues: both commit, or neither", async () => {
      const p = probe();
      const { queue, s } = await setup([p.plugin]);
      await queue.start();
      const note = async (tx: Executor, text: string) =>
        tx.query(`INSERT INTO "${s}".probe_notes (note) VALUES ($1::text)`, [text]);
      const id = await p.ctx.transaction(async (tx) => {
        await note(tx, "kept");
        const [job] = await p.ctx.queue.enqueueMany([{ task: "echo", payload: { n: 1 } }], { tx });
        return job!.id;
      });
      expect((await queue.getJob(id))?.state).toBe("ready");
      const boom = new Error("roll back");
      await expect(
        p.ctx.transaction(async (tx) => {
          await note(tx, "dropped");
          await p.ctx.queue.enqueue("echo", { n: 2 }, { tx });
          throw boom;
        }),
      ).rejects.toBe(boom);
      expect(await count(s, "probe_notes")).toBe(1);
      expect(await count(s, "jobs")).toBe(1);
      await expect(p.ctx.queue.enqueue("nope", null)).rejects.toMatchObject({
        code: "UNKNOWN_TASK",
      });
      expect(p.ctx.queue.taskNames).toEqual(["echo"]);
      await queue.close();
    });

    it("emit becomes the queue's plugin event; log lines carry the plugin's name; listeners go at stop", async () => {
      const lines: object[] = [];
      const logger: Logger = { ...silentLogger, info: (fields) => void lines.push(fields) };
      const p = probe();
      const { queue } = await setup([p.plugin], logger);
      const events: QueueEvents["plugin"][] = [];
      queue.on("plugin", (e) => events.push(e));
      const w1 = await queue.work({ pollInterval: 20 });
      const finished: string[] = [];
      p.ctx.on("finished", (e) => void finished.push(e.job.id));
      p.ctx.emit("noted", { n: 1 });
      p.ctx.logger.info({ n: 2 }, "hello");
      expect(events).toEqual([{ plugin: "probe", event: "noted", data: { n: 1 } }]);
      expect(lines).toEqual([{ plugin: "probe", n: 2 }]);
      const first = await queue.enqueue("echo", 1);
      await waitFor(async () => finished.includes(first.id), {
        what: "the plugin to see the job finish",
      });
      // The last worker stops: so does the plugin, and its listener is removed.
      await w1.stop();
      const w2 = await queue.work({ pollInterval: 20 });
      const second = await queue.enqueue("echo", 2);
      await waitFor(async () => (await queue.getJob(second.id))?.state === "finished", {
        what: "the second job to finish",
      });
      await w2.stop();
      expect(finished).toEqual([first.id]);
      await queue.close();
    });

    it("a plugin that fails to start fails work(), stops those started before it and leaves no worker", async () => {
      const a = probe("a");
      const b = probe("b", { failStart: true, log: a.log });
      const { queue, s } = await setup([a.plugin, b.plugin]);
      await expect(queue.work({ pollInterval: 50 })).rejects.toThrow("b cannot start");
      expect(a.log).toEqual(["start a", "start b", "abort a", "stop a"]);
      expect(await count(s, "workers")).toBe(0);
      expect(queue.workers).toEqual([]);
      await queue.close();
    });

    it("createQueue refuses a bad plugin before anything runs → INVALID_OPTION", () => {
      const ok = probe().plugin;
      const bad: [string, unknown[]][] = [
        ["not an object", [42]],
        ["no start", [{ name: "x" }]],
        ["a name with capitals", [{ ...ok, name: "Cron" }]],
        ["the name core", [{ ...ok, name: "core", migrations: [] }]],
        ["two of one name", [ok, ok]],
        ["a migration of another owner", [{ ...ok, name: "other" }]],
      ];
      for (const [label, plugins] of bad) {
        let error: unknown;
        try {
          createQueue({
            driver: driver(),
            schema: schema(),
            tasks: { echo },
            plugins: plugins as Plugin[],
          });
        } catch (e) {
          error = e;
        }
        expect(error, label).toBeInstanceOf(QError);
        expect((error as QError).code, label).toBe("INVALID_OPTION");
      }
    });
  });
}
