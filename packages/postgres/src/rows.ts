import type { Row } from "@q/core";

/**
 * Copies postgres.js's result (an array with `count`, `columns`, … attached)
 * into a plain array of rows.
 *
 * q's columns are single lowercase words, which every column transform that
 * postgres.js ships (camel, pascal, kebab) maps to themselves up to case, so
 * when a column transform is on, keys are lowercased back (`Job` → `job`).
 */
export function toRows<R extends Row>(result: ArrayLike<unknown>, lowercaseKeys: boolean): R[] {
  const rows = Array.from(result) as R[];
  if (!lowercaseKeys) return rows;
  return rows.map((row) => {
    const out: Row = {};
    for (const key of Object.keys(row)) out[key.toLowerCase()] = row[key];
    return out as R;
  });
}
