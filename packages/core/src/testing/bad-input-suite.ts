import { describe, expect, it } from "vitest";
import { QError, sqlState } from "../errors.js";
import { MAX_DELAY_MS, MAX_RUN_AT_MS, MIN_RUN_AT_MS } from "../limits.js";
import { silentLogger } from "../logger.js";
import { createQueue, type JobSpec } from "../queue.js";
import type { NewJob } from "../storage.js";
import { defineTask } from "../task.js";
import type { StorageFixture } from "./storage-suite.js";

const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (error) {
    return error instanceof QError ? error.code : `not a QError: ${String(error)}`;
  }
  return "resolved";
};

/** What a storage's refusal looks like: an SQLSTATE of class 22 (data exception). */
const dataExceptionOf = async (p: Promise<unknown>): Promise<string | undefined> => {
  try {
    await p;
  } catch (error) {
    return sqlState(error)?.slice(0, 2) ?? `no SQLSTATE: ${String(error)}`;
  }
  return "resolved";
};

/** Half of an emoji: a lone UTF-16 surrogate. */
const HIGH = "🎉".slice(0, 1);
const LOW = "🎉".slice(1);

const noop = defineTask({ handler: async (_payload: unknown) => {} });
type Tasks = { noop: typeof noop };

/** A value of each kind of bad input of item "bad input reaches PostgreSQL", with its code. */
export const unstorablePayloads: [string, unknown][] = [
  ["NUL in a string value", { s: "a\u0000b" }],
  ["a lone NUL string", "\u0000"],
  ["a lone high surrogate as a value", { s: `x${HIGH}` }],
  ["a lone low surrogate as a value", [LOW]],
  ["surrogates in the wrong order", `${LOW}${HIGH}`],
  ["a lone surrogate as a key", { [HIGH]: 1 }],
  ["NUL in a key", { "a\u0000": 1 }],
  ["NUL deep inside", { a: [{ b: { c: ["ok", "x\u0000"] } }] }],
  ["a lone surrogate in a nested key", { a: [{ [`k${LOW}`]: null }] }],
];

export const badIds: [string, unknown][] = [
  ["beyond bigint", "9223372036854775808"],
  ["twenty digits", "99999999999999999999"],
  ["not a number", "abc"],
  ["empty", ""],
  ["negative", "-1"],
  ["zero", "0"],
  ["leading zero", "01"],
  ["fraction", "1.5"],
  ["exponent", "1e3"],
  ["padded", " 1"],
  ["a number, not a string", 1],
  ["null", null],
];

/**
 * Bad input of every kind, through the queue and straight to the storage:
 * each is refused with its code and writes nothing. Run by
 * {@link describeStorage} on every storage, so `MemoryStorage` refuses exactly
 * what PostgreSQL does.
 */
