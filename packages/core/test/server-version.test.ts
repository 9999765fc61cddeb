import { describe, expect, it } from "vitest";
import type { Executor } from "../src/driver.js";
import { QError } from "../src/errors.js";
import {
  assertServerVersion,
  checkServerVersion,
  MIN_SERVER_MAJOR,
  SERVER_VERSION_SQL,
} from "../src/postgres/server-version.js";

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
};

describe("server version check", () => {
  it("supports PostgreSQL 14 and newer", () => {
    expect(MIN_SERVER_MAJOR).toBe(14);
    for (const num of [
      "140000",
      "140023",
      "150004",
      "160014",
      "170010",
      "180004",
      "190000",
      180004,
    ]) {
      expect(() => assertServerVersion(num, "x")).not.toThrow();
    }
  });

  it("refuses an older server with SERVER_TOO_OLD, naming its version and the minimum", () => {
    for (const num of ["139999", "130018", "120022", "90624", 110000]) {
      const error = refusal(() => assertServerVersion(num, "13.18"));
      expect(error).toBeInstanceOf(QError);
      expect(error).toMatchObject({
        code: "SERVER_TOO_OLD",
        details: { serverVersionNum: Number(num), serverVersion: "13.18", minimumMajor: 14 },
      });
      expect((error as QError).message).toContain("PostgreSQL 14 or newer");
      expect((error as QError).message).toContain("13.18");
    }
    expect(refusal(() => assertServerVersion("130018"))).toMatchObject({
      code: "SERVER_TOO_OLD",
      message: expect.stringContaining("server_version_num 130018"),
    });
  });

  it("lets through a version it cannot read", () => {
    for (const num of [null, undefined, "", "abc", "15.4", "-1", "0", Number.NaN]) {
      expect(() => assertServerVersion(num)).not.toThrow();
    }
  });

  it("asks the server through the executor, whatever type the driver returns", async () => {
    const asked: string[] = [];
    const executor = (num: unknown, version: string): Executor => ({
      query: async <R>(sql: string): Promise<R[]> => {
        asked.push(sql);
        return [{ num, version }] as unknown as R[];
      },
    });
    await expect(checkServerVersion(executor("170010", "17.10"))).resolves.toBeUndefined();
    await expect(checkServerVersion(executor(130018, "13.18"))).rejects.toMatchObject({
      code: "SERVER_TOO_OLD",
    });
    expect(asked).toEqual([SERVER_VERSION_SQL, SERVER_VERSION_SQL]);
  });
});
