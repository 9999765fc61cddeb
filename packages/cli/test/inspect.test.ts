import { defineTask, type Job, PermanentError } from "@q/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Fixture, fixture, json, ok, q } from "./helpers.js";

const work = {
  mail: defineTask({ queue: "mail", handler: async (_: { to: string }) => {} }),
  report: defineTask({
    maxAttempts: 1,
    handler: async ({ n }: { n: number }) => {
      if (n % 2 === 1) throw new PermanentError(`report ${n} has no data`);
      return { rows: n * 10 };
    },
  }),
  walk: defineTask({
    maxAttempts: 1,
    handler: async (_: Record<string, never>, ctx) => {
      ctx.progress({ done: 5, total: 10 });
      await ctx.checkpoint({ lastRow: 5 });
      throw new Error("connection reset\nwhile walking");
    },
  }),
};

let f: Fixture<typeof work>;
/** Every job, newest first, as the queue API sees it. */
let all: Job[];
let walked: string;
let keyed: string;

beforeAll(async () => {
  f = await fixture({ tasks: work });
  await f.queue.enqueueMany([0, 1, 2, 3].map((n) => ({ task: "report" as const, payload: { n } })));
  ({ id: walked } = await f.queue.enqueue("walk", {}));
  const worker = await f.queue.work({ queues: ["default"], pollInterval: 50 });
  const end = Date.now() + 15_000;
  while ((await f.queue.stats()).some((s) => s.queue === "default" && s.ready + s.claimed > 0)) {
    if (Date.now() > end) throw new Error("the jobs did not run");
    await new Promise((r) => setTimeout(r, 50));
  }
  await worker.stop();
  await f.queue.enqueue("mail", { to: "a@example.com" });
  ({ id: keyed } = await f.queue.enqueue("mail", { to: "b@example.com" }, { key: "welcome:b" }));
  await f.queue.enqueue("mail", { to: "c@example.com" }, { delay: 3_600_000 });
  all = (await f.queue.listJobs({}, { limit: 1000 })).jobs;
});
afterAll(() => f.close());

/** A job as `--json` prints it: dates as ISO strings. */
const asJson = <T>(value: T): unknown => JSON.parse(JSON.stringify(value));

