import { describe, expect, it } from "vitest";
import { QError, Snooze } from "../src/errors.js";
import { assertJobId } from "../src/ids.js";
import { MAX_DELAY_MS, MAX_RUN_AT_MS, MIN_RUN_AT_MS } from "../src/limits.js";
import { dateOption, delayOption, keyOption, msOption, TIMER_MAX_MS } from "../src/options.js";

const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e instanceof QError ? e.code : "other";
  }
  return "none";
};

describe("limits", () => {
  it("are what the documentation says", () => {
    expect(MAX_DELAY_MS).toBe(100 * 365.25 * 24 * 3600 * 1000);
    expect(new Date(MIN_RUN_AT_MS).toISOString()).toBe("0001-01-01T00:00:00.000Z");
    expect(new Date(MAX_RUN_AT_MS).toISOString()).toBe("9999-12-31T23:59:59.999Z");
  });

  it("delayOption: 0 to MAX_DELAY_MS", () => {
    expect(delayOption("delay", 0)).toBe(0);
    expect(delayOption("delay", MAX_DELAY_MS)).toBe(MAX_DELAY_MS);
    for (const bad of [-1, MAX_DELAY_MS + 1, 1e20, Number.NaN, Number.POSITIVE_INFINITY, "1"]) {
      expect(code(() => delayOption("delay", bad))).toBe("INVALID_OPTION");
    }
  });

  it("dateOption: a valid Date from year 1 to year 9999", () => {
    for (const ms of [MIN_RUN_AT_MS, 0, MAX_RUN_AT_MS]) {
      expect(dateOption("runAt", new Date(ms)).getTime()).toBe(ms);
    }
    for (const bad of [
      new Date(MIN_RUN_AT_MS - 1),
      new Date(MAX_RUN_AT_MS + 1),
      new Date("nope"),
      "2030-01-01",
      0,
      null,
    ]) {
      expect(code(() => dateOption("runAt", bad))).toBe("INVALID_OPTION");
    }
  });

  it("keyOption refuses NUL and lone surrogates", () => {
    expect(keyOption("🎉")).toBe("🎉");
    for (const bad of ["a\u0000", "🎉".slice(0, 1), "🎉".slice(1), "", "x".repeat(513), 1]) {
      expect(code(() => keyOption(bad))).toBe("INVALID_OPTION");
    }
  });

  it("msOption refuses what a timer cannot hold", () => {
    expect(msOption("pollInterval", TIMER_MAX_MS)).toBe(TIMER_MAX_MS);
    expect(code(() => msOption("pollInterval", TIMER_MAX_MS + 1))).toBe("INVALID_OPTION");
  });

  it("snooze: 0 to MAX_DELAY_MS", () => {
    expect(new Snooze(MAX_DELAY_MS).delayMs).toBe(MAX_DELAY_MS);
    for (const bad of [-1, MAX_DELAY_MS + 1, 1e20, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(code(() => new Snooze(bad))).toBe("INVALID_OPTION");
    }
  });
});

describe("assertJobId", () => {
  it("accepts decimal strings from 1 to 2^63 - 1", () => {
    for (const id of ["1", "42", "9223372036854775807", "1000000000000000000"]) {
      expect(assertJobId(id)).toBe(id);
    }
  });

  it("refuses anything else with INVALID_JOB_ID", () => {
    for (const bad of [
      "9223372036854775808",
      "9999999999999999999",
      "10000000000000000000",
      "0",
      "00",
      "01",
      "-1",
      "+1",
      "1.0",
      "1e3",
      " 1",
      "1 ",
      "",
      "abc",
      "١",
      1,
      1n,
      null,
      undefined,
    ]) {
      expect(code(() => assertJobId(bad))).toBe("INVALID_JOB_ID");
    }
  });
});
