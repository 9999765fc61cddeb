import type { Command } from "commander";
import { type Cli, globals } from "../cli.js";
import { withConnection } from "../connection.js";
import { state } from "../format.js";

/** `q retry`, `q cancel`, `q pause`, `q resume`. */
export function steerCommands(program: Command, cli: Cli): void {
  program
    .command("retry")
    .description("move a failed job back to ready, with a fresh set of attempts")
    .argument("<id>", "the job's id")
    .option("--json", "print the job as JSON")
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      const job = await withConnection(globals(command), cli.io, ({ queue }) => queue.retry(id));
      if (options.json) return cli.out.json(job);
      cli.out.line(
        `job ${job.id} is ${state(job.state, cli.out.colors)} again (${job.task}, queue ${job.queue})`,
      );
    });

  program
    .command("cancel")
    .description("cancel a job: a waiting one fails at once, a running one's worker aborts it")
    .argument("<id>", "the job's id")
    .option("--json", "print { id, outcome } as JSON")
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      const outcome = await withConnection(globals(command), cli.io, ({ queue }) =>
        queue.cancel(id),
      );
      if (options.json) return cli.out.json({ id, outcome });
      const c = cli.out.colors;
      const said = {
        cancelled: `job ${id} is ${c.red("failed")} (CANCELLED)`,
        requested: `job ${id} is running: its worker was told to abort it; it fails as CANCELLED`,
        terminal: `job ${id} had already finished or failed: nothing to cancel`,
      } as const;
      cli.out.line(said[outcome]);
    });

  program
    .command("pause")
    .description("stop workers everywhere from claiming jobs of a queue; enqueueing goes on")
    .argument("<queue>", "the queue's name")
    .option("--json", "print { queue, paused } as JSON")
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      await withConnection(globals(command), cli.io, ({ queue }) => queue.pause(name));
      if (options.json) return cli.out.json({ queue: name, paused: true });
      cli.out.line(
        `queue ${name} is ${cli.out.colors.yellow("paused")}: running jobs finish, no new ones start`,
      );
    });

  program
    .command("resume")
    .description("let workers claim jobs of a paused queue again")
    .argument("<queue>", "the queue's name")
    .option("--json", "print { queue, paused } as JSON")
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      await withConnection(globals(command), cli.io, ({ queue }) => queue.resume(name));
      if (options.json) return cli.out.json({ queue: name, paused: false });
      cli.out.line(`queue ${name} is ${cli.out.colors.green("running")} again`);
    });
}
