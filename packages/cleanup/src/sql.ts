/**
 * Every statement of the cleanup, built once per schema.
 *
 * Each statement is one short transaction that touches at most `$batch` rows.
 * Rows are picked with `FOR UPDATE SKIP LOCKED`, so a cleanup never waits on
 * a row someone else holds (a heartbeat, a hand-made retry, another
 * process's cleanup) and nobody waits long on the cleanup. Results come back
 * in single-word lowercase columns, which no camel-case transform renames.
 */

/** Walks one terminal state by age, oldest first, from a cursor. */
function deleteTerminal(schema: string, state: "finished" | "failed"): string {
  const t = `"${schema}".jobs`;
  // The state is written into the statement, not bound: only a literal lets
  // the planner prove the partial index jobs_terminal_idx applies to a
  // prepared (generic) plan. The cursor ($2, epoch microseconds of the last
  // row deleted, or null) keeps each batch from walking the index entries of
  // rows earlier batches deleted; it is inclusive, so equal times are not skipped.
  return `
WITH doomed AS (
  SELECT id FROM ${t}
  WHERE state = '${state}' AND state IN ('finished', 'failed')
    AND finished_at < now() - $1::bigint * interval '1 millisecond'
    AND finished_at >= coalesce('epoch'::timestamptz + $2::bigint * interval '1 microsecond',
                                '-infinity'::timestamptz)
  ORDER BY finished_at
  LIMIT $3::integer
  FOR UPDATE SKIP LOCKED
), gone AS (
  DELETE FROM ${t} j USING doomed
  WHERE j.id = doomed.id AND j.state = '${state}'
  RETURNING j.finished_at
)
SELECT (SELECT count(*) FROM gone)::integer AS deleted,
  (SELECT floor(extract(epoch FROM max(finished_at)) * 1000000)::bigint::text FROM gone) AS mark`;
}

export type CleanupStatements = ReturnType<typeof cleanupStatements>;

/** The statements for one schema (already validated by core, quoted here). */
export function cleanupStatements(schema: string) {
  const t = `"${schema}".jobs`;
  const w = `"${schema}".workers`;
  return {
    /** $1 age in ms, $2 cursor or null, $3 batch size → `deleted`, `mark`. */
    deleteFinished: deleteTerminal(schema, "finished"),
    /** As {@link deleteFinished}, for failed jobs. */
    deleteFailed: deleteTerminal(schema, "failed"),
    /**
     * $1 age in ms, $2 batch size → `deleted`. Rows of workers silent for
     * longer than the age that hold no claimed job: a claimed job's worker
     * row is what tells rescue whether its owner lives, so it stays until
     * rescue has handed the job back. A worker that was only paused
     * registers again with its next heartbeat (which upserts its row).
     */
    deleteWorkers: `
WITH doomed AS (
  SELECT w.id FROM ${w} w
  WHERE w.heartbeat_at < now() - $1::bigint * interval '1 millisecond'
    AND NOT EXISTS (SELECT 1 FROM ${t} j WHERE j.claimed_by = w.id AND j.state = 'claimed')
  LIMIT $2::integer
  FOR UPDATE SKIP LOCKED
), gone AS (
  DELETE FROM ${w} w USING doomed WHERE w.id = doomed.id
    AND NOT EXISTS (SELECT 1 FROM ${t} j WHERE j.claimed_by = w.id AND j.state = 'claimed')
  RETURNING 1
)
SELECT count(*)::integer AS deleted FROM gone`,
  };
}
