/**
 * Every statement of the PostgreSQL storage, built once per schema.
 *
 * Values always travel as parameters. Lists and records travel as one JSON text
 * parameter cast in SQL (`$1::text::jsonb`), so every driver binds only scalars
 * and no client's array or jsonb encoding can get in the way. Rows come back
 * as JSON text in single-word columns, which no camel-case transform renames.
 */

import { JOB_STATES, type ListQuery } from "../inspect-query.js";
import type { JobState } from "../job.js";

/** The LISTEN/NOTIFY channel of a schema. Schema names are plain identifiers, so is this. */
export function channelOf(schema: string): string {
  return `${schema}_q`;
}

const jobJson = (j: string) => `json_build_object(
  'id', ${j}.id::text, 'queue', ${j}.queue, 'task', ${j}.task, 'payload', ${j}.payload,
  'state', ${j}.state, 'priority', ${j}.priority, 'runAt', ${j}.run_at, 'attempt', ${j}.attempt,
  'maxAttempts', ${j}.max_attempts, 'key', ${j}.key, 'claimedBy', ${j}.claimed_by,
  'claimedAt', ${j}.claimed_at, 'token', ${j}.claim_token, 'errors', ${j}.errors,
  'result', ${j}.result, 'meta', ${j}.meta, 'cancelRequestedAt', ${j}.cancel_requested_at,
  'createdAt', ${j}.created_at, 'finishedAt', ${j}.finished_at, 'progress', ${j}.progress,
  'progressAt', ${j}.progress_at, 'checkpoint', ${j}.checkpoint)::text`;

/**
 * What a claim returns, as plain columns: cheaper for PostgreSQL than one JSON
 * object per row on the hottest statement. Times travel as epoch milliseconds
 * and JSON as text, so no driver's type parsing is involved.
 */
const claimedColumns = `j.id::text AS id, j.queue AS queue, j.task AS task,
  j.payload::text AS payload, j.priority AS priority,
  (extract(epoch FROM j.run_at) * 1000)::float8 AS runat, j.attempt AS attempt,
  j.max_attempts AS maxattempts, j.key AS key, j.claimed_by AS claimedby,
  (extract(epoch FROM j.claimed_at) * 1000)::float8 AS claimedat, j.claim_token::text AS token,
  j.errors::text AS errors, j.meta::text AS meta, (extract(epoch FROM j.created_at) * 1000)::float8 AS createdat,
  j.progress::text AS progress, (extract(epoch FROM j.progress_at) * 1000)::float8 AS progressat,
  j.checkpoint::text AS checkpoint`;

export type Statements = ReturnType<typeof statements>;

/**
 * Every statement but the channel name opens with a comment naming it
 * (`/* q:claimOne *\/`): server logs and `pg_stat_statements` then say what
 * each statement is, and drivers that prepare statements name them after it.
 */
function named<S extends Record<string, string>>(all: S): S {
  const out: Record<string, string> = {};
  for (const [name, sql] of Object.entries(all)) {
    out[name] = name === "channel" ? sql : `/* q:${name} */ ${sql.trimStart()}`;
  }
  return out as S;
}

export function statements(schema: string) {
  return named(rawStatements(schema));
}

