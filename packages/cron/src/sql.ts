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

/** The statements of the scheduler, `list` and `prune` for one schema. */
export function cronSql(schema: string) {
  const s = `"${schema}"`;
  return {
    /**
     * The database clock and the marks of the named schedules ($1: JSON array
     * of names), in one round trip and without a transaction.
     */
    marks: `SELECT json_build_object(
  'now', ${ms("now()")},
  'marks', (SELECT coalesce(json_object_agg(name, ${ms("last_tick")}), '{}')
            FROM ${s}.cron_schedules
            WHERE name IN (SELECT jsonb_array_elements_text($1::text::jsonb)))
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
     * Locks the mark of schedule $1 (creating it, $2 = catch-up window in ms)
     * and returns it as committed by whoever held it before. Taken after the
     * ticks, always, so the lock order is the same in every process.
     */
    hold: `INSERT INTO ${s}.cron_schedules (name, catchup) VALUES ($1::text, $2::bigint)
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

    /** The database clock and, per named schedule ($1), its mark and that tick's job. */
    list: `SELECT json_build_object(
  'now', ${ms("now()")},
  'rows', (SELECT coalesce(json_agg(json_build_object(
             'name', c.name,
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
     * ($1: JSON array of names) once no process has run them for a whole
     * window and no tick record is left. A scheduler that still runs such a
     * schedule re-creates its mark, and its window then holds only ticks
     * whose records were kept.
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
