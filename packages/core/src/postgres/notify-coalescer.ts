/**
 * Which inserts outside a transaction carry a NOTIFY. Every NOTIFY takes a
 * lock that serialises commits, so concurrent inserts into one queue share
 * them; an insert with no other insert of its queue in flight always sends
 * its own, so an idle worker hears a lone job at its commit.
 *
 * An insert that skipped its NOTIFY is owed one sent after it committed: by
 * the last insert of its queue to finish, or at the latest `windowMs` after it
 * finished, whichever comes first. A NOTIFY sent before a job committed could
 * wake a worker that then finds nothing; one sent after never misses it.
 */
export class NotifyCoalescer {
  readonly #send: (queue: string) => void;
  readonly #windowMs: number;
  /** Inserts in flight per queue. */
  readonly #busy = new Map<string, number>();
  /** Queues with a committed job that no NOTIFY has covered yet, and their timers. */
  readonly #owed = new Map<string, NodeJS.Timeout>();

  constructor(send: (queue: string) => void, windowMs: number) {
    this.#send = send;
    this.#windowMs = windowMs;
  }

  /** An insert into `queues` begins: returns the queues it must notify itself. */
  begin(queues: readonly string[]): string[] {
    const own: string[] = [];
    for (const q of queues) {
      const busy = this.#busy.get(q) ?? 0;
      if (busy === 0) own.push(q);
      this.#busy.set(q, busy + 1);
    }
    return own;
  }

  /** The insert ended (committed or not); `own` is what `begin` returned for it. */
  end(queues: readonly string[], own: readonly string[]): void {
    const notified = new Set(own);
    for (const q of queues) {
      const busy = (this.#busy.get(q) ?? 1) - 1;
      if (busy === 0) this.#busy.delete(q);
      else this.#busy.set(q, busy);
      if (!notified.has(q) && !this.#owed.has(q)) {
        const timer = setTimeout(() => this.#pay(q), this.#windowMs);
        timer.unref();
        this.#owed.set(q, timer);
      }
      if (busy === 0 && this.#owed.has(q)) this.#pay(q);
    }
  }

  #pay(queue: string): void {
    const timer = this.#owed.get(queue);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#owed.delete(queue);
    this.#send(queue);
  }
}
