/**
 * Helpers for tests that need PostgreSQL. The server itself comes from the
 * vitest `globalSetup` in `./global-setup.ts`, which provides `databaseUrl`:
 *
 * ```ts
 * // vitest.config.ts
 * export default defineConfig({ test: { globalSetup: ["@q/test-postgres/global-setup"] } });
 * // a test file
 * import { inject } from "vitest";
 * import { freshSchemaName } from "@q/test-postgres";
 * const url = inject("databaseUrl");
 * const schema = freshSchemaName(); // one schema per file, so files run in parallel
 * ```
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

declare module "vitest" {
  export interface ProvidedContext {
    /** Connection string of the PostgreSQL the tests run against. */
    databaseUrl: string;
  }
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/**
 * A random lowercase identifier such as `t_ab12cd34`, usable as a schema or
 * database name. (`pg_…` names are reserved for PostgreSQL's own schemas.)
 */
export function freshSchemaName(prefix = "t"): string {
  if (
    !IDENTIFIER.test(prefix) ||
    prefix.length > 40 ||
    prefix === "pg" ||
    prefix.startsWith("pg_")
  ) {
    throw new Error(`prefix must be a short lowercase identifier, got ${JSON.stringify(prefix)}`);
  }
  return `${prefix}_${randomBytes(4).toString("hex")}`;
}

/** `url` with its database name replaced by `database`. */
export function withDatabase(url: string, database: string): string {
  const next = new URL(url);
  next.pathname = `/${encodeURIComponent(database)}`;
  return next.toString();
}

/**
 * Creates a database on the server of `url` (for drivers or tests that need a
 * whole database rather than a schema) and returns its connection string.
 */
export async function createDatabase(url: string, name = freshSchemaName("db")): Promise<string> {
  await onServer(url, `CREATE DATABASE ${quote(name)}`);
  return withDatabase(url, name);
}

/** Drops a database made by {@link createDatabase}, closing its open connections. */
export async function dropDatabase(url: string, name: string): Promise<void> {
  await onServer(url, `DROP DATABASE IF EXISTS ${quote(name)} WITH (FORCE)`);
}

async function onServer(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function quote(name: string): string {
  if (!IDENTIFIER.test(name))
    throw new Error(`not a lowercase identifier: ${JSON.stringify(name)}`);
  return `"${name}"`;
}

export {
  type PgBouncer,
  type PgBouncerOptions,
  pgbouncerBinary,
  pgbouncerMissing,
  startPgBouncer,
} from "./pgbouncer.js";
export {
  PRIVATE_SERVER_MAJORS,
  type PrivateServer,
  type PrivateServerOptions,
  privateServerMissing,
  type ShutdownMode,
  startPrivateServer,
} from "./private-server.js";
export { type Cut, type ProxyTarget, startProxy, type TcpProxy } from "./proxy.js";
