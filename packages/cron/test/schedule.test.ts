import { isQError } from "@q/core";
import { describe, expect, it } from "vitest";
import { cron } from "../src/plugin.ts";
import type { Schedule } from "../src/schedule.ts";

const base: Schedule = { name: "s", cron: "* * * * *", task: "t" };
const refused = (schedule: Record<string, unknown>, option: RegExp) => {
  let error: unknown;
  try {
    cron({ schedules: [{ ...base, ...schedule } as Schedule] });
  } catch (e) {
    error = e;
  }
  expect(isQError(error, "INVALID_OPTION")).toBe(true);
  expect(String((error as { details: { option: string } }).details.option)).toMatch(option);
};

describe("cron() validates every schedule before anything runs", () => {
  it("accepts 5 and 6 fields, nicknames, names and croner's modifiers", () => {
    const plugin = cron({
      schedules: [
        { ...base, name: "a", cron: "0 3 * * *", timezone: "Europe/Berlin" },
        { ...base, name: "b", cron: "*/10 * * * * *" },
        { ...base, name: "c", cron: "@daily" },
        { ...base, name: "d", cron: "0 9 * JAN-MAR MON#1" },
        { ...base, name: "e", cron: "0 0 L * *" },
      ],
    });
    expect(plugin.name).toBe("cron");
    expect(plugin.schedules.map((s) => [s.name, s.timezone, s.catchUp])).toEqual([
      ["a", "Europe/Berlin", 60_000],
      ["b", "UTC", 60_000],
      ["c", "UTC", 60_000],
      ["d", "UTC", 60_000],
      ["e", "UTC", 60_000],
    ]);
    expect(plugin.migrations?.every((m) => m.owner === "cron")).toBe(true);
  });

  it("refuses a bad expression, 7 fields, a date, and one that never fires", () => {
    refused({ cron: "every day" }, /cron$/);
    refused({ cron: "61 * * * *" }, /cron$/);
    refused({ cron: "0 0 0 1 1 * 2030" }, /cron$/);
    refused({ cron: "2030-01-01T00:00:00" }, /cron$/);
    refused({ cron: "0 0 30 2 *" }, /cron$/);
    refused({ cron: 5 }, /cron$/);
  });

  it("refuses an unknown time zone", () => {
    refused({ timezone: "Mars/Olympus_Mons" }, /timezone$/);
    refused({ timezone: "" }, /timezone$/);
  });

  it("refuses bad names, tasks, payloads, options and windows", () => {
    refused({ name: "" }, /name$/);
    refused({ name: "a b" }, /name$/);
    refused({ task: "" }, /task$/);
    refused({ payload: { n: 1n } }, /payload$/);
    refused({ options: { runAt: new Date() } }, /options\.runAt$/);
    refused({ options: [] }, /options$/);
    refused({ catchUp: 999 }, /catchUp$/);
    refused({ catchUp: 1.5 * 1000 + 0.5 }, /catchUp$/);
    refused({ catchUp: Number.POSITIVE_INFINITY }, /catchUp$/);
  });

  it("refuses two schedules of one name and bad plugin options", () => {
    expect(() => cron({ schedules: [base, { ...base }] })).toThrow(/two schedules/);
    expect(() => cron({ schedules: "x" as never })).toThrow(/array/);
    expect(() => cron({ schedules: [base], maxSleep: 500 })).toThrow(/maxSleep/);
    expect(() => cron({ schedules: [base], batch: 0 })).toThrow(/batch/);
  });
});
