import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const dist = resolve(dirname(fileURLToPath(import.meta.url)), "../dist");

/** Every bare module the built file imports, following its relative imports. */
function bareImports(entry: string): Set<string> {
  const seen = new Set<string>();
  const bare = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    for (const [, spec] of text.matchAll(
      /(?:import|export)[^"']*?from\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)/g,
    )) {
      if (spec === undefined) continue;
      if (spec.startsWith(".")) visit(resolve(dirname(file), spec));
      else bare.add(spec);
    }
  };
  visit(resolve(dist, entry));
  return bare;
}

describe("entry points", () => {
  it("@q/core and @q/core/testing load no test runner, so any runner can use MemoryStorage", () => {
    for (const entry of ["index.js", "testing/index.js"]) {
      const imports = [...bareImports(entry)];
      expect(
        imports.filter((s) => s === "vitest" || s.startsWith("vitest/")),
        entry,
      ).toEqual([]);
    }
  });

  it("@q/core/conformance is where the vitest suites live", () => {
    expect(bareImports("testing/conformance.js").has("vitest")).toBe(true);
  });
});
