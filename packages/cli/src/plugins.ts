/**
 * `@q/cron` and `@q/cleanup` are optional: the commands that need one load
 * it when they run, and say what to install when it is missing.
 *
 * @module
 */
import type { Migration } from "@q/core";
import { InvalidArgumentError } from "commander";

type CronModule = typeof import("@q/cron");
type CleanupModule = typeof import("@q/cleanup");

/** The plugins the CLI knows, by their short name. */
export const PLUGINS = ["cron", "cleanup"] as const;
export type PluginName = (typeof PLUGINS)[number];

function isMissing(error: unknown, specifier: string): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  return (
    typeof e === "object" &&
    e !== null &&
    (e.code === "ERR_MODULE_NOT_FOUND" || e.code === "MODULE_NOT_FOUND") &&
    typeof e.message === "string" &&
    e.message.includes(specifier)
  );
}

async function optional<M>(specifier: string, load: () => Promise<M>): Promise<M | undefined> {
  try {
    return await load();
  } catch (error) {
    if (isMissing(error, specifier)) return undefined;
    throw error;
  }
}

/** `@q/cron` when it is installed. */
export const loadCron = (): Promise<CronModule | undefined> =>
  optional("@q/cron", () => import("@q/cron"));

/** `@q/cleanup` when it is installed. */
export const loadCleanup = (): Promise<CleanupModule | undefined> =>
  optional("@q/cleanup", () => import("@q/cleanup"));

/** Thrown when a command needs a plugin package that is not installed. */
export class MissingPlugin extends Error {
  override readonly name = "MissingPlugin";
  constructor(plugin: PluginName, command: string) {
    super(`${command} needs @q/${plugin}: install it beside @q/cli (npm install @q/${plugin})`);
  }
}

/** `@q/cron`, or a clear error that says to install it. */
export async function requireCron(command: string): Promise<CronModule> {
  const m = await loadCron();
  if (m === undefined) throw new MissingPlugin("cron", command);
  return m;
}

/** `@q/cleanup`, or a clear error that says to install it. */
export async function requireCleanup(command: string): Promise<CleanupModule> {
  const m = await loadCleanup();
  if (m === undefined) throw new MissingPlugin("cleanup", command);
  return m;
}

/** Parses `--with cron,cleanup` (or `none`); a usage error for any other name. */
export function pluginList(value: string): PluginName[] {
  const names = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (names.length === 1 && names[0] === "none") return [];
  for (const name of names) {
    if (!(PLUGINS as readonly string[]).includes(name)) {
      throw new InvalidArgumentError(
        `"${name}" is no plugin of q: use ${PLUGINS.join(", ")} or none`,
      );
    }
  }
  return names as PluginName[];
}

/**
 * The migrations of core's plugins: those named, each of which must be
 * installed, or by default every one that is installed.
 */
export async function pluginMigrations(
  wanted: readonly PluginName[] | undefined,
  command: string,
): Promise<{ plugins: PluginName[]; migrations: Migration[] }> {
  const plugins: PluginName[] = [];
  const migrations: Migration[] = [];
  for (const name of PLUGINS) {
    if (wanted !== undefined && !wanted.includes(name)) continue;
    if (name === "cron") {
      const m = wanted === undefined ? await loadCron() : await requireCron(command);
      if (m === undefined) continue;
      plugins.push(name);
      migrations.push(...m.cronMigrations);
    } else {
      const m = wanted === undefined ? await loadCleanup() : await requireCleanup(command);
      if (m === undefined) continue;
      // The cleanup owns no table: nothing to migrate.
      plugins.push(name);
    }
  }
  return { plugins, migrations };
}
