import { type Executor, type ListenHandlers, QError, type Unlisten } from "@q/core";

/**
 * The companion q driver of the Kysely driver, which can neither LISTEN nor
 * open a connection of its own: any q driver over the same database, such as
 * `createPgDriver(pool)` from `@q/pg` or `createPostgresDriver(sql)` from
 * `@q/postgres`. It carries LISTEN and the control connection (heartbeats).
 */
export interface KyselyListener {
  listen?(channel: string, handlers: ListenHandlers): Promise<Unlisten>;
  /** The companion's control connection: heartbeats run on it, apart from the pool. */
  readonly control?: Executor;
  /** Called by the Kysely driver's `close()` (it releases the companion's own connections, never your pool). */
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
  const canListen = typeof l?.listen === "function";
  const hasControl = typeof (l?.control as Partial<Executor> | undefined)?.query === "function";
  if (typeof l !== "object" || l === null || (!canListen && !hasControl)) {
    throw new QError(
      "INVALID_OPTION",
      "listener must be a q driver with listen() or control, such as createPgDriver(pool) from @q/pg",
    );
  }
  return l;
}
