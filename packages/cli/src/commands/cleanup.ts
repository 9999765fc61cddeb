import type { Plugin } from "@q/core";
import type { Command } from "commander";
import { type Cli, globals } from "../cli.js";
import { withConnection } from "../connection.js";
import { count, span } from "../format.js";
import { age, integer } from "../parse.js";
import { loadCron, requireCleanup } from "../plugins.js";
import { cronTablesExist } from "../sql.js";

interface CleanupFlags {
  finishedAfter?: number | "never";
  failedAfter?: number | "never";
  workersAfter?: number | "never";
  batchSize?: number;
  json?: boolean;
}

/** setTimeout's longest delay: the plugin's own timer never fires during the one pass. */
const NEVER = 2 ** 31 - 1;

/** `q cleanup`: one pass of `@q/cleanup`. */
export function cleanupCommand(program: Command, cli: Cli): void {
  program
    .command("cleanup")
    .description(
      "run one @q/cleanup pass: delete old finished and failed jobs and dead worker rows, prune @q/cron's ticks",
    )
    .option(
      "--finished-after <age>",
      "delete finished jobs this old: 90s, 15m, 24h, 7d, ms or never (default 24h)",
      age,
    )
    .option("--failed-after <age>", "delete failed jobs this old, or never (default 7d)", age)
    .option(
      "--workers-after <age>",
      "delete rows of workers silent this long, at least 1m, or never (default 1h)",
      age,
    )
    .option(
      "--batch-size <n>",
      "rows per statement, 1 to 100000 (default 1000)",
      integer(1, 100_000),
    )
    .option("--json", "print what was deleted as JSON")
    .action(async (flags: CleanupFlags, command: Command) => {
      const { cleanup } = await requireCleanup("q cleanup");
      const cronModule = await loadCron();
      const options: Parameters<typeof cleanup>[0] = { interval: NEVER };
      const forever = (a: number | "never") => (a === "never" ? null : a);
      if (flags.finishedAfter !== undefined) options.finishedAfter = forever(flags.finishedAfter);
      if (flags.failedAfter !== undefined) options.failedAfter = forever(flags.failedAfter);
      if (flags.workersAfter !== undefined) options.workersAfter = forever(flags.workersAfter);
      if (flags.batchSize !== undefined) options.batchSize = flags.batchSize;
      // Bad options fail here, before any connection.
      const retention = cleanup(options);
      const counts = await withConnection(
        globals(command),
        cli.io,
        async ({ queue }) => {
          await queue.start();
          return retention.run();
        },
        {
          // With @q/cron installed and migrated, its tick records are pruned too: a
          // cron with no schedules of its own prunes only what no schedule needs.
          plugins: async (driver, schema) => {
            const plugins: Plugin[] = [retention];
            if (cronModule !== undefined) {
              const [row] = await driver.query<{ present: boolean }>(cronTablesExist(schema));
              if (row?.present === true) plugins.push(cronModule.cron({ schedules: [] }));
            }
            return plugins;
          },
        },
      );
      if (flags.json) {
        cli.out.json({ ...counts, settings: retention.settings });
        return;
      }
      const s = retention.settings;
      const keep = (ms: number | null) => (ms === null ? "kept forever" : `older than ${span(ms)}`);
      const lines = [
        `deleted ${count(counts.finished)} finished job(s) (${keep(s.finishedAfter)}), ` +
          `${count(counts.failed)} failed job(s) (${keep(s.failedAfter)}), ` +
          `${count(counts.workers)} dead worker row(s)`,
      ];
      for (const [plugin, pruned] of Object.entries(counts.plugins)) {
        const what = Object.entries(pruned).map(([k, n]) => `${count(n)} ${k}`);
        lines.push(`pruned ${plugin}: ${what.join(", ") || "nothing"}`);
      }
      cli.out.line(...lines);
    });
}
