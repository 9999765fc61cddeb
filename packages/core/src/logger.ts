/**
 * A pino-shaped logger: `logger.warn({ jobId }, "message")`. pino fits as is;
 * use {@link consoleLogger} for the console.
 */
export interface Logger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

export type LogLevel = "debug" | "info" | "warn" | "error";
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Writes to the console from `level` up. The default logger, at `warn`. */
export function consoleLogger(level: LogLevel = "warn"): Logger {
  const at =
    (l: LogLevel) =>
    (fields: object, message?: string): void => {
      if (order[l] < order[level]) return;
      console[l](`[q] ${message ?? ""}`, fields);
    };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** Discards everything. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