describe("q jobs", () => {
  it("--json lists every job newest first, as listJobs does", async () => {
    const page = await json<{ jobs: Job[]; next: string | null }>(f.args("jobs"));
    expect(page.next).toBeNull();
    expect(page.jobs).toEqual(asJson(all));
    expect(page.jobs.map((j) => Number(j.id))).toEqual(
      [...page.jobs.map((j) => Number(j.id))].sort((a, b) => b - a),
    );
    expect(page.jobs).toHaveLength(8);
  });

  it("prints a table for people: a header, one line per job", async () => {
    const lines = (await ok(f.args("jobs"))).trimEnd().split("\n");
    expect(lines[0]).toMatch(
      /^\s*id\s+queue\s+task\s+state\s+attempt\s+created\s+run at\s+finished\s+key$/,
    );
    expect(lines).toHaveLength(all.length + 1);
    for (const [i, job] of all.entries()) {
      const cells = lines[i + 1]!.trim().split(/\s{2,}/);
      expect(cells.slice(0, 5)).toEqual([
        job.id,
        job.queue,
        job.task,
        job.state,
        `${job.attempt}/${job.maxAttempts}`,
      ]);
      expect(cells.at(-1)).toBe(job.key ?? "-");
    }
  });

  it("filters by queue, task, state, key and time", async () => {
    const where = (p: (j: Job) => boolean) => all.filter(p).map((j) => j.id);
    const cases: [string[], string[]][] = [
      [["--queue", "mail"], where((j) => j.queue === "mail")],
      [["--state", "failed"], where((j) => j.state === "failed")],
      [["--state", "finished,failed", "--task", "report"], where((j) => j.task === "report")],
      [
        ["--task", "report", "--state", "finished"],
        where((j) => j.task === "report" && j.state === "finished"),
      ],
      [
        ["--queue", "mail", "--queue", "default", "--state", "ready"],
        where((j) => j.state === "ready"),
      ],
      [["--key", "welcome:b"], [keyed]],
      [["--created-from", "1h"], where(() => true)],
      [["--created-to", "2000-01-01"], []],
      [
        ["--finished-from", "1h", "--finished-to", "2999-01-01T00:00:00Z"],
        where((j) => j.finishedAt !== null),
      ],
    ];
    for (const [args, expected] of cases) {
      const page = await json<{ jobs: Job[] }>(f.args("jobs", ...args));
      expect(
        page.jobs.map((j) => j.id),
        args.join(" "),
      ).toEqual(expected);
    }
    expect(await ok(f.args("jobs", "--created-to", "2000-01-01"))).toBe("no jobs\n");
  });

  it("pages with the cursor it prints, newest or oldest first", async () => {
    for (const order of ["newest", "oldest"] as const) {
      const seen: string[] = [];
      let after: string | null = null;
      let pages = 0;
      do {
        const args = ["jobs", "--limit", "3", ...(order === "oldest" ? ["--oldest"] : [])];
        const page: { jobs: Job[]; next: string | null } = await json(
          f.args(...args, ...(after ? ["--after", after] : [])),
        );
        expect(page.jobs.length).toBeLessThanOrEqual(3);
        seen.push(...page.jobs.map((j) => j.id));
        after = page.next;
        pages++;
      } while (after !== null && pages < 10);
      const expected = all.map((j) => j.id);
      expect(seen).toEqual(order === "newest" ? expected : [...expected].reverse());
      expect(pages).toBe(3);
    }
    const first = await ok(f.args("jobs", "--limit", "3"));
    const cursor = /next page: --after (\S+)\n$/.exec(first)?.[1];
    expect(cursor).toBeDefined();
    const second = await json<{ jobs: Job[] }>(f.args("jobs", "--limit", "3", "--after", cursor!));
    expect(second.jobs.map((j) => j.id)).toEqual(all.slice(3, 6).map((j) => j.id));
  });

  it("refuses a cursor that is not one with INVALID_OPTION", async () => {
    const ran = await q(f.args("jobs", "--after", "nonsense"));
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/^q: INVALID_OPTION: /);
    expect(ran.stdout).toBe("");
  });
});

describe("q job <id>", () => {
  it("--json is the job as getJob returns it", async () => {
    const job = await f.queue.getJob(walked);
    expect(await json(f.args("job", walked))).toEqual(asJson(job));
  });

  it("shows payload, errors with their attempts, progress, checkpoint and timings", async () => {
    const job = (await f.queue.getJob(walked))!;
    const out = await ok(f.args("job", walked));
    expect(out).toMatch(new RegExp(`^job ${walked}  walk  failed\\n`));
    expect(out).toMatch(/^ {2}attempt\s+1 of 1$/m);
    expect(out).toMatch(/^ {2}progress\s+\{"done":5,"total":10\} \(at \S+ \S+Z\)$/m);
    expect(out).toMatch(/^checkpoint\n {2}\{\n {4}"lastRow": 5\n {2}\}$/m);
    expect(out).toMatch(/^payload\n {2}\{\}$/m);
    expect(out).toMatch(/^ {2}total\s+\d+(\.\d)? m?s from enqueue to end$/m);
    // One line per recorded error, the message's own line breaks folded.
    expect(out).toMatch(
      /^errors \(1\)\n {2}attempt 1 {2}\S+ \S+Z {2}Error: connection reset while walking$/m,
    );
    expect(job.errors).toHaveLength(1);
  });

  it("shows a finished job's result", async () => {
    const finished = all.find((j) => j.state === "finished")!;
    const out = await ok(f.args("job", finished.id));
    expect(out).toContain(
      `result\n  {\n    "rows": ${(finished.result as { rows: number }).rows}\n  }`,
    );
    expect(out).not.toMatch(/^errors/m);
  });
});

