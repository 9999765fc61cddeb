import { describe, expect, it } from "vitest";
import { COPY_NULL, copyField, copyRow } from "../src/postgres/copy-text.js";

/**
 * Reads one row back as PostgreSQL reads COPY's text format (tab-separated,
 * `\N` is NULL, backslash escapes per the COPY documentation).
 */
function readRow(line: string): (string | null)[] {
  expect(line.endsWith("\n")).toBe(true);
  return line
    .slice(0, -1)
    .split("\t")
    .map((field) => {
      if (field === "\\N") return null;
      return field.replace(
        /\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g,
        (_, e: string) =>
          ({ b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v" })[e] ??
          (e[0] === "x"
            ? String.fromCharCode(Number.parseInt(e.slice(1), 16))
            : /^[0-7]/.test(e)
              ? String.fromCharCode(Number.parseInt(e, 8))
              : e),
      );
    });
}

describe("COPY text format", () => {
  it("leaves ordinary text as it is, the very same string", () => {
    for (const s of ["", "default", "12345", '{"a":[1,"b"]}', "żółć 🚀 中文 \u2028", "a b  c"]) {
      expect(copyField(s)).toBe(s);
    }
  });

  it("escapes backslash, tab, newline and carriage return", () => {
    expect(copyField("\\")).toBe("\\\\");
    expect(copyField("\t")).toBe("\\t");
    expect(copyField("\n")).toBe("\\n");
    expect(copyField("\r")).toBe("\\r");
    expect(copyField('{"s":"a\\tb\\\\c"}')).toBe('{"s":"a\\\\tb\\\\\\\\c"}');
    expect(copyField("x\r\ny\tz\\")).toBe("x\\r\\ny\\tz\\\\");
  });

  it("writes SQL NULL as \\N, and the text \\N so that it reads back as text", () => {
    expect(COPY_NULL).toBe("\\N");
    expect(copyRow([null])).toBe("\\N\n");
    expect(copyRow(["\\N"])).toBe("\\\\N\n");
    expect(readRow(copyRow(["\\N", null]))).toEqual(["\\N", null]);
  });

  it("joins a row's fields with tabs and ends it with a newline; no marker survives as one", () => {
    expect(copyRow(["1", "q", "", null])).toBe("1\tq\t\t\\N\n");
    // A line of just backslash-period would end the data: it cannot appear.
    expect(copyRow(["\\."])).toBe("\\\\.\n");
    expect(copyRow(["a\n\\.\nb"])).toBe("a\\n\\\\.\\nb\n");
  });

  it("every row reads back as the fields it was made of", () => {
    const alphabet = ["\\", "\t", "\n", "\r", "N", ".", "x", "0", "7", "b", " ", "é", "🎉", '"'];
    // mulberry32: the same strings on every run.
    let seed = 7;
    const next = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return (t ^ (t >>> 14)) >>> 0;
    };
    const seen = new Set<string>();
    for (let n = 0; n < 2000; n++) {
      const fields = Array.from({ length: 1 + (next() % 4) }, () =>
        next() % 9 === 0
          ? null
          : Array.from({ length: next() % 8 }, () => alphabet[next() % alphabet.length]).join(""),
      );
      const line = copyRow(fields);
      // One line per row: no raw newline or carriage return inside it.
      expect(line.slice(0, -1)).not.toMatch(/[\n\r]/);
      expect(readRow(line)).toEqual(fields);
      for (const f of fields) for (const c of f ?? "") seen.add(c);
    }
    // Every character of the alphabet was tried.
    expect(seen.size).toBe(alphabet.length);
  });
});
