import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { NotifyCoalescer } from "../src/postgres/notify-coalescer.js";

describe("NotifyCoalescer", () => {
  let sent: string[];
  let c: NotifyCoalescer;
  beforeEach(() => {
    vi.useFakeTimers();
    sent = [];
    c = new NotifyCoalescer((q) => sent.push(q), 10);
  });
  afterEach(() => vi.useRealTimers());

  it("an insert with none other of its queue in flight notifies itself, every time", () => {
    for (let i = 0; i < 3; i++) {
      const own = c.begin(["a"]);
      expect(own).toEqual(["a"]);
      c.end(["a"], own);
    }
    vi.advanceTimersByTime(100);
    expect(sent).toEqual([]);
  });

  it("inserts that overlap share: the last to finish pays what the skipped ones are owed", () => {
    const first = c.begin(["a"]);
    const second = c.begin(["a"]);
    const third = c.begin(["a"]);
    expect([first, second, third]).toEqual([["a"], [], []]);
    c.end(["a"], second);
    expect(sent).toEqual([]); // others still in flight
    c.end(["a"], first);
    expect(sent).toEqual([]);
    c.end(["a"], third);
    expect(sent).toEqual(["a"]); // once, after every skipped insert finished
    vi.advanceTimersByTime(100);
    expect(sent).toEqual(["a"]);
  });

  it("under a stream that never drains, an owed NOTIFY goes at the latest one window after", () => {
    const held = c.begin(["a"]); // stays in flight throughout
    const skipped = c.begin(["a"]);
    c.end(["a"], skipped);
    vi.advanceTimersByTime(9);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual(["a"]);
    c.end(["a"], held);
    expect(sent).toEqual(["a"]);
  });

  it("counts queues apart: a busy queue does not silence another", () => {
    const a = c.begin(["a"]);
    const ab = c.begin(["a", "b"]);
    expect(ab).toEqual(["b"]);
    c.end(["a", "b"], ab);
    c.end(["a"], a);
    expect(sent).toEqual(["a"]);
  });
});
