/**
 * A TCP proxy in front of a PostgreSQL, for tests of network faults: a reply
 * lost after its statement committed, a network that stops answering,
 * connections dropped.
 *
 * ```ts
 * const proxy = await startProxy(url);
 * const pool = new pg.Pool({ connectionString: proxy.url(url) });
 * const cut = proxy.cutAfter("SKIP LOCKED"); // the next claim commits, its reply is lost
 * ...
 * await cut;
 * await proxy.close();
 * ```
 *
 * It understands just enough of the wire protocol to find message boundaries
 * in what the server sends (so a cut can wait for the statement to end), and
 * nothing of TLS: connect through it without SSL.
 *
 * @module
 */
import { createServer, type Server, Socket } from "node:net";

/** Where the proxy forwards to: a connection string, or a host and port. */
export type ProxyTarget = string | { host: string; port: number };

/** What {@link TcpProxy.cutAfter} did. */
export interface Cut {
  /** Number of the connection that was cut (1 for the first one the proxy accepted). */
  connection: number;
  /**
   * The status byte of the server's ReadyForQuery that ended the statement
   * (`"I"` idle: an implicit transaction committed; `"T"` in a transaction;
   * `"E"` failed), or `undefined` when the grace period ran out first.
   */
  status: "I" | "T" | "E" | undefined;
  /** Bytes of the server's reply that the client never got. */
  droppedBytes: number;
}

