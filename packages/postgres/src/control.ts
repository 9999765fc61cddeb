import { connect, type Socket } from "node:net";
import { ControlConnection, type ControlSession, type Row } from "@q/core";
import { translateError } from "./handle.js";
import { toRows } from "./rows.js";

/**
 * The parsed options of a postgres.js `sql` (`sql.options`) that the control
 * connection reads. `shared` marks them as already parsed: postgres.js then
 * takes them as they are, as it does for its own LISTEN connection.
 */
export interface ParsedOptions {
  readonly shared: object;
  readonly host?: readonly string[];
  readonly port?: readonly number[];
  readonly path?: string | false;
  readonly connection?: Record<string, unknown>;
  readonly socket?: (options: unknown) => Socket | Promise<Socket>;
  readonly [key: string]: unknown;
}

/** What the control connection needs of a postgres.js instance it made. */
interface Instance {
  unsafe(query: string, parameters?: never[], options?: { prepare?: boolean }): Promise<unknown>;
  end(options?: { timeout?: number }): Promise<void>;
}
type Postgres = (options: object) => Instance;

/** The parsed options of `sql`, when it is a postgres.js instance that has them. */
export function parsedOptions(sql: unknown): ParsedOptions | undefined {
  const options = (sql as { options?: unknown }).options;
  if (typeof options !== "object" || options === null) return undefined;
  return typeof (options as { shared?: unknown }).shared === "object"
    ? (options as ParsedOptions)
    : undefined;
}

/**
 * The driver's control connection (`Driver.control`): a postgres.js instance
 * of its own with `max: 1`, made from the options of the caller's `sql` the
 * way postgres.js makes its LISTEN connection, with `statement_timeout` set
 * on connect and its socket unreferenced (it never keeps the process alive by
 * itself).
 */
export function postgresControl(
  source: ParsedOptions | (() => Promise<ParsedOptions | undefined>),
  timeoutMs: number,
  queryOptions: { prepare: boolean },
  lowercaseKeys: boolean,
): ControlConnection {
  return new ControlConnection({
    driverName: "@q/postgres",
    timeoutMs,
    async open(lost) {
      const options = typeof source === "function" ? await source() : source;
      if (options === undefined) throw new Error("no options to open the control connection with");
      // Loaded only when a control connection is wanted: `postgres` is the caller's own dependency.
      const postgres = (await import("postgres")).default as unknown as Postgres;
      // While opening, postgres.js itself moves on to the next host (target_session_attrs).
      let opened = false;
      const instance = postgres({
        ...options,
        max: 1,
        idle_timeout: null,
        max_lifetime: null,
        fetch_types: false,
        connection: { ...options.connection, application_name: "q-control" },
        socket: unreferencedSocket(options),
        // The server or the network ended the connection: the next statement opens a new one.
        onclose: () => {
          if (opened) lost();
        },
        onnotify: undefined,
      });
      const session: ControlSession = {
        async query<R extends Row = Row>(sql: string, params: readonly unknown[]) {
          try {
            const result = await instance.unsafe(sql, params as never[], queryOptions);
            return toRows<R>(result as ArrayLike<unknown>, lowercaseKeys);
          } catch (error) {
            throw translateError(error);
          }
        },
        end: () => instance.end({ timeout: 5 }),
        destroy: () => void instance.end({ timeout: 0 }).catch(() => {}),
      };
      try {
        await instance.unsafe(`SET statement_timeout = ${timeoutMs}`);
        opened = true;
      } catch (error) {
        session.destroy();
        throw translateError(error);
      }
      return session;
    },
  });
}

/**
 * A `socket` option for postgres.js that connects as postgres.js would (the
 * caller's own `socket` option if any, else TCP or a unix socket, trying the
 * hosts in turn) and unreferences the socket.
 */
function unreferencedSocket(options: ParsedOptions): (parsed: unknown) => Promise<Socket> {
  let attempt = 0;
  return async (parsed) => {
    const own = options.socket;
    const socket = own ? await own(parsed) : await connectTo(options, attempt++);
    socket.unref?.();
    return socket;
  };
}

function connectTo(options: ParsedOptions, attempt: number): Promise<Socket> {
  const hosts = options.host ?? ["localhost"];
  const index = attempt % Math.max(hosts.length, 1);
  const host = hosts[index] ?? "localhost";
  const port = options.port?.[index] ?? options.port?.[0] ?? 5432;
  const socket = options.path ? connect(options.path) : connect(port, host);
  // postgres.js reads these back (TLS server name) when it upgrades the socket to TLS.
  Object.assign(socket, { host, port });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}
