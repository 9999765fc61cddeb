/**
 * Every statement of `@q/cron`, in one place. The schema name comes from the
 * queue (already validated) and is quoted; every value is a parameter, and
 * anything structured travels as JSON text so that every driver binds only
 * strings and numbers. Results come back as one JSON text column, which no
 * driver's column or jsonb transform touches.
 *
 * @module
 */

/** Epoch milliseconds of a timestamptz expression, as a JSON number. */
const ms = (x: string) => `floor(extract(epoch FROM ${x}) * 1000)::float8`;

/** The migrations' statements for one schema. */
export function tableStatements(schema: string): string[] {
  const s = `"${schema}"`;
  return [
    // One row per schedule name: its high-water mark. A tick at or before
    // last_tick is never considered again, whether its record still exists or not.
    `CREATE TABLE IF NOT EXISTS ${s}.cron_schedules (
  name text PRIMARY KEY,
  last_tick timestamptz,
  catchup bigint NOT NULL CHECK (catchup > 0),
  seen_at timestamptz NOT NULL DEFAULT now()
)`,
    // The primary key is what makes a (schedule, tick) one job cluster-wide.
    `CREATE TABLE IF NOT EXISTS ${s}.cron_ticks (
  schedule text NOT NULL,
  tick timestamptz NOT NULL,
  job_id bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (schedule, tick)
)`,
  ];
}

/**
 * Migration 2: `since`, when a scheduler first saw the schedule. No tick
 * at or before it is ever enqueued, so a new schedule does not catch up
 * ticks from before it existed. A row that predates the column gets its mark
 * (`coalesce(last_tick, seen_at)`): the mark already bounds its window, so
 * existing schedules keep the window they had.
 */
export function sinceStatements(schema: string): string[] {
  const s = `"${schema}"`;
  return [
    `ALTER TABLE ${s}.cron_schedules ADD COLUMN IF NOT EXISTS since timestamptz`,
    `UPDATE ${s}.cron_schedules SET since = coalesce(last_tick, seen_at) WHERE since IS NULL`,
    `ALTER TABLE ${s}.cron_schedules ALTER COLUMN since SET DEFAULT now(), ALTER COLUMN since SET NOT NULL`,
  ];
}

