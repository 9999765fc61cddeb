import { closedHandleError, notAHandle as notAHandleOf, type QError } from "@q/core";
import { CompiledQuery, type QueryResult } from "kysely";

/**
 * What the driver calls on a `Kysely`, `Transaction` or `ControlledTransaction`:
 * `withoutPlugins()` (so user plugins such as `CamelCasePlugin` never touch
 * q's statements or rows) and `executeQuery`.
 */
export interface KyselyHandle {
  withoutPlugins(): KyselyHandle;
  executeQuery<R>(query: CompiledQuery<R>): Promise<QueryResult<R>>;
}

/** Whether `value` looks like a Kysely instance or one of its transactions. */
export function isKyselyHandle(value: unknown): value is KyselyHandle {
  const v = value as Partial<KyselyHandle> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.withoutPlugins === "function" &&
    typeof v.executeQuery === "function"
  );
}

/** Runs q's SQL as it is, with its parameters bound, and returns plain rows. */
export async function run<R>(
  handle: KyselyHandle,
  text: string,
  params: readonly unknown[] = [],
): Promise<R[]> {
  try {
    const result = await handle.executeQuery(CompiledQuery.raw(text, [...params]));
    // postgres.js-backed dialects may hand back its result array with extra props attached.
    return Array.from(result.rows) as R[];
  } catch (error) {
    throw translateError(error);
  }
}

/** Messages (and postgres.js codes) that mean the handle can no longer run anything. */
const CLOSED = {
  messages: [
    "Transaction is already committed",
    "Transaction is already rolled back",
    "driver has already been destroyed",
    "Cannot use a pool after calling end on the pool",
    "Client was closed and is not queryable",
    "Client has encountered a connection error and is not queryable",
  ],
  codes: ["CONNECTION_ENDED", "CONNECTION_DESTROYED"],
};

/** Turns "this handle is finished or destroyed" into `INVALID_HANDLE`; other errors pass through. */
export function translateError(error: unknown): unknown {
  return closedHandleError("@q/kysely", error, CLOSED);
}

/** The error `executorFor` throws for something that is not a Kysely handle. */
export function notAHandle(native: unknown): QError {
  return notAHandleOf(
    "@q/kysely",
    "the Transaction passed to db.transaction().execute(), or a Kysely instance",
    native,
  );
}
