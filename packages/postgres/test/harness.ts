import net from "node:net";
import type { MakeHarness } from "@q/core/testing";
import postgres from "postgres";
import { createPostgresDriver, type PostgresDriverOptions } from "../src/index.js";

/**
 * postgres.js's `socket` option (documented, not in its types): TCP
 * connections without Nagle's algorithm, which COPY needs to be fast.
 */
export const noDelaySocket = {
  socket: ({ host: [host], port: [port = 5432] }: { host: string[]; port: number[] }) =>
    new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect({ host, port, noDelay: true });
      socket.once("connect", () => resolve(socket)).once("error", reject);
    }),
};

function harness(
  options: postgres.Options<Record<string, postgres.PostgresType>>,
  driverOptions: PostgresDriverOptions = {},
): MakeHarness {
  return async (databaseUrl) => {
    const sql = postgres(databaseUrl, { max: 10, onnotice: () => {}, ...options });
    const driver = createPostgresDriver(sql, driverOptions);
    return {
      driver,
      listens: true,
      withNativeTransaction: async (fn) =>
        (await sql.begin((tx) => fn(tx))) as Awaited<ReturnType<typeof fn>>,
      async close() {
        await driver.close();
        await sql.end({ timeout: 5 });
      },
    };
  };
}

/** postgres.js with its defaults; transactions through `sql.begin`. */
export const makePostgresHarness: MakeHarness = harness({});

/** postgres.js with `transform: postgres.camel`, which renames result columns and jsonb keys. */
export const makePostgresCamelHarness: MakeHarness = harness({ transform: postgres.camel });

/** postgres.js with `transform: postgres.pascal`, whose column names the driver lowercases back. */
export const makePostgresPascalHarness: MakeHarness = harness({ transform: postgres.pascal });

/** postgres.js over sockets without Nagle's algorithm, the driver with `copy: true`. */
export const makePostgresCopyHarness: MakeHarness = harness(
  noDelaySocket as postgres.Options<Record<string, postgres.PostgresType>>,
  { copy: true },
);
