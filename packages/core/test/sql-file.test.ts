import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { migrationScript } from "../src/postgres/migrations.js";

describe("shipped SQL", () => {
  it("sql/q.sql is the migration script of the default schema (run `pnpm sql` after changing a migration)", () => {
    const file = readFileSync(new URL("../sql/q.sql", import.meta.url), "utf8");
    expect(file).toBe(migrationScript("q"));
  });

  it("is exported as @q/core/sql/q.sql, for teams that run their own migration tool", () => {
    const path = createRequire(import.meta.url).resolve("@q/core/sql/q.sql");
    expect(readFileSync(path, "utf8")).toBe(migrationScript("q"));
  });

  it("refuses a schema name that is not a plain identifier", () => {
    expect(() => migrationScript('q"; DROP')).toThrow(
      expect.objectContaining({ code: "INVALID_SCHEMA_NAME" }),
    );
  });
});
