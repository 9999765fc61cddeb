import { QError, sqlState } from "@q/core";
import type { Command } from "commander";
import { type Cli, globals } from "../cli.js";
import { withConnection } from "../connection.js";
import { span, state, time } from "../format.js";
import { table } from "../output.js";
import { requireCron } from "../plugins.js";
import { cronSchedules } from "../sql.js";

/** A stored schedule of `@q/cron`, as `q cron list --json` prints it. */
export interface StoredSchedule {
  name: string;
  /** The latest tick enqueued, by any process; null before the first. */
  lastTick: Date | null;
  /** The job of that tick, while its tick record is kept. */
  lastJobId: string | null;
  lastJobTask: string | null;
  lastJobState: string | null;
  /** When a scheduler that declares the schedule last made a pass. */
  seenAt: Date;
  /** When a scheduler first saw the schedule: no earlier tick is ever enqueued. */
  since: Date;
  /** The catch-up window, in ms. */
  catchUpMs: number;
}

const date = (ms: unknown) => (ms === null || ms === undefined ? null : new Date(Number(ms)));

/** `q cron list`. */
export function cronCommand(program: Command, cli: Cli): void {
  const cron = program.command("cron").description("@q/cron's schedules");
  cron
    .command("list")
    .description("the stored schedules: last tick and its job, when a scheduler last saw each")
    .option("--json", "print the schedules as JSON")
    .action(async (options: { json?: boolean }, command: Command) => {
      await requireCron("q cron list");
      const schedules = await withConnection(
        globals(command),
        cli.io,
        async ({ driver, schema }) => {
          try {
            const rows = await driver.query(cronSchedules(schema));
            return rows.map(
              (r): StoredSchedule => ({
                name: String(r.name),
                lastTick: date(r.lasttick),
                lastJobId: r.jobid === null ? null : String(r.jobid),
                lastJobTask: r.task === null ? null : String(r.task),
                lastJobState: r.state === null ? null : String(r.state),
                seenAt: date(r.seenat)!,
                since: date(r.since)!,
                catchUpMs: Number(r.catchup),
              }),
            );
          } catch (error) {
            if (sqlState(error) === "42P01" || sqlState(error) === "3F000") {
              throw new QError(
                "NOT_MIGRATED",
                `@q/cron's tables are missing in schema "${schema}"`,
                { cause: error },
              );
            }
            throw error;
          }
        },
      );
      if (options.json) {
        cli.out.json(schedules);
        return;
      }
      const c = cli.out.colors;
      if (schedules.length === 0) {
        cli.out.line(c.dim("no schedules: no scheduler has run yet"));
        return;
      }
      cli.out.line(
        ...table(
          schedules,
          [
            { header: "schedule", value: (s) => s.name },
            { header: "task", value: (s) => s.lastJobTask ?? "-" },
            { header: "last tick", value: (s) => time(s.lastTick) },
            { header: "job", value: (s) => s.lastJobId ?? "-", align: "right" },
            { header: "state", value: (s) => (s.lastJobState ? state(s.lastJobState, c) : "-") },
            { header: "last seen", value: (s) => time(s.seenAt) },
            { header: "catch-up", value: (s) => span(s.catchUpMs), align: "right" },
          ],
          c,
        ),
      );
      cli.out.line(
        c.dim(
          "next ticks follow from the expressions in your app: schedules.list() there shows them",
        ),
      );
    });
}
