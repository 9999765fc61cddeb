import type { Command } from "commander";
import type { ConnectionOptions } from "./connection.js";
import { type Io, Output } from "./output.js";

/** What every command's action gets: where to write, and the global options. */
export interface Cli {
  io: Io;
  out: Output;
}

/** The options of the program, seen from one of its commands. */
export function globals(command: Command): ConnectionOptions & { debug?: boolean } {
  const o = command.optsWithGlobals<{ url?: string; schema: string; debug?: boolean }>();
  const options: ConnectionOptions & { debug?: boolean } = { schema: o.schema };
  if (o.url !== undefined) options.url = o.url;
  if (o.debug !== undefined) options.debug = o.debug;
  return options;
}

/** A fresh output for a command: colours decided once, from stdout and the environment. */
export function outputOf(io: Io): Output {
  return new Output(io);
}
