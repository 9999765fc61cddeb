import { type Plugin, type PluginContext, QError } from "@q/core";
import { type CleanupOptions, type CleanupSettings, cleanupSettings } from "./options.js";
import { type CleanupCounts, runPass } from "./pass.js";
import { type CleanupStatements, cleanupStatements } from "./sql.js";

/**
 * The retention plugin. Give it to `createQueue({ plugins })`; it runs a
 * pass every `interval` while the queue's plugins run, and on demand with
 * {@link Cleanup.run}.
 */
export interface Cleanup extends Plugin {
  /** Always `"cleanup"`. */
  readonly name: "cleanup";
  /** The options in force, defaults filled in (`null`: keep forever). */
  readonly settings: Readonly<CleanupSettings>;
  /**
   * Runs one pass now and resolves with what it deleted. A pass already
   * under way finishes first (passes never overlap). Rejects with a
   * `QError` (`NOT_RUNNING`) while the plugin is not running: before the
   * queue's `start()` or first `work()`, and after it stopped.
   */
  run(): Promise<CleanupCounts>;
}

interface Running {
  ctx: PluginContext;
  statements: CleanupStatements;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Makes the retention plugin. Options are checked here, before any SQL
 * (`QError` with `INVALID_OPTION`).
 *
 * ```ts
 * const retention = cleanup({ finishedAfter: 24 * 3600_000, failedAfter: null });
 * const queue = createQueue({ driver, tasks, plugins: [retention] });
 * await queue.start();
 * const { finished, failed, workers, plugins } = await retention.run();
 * ```
 */
export function cleanup(options: CleanupOptions = {}): Cleanup {
  const settings = Object.freeze(cleanupSettings(options));
  let running: Running | undefined;
  // Passes run one after the other, whoever asked for them.
  let chain: Promise<unknown> = Promise.resolve();

  const pass = async (r: Running): Promise<CleanupCounts> => {
    const started = performance.now();
    const counts = await runPass({
      executor: r.ctx.executor,
      statements: r.statements,
      settings,
      plugins: r.ctx.plugins,
      signal: r.ctx.signal,
      logger: r.ctx.logger,
      onPruneError(plugin, error) {
        r.ctx.logger.error({ err: error, of: plugin }, `prune of plugin "${plugin}" failed`);
        r.ctx.emit("error", { during: "prune", of: plugin, error });
      },
    });
    const durationMs = Math.round(performance.now() - started);
    const pruned = Object.values(counts.plugins).flatMap((c) => Object.values(c));
    const total =
      counts.finished + counts.failed + counts.workers + pruned.reduce((a, b) => a + b, 0);
    const fields = { ...counts, durationMs };
    if (total > 0) {
      r.ctx.logger.info(
        fields,
        `deleted ${counts.finished} finished and ${counts.failed} failed job(s), ${counts.workers} dead worker row(s)`,
      );
    } else r.ctx.logger.debug(fields, "nothing to delete");
    r.ctx.emit("pass", fields);
    return counts;
  };

  const enqueuePass = (r: Running): Promise<CleanupCounts> => {
    const next = chain.then(() => pass(r));
    chain = next.catch(() => {});
    return next;
  };

  const schedule = (r: Running): void => {
    if (r.ctx.signal.aborted) return;
    r.timer = setTimeout(async () => {
      r.timer = undefined;
      try {
        await enqueuePass(r);
      } catch (error) {
        // The database may be away for a moment; the next pass tries again.
        if (!r.ctx.signal.aborted) {
          r.ctx.logger.error({ err: error }, "cleanup pass failed");
          r.ctx.emit("error", { during: "pass", error });
        }
      }
      schedule(r);
    }, settings.interval);
  };

  return {
    name: "cleanup",
    settings,
    start(ctx) {
      if (running !== undefined) {
        throw new QError(
          "PLUGIN_IN_USE",
          "this cleanup plugin already runs in a queue: make one with cleanup() per queue",
        );
      }
      const r: Running = { ctx, statements: cleanupStatements(ctx.schema), timer: undefined };
      running = r;
      // The first pass waits one interval too: the other plugins start after
      // this one, and their `prune` is only called while they run.
      schedule(r);
      ctx.signal.addEventListener("abort", () => clearTimeout(r.timer), { once: true });
    },
    async stop() {
      const r = running;
      if (r === undefined) return;
      clearTimeout(r.timer);
      await chain;
      if (running === r) running = undefined;
    },
    run() {
      const r = running;
      if (r === undefined || r.ctx.signal.aborted) {
        return Promise.reject(
          new QError(
            "NOT_RUNNING",
            "cleanup is not running: run() works once the queue's plugins started (queue.start() or queue.work()) and until the queue closes",
          ),
        );
      }
      return enqueuePass(r);
    },
  };
}
