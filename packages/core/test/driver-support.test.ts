import { describe, expect, it } from "vitest";
import {
  assertInTransaction,
  ControlConnection,
  type ControlSession,
  callSubscriber,
  closedHandleError,
  controlTimeoutOption,
  notAHandle,
  TRANSACTION_CHECK_SQL,
  transactionStatusProblem,
} from "../src/driver-support.js";
import { isQError, QError } from "../src/errors.js";

describe("errors for handles", () => {
  it("notAHandle names the driver, what it expects and what it got", () => {
    const error = notAHandle("@q/x", "a thing", null);
    expect(error).toBeInstanceOf(QError);
    expect(error.code).toBe("INVALID_HANDLE");
    expect(error.message).toBe("@q/x expects a thing; got null");
    expect(notAHandle("@q/x", "a thing", () => {}).message).toMatch(/got function$/);
  });

  it("closedHandleError turns known messages and codes into INVALID_HANDLE, keeps the rest", () => {
    const signals = { messages: ["Client was closed"], codes: ["CONNECTION_ENDED"] };
    const byMessage = new Error("Client was closed and is not queryable");
    const byCode = Object.assign(new Error("write CONNECTION_ENDED"), { code: "CONNECTION_ENDED" });
    const sqlError = Object.assign(new Error("division by zero"), { code: "22012" });
    for (const closed of [byMessage, byCode]) {
      const translated = closedHandleError("@q/x", closed, signals);
      expect(isQError(translated, "INVALID_HANDLE")).toBe(true);
      expect((translated as Error).cause).toBe(closed);
    }
    expect(closedHandleError("@q/x", sqlError, signals)).toBe(sqlError);
    expect(closedHandleError("@q/x", "not an error", signals)).toBe("not an error");
  });

  it("assertInTransaction maps 25P01 and 25P02, passes other errors through", async () => {
    const failing = (code: string) => async (sql: string) => {
      expect(sql).toBe(TRANSACTION_CHECK_SQL);
      throw Object.assign(new Error(code), { code });
    };
    await expect(assertInTransaction("@q/x", async () => [])).resolves.toBeUndefined();
    await expect(assertInTransaction("@q/x", failing("25P01"))).rejects.toMatchObject({
      code: "INVALID_HANDLE",
      details: { reason: "idle" },
    });
    await expect(assertInTransaction("@q/x", failing("25P02"))).rejects.toMatchObject({
      code: "INVALID_HANDLE",
      details: { reason: "failed" },
    });
    await expect(assertInTransaction("@q/x", failing("57P01"))).rejects.toMatchObject({
      code: "57P01",
    });
  });

  it("transactionStatusProblem reads getTransactionStatus when there is one", () => {
    const client = (status: unknown) => ({ getTransactionStatus: () => status });
    expect(transactionStatusProblem(client("T"))).toBeUndefined();
    expect(transactionStatusProblem(client("I"))).toBe("idle");
    expect(transactionStatusProblem(client("E"))).toBe("failed");
    expect(transactionStatusProblem(client(null))).toBeUndefined();
    expect(transactionStatusProblem({})).toBeUndefined();
    expect(transactionStatusProblem(null)).toBeUndefined();
  });
});

describe("callSubscriber", () => {
  it("sends what a callback throws to onError, and swallows what onError throws", () => {
    const seen: unknown[] = [];
    const boom = new Error("boom");
    callSubscriber({ onMessage() {}, onError: (e) => void seen.push(e) }, () => {
      throw boom;
    });
    expect(seen).toEqual([boom]);
    expect(() =>
      callSubscriber(
        {
          onMessage() {},
          onError() {
            throw new Error("again");
          },
        },
        () => {
          throw boom;
        },
      ),
    ).not.toThrow();
  });
});

describe("controlTimeoutOption", () => {
  it("defaults to 10 s, rounds up, refuses what PostgreSQL cannot take", () => {
    expect(controlTimeoutOption(undefined)).toBe(10_000);
    expect(controlTimeoutOption(1.5)).toBe(2);
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, "1000"]) {
      expect(() => controlTimeoutOption(bad)).toThrow(
        expect.objectContaining({ code: "INVALID_OPTION" }),
      );
    }
  });
});

