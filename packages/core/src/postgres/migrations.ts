import { assertSchemaName } from "../names.js";

/**
 * One versioned migration. Its statements are a function of the schema name so
 * the schema stays an option; they run one per query, because some clients
 * (prepared-only ones) refuse several commands in one.
 */
export interface Migration {
  /** Who owns it: `"core"` or a plugin's name. Versions count per owner. */
  owner: string;
  version: number;
  name: string;
  statements(schema: string): string[];
}

/** Core's migrations, oldest first. Never edit a shipped one; add a new version. */
export const coreMigrations: readonly Migration[] = [
  {
    owner: "core",
    version: 1,
    name: "init",
    statements: (s) => [
      `CREATE TABLE IF NOT EXISTS "${s}".jobs (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  queue text NOT NULL,
  task text NOT NULL,
  payload jsonb NOT NULL,
  state text NOT NULL DEFAULT 'ready'
    CHECK (state IN ('ready', 'claimed', 'finished', 'failed')),
  priority integer NOT NULL DEFAULT 0,
  run_at timestamptz NOT NULL DEFAULT now(),
  attempt integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
  max_attempts integer NOT NULL DEFAULT 25 CHECK (max_attempts >= 1),
  key text,
  claimed_by text,
  claimed_at timestamptz,
  claim_token uuid,
  errors jsonb NOT NULL DEFAULT '[]',
  result jsonb,
  cancel_requested_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  CHECK ((state = 'claimed') = (claim_token IS NOT NULL))
)`,
      // The claim path reads only ready jobs; finished history never enters this index.
      `CREATE INDEX IF NOT EXISTS jobs_claim_idx
  ON "${s}".jobs (queue, priority, run_at, id) WHERE state = 'ready'`,
      // A key dedupes among live jobs only; a finished job frees its key.
      `CREATE UNIQUE INDEX IF NOT EXISTS jobs_key_idx
  ON "${s}".jobs (key) WHERE key IS NOT NULL AND state IN ('ready', 'claimed')`,
      // Rescue and cancel look up claimed jobs by their worker.
      `CREATE INDEX IF NOT EXISTS jobs_claimed_idx
  ON "${s}".jobs (claimed_by) WHERE state = 'claimed'`,
      // Retention (cleanup) walks terminal jobs by age.
      `CREATE INDEX IF NOT EXISTS jobs_terminal_idx
  ON "${s}".jobs (finished_at) WHERE state IN ('finished', 'failed')`,
      `CREATE TABLE IF NOT EXISTS "${s}".workers (
  id text PRIMARY KEY,
  queues text[] NOT NULL,
  host text NOT NULL,
  pid integer NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now()
)`,
    ],
  },
  {
    owner: "core",
    version: 2,
    name: "meta",
    // A constant default: PostgreSQL adds the column without rewriting the table.
    statements: (s) => [
      `ALTER TABLE "${s}".jobs ADD COLUMN IF NOT EXISTS meta jsonb NOT NULL DEFAULT '{}'`,
    ],
  },
  {
    owner: "core",
    version: 3,
    name: "tuning",
    // Every state change rewrites a job (state is in every partial index), so
    // the table makes dead rows as fast as it moves jobs. Stock autovacuum
    // waits for a fifth of the table to be dead: at 10 000 000 rows of history
    // that is two million dead rows under every claim. A hundredth keeps the
    // claim index small; leaving room on each page keeps a job's next version
    // beside it, and heartbeats of the workers table stay on their page (HOT).
    // Settings only: no rewrite, and existing pages keep their rows.
    statements: (s) => [
      `ALTER TABLE "${s}".jobs SET (fillfactor = 90,
  autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000,
  autovacuum_vacuum_insert_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02,
  autovacuum_vacuum_cost_delay = 1)`,
      `ALTER TABLE "${s}".workers SET (fillfactor = 50)`,
    ],
  },
  {
    owner: "core",
    version: 4,
    name: "operate",
    statements: (s) => [
      // Nullable without a default: PostgreSQL adds them without touching a row.
      `ALTER TABLE "${s}".jobs ADD COLUMN IF NOT EXISTS progress jsonb,
  ADD COLUMN IF NOT EXISTS progress_at timestamptz,
  ADD COLUMN IF NOT EXISTS checkpoint jsonb`,
      // One row per queue that was ever paused; the claim probes it by name.
      `CREATE TABLE IF NOT EXISTS "${s}".queues (
  name text PRIMARY KEY,
  paused_at timestamptz
)`,
      // Failed jobs are few and what an operator looks for first; listing and
      // counting them must not walk the finished history. An insert or a
      // finish never enters this index.
      `CREATE INDEX IF NOT EXISTS jobs_failed_idx
  ON "${s}".jobs (queue, id) WHERE state = 'failed'`,
      // A key names a piece of work; an operator asks for it across the
      // whole history ("what became of charge:42?"). Jobs without a key,
      // most of them, never enter this index.
      `CREATE INDEX IF NOT EXISTS jobs_key_any_idx
  ON "${s}".jobs (key, id) WHERE key IS NOT NULL`,
      // How jobs spread over queue and state together, for the estimated
      // counts of a large history. Built by ANALYZE; costs no write.
      `CREATE STATISTICS IF NOT EXISTS "${s}".jobs_queue_state (mcv) ON queue, state
  FROM "${s}".jobs`,
    ],
  },
];

/** The full SQL of the given migrations for one schema, as a migration tool would run it. */
export function migrationScript(
  schema = "q",
  migrations: readonly Migration[] = coreMigrations,
): string {
  const s = assertSchemaName(schema);
  const parts = [
    `-- q migrations for schema "${s}"`,
    `CREATE SCHEMA IF NOT EXISTS "${s}";`,
    `${migrationsTableSql(s)};`,
  ];
  for (const m of migrations) {
    parts.push(`-- ${m.owner} ${m.version}: ${m.name}`, ...m.statements(s).map((x) => `${x};`));
    parts.push(
      `INSERT INTO "${s}".migrations (owner, version, name) VALUES ('${m.owner}', ${m.version}, '${m.name}') ON CONFLICT DO NOTHING;`,
    );
  }
  return `${parts.join("\n\n")}\n`;
}

export function migrationsTableSql(s: string): string {
  return `CREATE TABLE IF NOT EXISTS "${s}".migrations (
  owner text NOT NULL,
  version integer NOT NULL,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (owner, version)
);`;
}
