import { Cron } from "croner";
import { describe, expect, it } from "vitest";
import { nextTick, ticksBetween } from "../src/ticks.ts";

const at = (iso: string) => Date.parse(iso);
const isos = (ticks: number[]) => ticks.map((t) => new Date(t).toISOString());
const pattern = (expr: string, timezone = "UTC") =>
  new Cron(expr, { timezone, mode: "5-or-6-parts", paused: true });

describe("ticksBetween", () => {
  it("takes ticks in (after, upTo]: the tick at `after` is done, the tick at `upTo` is due", () => {
    const ticks = ticksBetween(
      pattern("* * * * *"),
      at("2024-01-01T00:00:00Z"),
      at("2024-01-01T00:03:00Z"),
      100,
    );
    expect(isos(ticks)).toEqual([
      "2024-01-01T00:01:00.000Z",
      "2024-01-01T00:02:00.000Z",
      "2024-01-01T00:03:00.000Z",
    ]);
  });

  it("reads 6 fields as seconds first, 5 fields as minutes", () => {
    const from = at("2024-01-01T00:00:00Z");
    expect(ticksBetween(pattern("*/20 * * * * *"), from, from + 60_000, 100)).toHaveLength(3);
    expect(ticksBetween(pattern("*/20 * * * *"), from, from + 60 * 60_000, 100)).toHaveLength(3);
  });

  it("stops at the limit, and the next call carries on from the last tick", () => {
    const p = pattern("* * * * * *");
    const from = at("2024-01-01T00:00:00Z");
    const first = ticksBetween(p, from, from + 10_000, 4);
    expect(first).toHaveLength(4);
    const rest = ticksBetween(p, first[3]!, from + 10_000, 100);
    expect([...first, ...rest]).toEqual(
      Array.from({ length: 10 }, (_, i) => from + (i + 1) * 1000),
    );
  });

  it("is empty when no tick falls in the range", () => {
    const p = pattern("0 3 * * *");
    expect(ticksBetween(p, at("2024-01-01T04:00:00Z"), at("2024-01-02T02:59:59Z"), 100)).toEqual(
      [],
    );
  });

  it("reads the expression in the schedule's zone", () => {
    const berlin = pattern("0 3 * * *", "Europe/Berlin");
    expect(new Date(nextTick(berlin, at("2024-01-01T00:00:00Z"))!).toISOString()).toBe(
      "2024-01-01T02:00:00.000Z",
    );
    expect(new Date(nextTick(berlin, at("2024-07-01T00:00:00Z"))!).toISOString()).toBe(
      "2024-07-01T01:00:00.000Z",
    );
  });
});

describe("DST, as croner defines it (Europe/Berlin, 2024)", () => {
  const zone = "Europe/Berlin";

  it("spring forward: a fixed time in the gap runs at the first valid time after it, once", () => {
    const ticks = ticksBetween(
      pattern("30 2 * * *", zone),
      at("2024-03-30T00:00:00Z"),
      at("2024-04-01T23:00:00Z"),
      100,
    );
    expect(isos(ticks)).toEqual([
      "2024-03-30T01:30:00.000Z", // 02:30 CET
      "2024-03-31T01:00:00.000Z", // 03:00 CEST: 02:30 does not exist
      "2024-04-01T00:30:00.000Z", // 02:30 CEST
    ]);
  });

  it("spring forward: an interval schedule skips the missing hour", () => {
    const ticks = ticksBetween(
      pattern("0 * * * *", zone),
      at("2024-03-31T00:00:00Z"),
      at("2024-03-31T02:00:00Z"),
      100,
    );
    // 02:00 (CET, UTC+1) and 03:00 (CEST, UTC+2): one hour of real time, no 02:xx local.
    expect(isos(ticks)).toEqual(["2024-03-31T01:00:00.000Z", "2024-03-31T02:00:00.000Z"]);
  });

  it("fall back: a fixed time that happens twice runs once, at the first", () => {
    const ticks = ticksBetween(
      pattern("30 2 * * *", zone),
      at("2024-10-26T12:00:00Z"),
      at("2024-10-27T12:00:00Z"),
      100,
    );
    expect(isos(ticks)).toEqual(["2024-10-27T00:30:00.000Z"]);
  });

  it("fall back: an interval schedule runs on both passes through the repeated hour", () => {
    const ticks = ticksBetween(
      pattern("*/30 2 * * *", zone),
      at("2024-10-26T12:00:00Z"),
      at("2024-10-27T12:00:00Z"),
      100,
    );
    expect(isos(ticks)).toEqual([
      "2024-10-27T00:00:00.000Z",
      "2024-10-27T00:30:00.000Z",
      "2024-10-27T01:00:00.000Z",
      "2024-10-27T01:30:00.000Z",
    ]);
  });

  it("a seconds schedule stays one tick per real second across both changes", () => {
    for (const change of ["2024-03-31T01:00:00Z", "2024-10-27T01:00:00Z"]) {
      const from = at(change) - 5_000;
      const ticks = ticksBetween(pattern("* * * * * *", zone), from, from + 10_000, 100);
      expect(ticks).toEqual(Array.from({ length: 10 }, (_, i) => from + (i + 1) * 1000));
    }
  });
});
