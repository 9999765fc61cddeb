import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Fixture, fixture, ok, q } from "./helpers.js";

let f: Fixture;
beforeAll(async () => {
  f = await fixture();
});
afterAll(() => f.close());

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[`);
const oneLine = (text: string) => expect(text.trimEnd().split("\n")).toHaveLength(1);

describe("errors: one line with q's code, and an exit status", () => {
  it("a malformed id is INVALID_JOB_ID, exit 1, and no stack", async () => {
    const ran = await q(f.args("job", "12abc"));
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/^q: INVALID_JOB_ID: "12abc" is not a job id/);
    oneLine(ran.stderr);
    expect(ran.stderr).not.toMatch(/\s+at /);
    expect(ran.stdout).toBe("");
  });

  it("an id no job has is JOB_NOT_FOUND, for job, retry and cancel", async () => {
    for (const command of ["job", "retry", "cancel"]) {
      const ran = await q(f.args(command, "987654321"));
      expect(ran.code, command).toBe(1);
      expect(ran.stderr, command).toMatch(/^q: JOB_NOT_FOUND: /);
      oneLine(ran.stderr);
    }
  });

  it("--debug and Q_DEBUG add the stack", async () => {
    for (const ran of [
      await q(f.args("job", "x", "--debug")),
      await q(f.args("job", "x"), { Q_DEBUG: "1" }),
    ]) {
      expect(ran.code).toBe(1);
      expect(ran.stderr).toMatch(/^q: INVALID_JOB_ID: /);
      expect(ran.stderr).toMatch(/QError: .*\n\s+at /);
    }
  });

  it("no database URL: one line that says how to give one, exit 2", async () => {
    const ran = await q(["counts"], { DATABASE_URL: undefined });
    expect(ran.code).toBe(2);
    expect(ran.stderr).toBe(
      "q: no database: pass --url postgres://user@host:5432/db or set DATABASE_URL\n",
    );
  });

  it("--url wins over DATABASE_URL", async () => {
    const ran = await q(["--url", "postgres://postgres@127.0.0.1:1/none", ...f.args("job", "1")]);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/^q: cannot reach the database: .*ECONNREFUSED/);
    oneLine(ran.stderr);
  });

  it("a URL that is not postgres:// is a usage error", async () => {
    const ran = await q(["counts", "--url", "mysql://root@localhost/db"]);
    expect(ran.code).toBe(2);
    expect(ran.stderr).toMatch(/^q: the database URL starts with mysql:\/\//);
  });

  it("a schema without q's tables is NOT_MIGRATED, with what to run", async () => {
    const ran = await q(["--schema", "cli_nothing_here", "job", "1"]);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(
      /^q: NOT_MIGRATED: .*"cli_nothing_here".*\(q migrate creates them\)$/m,
    );
    oneLine(ran.stderr);
  });

  it("an unknown command or flag, or a bad flag value, is exit 2 with one line", async () => {
    const unknown = await q(["jobz"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(
      /^q: unknown command 'jobz' \(Did you mean one of job, jobs\?\) \(see q --help\)\n$/,
    );
    oneLine(unknown.stderr);

    const flag = await q(f.args("jobs", "--stat", "failed"));
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/^q: unknown option '--stat'.*see q jobs --help/);
    oneLine(flag.stderr);

    const value = await q(f.args("jobs", "--state", "done"));
    expect(value.code).toBe(2);
    expect(value.stderr).toMatch(/"done" is no state: use ready, claimed, finished, failed/);
    oneLine(value.stderr);

    const limit = await q(f.args("jobs", "--limit", "5000"));
    expect(limit.code).toBe(2);
    expect(limit.stderr).toMatch(/must be a whole number from 1 to 1000/);

    const missing = await q(f.args("job"));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^q: missing required argument 'id'/);
  });

  it("--help and --version exit 0 on stdout", async () => {
    const help = await q(["--help"]);
    expect(help.code).toBe(0);
    for (const c of [
      "migrate",
      "sql",
      "jobs",
      "job",
      "counts",
      "stats",
      "retry",
      "cancel",
      "pause",
      "resume",
      "cleanup",
      "cron",
    ]) {
      expect(help.stdout).toMatch(new RegExp(`^  ${c}\\b`, "m"));
    }
    const version = await q(["--version"]);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe("colours", () => {
  let id: string;
  beforeAll(async () => {
    ({ id } = await f.queue.enqueue("mail", { to: "a@example.com" }));
  });

  it("none when stdout is not a terminal", async () => {
    const out = await ok(f.args("job", id));
    expect(out).toMatch(/ready/);
    expect(out).not.toMatch(ANSI);
    const errors = await q(f.args("job", "x"));
    expect(errors.stderr).not.toMatch(ANSI);
  });

  it("FORCE_COLOR turns them on off a terminal, NO_COLOR always off, --json never", async () => {
    expect(await ok(f.args("job", id), { FORCE_COLOR: "1" })).toMatch(ANSI);
    expect(await ok(f.args("job", id), { FORCE_COLOR: "1", NO_COLOR: "1" })).not.toMatch(ANSI);
    const out = await ok(f.args("job", id, "--json"), { FORCE_COLOR: "1" });
    expect(out).not.toMatch(ANSI);
    expect(() => JSON.parse(out)).not.toThrow();
  });
});
