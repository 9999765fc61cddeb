import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { QError } from "../src/errors.js";
import type { Settled, Settlement, Storage } from "../src/storage.js";
import { Completer, type CompleterOptions } from "../src/worker/completer.js";

/** A PostgreSQL-shaped error with a SQLSTATE. */
const pgError = (code: string) => Object.assign(new Error(`sqlstate ${code}`), { code });

const finish = (id: string): Settlement => ({ kind: "finish", id, token: `t${id}`, result: null });

/**
 * A storage whose `settle` records every call and answers with `answer`
 * (which may throw, or return a promise that never settles).
 */
function fakeStorage(
  answer: (batch: readonly Settlement[], call: number) => Promise<Settled[]> | Settled[] = (b) =>
    applied(b),
) {
  const calls: Settlement[][] = [];
  const storage = {
    settle: async (batch: readonly Settlement[]) => {
      calls.push([...batch]);
      return answer(batch, calls.length);
    },
  } as unknown as Storage;
  return { storage, calls };
}

const applied = (batch: readonly Settlement[]): Settled[] =>
  batch.map((s) => ({ id: s.id, kind: s.kind, applied: true }));

function completer(storage: Storage, options: Partial<CompleterOptions> = {}) {
  const settled: { result: Settled; context: string }[] = [];
  const dropped: { settlement: Settlement; context: string; error: unknown }[] = [];
  const errors: unknown[] = [];
  const c = new Completer<string>(
    storage,
    { delay: 5, maxBatch: 100, retries: 3, timeout: 60_000, ...options },
    {
      settled: (result, context) => settled.push({ result, context }),
      dropped: (settlement, context, error) => dropped.push({ settlement, context, error }),
      error: (error) => errors.push(error),
    },
  );
  const add = (...ids: string[]) => {
    for (const id of ids) c.add(finish(id), 1, id);
  };
  return { c, add, settled, dropped, errors };
}

const ids = (batch: readonly Settlement[]) => batch.map((s) => s.id);

