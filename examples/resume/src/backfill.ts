// The task: walk a large table in steps, checkpointing after each, so that a
// run cut short (a crash, a deploy, an error) costs at most one step.
import { consoleLogger, createQueue, defineTask } from "@q/core";
import { createPgDriver } from "@q/pg";
import type pg from "pg";

export const SCHEMA = "q_example_resume";
export const ROWS = 20_000;
export const STEP = 1_000;

/** Where a run is: the next id to copy. */
export interface Checkpoint {
  next: number;
}

export function backfillQueue(pool: pg.Pool) {
  return createQueue({
    driver: createPgDriver(pool),
    schema: SCHEMA,
    // The rescue of the killed worker's job is this example's point: main.ts says it in one line.
    logger: consoleLogger("error"),
    tasks: {
      backfill: defineTask({
        handler: async ({ total }: { total: number }, ctx) => {
          // The next run of this job, after whatever ended the last one, starts here.
          const from = (ctx.job.checkpoint as Checkpoint | null)?.next ?? 1;
          await pool.query(
            "INSERT INTO resume_shop.runs (job_id, attempt, started_at_id) VALUES ($1, $2, $3)",
            [ctx.job.id, ctx.attempt, from],
          );
          for (let next = from; next <= total; ) {
            const to = Math.min(total, next + STEP - 1);
            // Idempotent: a step that runs twice (killed before its checkpoint) sets the same values.
            await pool.query(
              "UPDATE resume_shop.orders SET total_cents = amount * 100 WHERE id BETWEEN $1 AND $2",
              [next, to],
            );
            await new Promise((r) => setTimeout(r, 100)); // a slow step, so there is time to kill it
            next = to + 1;
            await ctx.checkpoint({ next } satisfies Checkpoint);
            ctx.progress({ done: to, total });
          }
          return { resumedFrom: from };
        },
      }),
    },
  });
}