export function describeBadInput(getFixture: () => StorageFixture): void {
  const queue = () =>
    createQueue<Tasks>({ storage: getFixture().storage, tasks: { noop }, logger: silentLogger });
  const nothingWritten = async () => expect(await getFixture().countJobs()).toBe(0);

  describe("unstorable payloads", () => {
    for (const [label, payload] of unstorablePayloads) {
      it(`${label} → PAYLOAD_NOT_JSON, nothing written`, async () => {
        const q = queue();
        expect(await codeOf(q.enqueue("noop", payload))).toBe("PAYLOAD_NOT_JSON");
        expect(
          await codeOf(
            q.enqueueMany([
              { task: "noop", payload: 1 },
              { task: "noop", payload },
            ]),
          ),
        ).toBe("PAYLOAD_NOT_JSON");
        await nothingWritten();
      });
    }

    it("a literal backslash-u0000 (and other escapes spelled out) is stored and comes back", async () => {
      const q = queue();
      const payloads: unknown[] = [
        "\\u0000",
        { "k\\u0000": "v\\u0000", s: "\\ud800", t: "\\\\u0000", u: "\\\\\\u0000" },
        { emoji: "🎉 ok", "pair🎉": ["\uD83D\uDE00"], tab: "\t", ctl: "\u001f" },
      ];
      for (const payload of payloads) {
        const { id } = await q.enqueue("noop", payload);
        expect((await q.getJob(id))!.payload).toEqual(payload);
      }
    });
  });

  describe("keys", () => {
    for (const [label, key] of [
      ["NUL", "a\u0000b"],
      ["a lone high surrogate", `k${HIGH}`],
      ["a lone low surrogate", `${LOW}k`],
    ] as const) {
      it(`a key with ${label} → INVALID_OPTION, nothing written`, async () => {
        expect(await codeOf(queue().enqueue("noop", null, { key }))).toBe("INVALID_OPTION");
        await nothingWritten();
      });
    }

    it("a key with a surrogate pair is fine and dedupes", async () => {
      const q = queue();
      const a = await q.enqueue("noop", 1, { key: "🎉" });
      const b = await q.enqueue("noop", 2, { key: "🎉" });
      expect(b).toMatchObject({ id: a.id, deduped: true });
      expect((await q.getJob(a.id))!.key).toBe("🎉");
    });
  });

  describe("runAt and delay", () => {
    const badRunAt: [string, unknown][] = [
      ["year 10000", new Date("+010000-01-01T00:00:00.000Z")],
      ["year 0", new Date("0000-01-01T00:00:00.000Z")],
      ["a negative year", new Date("-000001-06-01T00:00:00.000Z")],
      ["a millisecond before year 1", new Date(MIN_RUN_AT_MS - 1)],
      ["a millisecond after year 9999", new Date(MAX_RUN_AT_MS + 1)],
      ["an invalid Date", new Date("nope")],
      ["a string", "2030-01-01T00:00:00Z"],
      ["a number", 0],
    ];
    for (const [label, runAt] of badRunAt) {
      it(`runAt ${label} → INVALID_OPTION, nothing written`, async () => {
        expect(await codeOf(queue().enqueue("noop", null, { runAt: runAt as Date }))).toBe(
          "INVALID_OPTION",
        );
        await nothingWritten();
      });
    }

    it("runAt at either end of the range is stored as given", async () => {
      const q = queue();
      for (const ms of [MIN_RUN_AT_MS, MAX_RUN_AT_MS]) {
        const { id } = await q.enqueue("noop", null, { runAt: new Date(ms) });
        expect((await q.getJob(id))!.runAt.getTime()).toBe(ms);
      }
    });

    const badDelay: [string, unknown][] = [
      ["beyond MAX_DELAY_MS", MAX_DELAY_MS + 1],
      ["1e20", 1e20],
      ["Infinity", Number.POSITIVE_INFINITY],
      ["NaN", Number.NaN],
      ["negative", -1],
      ["a string", "10"],
    ];
    for (const [label, delay] of badDelay) {
      it(`delay ${label} → INVALID_OPTION, nothing written`, async () => {
        expect(await codeOf(queue().enqueue("noop", null, { delay: delay as number }))).toBe(
          "INVALID_OPTION",
        );
        await nothingWritten();
      });
    }

    it("a delay of MAX_DELAY_MS is accepted", async () => {
      const q = queue();
      const before = Date.now();
      const { id } = await q.enqueue("noop", null, { delay: MAX_DELAY_MS });
      const runAt = (await q.getJob(id))!.runAt.getTime();
      // By the database clock: allow for clock skew between it and this process.
      expect(Math.abs(runAt - (before + MAX_DELAY_MS))).toBeLessThan(60_000);
    });
  });

  describe("job ids", () => {
    for (const [label, id] of badIds) {
      it(`an id that is ${label} → INVALID_JOB_ID for getJob, retry and cancel`, async () => {
        const q = queue();
        await q.enqueue("noop", null);
        expect(await codeOf(q.getJob(id as string))).toBe("INVALID_JOB_ID");
        expect(await codeOf(q.retry(id as string))).toBe("INVALID_JOB_ID");
        expect(await codeOf(q.cancel(id as string))).toBe("INVALID_JOB_ID");
        // Nothing was sent that could break the storage: it still answers.
        const { id: good } = await q.enqueue("noop", 2);
        expect(await q.getJob(good)).toMatchObject({ state: "ready" });
      });
    }

    it("the largest bigint is a valid id of no job", async () => {
      const q = queue();
      const max = "9223372036854775807";
      expect(await q.getJob(max)).toBeNull();
      expect(await codeOf(q.retry(max))).toBe("JOB_NOT_FOUND");
      expect(await codeOf(q.cancel(max))).toBe("JOB_NOT_FOUND");
    });
  });

  describe("enqueueMany", () => {
    const notArrays: [string, unknown][] = [
      ["null", null],
      ["undefined", undefined],
      ["one job spec", { task: "noop", payload: 1 }],
      ["a string", "noop"],
      ["a Set", new Set([{ task: "noop", payload: 1 }])],
    ];
    for (const [label, jobs] of notArrays) {
      it(`enqueueMany(${label}) → INVALID_OPTION, nothing written`, async () => {
        expect(await codeOf(queue().enqueueMany(jobs as JobSpec<Tasks>[]))).toBe("INVALID_OPTION");
        await nothingWritten();
      });
    }

    it("a job that is not an object → INVALID_OPTION, nothing written", async () => {
      const jobs = [{ task: "noop", payload: 1 }, null] as unknown as JobSpec<Tasks>[];
      expect(await codeOf(queue().enqueueMany(jobs))).toBe("INVALID_OPTION");
      await nothingWritten();
    });
  });

  describe("the storage itself refuses what PostgreSQL cannot store", () => {
    const job = (over: Partial<NewJob>): NewJob => ({
      queue: "default",
      task: "noop",
      payload: "null",
      priority: 0,
      runAt: null,
      delayMs: 0,
      maxAttempts: 3,
      key: null,
      meta: "{}",
      ...over,
    });

    const badRows: [string, Partial<NewJob>][] = [
      ["payload text with NUL", { payload: JSON.stringify({ s: "\u0000" }) }],
      ["payload text with a lone surrogate", { payload: JSON.stringify([HIGH]) }],
      ["a key with NUL", { key: "a\u0000" }],
      ["a key with a lone surrogate", { key: LOW }],
      ["runAt in year 10000", { runAt: new Date("+010000-01-01T00:00:00.000Z") }],
      ["runAt in year 0", { runAt: new Date("0000-01-01T00:00:00.000Z") }],
      ["a delay beyond bigint", { delayMs: 1e20 }],
    ];
    for (const [label, over] of badRows) {
      it(`insert of ${label} fails with a data exception (class 22), nothing written`, async () => {
        const { storage } = getFixture();
        expect(await dataExceptionOf(storage.insert([job({}), job(over)], "skip"))).toBe("22");
        await nothingWritten();
      });
    }

    it("a settlement it cannot store fails with a data exception and changes nothing", async () => {
      const { storage } = getFixture();
      const { id } = (await storage.insert([job({})], "skip"))[0]!;
      const [claimed] = await storage.claim("w-bad-input", ["default"], 1);
      expect(claimed?.id).toBe(id);
      const token = claimed!.token;
      const error = { attempt: 1, at: "", message: `boom${HIGH}`, code: "Error" };
      for (const bad of [
        { kind: "finish" as const, id, token, result: JSON.stringify({ r: "\u0000" }) },
        { kind: "finish" as const, id, token, result: JSON.stringify({ [LOW]: 1 }) },
        { kind: "retry" as const, id, token, delayMs: 0, error },
        { kind: "fail" as const, id, token, error: { ...error, message: "nul \u0000" } },
        { kind: "snooze" as const, id, token, delayMs: 1e20 },
      ]) {
        expect(await dataExceptionOf(storage.settle([bad]))).toBe("22");
        expect(await storage.getJob(id)).toMatchObject({ state: "claimed", attempt: 1 });
      }
      // Storable text settles as usual.
      const [settled] = await storage.settle([
        { kind: "finish", id, token, result: JSON.stringify({ r: "\\u0000" }) },
      ]);
      expect(settled).toMatchObject({ applied: true });
      expect(await storage.getJob(id)).toMatchObject({
        state: "finished",
        result: { r: "\\u0000" },
      });
    });
  });
}
