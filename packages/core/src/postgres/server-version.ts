/**
 * The oldest PostgreSQL q runs on, and the check `migrate()` makes.
 *
 * @module
 */
import type { Executor } from "../driver.js";
import { QError } from "../errors.js";
import { textColumn } from "./rows.js";

/** The oldest major version of PostgreSQL q supports. */
export const MIN_SERVER_MAJOR = 14;

/** The server's version, as a number (`server_version_num`, e.g. 150004) and as it says it. */
export const SERVER_VERSION_SQL =
  "SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS version";

/**
 * Refuses a server older than {@link MIN_SERVER_MAJOR} with `SERVER_TOO_OLD`.
 * `num` is `server_version_num` (major × 10 000 + minor since PostgreSQL 10);
 * a value that is not a positive integer is let through, as a server q cannot
 * read the version of is not known to be too old.
 */
export function assertServerVersion(num: unknown, version?: string | null): void {
  const value = typeof num === "number" ? num : Number(String(num ?? "").trim());
  if (!Number.isSafeInteger(value) || value <= 0) return;
  if (value >= MIN_SERVER_MAJOR * 10_000) return;
  const shown = version
    ? `${version} (server_version_num ${value})`
    : `server_version_num ${value}`;
  throw new QError(
    "SERVER_TOO_OLD",
    `q needs PostgreSQL ${MIN_SERVER_MAJOR} or newer; this server is ${shown}. Upgrade the server.`,
    {
      details: {
        serverVersionNum: value,
        serverVersion: version ?? null,
        minimumMajor: MIN_SERVER_MAJOR,
      },
    },
  );
}

/** Asks the server its version and refuses one that is too old (see {@link assertServerVersion}). */
export async function checkServerVersion(ex: Executor): Promise<void> {
  const rows = await ex.query(SERVER_VERSION_SQL);
  assertServerVersion(textColumn(rows, "num"), textColumn(rows, "version"));
}
