import { QError } from "../errors.js";

/**
 * Resolves or rejects as `promise` does, unless it takes longer than `ms`:
 * then it rejects with `STATEMENT_TIMEOUT` and the caller goes on without it.
 * The call itself is abandoned, not stopped; whatever it still does is
 * reconciled later (a late claim's jobs are released by the next heartbeat,
 * a late settle is fenced by its claim token).
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new QError("STATEMENT_TIMEOUT", `${what} did not answer within ${ms} ms; abandoned`, {
            details: { during: what, timeoutMs: ms },
          }),
        ),
      ms,
    );
  });
  // The abandoned call may fail later: that failure is nobody's to handle.
  promise.catch(() => {});
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}
