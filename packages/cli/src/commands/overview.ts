import type { JobState, StateCount } from "@q/core";
import type { Command } from "commander";
import { type Cli, globals } from "../cli.js";
import { withConnection } from "../connection.js";
import { count, span, time } from "../format.js";
import { table } from "../output.js";

const STATES: readonly JobState[] = ["ready", "claimed", "finished", "failed"];

/** One line of the counts table: a queue and its jobs by state. */
interface QueueCounts {
  queue: string;
  counts: Record<JobState, { n: number; exact: boolean }>;
}

function pivot(rows: readonly StateCount[]): QueueCounts[] {
  const byQueue = new Map<string, QueueCounts>();
  for (const r of rows) {
    let line = byQueue.get(r.queue);
    if (line === undefined) {
      const counts = Object.fromEntries(STATES.map((s) => [s, { n: 0, exact: true }]));
      line = { queue: r.queue, counts: counts as QueueCounts["counts"] };
      byQueue.set(r.queue, line);
    }
    const cell = line.counts[r.state];
    cell.n += r.count;
    cell.exact &&= r.exact;
  }
  return [...byQueue.values()].sort((a, b) => (a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : 0));
}

function total(line: QueueCounts): { n: number; exact: boolean } {
  const cells = STATES.map((s) => line.counts[s]);
  return { n: cells.reduce((a, x) => a + x.n, 0), exact: cells.every((x) => x.exact) };
}

/** Jobs per second: two decimals below one, so a trickle does not read as zero. */
function rate(perSecond: number): string {
  if (perSecond === 0) return "0";
  return perSecond < 1 ? perSecond.toFixed(2) : perSecond.toFixed(1);
}

/** `q counts` and `q stats`. */
export function overviewCommands(program: Command, cli: Cli): void {
  program
    .command("counts")
    .description("how many jobs each queue holds in each state")
    .option("--json", "print [{ queue, state, count, exact }] as JSON")
    .action(async (options: { json?: boolean }, command: Command) => {
      const rows = await withConnection(globals(command), cli.io, ({ queue }) => queue.counts());
      if (options.json) {
        cli.out.json(rows);
        return;
      }
      const c = cli.out.colors;
      const lines = pivot(rows);
      if (lines.length === 0) {
        cli.out.line(c.dim("no jobs"));
        return;
      }
      if (lines.length > 1) {
        const all: QueueCounts = {
          queue: "all queues",
          counts: Object.fromEntries(
            STATES.map((s) => [
              s,
              {
                n: lines.reduce((a, l) => a + l.counts[s].n, 0),
                exact: lines.every((l) => l.counts[s].exact),
              },
            ]),
          ) as QueueCounts["counts"],
        };
        lines.push(all);
      }
      const cell = (x: { n: number; exact: boolean }) => count(x.n, x.exact);
      cli.out.line(
        ...table(
          lines,
          [
            { header: "queue", value: (l) => l.queue },
            ...STATES.map((s) => ({
              header: s,
              value: (l: QueueCounts) => cell(l.counts[s]),
              align: "right" as const,
            })),
            { header: "total", value: (l) => cell(total(l)), align: "right" },
          ],
          c,
        ),
      );
      if (rows.some((r) => !r.exact)) {
        cli.out.line(
          c.dim("~ the planner's estimate: exact counts of a large history cost a scan"),
        );
      }
    });

  program
    .command("stats")
    .description("each queue at a glance: due and scheduled jobs, running, lag, throughput, paused")
    .option(
      "--json",
      "print [{ queue, ready, scheduled, claimed, lagMs, throughput, paused }] as JSON",
    )
    .action(async (options: { json?: boolean }, command: Command) => {
      const stats = await withConnection(globals(command), cli.io, ({ queue }) => queue.stats());
      if (options.json) {
        cli.out.json(stats);
        return;
      }
      const c = cli.out.colors;
      if (stats.length === 0) {
        cli.out.line(c.dim("no queues"));
        return;
      }
      cli.out.line(
        ...table(
          stats,
          [
            { header: "queue", value: (s) => s.queue },
            { header: "ready", value: (s) => count(s.ready), align: "right" },
            { header: "scheduled", value: (s) => count(s.scheduled), align: "right" },
            { header: "claimed", value: (s) => count(s.claimed), align: "right" },
            { header: "lag", value: (s) => (s.lagMs > 0 ? span(s.lagMs) : "-"), align: "right" },
            { header: "jobs/s", value: (s) => rate(s.throughput), align: "right" },
            {
              header: "paused",
              value: (s) =>
                s.paused
                  ? c.yellow(s.pausedAt ? `paused since ${time(s.pausedAt)}` : "paused")
                  : "-",
            },
          ],
          c,
        ),
      );
    });
}
