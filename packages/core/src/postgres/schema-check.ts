import type { Executor } from "../driver.js";
import { QError } from "../errors.js";
import { textColumn } from "./rows.js";

/** The tables of core whose columns are checked. */
export type QTable = "jobs" | "workers" | "queues";

/**
 * The columns q's statements use, per table. A table of that name without all
 * of them is someone else's. Extra columns are fine (a later migration's, or
 * the user's own).
 */
export const Q_COLUMNS: Readonly<Record<QTable, readonly string[]>> = {
  jobs: [
    "id",
    "queue",
    "task",
    "payload",
    "state",
    "priority",
    "run_at",
    "attempt",
    "max_attempts",
    "key",
    "claimed_by",
    "claimed_at",
    "claim_token",
    "errors",
    "result",
    "cancel_requested_at",
    "created_at",
    "finished_at",
  ],
  workers: ["id", "queues", "host", "pid", "started_at", "heartbeat_at"],
  // Since core migration 4: a schema without it is q's, only older (`NOT_MIGRATED`).
  queues: ["name", "paused_at"],
};

/**
 * Columns added by later core migrations. q's table without one is q's, only
 * older: `NOT_MIGRATED`, not `SCHEMA_CONFLICT`.
 */
export const LATER_COLUMNS: Readonly<Record<QTable, readonly string[]>> = {
  jobs: ["meta", "progress", "progress_at", "checkpoint"],
  workers: [],
  queues: [],
};

/**
 * Reads which of q's tables the schema holds and whether they are q's.
 * Throws `SCHEMA_CONFLICT` when a `jobs`, `workers` or `queues` table lacks q's columns
 * and, unless `missingIsFine` (a migration is about to create them),
 * `NOT_MIGRATED` when one is missing.
 *
 * @param tablesSql the storage's `tables` statement
 */
export async function checkSchema(
  ex: Executor,
  tablesSql: string,
  schema: string,
  { missingIsFine = false } = {},
): Promise<void> {
  await checkTables(ex, tablesSql, schema, missingIsFine);
}

/**
 * `SCHEMA_TOO_NEW` when the schema holds migrations of an owner this process
 * knows (core, or one of its plugins) that are newer than any it has: a
 * newer q migrated it, and this older one must not run against tables it does
 * not know (a rolling deploy). Owners it does not know are someone else's
 * business (a plugin this process does not use).
 *
 * @param known the newest version this process has, per owner
 */
export async function checkVersions(
  ex: Executor,
  statements: { present: string; versions: string },
  schema: string,
  known: ReadonlyMap<string, number>,
): Promise<void> {
  const present = JSON.parse(
    textColumn(await ex.query(statements.present, [schema]), "present") ?? "{}",
  ) as {
    migrations?: boolean;
  };
  if (!present.migrations) return;
  const applied = JSON.parse(
    textColumn(await ex.query(statements.versions), "versions") ?? "{}",
  ) as Record<string, number>;
  for (const [owner, version] of Object.entries(applied)) {
    const mine = known.get(owner);
    if (mine !== undefined && version > mine) {
      throw new QError(
        "SCHEMA_TOO_NEW",
        `schema "${schema}" was migrated by a newer version of ${owner === "core" ? "q" : `plugin "${owner}"`} ` +
          `(its migration ${version}; this process knows up to ${mine}): upgrade this process`,
        { details: { schema, owner, applied: version, known: mine } },
      );
    }
  }
}

async function checkTables(
  ex: Executor,
  tablesSql: string,
  schema: string,
  missingIsFine: boolean,
): Promise<void> {
  const rows = await ex.query(tablesSql, [schema]);
  const found = JSON.parse(textColumn(rows, "tables") ?? "{}") as Record<string, string[]>;
  const missing: string[] = [];
  for (const [table, columns] of Object.entries(Q_COLUMNS)) {
    const has = found[table];
    if (has === undefined) {
      missing.push(table);
      continue;
    }
    const lacking = columns.filter((c) => !has.includes(c));
    if (lacking.length > 0) {
      throw new QError(
        "SCHEMA_CONFLICT",
        `schema "${schema}" holds a "${table}" table that is not q's (it lacks ${lacking.join(", ")}): ` +
          "give q a schema of its own with the schema option, or move that table",
        { details: { schema, table, lacking } },
      );
    }
    if (LATER_COLUMNS[table as QTable].some((c) => !has.includes(c))) {
      missing.push(`${table} columns of a newer version`);
    }
  }
  if (missing.length > 0 && !missingIsFine) {
    throw new QError(
      "NOT_MIGRATED",
      `q's tables are missing in schema "${schema}" (${missing.join(", ")}): ` +
        "run queue.migrate() or apply the SQL printed by q-sql",
      { details: { schema, missing } },
    );
  }
}

/**
 * Runs a check once: concurrent callers share the one in flight; success is
 * remembered, a failure is not (the next call checks again).
 */
export class Once {
  readonly #check: () => Promise<void>;
  #done = false;
  #pending: Promise<void> | undefined;

  constructor(check: () => Promise<void>) {
    this.#check = check;
  }

  /** Resolves once the check has passed. */
  run(): Promise<void> | void {
    if (this.#done) return;
    this.#pending ??= this.#check().then(
      () => {
        this.#done = true;
        this.#pending = undefined;
      },
      (error: unknown) => {
        this.#pending = undefined;
        throw error;
      },
    );
    return this.#pending;
  }

  /** Records that the check is known to pass (after a migration). */
  pass(): void {
    this.#done = true;
  }
}
