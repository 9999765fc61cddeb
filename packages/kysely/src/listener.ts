import { type ListenHandlers, QError, type Unlisten } from "@q/core";

/**
 * Something that can LISTEN for the Kysely driver, which cannot itself: any q
 * driver, such as `createPgDriver(pool)` from `@q/pg` or
 * `createPostgresDriver(sql)` from `@q/postgres`, over the same database.
 */
export interface KyselyListener {
  listen?(channel: string, handlers: ListenHandlers): Promise<Unlisten>;
  /** Called by the Kysely driver's `close()` (it releases the LISTEN connection, never your pool). */
  close?(): Promise<void>;
}

/** Checks the `listener` option, catching the likely mix-ups with a clear message. */
export function checkListener(listener: unknown): KyselyListener | undefined {
  if (listener === undefined) return undefined;
  if (typeof listener === "function") {
    // A postgres.js `sql` has a `listen` too, with another signature.
    throw new QError(
      "INVALID_OPTION",
      "listener must be a q driver: pass createPostgresDriver(sql) from @q/postgres, not sql itself",
    );
  }
  const l = listener as KyselyListener | null;
  if (typeof l !== "object" || l === null || typeof l.listen !== "function") {
    throw new QError(
      "INVALID_OPTION",
      "listener must be a q driver with listen(), such as createPgDriver(pool) from @q/pg",
    );
  }
  return l;
}
