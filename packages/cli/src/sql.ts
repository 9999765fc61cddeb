/**
 * The few statements of the CLI's own: what the queue API does not answer
 * (applied migration versions, `@q/cron`'s stored schedules). The schema
 * name is validated by core before it gets here and is quoted; values are
 * parameters.
 *
 * @module
 */

/** The newest applied migration of each owner (core, cron, …). */
export const migrationVersions = (schema: string) =>
  `SELECT owner, max(version)::int AS version FROM "${schema}".migrations GROUP BY owner ORDER BY owner`;

/** Whether `@q/cron`'s tables exist in the schema. */
export const cronTablesExist = (schema: string) =>
  `SELECT to_regclass('"${schema}".cron_ticks') IS NOT NULL AS present`;

/**
 * `@q/cron`'s stored schedules: each one's mark (the latest tick enqueued),
 * the job of that tick and its state, when a scheduler last saw it, since
 * when, and its catch-up window. Times as epoch milliseconds, which no
 * driver's type parsers touch.
 */
export const cronSchedules = (schema: string) => `SELECT
  c.name,
  floor(extract(epoch FROM c.last_tick) * 1000)::float8 AS lasttick,
  floor(extract(epoch FROM c.since) * 1000)::float8 AS since,
  floor(extract(epoch FROM c.seen_at) * 1000)::float8 AS seenat,
  c.catchup::float8 AS catchup,
  t.job_id::text AS jobid,
  j.task,
  j.state
FROM "${schema}".cron_schedules c
LEFT JOIN "${schema}".cron_ticks t ON t.schedule = c.name AND t.tick = c.last_tick
LEFT JOIN "${schema}".jobs j ON j.id = t.job_id
ORDER BY c.name`;