function rawStatements(schema: string) {
  const t = `"${schema}".jobs`;
  const w = `"${schema}".workers`;
  const qs = `"${schema}".queues`;
  const channel = channelOf(schema);

  const insert = (conflict: "skip" | "replace") => `
WITH input AS (
  SELECT i.*, nextval('"${schema}".jobs_id_seq') AS id
  FROM ROWS FROM (jsonb_to_recordset($1::text::jsonb)
    AS (queue text, task text, payload jsonb, priority integer, run_at timestamptz,
        delay bigint, max_attempts integer, key text, meta jsonb)) WITH ORDINALITY
    AS i(queue, task, payload, priority, run_at, delay, max_attempts, key, meta, ord)
), ins AS (
  -- jsonb_to_recordset reads a JSON null as SQL NULL; the payload null is JSON.
  INSERT INTO ${t} AS j (id, queue, task, payload, priority, run_at, max_attempts, key, meta)
  OVERRIDING SYSTEM VALUE
  SELECT id, queue, task, coalesce(payload, 'null'::jsonb), priority,
         coalesce(run_at, now() + delay * interval '1 millisecond'), max_attempts, key,
         coalesce(meta, '{}'::jsonb)
  FROM input ORDER BY ord
  ON CONFLICT (key) WHERE key IS NOT NULL AND state IN ('ready', 'claimed')
  ${
    conflict === "skip"
      ? "DO NOTHING"
      : `DO UPDATE SET queue = excluded.queue, task = excluded.task, payload = excluded.payload,
       priority = excluded.priority, run_at = excluded.run_at, max_attempts = excluded.max_attempts,
       meta = excluded.meta
     WHERE j.state = 'ready'`
  }
  RETURNING j.id, j.key, j.queue, j.run_at, (j.xmax = 0) AS fresh
)
SELECT
  (SELECT json_agg(json_build_object('ord', ord, 'id', id::text)) FROM input)::text AS input,
  (SELECT json_agg(json_build_object('id', id::text, 'key', key, 'fresh', fresh)) FROM ins)::text AS rows,
  (SELECT count(pg_notify('${channel}', json_build_object('type', 'jobs', 'queue', d.queue)::text))
     FROM (SELECT DISTINCT queue FROM ins
           WHERE run_at <= now() AND queue IN (SELECT jsonb_array_elements_text($2::text::jsonb))) d)
    AS notified`;

  /**
   * The insert of a batch without keys: no row can conflict (a NULL key is
   * outside the unique index), so no ON CONFLICT arbiter and no per-row
   * report. Every row is inserted; ids come back in input order.
   */
  const insertKeyless = `
WITH input AS (
  SELECT i.*, nextval('"${schema}".jobs_id_seq') AS id
  FROM ROWS FROM (jsonb_to_recordset($1::text::jsonb)
    AS (queue text, task text, payload jsonb, priority integer, run_at timestamptz,
        delay bigint, max_attempts integer, meta jsonb)) WITH ORDINALITY
    AS i(queue, task, payload, priority, run_at, delay, max_attempts, meta, ord)
), ins AS (
  INSERT INTO ${t} AS j (id, queue, task, payload, priority, run_at, max_attempts, meta)
  OVERRIDING SYSTEM VALUE
  SELECT id, queue, task, coalesce(payload, 'null'::jsonb), priority,
         coalesce(run_at, now() + delay * interval '1 millisecond'), max_attempts,
         coalesce(meta, '{}'::jsonb)
  FROM input ORDER BY ord
  RETURNING j.queue, j.run_at
)
SELECT
  (SELECT json_agg(id::text ORDER BY ord) FROM input)::text AS ids,
  (SELECT count(pg_notify('${channel}', json_build_object('type', 'jobs', 'queue', d.queue)::text))
     FROM (SELECT DISTINCT queue FROM ins
           WHERE run_at <= now() AND queue IN (SELECT jsonb_array_elements_text($2::text::jsonb))) d)
    AS notified`;

  /**
   * Before a batch without keys is copied in: ids for its rows (in order, one
   * list), the transaction's now() in microseconds since the epoch (from which
   * the rows' run_at is computed exactly as the insert computes it), and the
   * NOTIFY of its queues. A NOTIFY is delivered at commit, so sending it
   * before the rows are there is the same as after: both or neither. `$2` is
   * a JSON list of `{queue, at}`: `at` null for a queue with a job due now,
   * else its earliest explicit run time.
   */
  const reserveKeyless = `
SELECT
  (SELECT string_agg(nextval('"${schema}".jobs_id_seq')::text, ',')
     FROM generate_series(1, $1::integer)) AS ids,
  (extract(epoch FROM now()) * 1000000)::bigint::text AS now,
  (SELECT count(pg_notify('${channel}', json_build_object('type', 'jobs', 'queue', d.queue)::text))
     FROM jsonb_to_recordset($2::text::jsonb) AS d(queue text, at timestamptz)
     WHERE d.at IS NULL OR d.at <= now()) AS notified`;

  /** The rows of a batch without keys, ids given (COPY writes an identity column as given). */
  const copyKeyless = `COPY ${t} (id, queue, task, payload, priority, run_at, max_attempts, meta) FROM STDIN`;
  /**
   * The same for a batch that is all due now: run_at is left to its default,
   * the transaction's now(), which is what the insert stores for such a job;
   * PostgreSQL then parses no timestamp per row (a fifth of the COPY's time).
   */
  const copyKeylessDue = `COPY ${t} (id, queue, task, payload, priority, max_attempts, meta) FROM STDIN`;

  // A paused queue is read by the claim itself, one primary-key probe, so no
  // worker can claim from it on a stale view of its own.
  const notPaused = (queue: string) =>
    `NOT EXISTS (SELECT 1 FROM ${qs} p WHERE p.name = ${queue} AND p.paused_at IS NOT NULL)`;
  // Only tasks the worker has handlers for: during a rolling deploy an old
  // worker must not burn the attempts of a task it does not know.
  const taskFilter = `($4::text IS NULL
        OR task = ANY (ARRAY(SELECT jsonb_array_elements_text($4::text::jsonb))))`;
  const claimed = `
UPDATE ${t} j
SET state = 'claimed', attempt = j.attempt + 1, claimed_by = $3::text, claimed_at = now(),
    claim_token = gen_random_uuid()
-- An array of ids, not a join: the primary key finds each row whatever the
-- planner guesses about how many were picked.
WHERE j.id = ANY (ARRAY(SELECT id FROM picked))
RETURNING ${claimedColumns}`;

  /*
   * The claim walks the index (queue, priority, run_at, id) one priority at a
   * time. PostgreSQL 15 cannot skip over the priorities of an index, so with
   * the order (priority, run_at, id) and `run_at <= now()` the scan would read
   * every job scheduled for later before it found there was nothing due. Within
   * one queue and one priority `run_at <= now()` bounds the scan, so a claim
   * reads the jobs it takes plus one index entry per level, never the jobs
   * scheduled for later.
   *
   * `levels` are the priorities that hold ready jobs, lowest first, one index
   * descent each (a loose index scan). It is read lazily: the claim stops at the
   * first levels that fill the limit, and a nested loop over it keeps its order,
   * so the jobs taken are the first `limit` by (priority, run_at, id) among the
   * ones no other claim holds.
   */
  const levels = (
    queueIs: string,
    from: string,
    min: (x: string) => string,
  ) => `levels (priority) AS (
  SELECT ${min("f.priority")} FROM ${from}(
    SELECT priority FROM ${t} WHERE state = 'ready' AND ${queueIs}
    ORDER BY priority LIMIT 1) f
  UNION ALL
  SELECT (SELECT ${min("f.priority")} FROM ${from}(
    SELECT priority FROM ${t} WHERE state = 'ready' AND ${queueIs} AND priority > levels.priority
    ORDER BY priority LIMIT 1) f)
  FROM levels WHERE levels.priority IS NOT NULL
)`;

  /** One queue: every lock taken is a job claimed. */
  const claimOne = `
WITH RECURSIVE ${levels("queue = $1::text", "", (x) => x)}, picked AS (
  SELECT p.id FROM levels CROSS JOIN LATERAL (
    SELECT id FROM ${t}
    WHERE state = 'ready' AND queue = $1::text AND priority = levels.priority AND run_at <= now()
      AND ${taskFilter}
    ORDER BY run_at, id
    LIMIT $2::integer
    FOR UPDATE SKIP LOCKED
  ) p
  WHERE levels.priority IS NOT NULL AND ${notPaused("$1::text")}
  LIMIT $2::integer
)${claimed}`;

  /*
   * Several queues: `queue = ANY (…)` cannot be read from the index in order
   * (PostgreSQL sorted the whole backlog under the locks). Instead, per level,
   * one ordered, limited scan per queue, merged by (run_at, id) and cut to the
   * limit, so the order across queues stays (priority, run_at, id). Each queue's
   * scan locks up to the limit; the rows locked but not taken stay ready and are
   * released when the statement commits (other claims skip them until then).
   *
   * The queues come from generate_series over the list's length rather than
   * jsonb_array_elements_text: with the list bound as a value the planner then
   * knows how many there are. It assumes 100 rows of a set-returning function,
   * and a claim costed for 100 queues crosses the JIT threshold at a limit of a
   * few thousand, which compiles for longer than the claim takes.
   */
  const claimMany = `
WITH RECURSIVE queues AS MATERIALIZED (
  SELECT DISTINCT ($1::text::jsonb ->> i) AS queue
  FROM generate_series(0, jsonb_array_length($1::text::jsonb) - 1) AS i
  WHERE ${notPaused("$1::text::jsonb ->> i")}
), ${levels("queue = queues.queue", "queues CROSS JOIN LATERAL ", (x) => `min(${x})`)}, picked AS (
  SELECT p.id FROM levels CROSS JOIN LATERAL (
    SELECT c.id FROM queues CROSS JOIN LATERAL (
      SELECT id, run_at FROM ${t}
      WHERE state = 'ready' AND queue = queues.queue AND priority = levels.priority
        AND run_at <= now() AND ${taskFilter}
      ORDER BY run_at, id
      LIMIT $2::integer
      FOR UPDATE SKIP LOCKED
    ) c
    ORDER BY c.run_at, c.id
    LIMIT $2::integer
  ) p
  WHERE levels.priority IS NOT NULL
  LIMIT $2::integer
)${claimed}`;

  return {
    channel,
    insertKeyless,
    reserveKeyless,
    copyKeyless,
    copyKeylessDue,
    insertSkip: insert("skip"),
    insertReplace: insert("replace"),
    /** Ids of live jobs holding the given keys (JSON array of strings). */
    liveByKey: `
SELECT json_agg(json_build_object('id', id::text, 'key', key))::text AS rows
FROM ${t}
WHERE key IN (SELECT jsonb_array_elements_text($1::text::jsonb)) AND state IN ('ready', 'claimed')`,
    claimOne,
    claimMany,
    settle: `
WITH s AS (
  SELECT * FROM jsonb_to_recordset($1::text::jsonb)
    AS s(id bigint, token uuid, kind text, delay bigint, error jsonb, result jsonb)
), t AS (
  -- A recorded cancel outlives the run: what would make the job ready again
  -- (retry, snooze, release) fails it as cancelled instead.
  SELECT s.*, (j.cancel_requested_at IS NOT NULL AND s.kind IN ('retry', 'snooze', 'release'))
    AS cancelled
  FROM s JOIN ${t} j ON j.id = s.id AND j.claim_token = s.token
)
UPDATE ${t} j SET
  state = CASE WHEN t.kind = 'finish' THEN 'finished'
    WHEN t.kind = 'fail' OR t.cancelled THEN 'failed' ELSE 'ready' END,
  attempt = CASE WHEN t.kind IN ('snooze', 'release') AND NOT t.cancelled
    THEN j.attempt - 1 ELSE j.attempt END,
  run_at = CASE WHEN t.kind IN ('retry', 'snooze') AND NOT t.cancelled
    THEN now() + t.delay * interval '1 millisecond' ELSE j.run_at END,
  errors = CASE WHEN t.error IS NULL AND NOT t.cancelled THEN j.errors ELSE j.errors
    || CASE WHEN t.error IS NULL THEN '[]'::jsonb
       ELSE jsonb_build_array(t.error || jsonb_build_object('at', now())) END
    || CASE WHEN t.cancelled THEN jsonb_build_array(jsonb_build_object(
         'attempt', j.attempt, 'at', now(), 'code', 'CANCELLED', 'message', 'cancelled'))
       ELSE '[]'::jsonb END END,
  result = CASE WHEN t.kind = 'finish' THEN t.result ELSE j.result END,
  finished_at = CASE WHEN t.kind IN ('finish', 'fail') OR t.cancelled THEN now() END,
  claimed_by = NULL, claimed_at = NULL, claim_token = NULL
FROM t
-- A token is set only while claimed (a table constraint), so no state test: the
-- planner then finds each row by its primary key instead of scanning all claims.
WHERE j.id = t.id AND j.claim_token = t.token
RETURNING j.id::text AS id, j.state AS state`,
    /**
     * A batch of finishes only, the drain's common case: what `settle` does for
     * them, without the look at each job's cancel request (a finish ignores it)
     * and so with one lookup of each row instead of two.
     */
    settleFinished: `
WITH s AS (
  SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS s(id bigint, token uuid, result jsonb)
)
UPDATE ${t} j SET state = 'finished', result = s.result, finished_at = now(),
  claimed_by = NULL, claimed_at = NULL, claim_token = NULL
FROM s
WHERE j.id = s.id AND j.claim_token = s.token
RETURNING j.id::text AS id, j.state AS state`,
    heartbeat: `
WITH beat AS (
  INSERT INTO ${w} (id, queues, host, pid)
  VALUES ($1::text, ARRAY(SELECT jsonb_array_elements_text($2::text::jsonb)), $3::text, $4::integer)
  ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()
  RETURNING id
)
SELECT coalesce(json_agg(json_build_object('id', j.id::text, 'token', j.claim_token::text,
  'cancel', j.cancel_requested_at IS NOT NULL)), '[]')::text AS held
FROM ${t} j
WHERE j.claimed_by = $1::text AND j.state = 'claimed'`,
    cancelRequested: `
SELECT coalesce(json_agg(j.id::text), '[]')::text AS ids
FROM ${t} j
WHERE j.id IN (SELECT (jsonb_array_elements_text($2::text::jsonb))::bigint)
  AND j.claimed_by = $1::text AND j.state = 'claimed' AND j.cancel_requested_at IS NOT NULL`,
    unregister: `DELETE FROM ${w} WHERE id = $1::text`,
    rescue: `
WITH dead AS (
  SELECT j.id, j.claimed_by AS worker FROM ${t} j
  WHERE j.state = 'claimed'
    AND j.claimed_at < now() - $1::bigint * interval '1 millisecond'
    AND NOT EXISTS (
      SELECT 1 FROM ${w} w
      WHERE w.id = j.claimed_by AND w.heartbeat_at > now() - $1::bigint * interval '1 millisecond')
  FOR UPDATE OF j SKIP LOCKED
), gone AS (
  -- Rows of workers that died without unregistering. A worker that was only
  -- slow registers again with its next heartbeat.
  DELETE FROM ${w} w WHERE w.heartbeat_at < now() - $1::bigint * interval '1 millisecond'
)
UPDATE ${t} j SET
  state = CASE WHEN j.attempt >= j.max_attempts OR j.cancel_requested_at IS NOT NULL
    THEN 'failed' ELSE 'ready' END,
  finished_at = CASE WHEN j.attempt >= j.max_attempts OR j.cancel_requested_at IS NOT NULL
    THEN now() END,
  errors = j.errors || jsonb_build_array(jsonb_build_object(
    'attempt', j.attempt, 'at', now(), 'code', 'WORKER_LOST',
    'message', 'worker ' || dead.worker || ' stopped heartbeating'))
    || CASE WHEN j.cancel_requested_at IS NOT NULL THEN jsonb_build_array(jsonb_build_object(
         'attempt', j.attempt, 'at', now(), 'code', 'CANCELLED', 'message', 'cancelled'))
       ELSE '[]'::jsonb END,
  run_at = now(), claimed_by = NULL, claimed_at = NULL, claim_token = NULL
FROM dead WHERE j.id = dead.id
RETURNING json_build_object('id', j.id::text, 'task', j.task, 'queue', j.queue,
  'state', j.state, 'worker', dead.worker)::text AS job`,
    getJob: `SELECT ${jobJson("j")} AS job FROM ${t} j WHERE j.id = $1::bigint`,
    retry: `
UPDATE ${t} j SET state = 'ready', attempt = 0, run_at = now(), finished_at = NULL,
  cancel_requested_at = NULL
WHERE j.id = $1::bigint AND j.state = 'failed'
RETURNING ${jobJson("j")} AS job`,
    cancel: `
WITH target AS (
  SELECT id, state FROM ${t} WHERE id = $1::bigint FOR UPDATE
), upd AS (
  UPDATE ${t} j SET
    state = CASE WHEN target.state = 'ready' THEN 'failed' ELSE j.state END,
    finished_at = CASE WHEN target.state = 'ready' THEN now() ELSE j.finished_at END,
    errors = CASE WHEN target.state = 'ready'
      THEN j.errors || jsonb_build_array(jsonb_build_object(
        'attempt', j.attempt, 'at', now(), 'code', 'CANCELLED', 'message', 'cancelled'))
      ELSE j.errors END,
    cancel_requested_at = coalesce(j.cancel_requested_at, now())
  FROM target WHERE j.id = target.id AND target.state IN ('ready', 'claimed')
  RETURNING j.id, target.state AS was, j.claimed_by
)
SELECT (SELECT state FROM target) AS was,
  (SELECT count(pg_notify('${channel}', json_build_object(
     'type', 'cancel', 'id', id::text, 'worker', claimed_by)::text))
   FROM upd WHERE was = 'claimed') AS notified`,
    notify: `SELECT true AS sent FROM pg_notify('${channel}', $1::text)`,
    now: `SELECT (extract(epoch FROM now()) * 1000)::float8 AS ms`,
    lock: `SELECT true AS locked FROM pg_advisory_xact_lock(hashtext($1::text))`,
    applied: `SELECT json_agg(json_build_object('owner', owner, 'version', version))::text AS rows
FROM "${schema}".migrations`,
    /**
     * Whether the schema ($1) and its migrations table exist. `CREATE … IF NOT
     * EXISTS` checks the CREATE privilege before existence, so a role with DML
     * rights only may migrate an up-to-date schema only if nothing is created.
     */
    present: `
SELECT json_build_object(
  'schema', EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1::text),
  'migrations', EXISTS (SELECT 1 FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = $1::text AND c.relname = 'migrations'))::text AS present`,
    /** The newest applied version of each owner's migrations, as a JSON object. */
    versions: `SELECT coalesce(json_object_agg(owner, version), '{}'::json)::text AS versions
FROM (SELECT owner, max(version) AS version FROM "${schema}".migrations GROUP BY owner) m`,
    /**
     * The columns of whatever is called `jobs`, `workers` or `queues` in the schema
     * ($1), as a JSON object of name to column names. Reads the catalog only,
     * so it needs no privilege on the tables and cannot fail on their data.
     */
    tables: `
SELECT coalesce(json_object_agg(c.relname, (
  SELECT coalesce(json_agg(a.attname::text), '[]'::json) FROM pg_catalog.pg_attribute a
  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)), '{}'::json)::text AS tables
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1::text AND c.relname IN ('jobs', 'workers', 'queues')`,
    ...operateStatements(schema),
  };
}

