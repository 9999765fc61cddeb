import { callSubscriber, type ListenHandlers, type Unlisten } from "@q/core";
import type { Client } from "pg";

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

/**
 * One dedicated connection that LISTENs on behalf of every subscription of a
 * driver. When the connection drops it reconnects with backoff, LISTENs again
 * on every channel and calls each `onReconnect` (notifications sent while it
 * was down are lost, so core polls to catch up).
 *
 * Every change of state runs through one queue, so LISTEN, UNLISTEN,
 * reconnect and close never interleave.
 */
export class PgListener {
  readonly #newClient: () => Client;
  readonly #channels = new Map<string, Set<ListenHandlers>>();
  #client: Client | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryMs = FIRST_RETRY_MS;
  /** The connection dropped since the last successful connect: subscribers must catch up. */
  #wasLost = false;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(newClient: () => Client) {
    this.#newClient = newClient;
  }

  listen(channel: string, handlers: ListenHandlers): Promise<Unlisten> {
    return this.#serially(async () => {
      const subscribers = this.#channels.get(channel) ?? new Set();
      const isNew = subscribers.size === 0;
      subscribers.add(handlers);
      this.#channels.set(channel, subscribers);
      if (isNew && this.#client) {
        const client = this.#client;
        // A failure here means the connection is gone: reconnecting LISTENs again.
        await client.query(`LISTEN ${quote(channel)}`).catch((error) => this.#lost(client, error));
      } else if (isNew && !this.#retryTimer) {
        try {
          await this.#connect();
        } catch (error) {
          this.#remove(channel, handlers);
          if (this.#wasLost) this.#scheduleReconnect();
          throw error;
        }
      }
      let done = false;
      return () => {
        if (done) return Promise.resolve();
        done = true;
        return this.#serially(() => this.#unlisten(channel, handlers));
      };
    });
  }

  /** Ends the connection and forgets every subscription. */
  close(): Promise<void> {
    return this.#serially(async () => {
      this.#channels.clear();
      await this.#disconnect();
    });
  }

  async #unlisten(channel: string, handlers: ListenHandlers): Promise<void> {
    if (!this.#remove(channel, handlers)) return;
    if (this.#channels.size === 0) return this.#disconnect();
    await this.#client?.query(`UNLISTEN ${quote(channel)}`).catch(() => {});
  }

  /** Drops one subscription; true when it was the channel's last. */
  #remove(channel: string, handlers: ListenHandlers): boolean {
    const subscribers = this.#channels.get(channel);
    if (!subscribers?.delete(handlers) || subscribers.size > 0) return false;
    this.#channels.delete(channel);
    return true;
  }

  async #connect(): Promise<void> {
    const client = this.#newClient();
    client.on("notification", (message) => {
      for (const handlers of this.#channels.get(message.channel) ?? []) {
        callSubscriber(handlers, () => handlers.onMessage(message.payload ?? ""));
      }
    });
    client.on("error", (error) => this.#lost(client, error));
    client.on("end", () => this.#lost(client));
    try {
      await client.connect();
      for (const channel of this.#channels.keys()) await client.query(`LISTEN ${quote(channel)}`);
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
    this.#client = client;
    this.#retryMs = FIRST_RETRY_MS;
    if (this.#wasLost) {
      this.#wasLost = false;
      for (const handlers of this.#allHandlers()) {
        callSubscriber(handlers, () => handlers.onReconnect?.());
      }
    }
  }

  async #disconnect(): Promise<void> {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#retryMs = FIRST_RETRY_MS;
    this.#wasLost = false;
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  /** The connection of `client` failed or ended: report it and schedule a reconnect. */
  #lost(client: Client, error?: unknown): void {
    if (client !== this.#client) return;
    this.#client = undefined;
    this.#wasLost = true;
    client.end().catch(() => {});
    if (error !== undefined) this.#report(error);
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#retryTimer || this.#channels.size === 0) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.#serially(() => this.#reconnect());
    }, this.#retryMs);
    this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
  }

  async #reconnect(): Promise<void> {
    if (this.#client || this.#channels.size === 0) return;
    try {
      await this.#connect();
    } catch (error) {
      this.#report(error);
      this.#scheduleReconnect();
    }
  }

  #report(error: unknown): void {
    for (const handlers of this.#allHandlers()) {
      callSubscriber(handlers, () => handlers.onError?.(error));
    }
  }

  #allHandlers(): ListenHandlers[] {
    return [...this.#channels.values()].flatMap((subscribers) => [...subscribers]);
  }

  #serially<T>(step: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(step, step);
    this.#queue = result.catch(() => {});
    return result;
  }
}

/** Channels are plain identifiers, quoted anyway so that case and odd names survive. */
function quote(channel: string): string {
  return `"${channel.replaceAll('"', '""')}"`;
}
