import { QError } from "@q/core";
import { describe, expect, it } from "vitest";
import { CLEANUP_DEFAULTS, cleanup } from "../src/index.js";

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(QError);
    return (error as QError).code;
  }
  return "no error";
};

describe("cleanup options", () => {
  it("fills in the defaults", () => {
    expect(cleanup().settings).toEqual({ ...CLEANUP_DEFAULTS });
    expect(cleanup().name).toBe("cleanup");
  });

  it("null and Infinity both mean keep forever", () => {
    const s = cleanup({
      finishedAfter: null,
      failedAfter: Number.POSITIVE_INFINITY,
      workersAfter: null,
    }).settings;
    expect(s).toMatchObject({ finishedAfter: null, failedAfter: null, workersAfter: null });
    expect(cleanup({ finishedAfter: 0, failedAfter: 0 }).settings).toMatchObject({
      finishedAfter: 0,
      failedAfter: 0,
    });
  });

  const bad: [string, unknown][] = [
    ["a negative age", { finishedAfter: -1 }],
    ["a fractional age", { failedAfter: 1.5 }],
    ["NaN", { finishedAfter: Number.NaN }],
    ["-Infinity", { failedAfter: Number.NEGATIVE_INFINITY }],
    ["an age beyond 100 years", { finishedAfter: 3_155_760_000_001 }],
    ["an age as a string", { finishedAfter: "7d" }],
    ["workersAfter under a minute", { workersAfter: 59_999 }],
    ["a zero interval", { interval: 0 }],
    ["an interval beyond a timer's range", { interval: 2 ** 31 }],
    ["an infinite interval", { interval: Number.POSITIVE_INFINITY }],
    ["a zero batch", { batchSize: 0 }],
    ["a huge batch", { batchSize: 100_001 }],
    ["a misspelt option", { finishAfter: 1000 }],
    ["options that are not an object", 42],
    ["null options", null],
  ];
  for (const [label, options] of bad) {
    it(`${label} → INVALID_OPTION, before any SQL`, () => {
      expect(code(() => cleanup(options as never))).toBe("INVALID_OPTION");
    });
  }

  it("run() before the plugin started rejects with NOT_RUNNING", async () => {
    const error = await cleanup()
      .run()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QError);
    expect(error).toMatchObject({ code: "NOT_RUNNING" });
    expect((error as Error).message).toMatch(/queue\.start\(\)/);
  });
});
