import type pg from "pg";

/** Time and rows per kind of statement sent through one pool. */
export interface StatementStats {
  statement: string;
  calls: number;
  totalMs: number;
  rows: number;
}

/** A short name for a statement: the name q gives it, its first CTE's name, or its first words. */
export function statementLabel(sql: string): string {
  const text = sql.replace(/\s+/g, " ").trim();
  const named = /^\/\* q:(\w+) \*\//.exec(text);
  if (named) return named[1]!;
  const cte = /^WITH (\w+) AS/i.exec(text);
  if (cte) {
    const names: Record<string, string> = {
      picked: "claim",
      s: "settle",
      input: "insert",
      beat: "heartbeat",
      dead: "rescue",
    };
    return names[cte[1]!] ?? `with ${cte[1]}`;
  }
  return text.split(" ").slice(0, 3).join(" ").toLowerCase();
}

/**
 * Wraps `pool.query` so every statement's round trip is timed by kind. Only
 * statements sent through the pool itself are seen (not a checked-out client's).
 */
export function profilePool(pool: pg.Pool): () => StatementStats[] {
  const stats = new Map<string, StatementStats>();
  type Query = string | { text: string; name?: string; values?: unknown[] };
  const original = pool.query.bind(pool) as (
    sql: Query,
    params?: unknown[],
  ) => Promise<pg.QueryResult>;
  // @q/pg sends q's statements as named (prepared) query configs.
  const wrapped = async (sql: Query, params?: unknown[]) => {
    const t0 = performance.now();
    const result = await original(sql, params);
    const label = statementLabel(typeof sql === "string" ? sql : sql.text);
    let s = stats.get(label);
    if (s === undefined) {
      s = { statement: label, calls: 0, totalMs: 0, rows: 0 };
      stats.set(label, s);
    }
    s.calls += 1;
    s.totalMs += performance.now() - t0;
    s.rows += result.rowCount ?? 0;
    return result;
  };
  (pool as unknown as { query: typeof wrapped }).query = wrapped;
  return () => [...stats.values()].sort((a, b) => b.totalMs - a.totalMs);
}
