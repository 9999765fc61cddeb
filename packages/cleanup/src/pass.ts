import { setImmediate as nextTurn } from "node:timers/promises";
import type { Executor, Logger, Plugin } from "@q/core";
import type { CleanupSettings } from "./options.js";
import type { CleanupStatements } from "./sql.js";

/** What one pass deleted, by kind. */
export interface CleanupCounts {
  /** Finished jobs deleted. */
  finished: number;
  /** Failed jobs deleted. */
  failed: number;
  /** Rows of worker processes that are gone. */
  workers: number;
  /**
   * What each other plugin's `prune` deleted, by plugin name and then by
   * whatever the plugin counts (`{ cron: { ticks: 12 } }`). Every plugin
   * that has `prune` is listed, with zeros when it had nothing to delete.
   */
  plugins: Record<string, Record<string, number>>;
}

/** What a pass needs of the running plugin. */
export interface PassDeps {
  executor: Executor;
  statements: CleanupStatements;
  settings: CleanupSettings;
  plugins: readonly Plugin[];
  signal: AbortSignal;
  logger: Logger;
  /** A plugin's `prune` threw: the pass goes on with the others. */
  onPruneError(plugin: string, error: unknown): void;
}

/**
 * A plugin that keeps answering a full batch is asked again up to this often
 * in one pass; the next pass carries on. It bounds a pass even when a
 * plugin's counts are wrong.
 */
const MAX_PRUNE_ROUNDS = 1000;

/** Deletes one terminal state in batches, until a batch comes back short or the plugin stops. */
async function deleteJobs(sql: string, age: number, d: PassDeps): Promise<number> {
  const batch = d.settings.batchSize;
  let mark: string | null = null;
  let total = 0;
  while (!d.signal.aborted) {
    const rows: { deleted: number; mark: string | null }[] = await d.executor.query(sql, [
      age,
      mark,
      batch,
    ]);
    const row = rows[0];
    const deleted = Number(row?.deleted ?? 0);
    total += deleted;
    // Short: nothing old is left, or the rest is locked by someone (the next pass gets it).
    if (deleted < batch) break;
    mark = row?.mark ?? mark;
    // Let the worker's own statements and callbacks in between two batches.
    await nextTurn();
  }
  return total;
}

async function deleteWorkers(age: number, d: PassDeps): Promise<number> {
  const batch = d.settings.batchSize;
  let total = 0;
  while (!d.signal.aborted) {
    const [row] = await d.executor.query<{ deleted: number }>(d.statements.deleteWorkers, [
      age,
      batch,
    ]);
    const deleted = Number(row?.deleted ?? 0);
    total += deleted;
    if (deleted < batch) break;
    await nextTurn();
  }
  return total;
}

/** Adds what one `prune` call reported to `into`, and returns the sum of the call. */
function addCounts(into: Record<string, number>, got: unknown): number {
  if (typeof got !== "object" || got === null) return 0;
  let sum = 0;
  for (const [kind, value] of Object.entries(got)) {
    const n = Number(value);
    // A count that is not a number is the other plugin's bug: it must not end the pass.
    if (!Number.isFinite(n) || n < 0) continue;
    into[kind] = (into[kind] ?? 0) + n;
    sum += n;
  }
  return sum;
}

async function prunePlugin(
  plugin: Plugin & { prune: NonNullable<Plugin["prune"]> },
  d: PassDeps,
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  try {
    for (let round = 0; round < MAX_PRUNE_ROUNDS && !d.signal.aborted; round++) {
      const sum = addCounts(counts, await plugin.prune(d.settings.batchSize));
      if (sum < d.settings.batchSize) break;
      await nextTurn();
    }
  } catch (error) {
    d.onPruneError(plugin.name, error);
  }
  return counts;
}

/**
 * One pass: finished jobs, failed jobs, dead workers' rows, then every other
 * plugin's `prune`. Ends early (with what it did so far) when the plugin stops.
 */
export async function runPass(d: PassDeps): Promise<CleanupCounts> {
  const { finishedAfter, failedAfter, workersAfter } = d.settings;
  const counts: CleanupCounts = { finished: 0, failed: 0, workers: 0, plugins: {} };
  if (finishedAfter !== null) {
    counts.finished = await deleteJobs(d.statements.deleteFinished, finishedAfter, d);
  }
  if (failedAfter !== null) {
    counts.failed = await deleteJobs(d.statements.deleteFailed, failedAfter, d);
  }
  if (workersAfter !== null) counts.workers = await deleteWorkers(workersAfter, d);
  for (const plugin of d.plugins) {
    if (d.signal.aborted) break;
    if (typeof plugin.prune !== "function") continue;
    const got = await prunePlugin(plugin as Plugin & { prune: NonNullable<Plugin["prune"]> }, d);
    counts.plugins[plugin.name] = got;
  }
  return counts;
}
