import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { QError } from "../src/errors.js";
import type { Logger } from "../src/logger.js";
import type { Beat, Storage, WorkerInfo } from "../src/storage.js";
import { Heartbeat, type HeartbeatOptions } from "../src/worker/heartbeat.js";

const info: WorkerInfo = { id: "w1", queues: ["default"], host: "h", pid: 1 };
const answer: Beat = { cancelled: ["7"], held: [{ id: "7", token: "t7" }] };

/** A storage whose heartbeat takes `ms` (or never answers), counting beats under way. */
function fakeStorage(ms: (call: number) => number | "never" | "fail") {
  const stats = { calls: 0, inFlight: 0, maxInFlight: 0 };
  const storage = {
    heartbeat: (worker: WorkerInfo) => {
      expect(worker).toEqual(info);
      stats.calls++;
      const take = ms(stats.calls);
      if (take === "never") return new Promise<never>(() => {});
      if (take === "fail") return Promise.reject(new Error("connection refused"));
      stats.inFlight++;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      return new Promise<Beat>((resolve) =>
        setTimeout(() => {
          stats.inFlight--;
          resolve(answer);
        }, take),
      );
    },
  } as unknown as Storage;
  return { storage, stats };
}

function heartbeat(storage: Storage, options: Partial<HeartbeatOptions> = {}) {
  const warnings: { fields: object; message: string | undefined }[] = [];
  const logger: Logger = {
    debug() {},
    info() {},
    warn: (fields, message) => warnings.push({ fields, message }),
    error() {},
  };
  const beats: Beat[] = [];
  const errors: unknown[] = [];
  const hb = new Heartbeat(
    storage,
    info,
    { interval: 100, lease: 900, timeout: 10_000, ...options },
    { beat: (b) => void beats.push(b), error: (e) => void errors.push(e) },
    logger,
  );
  return { hb, warnings, beats, errors };
}

describe("Heartbeat", () => {
  beforeEach(() => {
    vi.useFakeTimers({
      toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "performance"],
    });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("beats every interval and hands what the table says to its owner", async () => {
    const { storage, stats } = fakeStorage(() => 1);
    const { hb, beats, warnings } = heartbeat(storage);
    hb.start();
    await vi.advanceTimersByTimeAsync(350);
    expect(stats.calls).toBe(3);
    expect(beats).toEqual([answer, answer, answer]);
    expect(warnings).toEqual([]);
    await hb.stop();
    await vi.advanceTimersByTimeAsync(1000);
    expect(stats.calls).toBe(3);
  });

  it("warns when a beat takes more than a third of the lease", async () => {
    const { storage } = fakeStorage((call) => (call === 1 ? 250 : 350));
    const { hb, warnings, beats } = heartbeat(storage, { interval: 1000, lease: 900 });
    hb.start();
    // 250 ms is under a third of 900: no warning.
    await vi.advanceTimersByTimeAsync(1000 + 250);
    expect(beats).toHaveLength(1);
    expect(warnings).toEqual([]);
    // 350 ms is over it (the second beat starts at 2000).
    await vi.advanceTimersByTimeAsync(1100);
    expect(beats).toHaveLength(2);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.fields).toMatchObject({ worker: "w1", heartbeatMs: 350, leaseMs: 900 });
    await hb.stop();
  });

  it("never runs two beats at once: a period that finds one under way is skipped", async () => {
    const { storage, stats } = fakeStorage(() => 350);
    const { hb, beats } = heartbeat(storage, { interval: 100 });
    hb.start();
    // Beats start at 100 (ends 450), 500 (ends 850) and 900.
    await vi.advanceTimersByTimeAsync(1000);
    expect(stats.calls).toBe(3);
    expect(stats.maxInFlight).toBe(1);
    expect(beats).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(250);
    await hb.stop();
    expect(beats).toHaveLength(3);
  });

  it("a beat that fails or does not answer in time is reported; the next period beats again", async () => {
    const { storage, stats } = fakeStorage((call) =>
      call === 1 ? "never" : call === 2 ? "fail" : 1,
    );
    const { hb, errors, beats } = heartbeat(storage, { interval: 100, lease: 900, timeout: 150 });
    hb.start();
    // The first beat (at 100) is abandoned at 250; the tick at 200 found it under way.
    await vi.advanceTimersByTimeAsync(250);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(QError);
    expect((errors[0] as QError).code).toBe("STATEMENT_TIMEOUT");
    await vi.advanceTimersByTimeAsync(50);
    expect(errors).toHaveLength(2);
    expect((errors[1] as Error).message).toBe("connection refused");
    await vi.advanceTimersByTimeAsync(101);
    expect(stats.calls).toBe(3);
    expect(beats).toEqual([answer]);
    await hb.stop();
  });

  it("first() registers the worker and throws when that fails", async () => {
    const { storage } = fakeStorage(() => "fail");
    const { hb } = heartbeat(storage);
    await expect(hb.first()).rejects.toThrow("connection refused");
  });
});