/**
 * What an operator runs: pause and resume, counts and stats, and a run's
 * progress and checkpoint (each guarded by its claim token, like a settle).
 */
function operateStatements(schema: string) {
  const t = `"${schema}".jobs`;
  const w = `"${schema}".workers`;
  const qs = `"${schema}".queues`;
  const channel = channelOf(schema);
  const byQueue = (state: string) =>
    `SELECT queue, '${state}' AS state, count(*) AS n FROM ${t} WHERE state = '${state}' GROUP BY queue`;
  const counted = (from: string) =>
    `SELECT coalesce(json_agg(json_build_object('queue', c.queue, 'state', c.state, 'count', c.n)), '[]')::text AS counts
FROM (${from}) c`;
  return {
    pause: `
INSERT INTO ${qs} AS q (name, paused_at) VALUES ($1::text, now())
ON CONFLICT (name) DO UPDATE SET paused_at = now() WHERE q.paused_at IS NULL`,
    /** Wakes the queue's workers as new jobs would: they claim at once. */
    resume: `
WITH resumed AS (
  UPDATE ${qs} SET paused_at = NULL WHERE name = $1::text AND paused_at IS NOT NULL RETURNING name
)
SELECT count(pg_notify('${channel}', json_build_object('type', 'jobs', 'queue', name)::text))
  AS notified FROM resumed`,
    paused: `SELECT coalesce(json_agg(name ORDER BY name), '[]')::text AS names
FROM ${qs} WHERE paused_at IS NOT NULL`,
    // Neither column is indexed, so these updates stay on their page (HOT).
    saveProgress: `
UPDATE ${t} SET progress = $3::text::jsonb, progress_at = now()
WHERE id = $1::bigint AND claim_token = $2::uuid RETURNING true AS saved`,
    saveCheckpoint: `
UPDATE ${t} SET checkpoint = $3::text::jsonb
WHERE id = $1::bigint AND claim_token = $2::uuid RETURNING true AS saved`,
    /** Live jobs, exactly: each state read from its partial index. */
    countLive: counted(`${byQueue("ready")} UNION ALL ${byQueue("claimed")}`),
    countFinished: counted(byQueue("finished")),
    /** From `jobs_failed_idx`, without visiting the finished history. */
    countFailed: counted(byQueue("failed")),
    /**
     * The planner's view of the table ($1 the schema): its row count, scaled
     * to the table's current size as the planner does, the share of each
     * state, and the share of each (queue, state), from the extended
     * statistics where this role may read them (the table's owner) and else
     * as if queue and state were independent. Reads catalogs only.
     */
    estimate: `
WITH rel AS (
  SELECT c.reltuples, c.relpages,
    pg_relation_size(c.oid) / current_setting('block_size')::bigint AS pages
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1::text AND c.relname = 'jobs'
), total AS (
  SELECT CASE WHEN reltuples < 0 THEN NULL WHEN relpages = 0 THEN 0
    ELSE reltuples / relpages * pages END AS n FROM rel
), col AS (
  SELECT s.attname, v.val, v.freq
  FROM pg_catalog.pg_stats s,
    unnest(s.most_common_vals::text::text[], s.most_common_freqs) AS v(val, freq)
  WHERE s.schemaname = $1::text AND s.tablename = 'jobs' AND s.attname IN ('queue', 'state')
), joint AS (
  SELECT e.most_common_vals[i][1] AS queue, e.most_common_vals[i][2] AS state,
    e.most_common_freqs[i] AS freq
  FROM pg_catalog.pg_stats_ext e, generate_subscripts(e.most_common_vals, 1) AS i
  WHERE e.schemaname = $1::text AND e.tablename = 'jobs' AND e.statistics_name = 'jobs_queue_state'
), pairs AS (
  SELECT queue, state, freq FROM joint
  UNION ALL
  SELECT q.val, st.val, q.freq * st.freq FROM col q, col st
  WHERE q.attname = 'queue' AND st.attname = 'state' AND NOT EXISTS (SELECT 1 FROM joint)
)
SELECT json_build_object(
  'total', (SELECT n FROM total),
  'states', (SELECT coalesce(json_object_agg(val, freq), '{}') FROM col WHERE attname = 'state'),
  'pairs', (SELECT coalesce(json_agg(json_build_object('queue', queue, 'state', state, 'freq', freq)), '[]')
    FROM pairs WHERE state IN ('finished', 'failed')))::text AS estimate`,
    /**
     * Per queue: due and scheduled ready jobs with the oldest due one (from
     * the claim index), claimed jobs, jobs that ended in the last minute (from
     * the terminal index), and its pause. Queues with none of these but a
     * worker serving them are listed too.
     */
    stats: `
WITH ready AS (
  SELECT queue, count(*) FILTER (WHERE run_at <= now()) AS due,
    count(*) FILTER (WHERE run_at > now()) AS later, min(run_at) FILTER (WHERE run_at <= now()) AS oldest
  FROM ${t} WHERE state = 'ready' GROUP BY queue
), claimed AS (
  SELECT queue, count(*) AS n FROM ${t} WHERE state = 'claimed' GROUP BY queue
), recent AS (
  SELECT queue, count(*) AS n FROM ${t}
  WHERE state IN ('finished', 'failed') AND finished_at > now() - interval '1 minute' GROUP BY queue
), named AS (
  SELECT queue FROM ready UNION SELECT queue FROM claimed UNION SELECT queue FROM recent
  UNION SELECT name FROM ${qs} UNION SELECT unnest(queues) FROM ${w}
)
SELECT coalesce(json_agg(json_build_object('queue', n.queue, 'ready', coalesce(r.due, 0),
  'scheduled', coalesce(r.later, 0), 'claimed', coalesce(c.n, 0),
  'lagMs', coalesce(greatest(0, extract(epoch FROM now() - r.oldest) * 1000), 0),
  'ended', coalesce(x.n, 0), 'pausedAt', p.paused_at) ORDER BY n.queue), '[]')::text AS stats
FROM named n LEFT JOIN ready r ON r.queue = n.queue LEFT JOIN claimed c ON c.queue = n.queue
  LEFT JOIN recent x ON x.queue = n.queue LEFT JOIN ${qs} p ON p.name = n.queue`,
  };
}

