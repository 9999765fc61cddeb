import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { EXIT_USAGE, type Io, run } from "../src/index.js";
import { type Fixture, fixture } from "./helpers.js";

function io(env: NodeJS.ProcessEnv = {}): Io & { out(): string; err(): string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (c) => {
    out += c;
  });
  stderr.on("data", (c) => {
    err += c;
  });
  return { stdout, stderr, env, out: () => out, err: () => err };
}

let f: Fixture;
beforeAll(async () => {
  f = await fixture();
});
afterAll(() => f.close());

describe("run() from code", () => {
  it("runs a command in-process against the database, writing to the streams it is given", async () => {
    const { id } = await f.queue.enqueue("mail", { to: "x@example.com" });
    const streams = io({ DATABASE_URL: inject("databaseUrl") });
    expect(await run(f.args("job", id, "--json"), streams)).toBe(0);
    expect(JSON.parse(streams.out())).toMatchObject({ id, task: "mail", state: "ready" });
    expect(streams.err()).toBe("");
  });

  it("resolves with the exit status instead of exiting", async () => {
    const streams = io({});
    expect(await run(["counts"], streams)).toBe(EXIT_USAGE);
    expect(streams.err()).toMatch(/^q: no database: /);
    const unknown = io({});
    expect(await run(["nope"], unknown)).toBe(EXIT_USAGE);
    const help = io({});
    expect(await run(["--help"], help)).toBe(0);
    expect(help.out()).toMatch(/^Usage: q /);
  });
});