describe("Completer", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("writes settlements that arrive within the delay in one statement, at most maxBatch each", async () => {
    const { storage, calls } = fakeStorage();
    const { c, add, settled } = completer(storage, { maxBatch: 10 });
    add(...Array.from({ length: 25 }, (_, i) => String(i)));
    // Two full batches go at once; the rest waits for the delay.
    expect(calls.map((b) => b.length)).toEqual([10, 10]);
    expect(c.size).toBe(25);
    await vi.advanceTimersByTimeAsync(5);
    expect(calls.map((b) => b.length)).toEqual([10, 10, 5]);
    expect(settled).toHaveLength(25);
    expect(c.size).toBe(0);
  });

  it("a batch refused on one row's data is split: the others are written, the row retried a bounded number of times, then failed SETTLE_FAILED", async () => {
    const { storage, calls } = fakeStorage((batch) => {
      if (batch.some((s) => s.id === "bad" && s.kind === "finish")) throw pgError("22P05");
      return applied(batch);
    });
    const { c, add, settled, dropped, errors } = completer(storage, { retries: 3 });
    add("a", "bad", "c");
    await vi.advanceTimersByTimeAsync(5);
    expect(calls.map(ids)).toEqual([["a", "bad", "c"], ["a"], ["bad"], ["c"]]);
    expect(settled.map((s) => s.context).sort()).toEqual(["a", "c"]);
    // Retried with backoff, never more than `retries` times after its first try alone.
    await vi.advanceTimersByTimeAsync(60_000);
    const finishes = calls.filter((b) => b.some((s) => s.id === "bad" && s.kind === "finish"));
    expect(finishes).toHaveLength(1 + 1 + 3);
    const last = calls.at(-1)!;
    expect(last).toEqual([
      {
        kind: "fail",
        id: "bad",
        token: "tbad",
        error: expect.objectContaining({ code: "SETTLE_FAILED", attempt: 1 }),
      },
    ]);
    expect((last[0] as { error: { message: string } }).error.message).toContain("22P05");
    expect(settled.map((s) => s.context).sort()).toEqual(["a", "bad", "c"]);
    expect(dropped).toEqual([]);
    expect(errors.length).toBe(5);
    expect(c.size).toBe(0);
  });

  it("a row refused for anything but its data (not SQLSTATE class 22 or 23) is never failed by the last resort", async () => {
    const { storage, calls } = fakeStorage((batch) => {
      if (batch.some((s) => s.id === "bad")) throw pgError("42501");
      return applied(batch);
    });
    const { c, add, settled, dropped } = completer(storage, { retries: 2 });
    add("a", "bad");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(settled.map((s) => s.context)).toEqual(["a"]);
    expect(calls.flat().filter((s) => s.kind === "fail")).toEqual([]);
    // Given up: the job stays claimed, for the worker's reconciliation or a rescue.
    expect(dropped.map((d) => [d.context, (d.error as { code: string }).code])).toEqual([
      ["bad", "42501"],
    ]);
    expect(c.size).toBe(0);
  });

  it("a failure of the connection, not of a row, is retried as a batch: the rows rejoin the next one", async () => {
    const { storage, calls } = fakeStorage((batch, call) => {
      if (call === 1) throw new Error("Connection terminated unexpectedly");
      return applied(batch);
    });
    const { add, settled, dropped } = completer(storage);
    add("a", "b");
    await vi.advanceTimersByTimeAsync(5);
    expect(calls.map(ids)).toEqual([["a", "b"]]);
    // The first retry comes after 100 ms; a settlement arriving then joins it.
    await vi.advanceTimersByTimeAsync(100);
    add("c");
    await vi.advanceTimersByTimeAsync(5);
    expect(calls.map(ids)).toEqual([
      ["a", "b"],
      ["a", "b", "c"],
    ]);
    expect(settled.map((s) => s.context)).toEqual(["a", "b", "c"]);
    expect(dropped).toEqual([]);
  });

  it("a connection that keeps failing is given up after bounded retries, with no last-resort failure", async () => {
    const { storage, calls } = fakeStorage(() => {
      throw pgError("08006");
    });
    const { c, add, dropped, errors } = completer(storage, { retries: 3 });
    add("a", "b");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(4);
    expect(calls.flat().filter((s) => s.kind === "fail")).toEqual([]);
    expect(dropped.map((d) => d.context)).toEqual(["a", "b"]);
    expect(errors).toHaveLength(4);
    expect(c.size).toBe(0);
  });

  it("a settle that does not answer within its timeout is abandoned (STATEMENT_TIMEOUT) and retried", async () => {
    const { storage, calls } = fakeStorage((batch, call) =>
      call === 1 ? new Promise<never>(() => {}) : applied(batch),
    );
    const { add, settled, errors } = completer(storage, { timeout: 200 });
    add("a");
    await vi.advanceTimersByTimeAsync(5 + 200);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(QError);
    expect((errors[0] as QError).code).toBe("STATEMENT_TIMEOUT");
    await vi.advanceTimersByTimeAsync(200);
    expect(calls).toHaveLength(2);
    expect(settled.map((s) => s.context)).toEqual(["a"]);
  });

  it("close() writes what is pending at once and retries without waiting for their backoff", async () => {
    const { storage, calls } = fakeStorage((batch, call) => {
      if (call === 1) throw pgError("57P01");
      return applied(batch);
    });
    const { c, add, settled } = completer(storage, { delay: 10_000 });
    add("a");
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toHaveLength(1);
    add("b");
    const closing = c.close(1000);
    await vi.advanceTimersByTimeAsync(0);
    await closing;
    expect(
      calls
        .flat()
        .map((s) => s.id)
        .sort(),
    ).toEqual(["a", "a", "b"]);
    expect(settled.map((s) => s.context).sort()).toEqual(["a", "b"]);
  });

  it("close() gives up after its deadline when the storage never answers", async () => {
    const { storage } = fakeStorage(() => new Promise<never>(() => {}));
    const { c, add } = completer(storage);
    add("a");
    let closed = false;
    const closing = c.close(1000).then(() => {
      closed = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(closed).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await closing;
    expect(closed).toBe(true);
  });
});
