import { CommanderError } from "commander";
import { debugText, EXIT_USAGE, errorLine, exitStatus } from "./errors.js";
import { type Io, Output } from "./output.js";
import { program } from "./program.js";

/** The process's own streams and environment. */
export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/**
 * Runs the `q` command line (`argv` without node and the script) and
 * resolves with its exit status: 0, 1 for a failure at run time (the
 * database, a job, a plugin), 2 for a wrong command line. Errors are one
 * line on stderr (`q: CODE: message`); the stack only with `--debug` or
 * `Q_DEBUG`.
 *
 * @example
 * process.exitCode = await run(["counts", "--json"]);
 */
export async function run(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const debug =
    argv.includes("--debug") ||
    (io.env.Q_DEBUG !== undefined && io.env.Q_DEBUG !== "" && io.env.Q_DEBUG !== "0");
  const cli = { io, out: new Output(io) };
  try {
    await program(cli).parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end with 0; a wrong command line was already reported.
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    io.stderr.write(`${errorLine(error)}\n`);
    if (debug) io.stderr.write(`${debugText(error)}\n`);
    return exitStatus(error);
  }
}
