/** Auto prefetch holds what the worker finishes in this long… */
const HORIZON_MS = 250;
/**
 * …and never more than this: a claim of quick jobs takes up to about 500, so
 * each claim and each settle statement carries enough rows to be worth its
 * round trip and its commit. (It was 150 while a closure per run made V8 keep
 * in-flight runs through two scavenges; with that gone, 500 jobs in hand keep
 * the young generation at 64 MiB and drain 1.2× faster than 150.)
 */
const MAX = 500;

/**
 * Sizes the prefetch from the rate at which handlers finish: quick jobs are
 * claimed in large batches, slow ones are left for other workers.
 */
export class AutoPrefetch {
  #completed = 0;
  /** Jobs per millisecond, smoothed. */
  #rate = 0;
  #sample = { at: performance.now(), completed: 0 };

  /** A handler finished. */
  completed(): void {
    this.#completed++;
  }

  /** How many jobs to hold beyond the running ones now. */
  ahead(): number {
    const now = performance.now();
    const elapsed = now - this.#sample.at;
    if (elapsed >= 100) {
      const recent = (this.#completed - this.#sample.completed) / elapsed;
      this.#rate = this.#rate === 0 ? recent : 0.7 * this.#rate + 0.3 * recent;
      this.#sample = { at: now, completed: this.#completed };
    }
    return Math.min(MAX, Math.round(this.#rate * HORIZON_MS));
  }
}
