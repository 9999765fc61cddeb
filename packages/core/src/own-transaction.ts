import type { Executor } from "./driver.js";

/**
 * Transactions core opened itself (a plugin's `ctx.transaction`). Their
 * executor is accepted as `tx` by the storage as it is, since no driver would
 * recognise it as one of its client's handles.
 */
const own = new WeakSet<object>();

/** Marks `tx` as a transaction of core's own; returns it. */
export function markOwnTransaction(tx: Executor): Executor {
  own.add(tx);
  return tx;
}

/** Whether `tx` is the executor of a transaction core opened. */
export function isOwnTransaction(tx: unknown): tx is Executor {
  return typeof tx === "object" && tx !== null && own.has(tx);
}
