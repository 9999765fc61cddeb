-- q migrations for schema "q"

CREATE SCHEMA IF NOT EXISTS "q";

CREATE TABLE IF NOT EXISTS "q".migrations (
  owner text NOT NULL,
  version integer NOT NULL,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (owner, version)
);;

-- core 1: init

CREATE TABLE IF NOT EXISTS "q".jobs (
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
);

CREATE INDEX IF NOT EXISTS jobs_claim_idx
  ON "q".jobs (queue, priority, run_at, id) WHERE state = 'ready';

CREATE UNIQUE INDEX IF NOT EXISTS jobs_key_idx
  ON "q".jobs (key) WHERE key IS NOT NULL AND state IN ('ready', 'claimed');

CREATE INDEX IF NOT EXISTS jobs_claimed_idx
  ON "q".jobs (claimed_by) WHERE state = 'claimed';

CREATE INDEX IF NOT EXISTS jobs_terminal_idx
  ON "q".jobs (finished_at) WHERE state IN ('finished', 'failed');

CREATE TABLE IF NOT EXISTS "q".workers (
  id text PRIMARY KEY,
  queues text[] NOT NULL,
  host text NOT NULL,
  pid integer NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO "q".migrations (owner, version, name) VALUES ('core', 1, 'init') ON CONFLICT DO NOTHING;

-- core 2: meta

ALTER TABLE "q".jobs ADD COLUMN IF NOT EXISTS meta jsonb NOT NULL DEFAULT '{}';

INSERT INTO "q".migrations (owner, version, name) VALUES ('core', 2, 'meta') ON CONFLICT DO NOTHING;

-- core 3: tuning

ALTER TABLE "q".jobs SET (fillfactor = 90,
  autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000,
  autovacuum_vacuum_insert_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02,
  autovacuum_vacuum_cost_delay = 1);

ALTER TABLE "q".workers SET (fillfactor = 50);

INSERT INTO "q".migrations (owner, version, name) VALUES ('core', 3, 'tuning') ON CONFLICT DO NOTHING;

-- core 4: operate

ALTER TABLE "q".jobs ADD COLUMN IF NOT EXISTS progress jsonb,
  ADD COLUMN IF NOT EXISTS progress_at timestamptz,
  ADD COLUMN IF NOT EXISTS checkpoint jsonb;

CREATE TABLE IF NOT EXISTS "q".queues (
  name text PRIMARY KEY,
  paused_at timestamptz
);

CREATE INDEX IF NOT EXISTS jobs_failed_idx
  ON "q".jobs (queue, id) WHERE state = 'failed';

CREATE INDEX IF NOT EXISTS jobs_key_any_idx
  ON "q".jobs (key, id) WHERE key IS NOT NULL;

CREATE STATISTICS IF NOT EXISTS "q".jobs_queue_state (mcv) ON queue, state
  FROM "q".jobs;

INSERT INTO "q".migrations (owner, version, name) VALUES ('core', 4, 'operate') ON CONFLICT DO NOTHING;
