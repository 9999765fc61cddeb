import { stripVTControlCharacters } from "node:util";
import pc from "picocolors";

/** What a command writes to and reads its settings from; the process's own by default. */
export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

/** The colour functions of picocolors, switched on or off as a whole. */
export type Colors = ReturnType<typeof pc.createColors>;

/**
 * Colours only for a person at a terminal: never when the stream is a pipe
 * or a file, never under `NO_COLOR` (https://no-color.org), and also off the
 * terminal under `FORCE_COLOR` (anything but `0`).
 */
export function colorsFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): Colors {
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== "";
  const force = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0";
  return pc.createColors(!noColor && (force || stream.isTTY === true));
}

/** What a command prints: lines for people, or one JSON document for machines. */
export class Output {
  readonly colors: Colors;
  readonly #io: Io;

  constructor(io: Io) {
    this.#io = io;
    this.colors = colorsFor(io.stdout, io.env);
  }

  /** Writes lines to stdout. */
  line(...lines: string[]): void {
    this.#io.stdout.write(`${lines.join("\n")}\n`);
  }

  /** Writes one JSON document to stdout: dates as ISO strings, two-space indentation. */
  json(value: unknown): void {
    this.#io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** A note for people on stderr, so that stdout stays what the command answers. */
  note(text: string): void {
    this.#io.stderr.write(`${text}\n`);
  }
}

/** One column of {@link table}. */
export interface Column<Row> {
  header: string;
  value: (row: Row) => string;
  align?: "left" | "right";
}

/**
 * A plain table: a header, then one line per row, columns two spaces apart.
 * Widths count visible characters, so coloured cells line up.
 */
export function table<Row>(
  rows: readonly Row[],
  columns: readonly Column<Row>[],
  colors: Colors,
): string[] {
  const cells = rows.map((row) => columns.map((c) => c.value(row)));
  const width = (s: string) => stripVTControlCharacters(s).length;
  const widths = columns.map((c, i) =>
    Math.max(width(c.header), ...cells.map((r) => width(r[i] ?? ""))),
  );
  const pad = (text: string, i: number) => {
    const fill = " ".repeat(widths[i]! - width(text));
    return columns[i]!.align === "right" ? fill + text : text + fill;
  };
  const render = (row: readonly string[]) => row.map(pad).join("  ").trimEnd();
  return [colors.bold(render(columns.map((c) => c.header))), ...cells.map(render)];
}