/** A running proxy. */
export interface TcpProxy {
  readonly host: string;
  readonly port: number;
  /** `connectionString` with its host and port replaced by the proxy's. */
  url(connectionString: string): string;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Connections open now. */
  readonly open: number;
  /**
   * Arms a cut, once: the next client→server chunk that contains `pattern`
   * is forwarded (with whatever the client sends after it), but nothing the
   * server answers reaches the client any more. Once the server has finished
   * the statement (its ReadyForQuery), or after `graceMs` (default 5000) at
   * the latest, both sides of that connection are closed. So the statement
   * commits and the client only sees its connection drop. Resolves when the
   * connection was closed.
   */
  cutAfter(pattern: string, options?: { graceMs?: number }): Promise<Cut>;
  /**
   * A black hole: every connection, open or new, stops moving data both
   * ways (nothing is lost; it waits in the sockets) until the returned
   * function is called. New connections are accepted but not answered.
   */
  blackhole(): () => void;
  /** Closes every open connection at once, both sides, as a network reset would. */
  dropConnections(): void;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

interface Armed {
  pattern: Buffer;
  graceMs: number;
  resolve: (cut: Cut) => void;
}

/** Starts a proxy on a free port of 127.0.0.1 that forwards to `target`. */
export async function startProxy(target: ProxyTarget): Promise<TcpProxy> {
  const upstream = typeof target === "string" ? hostAndPort(target) : target;
  const conns = new Set<Connection>();
  let accepted = 0;
  let armed: Armed | undefined;
  let stalled = false;

  const server: Server = createServer((client) => {
    accepted++;
    const conn = new Connection(accepted, client, upstream, {
      takeCut: (chunk, carry) => {
        if (!armed) return undefined;
        const haystack = Buffer.concat([carry, chunk]);
        if (!haystack.includes(armed.pattern)) return undefined;
        const hit = armed;
        armed = undefined;
        return hit;
      },
      patternLength: () => armed?.pattern.length ?? 0,
      closed: () => conns.delete(conn),
    });
    conns.add(conn);
    if (stalled) conn.stall();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (typeof address !== "object" || !address) throw new Error("the proxy has no port");
  const { port } = address;

  return {
    host: "127.0.0.1",
    port,
    url(connectionString) {
      const next = new URL(connectionString);
      next.hostname = "127.0.0.1";
      next.port = String(port);
      return next.toString();
    },
    get connections() {
      return accepted;
    },
    get open() {
      return conns.size;
    },
    cutAfter(pattern, { graceMs = 5000 } = {}) {
      if (armed) throw new Error("a cut is already armed");
      return new Promise<Cut>((resolve) => {
        armed = { pattern: Buffer.from(pattern), graceMs, resolve };
      });
    },
    blackhole() {
      stalled = true;
      for (const conn of conns) conn.stall();
      return () => {
        stalled = false;
        for (const conn of conns) conn.unstall();
      };
    },
    dropConnections() {
      for (const conn of conns) conn.destroy();
    },
    async close() {
      armed = undefined;
      for (const conn of conns) conn.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Hooks {
  /** The armed cut when `chunk` (after `carry`, the tail of the previous chunk) contains its pattern. */
  takeCut(chunk: Buffer, carry: Buffer): Armed | undefined;
  patternLength(): number;
  closed(): void;
}

/** One client connection and its upstream twin. */
class Connection {
  readonly #number: number;
  readonly #client: Socket;
  readonly #server: Socket;
  readonly #hooks: Hooks;
  /** The last bytes the client sent, so a pattern split across chunks is found. */
  #carry = Buffer.alloc(0);
  readonly #fromServer = new ServerMessages();
  #startup = new StartupMessages();
  #cut: { armed: Armed; dropped: number; timer: NodeJS.Timeout } | undefined;
  #stalled = false;
  #closed = false;

  constructor(
    number: number,
    client: Socket,
    upstream: { host: string; port: number },
    hooks: Hooks,
  ) {
    this.#number = number;
    this.#client = client;
    this.#hooks = hooks;
    this.#server = new Socket();
    client.setNoDelay(true);
    this.#server.setNoDelay(true);
    for (const socket of [client, this.#server]) {
      socket.on("error", () => this.destroy());
      socket.on("close", () => this.destroy());
    }
    client.on("data", (chunk: Buffer) => this.#clientData(chunk));
    this.#server.on("data", (chunk: Buffer) => this.#serverData(chunk));
    this.#server.connect(upstream.port, upstream.host);
  }

  #clientData(chunk: Buffer): void {
    if (this.#startup.active) {
      const replies = this.#startup.feed(chunk);
      this.#fromServer.expectSingleBytes(replies);
    }
    const hit = this.#cut ? undefined : this.#hooks.takeCut(chunk, this.#carry);
    const keep = Math.max(0, this.#hooks.patternLength() - 1);
    this.#carry =
      keep === 0 ? Buffer.alloc(0) : Buffer.concat([this.#carry, chunk]).subarray(-keep);
    this.#forward(this.#server, this.#client, chunk);
    if (hit) {
      const timer = setTimeout(() => this.#finishCut(undefined), hit.graceMs);
      this.#cut = { armed: hit, dropped: 0, timer };
    }
  }

  #serverData(chunk: Buffer): void {
    const ready = this.#fromServer.feed(chunk);
    if (!this.#cut) {
      this.#forward(this.#client, this.#server, chunk);
      return;
    }
    this.#cut.dropped += chunk.length;
    if (ready !== undefined) this.#finishCut(ready);
  }

  #finishCut(status: Cut["status"]): void {
    const cut = this.#cut;
    if (!cut || this.#closed) return;
    clearTimeout(cut.timer);
    this.#cut = undefined;
    this.destroy();
    cut.armed.resolve({ connection: this.#number, status, droppedBytes: cut.dropped });
  }

  /** Writes `chunk` to `to`, pausing `from` while `to` cannot take more. */
  #forward(to: Socket, from: Socket, chunk: Buffer): void {
    if (this.#closed) return;
    if (!to.write(chunk)) {
      from.pause();
      to.once("drain", () => {
        if (!this.#stalled) from.resume();
      });
    }
  }

  stall(): void {
    this.#stalled = true;
    this.#client.pause();
    this.#server.pause();
  }

  unstall(): void {
    this.#stalled = false;
    this.#client.resume();
    this.#server.resume();
  }

  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.destroy();
    this.#server.destroy();
    const cut = this.#cut;
    if (cut) {
      // Closed before the statement ended (the server or the client went away).
      clearTimeout(cut.timer);
      cut.armed.resolve({ connection: this.#number, status: undefined, droppedBytes: cut.dropped });
    }
    this.#hooks.closed();
  }
}

/**
 * The client's first messages, which have no type byte: an SSL or GSS
 * encryption request (the server answers it with a single byte) and then the
 * startup message (after which the client's stream is not followed).
 */
class StartupMessages {
  active = true;
  #buffer = Buffer.alloc(0);

  /** Feeds client bytes; returns how many single-byte answers the server now owes. */
  feed(chunk: Buffer): number {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    let owed = 0;
    while (this.active && this.#buffer.length >= 8) {
      const length = this.#buffer.readInt32BE(0);
      const code = this.#buffer.readInt32BE(4);
      if (length === 8 && (code === SSL_REQUEST || code === GSSENC_REQUEST)) {
        owed++;
        this.#buffer = this.#buffer.subarray(8);
        continue;
      }
      this.active = false;
    }
    if (!this.active) this.#buffer = Buffer.alloc(0);
    return owed;
  }
}

/**
 * Follows message boundaries in what the server sends (type byte, then a
 * length that counts itself) to spot ReadyForQuery. Stops following (and
 * reports nothing) once the stream is encrypted.
 */
class ServerMessages {
  #singleBytes = 0;
  #lost = false;
  #header = Buffer.alloc(0);
  /** Body bytes of the current message still to skip (-1: reading a header). */
  #skip = -1;
  #type = 0;
  #body: number[] = [];

  expectSingleBytes(n: number): void {
    this.#singleBytes += n;
  }

  /** Feeds server bytes; returns the status of the last ReadyForQuery they complete, if any. */
  feed(chunk: Buffer): "I" | "T" | "E" | undefined {
    let ready: "I" | "T" | "E" | undefined;
    let i = 0;
    while (i < chunk.length && !this.#lost) {
      if (this.#singleBytes > 0) {
        this.#singleBytes--;
        const answer = String.fromCharCode(chunk[i]!);
        i++;
        // Anything but "no" starts an encrypted stream (or is an error we do not follow).
        if (answer !== "N") this.#lost = true;
        continue;
      }
      if (this.#skip < 0) {
        const need = 5 - this.#header.length;
        this.#header = Buffer.concat([this.#header, chunk.subarray(i, i + need)]);
        i += Math.min(need, chunk.length - i);
        if (this.#header.length < 5) break;
        this.#type = this.#header[0]!;
        this.#skip = this.#header.readInt32BE(1) - 4;
        this.#header = Buffer.alloc(0);
        this.#body = [];
        if (this.#skip < 0) {
          this.#lost = true;
          break;
        }
      }
      const take = Math.min(this.#skip, chunk.length - i);
      if (this.#type === 0x5a /* Z */ && take > 0) this.#body.push(chunk[i]!);
      i += take;
      this.#skip -= take;
      if (this.#skip === 0) {
        if (this.#type === 0x5a) {
          const status = String.fromCharCode(this.#body[0] ?? 0);
          if (status === "I" || status === "T" || status === "E") ready = status;
        }
        this.#skip = -1;
      }
    }
    return ready;
  }
}

function hostAndPort(connectionString: string): { host: string; port: number } {
  const url = new URL(connectionString);
  return {
    host: url.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1",
    port: Number(url.port || 5432),
  };
}