const STATE_SQL: Readonly<Record<JobState, string>> = {
  ready: "'ready'",
  claimed: "'claimed'",
  finished: "'finished'",
  failed: "'failed'",
};

/**
 * One page of a listing. The text depends only on which filters are given
 * (values are parameters), so each shape gets a plan of its own, planned with
 * its partial indexes: states are written as constants (from a fixed list,
 * never from the caller), since a partial index serves a query only when its
 * predicate is written into the query. Keyset on the id, one row beyond the
 * limit to know whether a next page exists.
 */
export function listJobsStatement(
  schema: string,
  q: ListQuery,
): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const param = (value: unknown, type: string) => {
    params.push(value);
    return `$${params.length}::${type}`;
  };
  const oneOf = (column: string, values: readonly string[]) =>
    values.length === 1
      ? `j.${column} = ${param(values[0], "text")}`
      : `j.${column} = ANY (ARRAY(SELECT jsonb_array_elements_text(${param(JSON.stringify(values), "text")}::jsonb)))`;
  const where: string[] = [];
  if (q.queues !== undefined) where.push(oneOf("queue", q.queues));
  if (q.tasks !== undefined) where.push(oneOf("task", q.tasks));
  let states = q.states;
  // Only a terminal job has finished_at: saying so lets the terminal index serve the range.
  if (q.finishedFrom !== undefined || q.finishedTo !== undefined) {
    states = (states ?? JOB_STATES).filter((s) => s === "finished" || s === "failed");
  }
  if (states !== undefined) {
    where.push(
      states.length === 0
        ? "false"
        : states.length === 1
          ? `j.state = ${STATE_SQL[states[0]!]}`
          : `j.state IN (${states.map((s) => STATE_SQL[s]).join(", ")})`,
    );
  }
  if (q.key !== undefined) where.push(`j.key = ${param(q.key, "text")}`);
  const range = (column: string, from: Date | undefined, to: Date | undefined) => {
    if (from !== undefined)
      where.push(`j.${column} >= ${param(from.toISOString(), "timestamptz")}`);
    if (to !== undefined) where.push(`j.${column} < ${param(to.toISOString(), "timestamptz")}`);
  };
  range("created_at", q.createdFrom, q.createdTo);
  range("finished_at", q.finishedFrom, q.finishedTo);
  const newest = q.order === "newest";
  if (q.after !== undefined) where.push(`j.id ${newest ? "<" : ">"} ${param(q.after, "bigint")}`);
  const order = `ORDER BY j.id ${newest ? "DESC" : "ASC"}`;
  // The page's ids are picked first, from index entries alone where an index
  // holds every column the filter names (the claim, failed and key indexes,
  // the primary key); only the page's rows are then read and rendered.
  const sql = `/* q:listJobs */ SELECT ${jobJson("j")} AS job FROM "${schema}".jobs j
WHERE j.id = ANY (ARRAY(
  SELECT j.id FROM "${schema}".jobs j
  ${where.length > 0 ? `WHERE ${where.join("\n    AND ")}` : ""}
  ${order}
  LIMIT ${param(q.limit + 1, "integer")}))
${order}`;
  return { sql, params };
}
