import { afterEach, describe, expect, it, vi } from "vitest";
import { exponentialBackoff, fixedBackoff } from "../src/backoff.js";

describe("exponentialBackoff", () => {
  afterEach(() => vi.restoreAllMocks());

  it("doubles from the base and stays within the jitter band", () => {
    const backoff = exponentialBackoff({ baseMs: 1000, jitter: 0.2 });
    for (const [attempt, raw] of [
      [1, 1000],
      [2, 2000],
      [3, 4000],
      [6, 32000],
    ] as const) {
      for (let i = 0; i < 200; i++) {
        const d = backoff(attempt, new Error("x"));
        expect(d).toBeGreaterThanOrEqual(raw * 0.8);
        expect(d).toBeLessThanOrEqual(raw * 1.2);
      }
    }
  });

  it("is capped at maxMs (plus jitter) and spreads retries of a burst", () => {
    const backoff = exponentialBackoff({ baseMs: 1000, maxMs: 10_000, jitter: 0.1 });
    const delays = Array.from({ length: 100 }, () => backoff(50, null));
    expect(Math.max(...delays)).toBeLessThanOrEqual(11_000);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(9_000);
    expect(new Set(delays).size).toBeGreaterThan(10);
  });

  it("without jitter is exact", () => {
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    const backoff = exponentialBackoff({ baseMs: 100, factor: 3, jitter: 0 });
    expect([1, 2, 3].map((a) => backoff(a, null))).toEqual([100, 300, 900]);
  });

  it("fixedBackoff always waits the same", () => {
    expect(fixedBackoff(250)(7, null)).toBe(250);
  });
});
