/** What hears a run's abort: the handler call, while it runs. */
export interface AbortListener {
  aborted(reason: unknown): void;
}

/**
 * How a run is stopped: by a cancel, its timeout or a shutdown. The
 * `AbortController` behind `ctx.signal` is made only when the handler reads
 * the signal; most handlers never do, and a quick drain should not pay an
 * event target and a listener per job for it.
 */
export class RunAbort {
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;
  #listener: AbortListener | undefined;

  get aborted(): boolean {
    return this.#aborted;
  }

  /** Why the run was aborted; undefined until it is. */
  get reason(): unknown {
    return this.#reason;
  }

  /** The handler's signal, made on first read (already aborted if the run is). */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Who is told of the abort, once, after the signal (if made) aborted. */
  listen(listener: AbortListener | undefined): void {
    this.#listener = listener;
  }

  /** Aborts the run; later calls change nothing. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    this.#listener?.aborted(reason);
  }
}
