import { callSubscriber as call, type ListenHandlers, type Unlisten } from "@q/core";

/** The part of a postgres.js `sql` that LISTEN needs. */
export interface ListenHandle {
  listen(
    channel: string,
    onNotify: (payload: string) => void,
    onListen?: () => void,
  ): PromiseLike<{ unlisten(): Promise<void> }>;
}

interface Channel {
  subscribers: Set<ListenHandlers>;
  listening: Promise<{ unlisten(): Promise<void> }>;
  /**
   * postgres.js ran LISTEN again after a reconnect. It then holds a new
   * listener object, which the `unlisten` it returned first no longer removes,
   * so the channel is kept (with no subscribers) and reused, never stacked.
   */
  relistened: boolean;
}

/**
 * LISTEN through `sql.listen`, which keeps one dedicated connection for all
 * channels of that `sql`, reconnects with backoff when it drops, and runs
 * LISTEN again, calling `onlisten` each time. Every `onlisten` after the
 * first is a reconnect: notifications sent while the connection was down are
 * lost, so subscribers are told to catch up.
 *
 * One postgres.js listener serves all subscriptions of a channel.
 */
export class PostgresListener {
  readonly #sql: ListenHandle;
  readonly #channels = new Map<string, Channel>();

  constructor(sql: ListenHandle) {
    this.#sql = sql;
  }

  async listen(channel: string, handlers: ListenHandlers): Promise<Unlisten> {
    const entry = this.#channels.get(channel) ?? this.#open(channel);
    entry.subscribers.add(handlers);
    try {
      await entry.listening;
    } catch (error) {
      void this.#leave(channel, entry, handlers);
      throw error;
    }
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      await this.#leave(channel, entry, handlers);
    };
  }

  #open(channel: string): Channel {
    let first = true;
    const entry: Channel = {
      subscribers: new Set(),
      relistened: false,
      listening: Promise.resolve(
        this.#sql.listen(
          channel,
          (payload) => {
            for (const h of entry.subscribers) call(h, () => h.onMessage(payload));
          },
          () => {
            if (first) {
              first = false;
              return;
            }
            entry.relistened = true;
            for (const h of entry.subscribers) call(h, () => h.onReconnect?.());
          },
        ),
      ),
    };
    this.#channels.set(channel, entry);
    return entry;
  }

  async #leave(channel: string, entry: Channel, handlers: ListenHandlers): Promise<void> {
    entry.subscribers.delete(handlers);
    if (entry.subscribers.size > 0 || entry.relistened) return;
    if (this.#channels.get(channel) === entry) this.#channels.delete(channel);
    try {
      await (await entry.listening).unlisten();
    } catch {
      // LISTEN never succeeded, or the connection is gone (sql.end()): nothing to undo.
    }
  }
}
