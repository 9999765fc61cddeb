import { describe, expect, it } from "vitest";
import { QError } from "../src/errors.js";
import { toJsonText } from "../src/json.js";

const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e instanceof QError ? e.code : "other";
  }
  return "none";
};

describe("toJsonText", () => {
  it("serialises JSON values as JSON.stringify does", () => {
    for (const v of [null, 1, "s", [1, [2]], { a: { b: null } }, { d: new Date(0) }]) {
      expect(toJsonText(v)).toBe(JSON.stringify(v));
    }
  });

  it("refuses what would not come back the same", () => {
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    for (const v of [
      undefined,
      1n,
      { n: 1n },
      cyclic,
      () => 1,
      { f: () => 1 },
      [Symbol("s")],
      Number.NaN,
      { x: Number.POSITIVE_INFINITY },
      "nul \u0000 inside",
    ]) {
      expect(code(() => toJsonText(v))).toBe("PAYLOAD_NOT_JSON");
    }
  });
});
