import {
  createQueue,
  type Driver,
  type Logger,
  type Migration,
  type Plugin,
  type Queue,
} from "@q/core";
import { createPgDriver } from "@q/pg";
import pg from "pg";
import { UsageError } from "./errors.js";
import type { Io } from "./output.js";

/** The options every command that talks to the database shares. */
export interface ConnectionOptions {
  /** `postgres://user:password@host:5432/db`; default `DATABASE_URL`. */
  url?: string;
  /** Schema of q's tables; default `q`. */
  schema: string;
}

/** A queue with no tasks of its own: it inspects and steers the jobs of every app. */
export type AdminQueue = Queue<Record<string, never>>;

/** What a command gets to work with. */
export interface Connection {
  queue: AdminQueue;
  /** Runs SQL of the CLI's own (plugin tables), through the same pool. */
  driver: Driver;
  schema: string;
}

/** The database URL of the command line, else of the environment; refuses anything else. */
export function databaseUrl(options: ConnectionOptions, env: NodeJS.ProcessEnv): string {
  const url = options.url ?? env.DATABASE_URL;
  if (url === undefined || url === "") {
    throw new UsageError(
      "no database: pass --url postgres://user@host:5432/db or set DATABASE_URL",
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError("the database URL is not a URL: give postgres://user@host:5432/db");
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new UsageError(
      `the database URL starts with ${parsed.protocol}//, not postgres:// or postgresql://`,
    );
  }
  return url;
}

/** Warnings and errors of q on stderr, one line each; nothing else. */
function stderrLogger(io: Io): Logger {
  const write = (fields: object, message?: string) => {
    const err = (fields as { err?: unknown }).err;
    const why = err instanceof Error ? `: ${err.message}` : "";
    io.stderr.write(`q: warning: ${message ?? ""}${why}\n`);
  };
  return { debug() {}, info() {}, warn: write, error: write };
}

/**
 * Opens a small pool on the database, runs `fn` with an admin queue over it
 * and closes everything, whatever `fn` did. No LISTEN connection, no control
 * connection and no prepared statements: one command, a few statements, and
 * it works the same through a transaction-mode pooler.
 */
export async function withConnection<T>(
  options: ConnectionOptions,
  io: Io,
  fn: (connection: Connection) => Promise<T>,
  extra: {
    migrations?: readonly Migration[];
    /** The queue's plugins, chosen once the database can be asked (whether their tables exist). */
    plugins?: (driver: Driver, schema: string) => Promise<readonly Plugin[]>;
  } = {},
): Promise<T> {
  const url = databaseUrl(options, io.env);
  const pool = new pg.Pool({
    connectionString: url,
    max: 2,
    connectionTimeoutMillis: 10_000,
    application_name: "q-cli",
  });
  // An idle client that drops emits 'error' on the pool; the query that needs it reports it.
  pool.on("error", () => {});
  const driver = createPgDriver(pool, { listen: false, control: false, prepare: false });
  try {
    const plugins = extra.plugins ? await extra.plugins(driver, options.schema) : [];
    const queue: AdminQueue = createQueue({
      driver,
      schema: options.schema,
      tasks: {},
      logger: stderrLogger(io),
      migrations: extra.migrations ?? [],
      plugins,
    });
    try {
      return await fn({ queue, driver, schema: options.schema });
    } finally {
      await queue.close();
    }
  } finally {
    await driver.close();
    await pool.end();
  }
}
