import { ControlConnection, type ControlSession } from "@q/core";
import type { Client } from "pg";
import { run } from "./executor.js";

/** The socket under a `Client` (node-postgres internals, guarded). */
type SocketOwner = { connection?: { stream?: { destroy?(): void; unref?(): void } } };

/**
 * The driver's control connection (`Driver.control`): one `Client` of its
 * own, with `statement_timeout` set on connect. Made by `newClient` (the
 * pool's own Client class and options, like the LISTEN connection). Its
 * socket is unreferenced: it never keeps the process alive by itself.
 */
export function pgControl(
  newClient: () => Client,
  timeoutMs: number,
  prepare: boolean,
): ControlConnection {
  return new ControlConnection({
    driverName: "@q/pg",
    timeoutMs,
    async open(lost) {
      const client = newClient();
      // Without an error listener, a connection lost while idle would crash the process.
      client.on("error", lost);
      client.on("end", lost);
      const session: ControlSession = {
        query: async (sql, params) => (await run(client, sql, params, prepare)) as never,
        end: () => client.end(),
        destroy: () => {
          // end() alone may wait for a hung statement (pipeline mode): cut the socket first.
          (client as SocketOwner).connection?.stream?.destroy?.();
          client.end().catch(() => {});
        },
      };
      try {
        await client.connect();
        // Never keeps the process alive by itself: a worker's own timers do while it runs.
        (client as SocketOwner).connection?.stream?.unref?.();
        await client.query(`SET statement_timeout = ${timeoutMs}`);
      } catch (error) {
        session.destroy();
        throw error;
      }
      return session;
    },
  });
}
