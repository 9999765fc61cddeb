import type { Driver } from "../driver.js";

/**
 * What a driver's test file hands the conformance suite: a driver plus the
 * native means to open a transaction the way a user of that client would.
 */
export interface DriverHarness {
  /** A driver over a fresh pool or client. */
  driver: Driver;
  /**
   * Opens a transaction with the client's own API (`pool.connect()` + BEGIN,
   * `sql.begin`, `db.transaction`, …) and passes its native handle to `fn`.
   * Commits when `fn` resolves, rolls back when it throws (rethrowing).
   */
  withNativeTransaction<T>(fn: (tx: unknown) => Promise<T>): Promise<T>;
  /** Whether this driver flavour can LISTEN (a driver without it must still deliver by polling). */
  listens: boolean;
  /** Closes the pool or client the harness opened. */
  close(): Promise<void>;
}

/** Makes a harness against the given connection string. */
export type MakeHarness = (databaseUrl: string) => Promise<DriverHarness>;
