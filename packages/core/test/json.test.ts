import { describe, expect, it } from "vitest";
import { QError } from "../src/errors.js";
import { storableJsonText, storableText, toJsonText } from "../src/json.js";

const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e instanceof QError ? e.code : "other";
  }
  return "none";
};

/** Half of an emoji: lone UTF-16 surrogates. */
const HIGH = "🎉".slice(0, 1);
const LOW = "🎉".slice(1);

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

  it("refuses NUL and lone surrogates in string values and object keys", () => {
    for (const v of [
      "\u0000",
      { s: "a\u0000b" },
      HIGH,
      [`x${LOW}`],
      `${LOW}${HIGH}`,
      { [HIGH]: 1 },
      { "k\u0000": null },
      { a: [{ b: { [`c${LOW}`]: 1 } }] },
      { a: { toJSON: () => "\u0000" } },
      // An escaped backslash right before the NUL must not hide it.
      "\\\u0000",
    ]) {
      expect(code(() => toJsonText(v))).toBe("PAYLOAD_NOT_JSON");
    }
  });

  it("names where the unstorable text is", () => {
    let error: unknown;
    try {
      toJsonText({ a: [{ b: `x${HIGH}` }] });
    } catch (e) {
      error = e;
    }
    expect((error as QError).message).toContain('"b"');
  });

  it("accepts text that only spells out an escape: a literal backslash followed by u0000", () => {
    for (const v of [
      "\\u0000",
      "\\\\u0000",
      { "k\\u0000": "v\\ud800" },
      ["\\\\\\u0000x"],
      "🎉 pairs are fine",
      { "🎉": "\u001f tab\t" },
    ]) {
      expect(toJsonText(v)).toBe(JSON.stringify(v));
    }
  });
});

describe("storableText", () => {
  it("returns ordinary text as it is (the very same string)", () => {
    const s = "héllo 🎉 \\u0000";
    expect(storableText(s)).toBe(s);
  });

  it("replaces NUL and lone surrogates with U+FFFD", () => {
    expect(storableText("a\u0000b")).toBe("a\uFFFDb");
    expect(storableText(`x${HIGH}y`)).toBe("x\uFFFDy");
    expect(storableText(`${LOW}${HIGH}`)).toBe("\uFFFD\uFFFD");
    expect(storableText(`🎉${HIGH}\u0000`)).toBe("🎉\uFFFD\uFFFD");
  });
});

describe("storableJsonText", () => {
  it("is JSON.stringify for ordinary values", () => {
    for (const v of [null, 1, "s", [1, [2]], { a: { b: null } }, "\\u0000", { "\\ud800": 1 }]) {
      expect(storableJsonText(v)).toBe(JSON.stringify(v));
    }
  });

  it("replaces NUL and lone surrogates in string values and in keys", () => {
    expect(JSON.parse(storableJsonText({ s: "a\u0000b", t: [HIGH] }))).toEqual({
      s: "a\uFFFDb",
      t: ["\uFFFD"],
    });
    expect(JSON.parse(storableJsonText({ [`k${LOW}`]: { "n\u0000": 1 } }))).toEqual({
      "k\uFFFD": { "n\uFFFD": 1 },
    });
    // An escaped backslash before a NUL: the backslash stays, the NUL goes.
    expect(JSON.parse(storableJsonText("\\\u0000"))).toBe("\\\uFFFD");
    expect(JSON.parse(storableJsonText("\\u0000\u0000"))).toBe("\\u0000\uFFFD");
  });

  it("returns text that toJsonText accepts", () => {
    const v = { [HIGH]: [`${LOW}x\u0000`, { "\u0000": HIGH }], ok: "🎉" };
    expect(() => toJsonText(JSON.parse(storableJsonText(v)))).not.toThrow();
  });

  it("still refuses what is not JSON", () => {
    expect(code(() => storableJsonText({ n: 1n }))).toBe("PAYLOAD_NOT_JSON");
    expect(code(() => storableJsonText(undefined))).toBe("PAYLOAD_NOT_JSON");
  });
});
