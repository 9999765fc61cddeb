import { PgDialect } from "drizzle-orm/pg-core";
import { describe, expect, test } from "vitest";
import { toRows, toSql } from "../src/query.js";

const dialect = new PgDialect();
const render = (text: string, params: unknown[]) => {
  const { sql, params: bound } = dialect.sqlToQuery(toSql(text, params));
  return { sql, params: bound };
};

describe("toSql", () => {
  test("binds every placeholder as a parameter, in order of appearance", () => {
    expect(render("SELECT $2::text AS b, $1::int AS a, $2::text AS c", [1, "x"])).toEqual({
      sql: "SELECT $1::text AS b, $2::int AS a, $3::text AS c",
      params: ["x", 1, "x"],
    });
  });

  test("tells $1 from $10 and keeps null, booleans and JSON text as values", () => {
    const params = [null, true, '{"a":[1]}', 4, 5, 6, 7, 8, 9, "ten"];
    const { sql, params: bound } = render(
      "SELECT $10::text, $1::text, $2, $3::text::jsonb",
      params,
    );
    expect(sql).toBe("SELECT $1::text, $2::text, $3, $4::text::jsonb");
    expect(bound).toEqual(["ten", null, true, '{"a":[1]}']);
  });

  test("leaves a statement without parameters as it is", () => {
    const text = "CREATE TABLE t (v text DEFAULT '$1'); SELECT 1";
    expect(render(text, [])).toEqual({ sql: text, params: [] });
  });
});

describe("toRows", () => {
  test("reads { rows } and arrays, and copies arrays into plain ones", () => {
    const list = Object.assign([{ a: 1 }], { count: 1, command: "SELECT" });
    const rows = toRows(list);
    expect(rows).toEqual([{ a: 1 }]);
    expect(Object.keys(rows)).toEqual(["0"]);
    expect(toRows({ rows: [{ b: 2 }], rowCount: 1 })).toEqual([{ b: 2 }]);
    expect(toRows(undefined)).toEqual([]);
  });
});
