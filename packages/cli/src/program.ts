import { readFileSync } from "node:fs";
import { Command, Option, type OutputConfiguration } from "commander";
import type { Cli } from "./cli.js";
import { cleanupCommand } from "./commands/cleanup.js";
import { cronCommand } from "./commands/cron.js";
import { jobCommands } from "./commands/jobs.js";
import { overviewCommands } from "./commands/overview.js";
import { schemaCommands } from "./commands/schema.js";
import { steerCommands } from "./commands/steer.js";

const { version } = JSON.parse(
  readFileSync(new URL("../package.json", import.meta.url), "utf8"),
) as { version: string };

/** The `q` program with every command, writing where `cli` says. */
export function program(cli: Cli): Command {
  const q = new Command("q")
    .description("Migrate, inspect and steer q, the PostgreSQL job queue.")
    .version(version, "-v, --version")
    .addOption(
      new Option(
        "--url <url>",
        "the database: postgres://user:password@host:5432/db (default: DATABASE_URL)",
      ),
    )
    .addOption(new Option("--schema <name>", "schema of q's tables").default("q"))
    .addOption(new Option("--debug", "print the stack of an error (also Q_DEBUG=1)"))
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput(output(cli, "q"));
  schemaCommands(q, cli);
  jobCommands(q, cli);
  overviewCommands(q, cli);
  steerCommands(q, cli);
  cleanupCommand(q, cli);
  cronCommand(q, cli);
  // Every command reports its usage errors as the program does.
  for (const command of allCommands(q)) {
    command.exitOverride();
    command.showSuggestionAfterError(true);
    command.configureOutput(output(cli, commandPath(command)));
  }
  return q;
}

/** Where commander writes; its "error: …" becomes the CLI's one line, with where to look. */
function output(cli: Cli, path: string): OutputConfiguration {
  return {
    writeOut: (text) => cli.io.stdout.write(text),
    writeErr: (text) => cli.io.stderr.write(text),
    outputError: (text, write) => {
      const said = text
        .replace(/^error: /, "")
        .replace(/\s*\n\s*/g, " ")
        .trim();
      write(`q: ${said} (see ${path} --help)\n`);
    },
  };
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

function allCommands(command: Command): Command[] {
  return command.commands.flatMap((c) => [c, ...allCommands(c)]);
}
