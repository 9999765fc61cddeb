import { type Job, type JobFilter, type JobState, type PageOptions, QError } from "@q/core";
import type { Command } from "commander";
import { type Cli, globals } from "../cli.js";
import { withConnection } from "../connection.js";
import { between, indentedJson, state, time } from "../format.js";
import { table } from "../output.js";
import { integer, list, resolveTime, states, type TimeSpec, timeSpec } from "../parse.js";

interface JobsOptions {
  queue?: string[];
  task?: string[];
  state?: JobState[];
  key?: string;
  createdFrom?: TimeSpec;
  createdTo?: TimeSpec;
  finishedFrom?: TimeSpec;
  finishedTo?: TimeSpec;
  limit?: number;
  oldest?: boolean;
  after?: string;
  json?: boolean;
}

const TIME = "an ISO 8601 time or a span ago by the database clock (30m, 2h, 7d)";

/** `q jobs` and `q job <id>`. */
export function jobCommands(program: Command, cli: Cli): void {
  program
    .command("jobs")
    .description("list jobs, newest first, a page at a time")
    .option("--queue <names>", "only these queues (comma-separated or repeated)", list)
    .option("--task <names>", "only these tasks (comma-separated or repeated)", list)
    .option("--state <states>", "only these states: ready, claimed, finished, failed", states)
    .option("--key <key>", "only jobs with this key")
    .option("--created-from <time>", `created at or after: ${TIME}`, timeSpec)
    .option("--created-to <time>", "created before this time", timeSpec)
    .option("--finished-from <time>", "finished or failed at or after this time", timeSpec)
    .option("--finished-to <time>", "finished or failed before this time", timeSpec)
    .option("--limit <n>", "jobs per page, 1 to 1000 (default 50)", integer(1, 1000))
    .option("--oldest", "oldest first")
    .option("--after <cursor>", "the page after the one that printed this cursor")
    .option("--json", "print { jobs, next } as JSON")
    .action(async (options: JobsOptions, command: Command) => {
      const page = await withConnection(globals(command), cli.io, async ({ queue }) => {
        const relative = [
          options.createdFrom,
          options.createdTo,
          options.finishedFrom,
          options.finishedTo,
        ].some((t) => t !== undefined && "agoMs" in t);
        const now = relative ? await queue.storage.now() : new Date(0);
        const filter: JobFilter = {};
        if (options.queue) filter.queue = options.queue;
        if (options.task) filter.task = options.task;
        if (options.state) filter.state = options.state;
        if (options.key !== undefined) filter.key = options.key;
        const createdFrom = resolveTime(options.createdFrom, now);
        const createdTo = resolveTime(options.createdTo, now);
        const finishedFrom = resolveTime(options.finishedFrom, now);
        const finishedTo = resolveTime(options.finishedTo, now);
        if (createdFrom) filter.createdFrom = createdFrom;
        if (createdTo) filter.createdTo = createdTo;
        if (finishedFrom) filter.finishedFrom = finishedFrom;
        if (finishedTo) filter.finishedTo = finishedTo;
        const pageOptions: PageOptions = { order: options.oldest ? "oldest" : "newest" };
        if (options.limit !== undefined) pageOptions.limit = options.limit;
        if (options.after !== undefined) pageOptions.after = options.after;
        return queue.listJobs(filter, pageOptions);
      });
      if (options.json) {
        cli.out.json(page);
        return;
      }
      const c = cli.out.colors;
      if (page.jobs.length === 0) {
        cli.out.line(c.dim("no jobs"));
      } else {
        cli.out.line(
          ...table(
            page.jobs,
            [
              { header: "id", value: (j) => j.id, align: "right" },
              { header: "queue", value: (j) => j.queue },
              { header: "task", value: (j) => j.task },
              { header: "state", value: (j) => state(j.state, c) },
              { header: "attempt", value: (j) => `${j.attempt}/${j.maxAttempts}`, align: "right" },
              { header: "created", value: (j) => time(j.createdAt) },
              { header: "run at", value: (j) => time(j.runAt) },
              { header: "finished", value: (j) => time(j.finishedAt) },
              { header: "key", value: (j) => j.key ?? "-" },
            ],
            c,
          ),
        );
      }
      if (page.next !== null) cli.out.line(c.dim(`next page: --after ${page.next}`));
    });

  program
    .command("job")
    .description("show one job: payload, result, errors of every attempt, progress, checkpoint")
    .argument("<id>", "the job's id")
    .option("--json", "print the job as JSON")
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      const job = await withConnection(globals(command), cli.io, ({ queue }) => queue.getJob(id));
      if (job === null) {
        throw new QError("JOB_NOT_FOUND", `no job has id ${id}`, { details: { id } });
      }
      if (options.json) {
        cli.out.json(job);
        return;
      }
      cli.out.line(...describeJob(job, cli));
    });
}

/** The lines of `q job <id>`. */
function describeJob(job: Job, cli: Cli): string[] {
  const c = cli.out.colors;
  const field = (name: string, value: string) => `  ${c.dim(name.padEnd(12))} ${value}`;
  const lines = [
    `${c.bold(`job ${job.id}`)}  ${job.task}  ${state(job.state, c)}`,
    field("queue", job.queue),
    field("task", job.task),
    field("state", state(job.state, c)),
    field("attempt", `${job.attempt} of ${job.maxAttempts}`),
    field("priority", String(job.priority)),
    field("key", job.key ?? "-"),
    field("created", time(job.createdAt)),
    field("run at", time(job.runAt)),
  ];
  if (job.claimedAt !== null || job.claimedBy !== null) {
    lines.push(
      field("claimed", `${time(job.claimedAt)}${job.claimedBy ? ` by ${job.claimedBy}` : ""}`),
    );
  }
  lines.push(field("finished", time(job.finishedAt)));
  if (job.cancelRequestedAt !== null)
    lines.push(field("cancel asked", time(job.cancelRequestedAt)));
  const started = job.claimedAt ?? null;
  if (job.finishedAt !== null) {
    if (started !== null) lines.push(field("ran", between(started, job.finishedAt)));
    lines.push(field("total", `${between(job.createdAt, job.finishedAt)} from enqueue to end`));
  }
  if (job.progress !== null && job.progress !== undefined) {
    const at = job.progressAt ? ` (at ${time(job.progressAt)})` : "";
    lines.push(field("progress", `${JSON.stringify(job.progress)}${at}`));
  }
  if (Object.keys(job.meta).length > 0) lines.push(field("meta", JSON.stringify(job.meta)));
  lines.push(c.bold("payload"), indentedJson(job.payload));
  if (job.result !== null && job.result !== undefined) {
    lines.push(c.bold("result"), indentedJson(job.result));
  }
  if (job.checkpoint !== null && job.checkpoint !== undefined) {
    lines.push(c.bold("checkpoint"), indentedJson(job.checkpoint));
  }
  if (job.errors.length > 0) {
    lines.push(c.bold(`errors (${job.errors.length})`));
    for (const e of job.errors) {
      const who = e.attempt === 0 ? "before any attempt" : `attempt ${e.attempt}`;
      const code = e.code ? `${c.red(e.code)}: ` : "";
      lines.push(`  ${who}  ${time(e.at)}  ${code}${e.message.replace(/\s*\n\s*/g, " ")}`);
    }
  }
  return lines;
}