/** The statements of the scheduler, `list` and `prune` for one schema. */
export function cronSql(schema: string) {
  const s = `"${schema}"`;
  return {
    /**
     * One scheduler's sighting of its schedules ($1: JSON [{ name, catchup,
     * since }], sorted by name), in one autocommit statement: creates the row
     * of a schedule no process has seen yet, with `since` = `now()` (or
     * the `since` this process saw before, when a prune deleted the row
     * under it), refreshes `seen_at` of the others, and returns the
     * database clock and every row's `since` and mark. Rows are taken in
     * name order, so two schedulers never deadlock; a row another process is
     * creating is waited for and then updated, never a unique violation, and
     * `RETURNING` gives its committed values.
     */
    sight: `WITH seen AS (
  INSERT INTO ${s}.cron_schedules AS c (name, catchup, since)
  SELECT x.name, x.catchup, coalesce(x.since::timestamptz, now())
  FROM jsonb_to_recordset($1::text::jsonb) AS x(name text, catchup bigint, since text)
  ORDER BY x.name
  ON CONFLICT (name) DO UPDATE SET seen_at = now()
  RETURNING c.name, c.since, c.last_tick
)
SELECT json_build_object(
  'now', ${ms("now()")},
  'rows', (SELECT coalesce(json_object_agg(name, json_build_object(
             'since', ${ms("since")}, 'last', ${ms("last_tick")})), '{}') FROM seen)
)::text AS info`,

    /**
     * Claims ticks ($2: JSON array of ISO instants) of schedule $1. Rows go in
     * tick order, so two schedulers take the keys in the same order and can
     * never deadlock; a tick another process claimed first yields nothing
     * (the insert waits for that process to commit, then skips the row).
     */
    claim: `WITH claimed AS (
  INSERT INTO ${s}.cron_ticks (schedule, tick)
  SELECT $1::text, x::timestamptz FROM jsonb_array_elements_text($2::text::jsonb) AS x
  ORDER BY 2
  ON CONFLICT (schedule, tick) DO NOTHING
  RETURNING tick
)
SELECT coalesce(json_agg(${ms("tick")} ORDER BY tick), '[]')::text AS rows FROM claimed`,

    /**
     * Locks the mark of schedule $1 (creating it again, $2 = catch-up window
     * in ms, $3 = its `since`, if a prune deleted it since the pass read it)
     * and returns it as committed by whoever held it before. Taken after the
     * ticks, always, so the lock order is the same in every process.
     */
    hold: `INSERT INTO ${s}.cron_schedules (name, catchup, since)
VALUES ($1::text, $2::bigint, $3::text::timestamptz)
ON CONFLICT (name) DO UPDATE SET catchup = EXCLUDED.catchup, seen_at = now()
RETURNING json_build_object('last', ${ms("last_tick")})::text AS info`,

    /**
     * Records the job of each claimed tick ($2: JSON [{ tick, job }]), drops
     * claimed ticks that the mark already covered ($3: JSON array of ISO
     * instants; their records had been pruned) and advances the mark to $4.
     */
    record: `WITH jobs AS (
  SELECT x.tick::timestamptz AS tick, x.job::bigint AS job
  FROM jsonb_to_recordset($2::text::jsonb) AS x(tick text, job text)
), linked AS (
  UPDATE ${s}.cron_ticks t SET job_id = j.job FROM jobs j
  WHERE t.schedule = $1::text AND t.tick = j.tick
  RETURNING 1
), stale AS (
  DELETE FROM ${s}.cron_ticks t
  WHERE t.schedule = $1::text
    AND t.tick IN (SELECT x::timestamptz FROM jsonb_array_elements_text($3::text::jsonb) AS x)
  RETURNING 1
), mark AS (
  UPDATE ${s}.cron_schedules SET last_tick = GREATEST(last_tick, $4::text::timestamptz)
  WHERE name = $1::text
  RETURNING 1
)
SELECT json_build_object(
  'linked', (SELECT count(*) FROM linked),
  'stale', (SELECT count(*) FROM stale),
  'marked', (SELECT count(*) FROM mark)
)::text AS info`,

    /** The database clock and, per named schedule ($1), its `since`, its mark and that tick's job. */
    list: `SELECT json_build_object(
  'now', ${ms("now()")},
  'rows', (SELECT coalesce(json_agg(json_build_object(
             'name', c.name,
             'since', ${ms("c.since")},
             'last', ${ms("c.last_tick")},
             'job', (SELECT t.job_id::text FROM ${s}.cron_ticks t
                     WHERE t.schedule = c.name AND t.tick = c.last_tick))), '[]')
           FROM ${s}.cron_schedules c
           WHERE c.name IN (SELECT jsonb_array_elements_text($1::text::jsonb)))
)::text AS info`,

    /**
     * Deletes at most $1 tick records that no catch-up window needs: older
     * than their schedule's window and covered by its mark. Rows a scheduler
     * holds are skipped, never waited for.
     */
    pruneTicks: `WITH doomed AS (
  SELECT t.schedule, t.tick FROM ${s}.cron_ticks t
  JOIN ${s}.cron_schedules c ON c.name = t.schedule
  WHERE t.tick < now() - c.catchup * interval '1 millisecond' AND t.tick <= c.last_tick
  LIMIT $1::int
  FOR UPDATE OF t SKIP LOCKED
), gone AS (
  DELETE FROM ${s}.cron_ticks t USING doomed d
  WHERE t.schedule = d.schedule AND t.tick = d.tick
  RETURNING 1
)
SELECT count(*)::int AS n FROM gone`,

    /**
     * Deletes at most $2 marks of schedules this process does not declare
     * ($1: JSON array of names) once no scheduler declaring them has made a
     * pass for a whole window (every pass refreshes `seen_at`) and no tick
     * record is left. A scheduler that still runs such a schedule re-creates
     * the row with the `since` it saw; a schedule that comes back in a
     * process that never saw it starts afresh, from a new `since`.
     */
    pruneSchedules: `WITH doomed AS (
  SELECT c.name FROM ${s}.cron_schedules c
  WHERE c.name NOT IN (SELECT jsonb_array_elements_text($1::text::jsonb))
    AND c.seen_at < now() - c.catchup * interval '1 millisecond'
    AND NOT EXISTS (SELECT 1 FROM ${s}.cron_ticks t WHERE t.schedule = c.name)
  LIMIT $2::int
  FOR UPDATE SKIP LOCKED
), gone AS (
  DELETE FROM ${s}.cron_schedules c USING doomed d WHERE c.name = d.name RETURNING 1
)
SELECT count(*)::int AS n FROM gone`,
  };
}

/** The statements of {@link cronSql}. */
export type CronSql = ReturnType<typeof cronSql>;
