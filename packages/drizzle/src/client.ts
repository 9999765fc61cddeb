import { type Driver, QError } from "@q/core";
import { createPgDriver, type PgDriverOptions } from "@q/pg";
import { createPostgresDriver } from "@q/postgres";

type PgPool = Parameters<typeof createPgDriver>[0];
type PostgresJsSql = Parameters<typeof createPostgresDriver>[0];

/** Reads one property of an object or function without trusting its type. */
const prop = (value: unknown, key: string): unknown =>
  (value as Record<string, unknown> | null | undefined)?.[key];

/** A node-postgres `Pool`: `query`, `connect` and pool counters. */
function isPgPool(client: unknown): client is PgPool {
  return (
    typeof client === "object" &&
    typeof prop(client, "query") === "function" &&
    typeof prop(client, "connect") === "function" &&
    typeof prop(client, "totalCount") === "number"
  );
}

/** A postgres.js `sql`: a function with `unsafe`, `begin` and `listen`. */
function isPostgresJs(client: unknown): client is PostgresJsSql {
  return (
    typeof client === "function" &&
    typeof prop(client, "unsafe") === "function" &&
    typeof prop(client, "begin") === "function" &&
    typeof prop(client, "listen") === "function"
  );
}

/** What the Drizzle driver passes on to the driver of its client. */
export interface ClientDriverOptions {
  control?: boolean;
  controlTimeout?: number;
  prepare?: boolean;
  listen?: string | Record<string, unknown> | false;
}

/**
 * The q driver for the client under a Drizzle database (`db.$client`): `@q/pg`
 * for a node-postgres `Pool`, `@q/postgres` for a postgres.js `sql`, or
 * `undefined` for anything else (a single `Client`, serverless HTTP clients, …).
 */
export function clientDriver(
  client: unknown,
  options: ClientDriverOptions = {},
): Driver | undefined {
  const { controlTimeout, prepare, listen } = options;
  const common = {
    ...(options.control === false ? { control: false as const } : {}),
    ...(controlTimeout === undefined ? {} : { controlTimeout }),
    ...(prepare === undefined ? {} : { prepare }),
  };
  if (isPgPool(client)) {
    return createPgDriver(client, {
      ...common,
      ...(listen === undefined ? {} : { listen: listen as PgDriverOptions["listen"] }),
    });
  }
  if (isPostgresJs(client)) {
    if (listen !== undefined && typeof listen === "object") {
      throw new QError(
        "INVALID_OPTION",
        "over postgres.js, listen is a connection string or false (a client config is node-postgres's)",
        { details: { option: "listen" } },
      );
    }
    return createPostgresDriver(client, {
      ...common,
      ...(listen === undefined ? {} : { listen }),
    });
  }
  return undefined;
}