/** A fake driver behind a ControlConnection: sessions that answer as told, counted. */
function fakeDriver(timeoutMs = 50) {
  const stats = { opened: 0, destroyed: 0, ended: 0, running: 0, maxRunning: 0 };
  const losers: (() => void)[] = [];
  let openDelay = 0;
  const control = new ControlConnection({
    driverName: "@q/fake",
    timeoutMs,
    async open(lost) {
      const id = ++stats.opened;
      losers.push(lost);
      if (openDelay === Number.POSITIVE_INFINITY) await new Promise(() => {});
      await new Promise((r) => setTimeout(r, openDelay));
      let gone = false;
      const session: ControlSession = {
        async query(sql) {
          if (gone) throw new Error("connection destroyed");
          stats.running++;
          stats.maxRunning = Math.max(stats.maxRunning, stats.running);
          try {
            if (sql === "hang") await new Promise(() => {});
            if (sql === "fail") throw new Error("failed");
            await new Promise((r) => setTimeout(r, 5));
            return [{ session: id }] as never;
          } finally {
            stats.running--;
          }
        },
        async end() {
          gone = true;
          stats.ended++;
        },
        destroy() {
          gone = true;
          stats.destroyed++;
        },
      };
      return session;
    },
  });
  const setOpenDelay = (ms: number) => {
    openDelay = ms;
  };
  return { control, stats, losers, setOpenDelay };
}

describe("ControlConnection", () => {
  it("opens on first use and runs statements one at a time on one session", async () => {
    const { control, stats } = fakeDriver();
    expect(stats.opened).toBe(0);
    const rows = await Promise.all(Array.from({ length: 5 }, () => control.query("SELECT 1")));
    expect(rows.flat()).toEqual(Array(5).fill({ session: 1 }));
    expect(stats).toMatchObject({ opened: 1, maxRunning: 1 });
  });

  it("after an error, the session is destroyed and the next statement opens another", async () => {
    const { control, stats } = fakeDriver();
    await expect(control.query("fail")).rejects.toThrow("failed");
    expect(stats.destroyed).toBe(1);
    expect(await control.query("SELECT 1")).toEqual([{ session: 2 }]);
  });

  it("a statement past the deadline (timeout + 1 s) is abandoned with STATEMENT_TIMEOUT", async () => {
    const { control, stats } = fakeDriver(10);
    const started = Date.now();
    const queued = control.query("SELECT 1");
    await expect(control.query("hang")).rejects.toSatisfy((e) => isQError(e, "STATEMENT_TIMEOUT"));
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(await queued).toEqual([{ session: 1 }]);
    expect(stats.destroyed).toBe(1);
    expect(await control.query("SELECT 1")).toEqual([{ session: 2 }]);
  });

  it("the deadline covers opening: a connect that never finishes is abandoned too", async () => {
    const { control, setOpenDelay } = fakeDriver(10);
    setOpenDelay(Number.POSITIVE_INFINITY);
    await expect(control.query("SELECT 1")).rejects.toSatisfy((e) =>
      isQError(e, "STATEMENT_TIMEOUT"),
    );
    setOpenDelay(0);
    expect(await control.query("SELECT 1")).toEqual([{ session: 2 }]);
  });

  it("a connection lost by itself is replaced on the next statement", async () => {
    const { control, stats, losers } = fakeDriver();
    await control.query("SELECT 1");
    losers[0]!();
    expect(await control.query("SELECT 1")).toEqual([{ session: 2 }]);
    expect(stats.destroyed).toBe(1);
  });

  it("a connection lost while opening is not used", async () => {
    const { control, stats, losers, setOpenDelay } = fakeDriver();
    setOpenDelay(20);
    const first = control.query("SELECT 1");
    await new Promise((r) => setTimeout(r, 5));
    losers[0]!();
    await expect(first).rejects.toThrow();
    expect(stats.destroyed).toBe(1);
    expect(await control.query("SELECT 1")).toEqual([{ session: 2 }]);
  });

  it("close() ends the session after the statement under way; a later statement reopens", async () => {
    const { control, stats } = fakeDriver();
    const running = control.query("SELECT 1");
    await control.close();
    expect(await running).toEqual([{ session: 1 }]);
    expect(stats).toMatchObject({ ended: 1, destroyed: 0 });
    await control.close();
    expect(stats.ended).toBe(1);
    expect(await control.query("SELECT 1")).toEqual([{ session: 2 }]);
  });
});
