import type { Driver } from "./driver.js";
import { QError } from "./errors.js";
import type { Emitter, Listener, QueueEventName } from "./events.js";
import type { Logger } from "./logger.js";
import { markOwnTransaction } from "./own-transaction.js";
import type { Plugin, PluginContext, PluginQueue } from "./plugin.js";
import type { Migration } from "./postgres/migrations.js";
import type { Storage } from "./storage.js";

const PLUGIN_NAME = /^[a-z][a-z0-9_-]{0,62}$/;

/** Checks the plugins of `createQueue` and returns their migrations; throws before anything runs. */
export function pluginMigrations(plugins: readonly Plugin[]): Migration[] {
  const names = new Set<string>();
  const migrations: Migration[] = [];
  for (const plugin of plugins as readonly unknown[]) {
    const p = plugin as Partial<Plugin> | null;
    if (typeof p !== "object" || p === null || typeof p.start !== "function") {
      throw new QError("INVALID_OPTION", "a plugin is an object with a name and a start function", {
        details: { option: "plugins" },
      });
    }
    if (typeof p.name !== "string" || !PLUGIN_NAME.test(p.name) || p.name === "core") {
      throw new QError(
        "INVALID_OPTION",
        `plugin name ${JSON.stringify(p.name)} must match ${PLUGIN_NAME} and not be "core"`,
        {
          details: { option: "plugins", value: p.name },
        },
      );
    }
    if (names.has(p.name)) {
      throw new QError("INVALID_OPTION", `two plugins are named "${p.name}"`, {
        details: { option: "plugins", value: p.name },
      });
    }
    names.add(p.name);
    for (const m of p.migrations ?? []) {
      if (m.owner !== p.name) {
        throw new QError(
          "INVALID_OPTION",
          `plugin "${p.name}" ships a migration owned by "${m.owner}"`,
          {
            details: { option: "plugins", value: m.owner },
          },
        );
      }
      migrations.push(m);
    }
  }
  return migrations;
}

/** What the host needs of its queue. */
export interface PluginHostDeps {
  driver: Driver | undefined;
  storage: Storage;
  schema: string;
  events: Emitter;
  logger: Logger;
  queue: PluginQueue;
}

/** Tags every log line of a plugin with its name. */
function taggedLogger(logger: Logger, plugin: string): Logger {
  return {
    debug: (fields, message) => logger.debug({ plugin, ...fields }, message),
    info: (fields, message) => logger.info({ plugin, ...fields }, message),
    warn: (fields, message) => logger.warn({ plugin, ...fields }, message),
    error: (fields, message) => logger.error({ plugin, ...fields }, message),
  };
}

/**
 * Starts and stops a queue's plugins, in order (stop in reverse). Each start
 * and stop happens once per run; a plugin that fails to start stops those
 * started before it, and the start rejects.
 */
export class PluginHost {
  readonly #plugins: readonly Plugin[];
  readonly #deps: PluginHostDeps;
  #running:
    | { controller: AbortController; started: Plugin[]; unsubscribe: (() => void)[] }
    | undefined;
  #transition: Promise<void> = Promise.resolve();

  constructor(plugins: readonly Plugin[], deps: PluginHostDeps) {
    this.#plugins = plugins;
    this.#deps = deps;
  }

  get size(): number {
    return this.#plugins.length;
  }

  get running(): boolean {
    return this.#running !== undefined;
  }

  /** Starts every plugin unless they run already. */
  start(): Promise<void> {
    const next = this.#transition.then(() => this.#start());
    this.#transition = next.catch(() => {});
    return next;
  }

  /** Stops every plugin that runs (their signals abort first). */
  stop(): Promise<void> {
    const next = this.#transition.then(() => this.#stop());
    this.#transition = next.catch(() => {});
    return next;
  }

  async #start(): Promise<void> {
    if (this.#running !== undefined || this.#plugins.length === 0) return;
    const driver = this.#deps.driver;
    if (driver === undefined) {
      throw new QError("INVALID_OPTION", "plugins need a queue made with a driver, not a storage", {
        details: { option: "plugins" },
      });
    }
    const run = {
      controller: new AbortController(),
      started: [] as Plugin[],
      unsubscribe: [] as (() => void)[],
    };
    this.#running = run;
    try {
      for (const plugin of this.#plugins) {
        await plugin.start(this.#context(plugin, driver, run));
        run.started.push(plugin);
      }
    } catch (error) {
      await this.#stop();
      throw error;
    }
  }

  #context(
    plugin: Plugin,
    driver: Driver,
    run: { controller: AbortController; unsubscribe: (() => void)[] },
  ): PluginContext {
    const { storage, events, schema, queue } = this.#deps;
    const others = this.#plugins.filter((p) => p !== plugin);
    return {
      name: plugin.name,
      schema,
      executor: driver,
      transaction: (fn) => driver.transaction((tx) => fn(markOwnTransaction(tx))),
      queue,
      now: () => storage.now(),
      logger: taggedLogger(this.#deps.logger, plugin.name),
      on: <E extends QueueEventName>(name: E, listener: Listener<E>) => {
        const off = events.on(name, listener);
        run.unsubscribe.push(off);
        return off;
      },
      emit: (event, data) => events.emit("plugin", { plugin: plugin.name, event, data }),
      plugins: others,
      signal: run.controller.signal,
    };
  }

  async #stop(): Promise<void> {
    const run = this.#running;
    if (run === undefined) return;
    run.controller.abort();
    for (const off of run.unsubscribe) off();
    for (const plugin of [...run.started].reverse()) {
      try {
        await plugin.stop?.();
      } catch (error) {
        this.#deps.logger.error({ plugin: plugin.name, err: error }, "plugin failed to stop");
      }
    }
    this.#running = undefined;
  }
}
