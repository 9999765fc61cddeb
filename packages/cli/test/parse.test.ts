import { InvalidArgumentError } from "commander";
import { describe, expect, it } from "vitest";
import { span } from "../src/format.js";
import { age, integer, list, resolveTime, states, timeSpec } from "../src/parse.js";

describe("flag values", () => {
  it("times: ISO instants, or spans ago resolved by the given (database) clock", () => {
    const now = new Date("2025-06-01T12:00:00Z");
    expect(resolveTime(timeSpec("2h"), now)).toEqual(new Date("2025-06-01T10:00:00Z"));
    expect(resolveTime(timeSpec("90s"), now)).toEqual(new Date("2025-06-01T11:58:30Z"));
    expect(resolveTime(timeSpec("1.5d"), now)).toEqual(new Date("2025-05-31T00:00:00Z"));
    expect(resolveTime(timeSpec("2025-05-01"), now)).toEqual(new Date("2025-05-01T00:00:00Z"));
    expect(resolveTime(timeSpec("2025-05-01T08:30:00+02:00"), now)).toEqual(
      new Date("2025-05-01T06:30:00Z"),
    );
    for (const bad of ["yesterday", "12", "2h ago", "2025-13-45", ""]) {
      expect(() => timeSpec(bad), bad).toThrow(InvalidArgumentError);
    }
  });

  it("ages: spans, milliseconds, never", () => {
    expect(age("24h")).toBe(86_400_000);
    expect(age("0")).toBe(0);
    expect(age("1500")).toBe(1500);
    expect(age("never")).toBe("never");
    expect(() => age("-1")).toThrow(InvalidArgumentError);
    expect(() => age("1y")).toThrow(InvalidArgumentError);
  });

  it("lists, states and whole numbers", () => {
    expect(list("a,b", undefined)).toEqual(["a", "b"]);
    expect(list("c", ["a", "b"])).toEqual(["a", "b", "c"]);
    expect(() => list(" , ", undefined)).toThrow(InvalidArgumentError);
    expect(states("ready,failed", undefined)).toEqual(["ready", "failed"]);
    expect(() => states("done", undefined)).toThrow(/"done" is no state/);
    expect(integer(1, 1000)("1000")).toBe(1000);
    for (const bad of ["0", "1001", "1.5", "1e3", "ten", "-3"]) {
      expect(() => integer(1, 1000)(bad), bad).toThrow(InvalidArgumentError);
    }
  });

  it("spans for people", () => {
    expect(span(850)).toBe("850 ms");
    expect(span(12_400)).toBe("12.4 s");
    expect(span(185_000)).toBe("3 min 5 s");
    expect(span(3_600_000)).toBe("1 h");
    expect(span(7 * 86_400_000)).toBe("7 d");
    expect(span(26 * 3_600_000)).toBe("1 d 2 h");
  });
});
