/** Milliseconds to wait before the next attempt, given the attempt that just failed (1-based). */
export type Backoff = (attempt: number, error: unknown) => number;

/** Options of {@link exponentialBackoff}. */
export interface ExponentialBackoffOptions {
  /** Delay after the first failure. Default 1000 ms. */
  baseMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Upper bound. Default one hour. */
  maxMs?: number;
  /** Spread, as a fraction of the delay, so retries of a burst do not land together. Default 0.2. */
  jitter?: number;
}

/**
 * Exponential backoff with jitter: base · factor^(attempt−1), capped, then
 * spread by ±jitter. The default for every task.
 */
export function exponentialBackoff(options: ExponentialBackoffOptions = {}): Backoff {
  const { baseMs = 1000, factor = 2, maxMs = 3_600_000, jitter = 0.2 } = options;
  return (attempt) => {
    const raw = Math.min(maxMs, baseMs * factor ** Math.max(0, attempt - 1));
    const spread = raw * jitter * (Math.random() * 2 - 1);
    return Math.max(0, Math.round(raw + spread));
  };
}

/** A fixed delay between attempts. */
export function fixedBackoff(ms: number): Backoff {
  return () => ms;
}
