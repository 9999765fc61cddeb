import { createHash } from "node:crypto";
import { finished } from "node:stream/promises";
import {
  closedHandleError,
  type Executor,
  notInTransaction,
  poolerError,
  QError,
  type Row,
  sqlState,
} from "@q/core";
import { from as copyStream } from "pg-copy-streams";

/**
 * What q needs of a node-postgres `Pool`, `PoolClient` or `Client`: `query`
 * resolving to `{ rows }` (or, for several statements, one such per statement).
 */
export interface Queryable {
  query(sql: string, params?: unknown[]): Promise<unknown>;
  query(config: { name: string; text: string; values: unknown[] }): Promise<unknown>;
}

/** True for anything with a `query` method, the shape of every node-postgres handle. */
export function isQueryable(value: unknown): value is Queryable {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { query?: unknown }).query === "function"
  );
}

/** A `Pool` has counters that a `Client` lacks. */
export function isPool(value: object): boolean {
  return typeof (value as { totalCount?: unknown }).totalCount === "number";
}

/**
 * An executor that runs every statement on `target`. `guard` runs before each
 * statement and throws (`INVALID_HANDLE`) when `target` may no longer be used.
 * Over one connection that can COPY (see {@link canCopy}) it has `copyFrom`
 * too; over a pool it has not.
 */
export function executorOver(
  target: Queryable,
  prepare: boolean,
  guard: () => void = () => {},
): Executor {
  const executor: Executor = {
    async query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<R[]> {
      guard();
      return (await run(target, sql, params, prepare)) as R[];
    },
  };
  if (!isPool(target) && canCopy(target)) {
    executor.copyFrom = async (sql: string, data: string): Promise<void> => {
      guard();
      await copyFrom(target, sql, data);
    };
  }
  return executor;
}

/**
 * Whether `client` is a node-postgres `Client` with the wire connection that
 * COPY streams write to (a pg-native client, or a look-alike, has none).
 */
export function canCopy(client: object): boolean {
  const connection = (client as { connection?: { sendCopyFail?: unknown } }).connection;
  return typeof connection?.sendCopyFail === "function";
}

/**
 * Runs `COPY … FROM STDIN` on `client` with `data` as its input: resolves once
 * the server has taken every row, rejects with the server's error (its
 * SQLSTATE kept) or `INVALID_HANDLE` for a client that can no longer run
 * anything, as {@link run} does.
 */
async function copyFrom(client: Queryable, sql: string, data: string): Promise<void> {
  try {
    const stream = (client as unknown as { query<S>(submittable: S): S }).query(copyStream(sql));
    stream.end(data);
    // 'finish' comes after the server's ReadyForQuery: the rows are in.
    await finished(stream);
  } catch (error) {
    throw asHandleError(error);
  }
}

/** Names of prepared statements, one per distinct text, shared by every connection. */
const statementNames = new Map<string, string>();

/** Core opens each statement with a comment naming it: `/* q:claimOne *\/ …`. */
const NAMED = /^\/\* q:([A-Za-z0-9_]+) \*\//;

/**
 * `q_<what it does>_<hash of its text>`, such as `q_claimOne_3f2a9c1e`, so
 * `pg_prepared_statements` and server logs say which statement is which; the
 * hash keeps statements of two schemas apart. PostgreSQL truncates names at
 * 63 bytes, well beyond these.
 */
function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (name === undefined) {
    const what = NAMED.exec(sql)?.[1] ?? "sql";
    name = `q_${what.slice(0, 40)}_${createHash("sha256").update(sql).digest("hex").slice(0, 10)}`;
    statementNames.set(sql, name);
  }
  return name;
}

/**
 * Runs a statement and returns its rows (the last statement's, when `sql`
 * holds several), mapping "this handle is dead" to `INVALID_HANDLE`.
 */
export async function run(
  target: Queryable,
  sql: string,
  params?: readonly unknown[],
  prepare = false,
): Promise<unknown[]> {
  let result: unknown;
  try {
    // Parameterised statements are q's own and few: prepared, each is planned once per connection.
    result =
      prepare && params !== undefined && params.length > 0
        ? await target.query({ name: statementName(sql), text: sql, values: [...params] })
        : await target.query(sql, params === undefined ? undefined : [...params]);
  } catch (error) {
    if (prepare && params !== undefined && params.length > 0) {
      const pooler = poolerError(
        "@q/pg",
        error,
        "create the driver with createPgDriver(pool, { prepare: false, listen: <a direct connection string> })",
      );
      if (pooler) throw pooler;
    }
    throw asHandleError(error);
  }
  // Several statements without parameters (a migration) give one result per statement.
  const last: unknown = Array.isArray(result) ? (result.at(-1) ?? { rows: [] }) : result;
  const rows = (last as { rows?: unknown } | undefined)?.rows;
  if (!Array.isArray(rows)) {
    throw new QError(
      "INVALID_HANDLE",
      "the handle's query() did not resolve to { rows }: pass a node-postgres Client or PoolClient",
    );
  }
  return rows;
}

/** Messages node-postgres uses for a pool or client that can no longer run anything. */
const DEAD_HANDLE = {
  messages: [
    "Cannot use a pool after calling end on the pool",
    "Client was closed and is not queryable",
    "Client has encountered a connection error and is not queryable",
  ],
};

/** `error` as a `QError("INVALID_HANDLE")` when it says the handle is closed, else unchanged. */
export function asHandleError(error: unknown): unknown {
  // The client's transaction status can lag behind the server: node-postgres
  // rejects a failing query before the ReadyForQuery that marks the
  // transaction failed arrives. The server's refusal (25P02) is the truth.
  if (sqlState(error) === "25P02") return notInTransaction("@q/pg", "failed", error);
  return closedHandleError("@q/pg", error, DEAD_HANDLE);
}