describe("q counts and q stats", () => {
  it("counts --json is queue.counts()", async () => {
    expect(await json(f.args("counts"))).toEqual(asJson(await f.queue.counts()));
  });

  it("counts prints queue × state with totals", async () => {
    const lines = (await ok(f.args("counts"))).trimEnd().split("\n");
    expect(lines.map((l) => l.trim().split(/\s{2,}/))).toEqual([
      ["queue", "ready", "claimed", "finished", "failed", "total"],
      ["default", "0", "0", "2", "3", "5"],
      ["mail", "3", "0", "0", "0", "3"],
      ["all queues", "3", "0", "2", "3", "8"],
    ]);
  });

  it("stats --json is queue.stats(), and the table has a line per queue", async () => {
    // Lag and throughput move with the clock; the rest is as the API says.
    type Row = Record<string, unknown>;
    const steady = (rows: Row[]) => rows.map(({ lagMs: _, throughput: __, ...rest }) => rest);
    const printed = await json<Row[]>(f.args("stats"));
    expect(steady(printed)).toEqual(steady(asJson(await f.queue.stats()) as Row[]));
    for (const s of printed)
      expect(Object.keys(s)).toEqual(expect.arrayContaining(["lagMs", "throughput"]));
    const lines = (await ok(f.args("stats"))).trimEnd().split("\n");
    expect(lines[0]).toMatch(/^queue\s+ready\s+scheduled\s+claimed\s+lag\s+jobs\/s\s+paused$/);
    expect(
      lines
        .find((l) => l.startsWith("mail"))
        ?.split(/\s{2,}/)
        .slice(0, 4),
    ).toEqual(["mail", "2", "1", "0"]);
  });
});

describe("q retry, cancel, pause, resume", () => {
  it("retry moves a failed job back to ready; a job that has not failed is INVALID_STATE", async () => {
    const failed = all.find((j) => j.task === "report" && j.state === "failed")!;
    expect(await ok(f.args("retry", failed.id))).toBe(
      `job ${failed.id} is ready again (report, queue default)\n`,
    );
    expect((await f.queue.getJob(failed.id))?.state).toBe("ready");
    const again = await q(f.args("retry", failed.id));
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^q: INVALID_STATE: /);
  });

  it("cancel fails a waiting job as CANCELLED; a second cancel finds nothing to do", async () => {
    const { id } = await f.queue.enqueue("mail", { to: "d@example.com" });
    expect(await json(f.args("cancel", id))).toEqual({ id, outcome: "cancelled" });
    const job = await f.queue.getJob(id);
    expect(job?.state).toBe("failed");
    expect(job?.errors.at(-1)?.code).toBe("CANCELLED");
    expect(await ok(f.args("cancel", id))).toBe(
      `job ${id} had already finished or failed: nothing to cancel\n`,
    );
  });

  it("pause and resume a queue, as paused() and stats show", async () => {
    expect(await ok(f.args("pause", "mail"))).toBe(
      "queue mail is paused: running jobs finish, no new ones start\n",
    );
    expect(await f.queue.paused()).toEqual(["mail"]);
    expect((await f.queue.stats()).find((s) => s.queue === "mail")?.paused).toBe(true);
    const stats = await ok(f.args("stats"));
    expect(stats.split("\n").find((l) => l.startsWith("mail"))).toMatch(/paused since \S+ \S+Z$/);
    // Enqueue goes on while the queue is paused.
    await f.queue.enqueue("mail", { to: "e@example.com" });
    expect(await json(f.args("resume", "mail"))).toEqual({ queue: "mail", paused: false });
    expect(await f.queue.paused()).toEqual([]);
    const bad = await q(f.args("pause", "no queue"));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^q: INVALID_QUEUE_NAME: /);
  });
});
