/**
 * The one exponential back-off of every retry loop (processing retries, allocation pushes, sync
 * peers, file fetches, dials, the CRN's CCN watch and restarts): attempt 1 waits `baseMs`, each
 * further attempt twice as long, never more than `maxMs`. The exponent is capped so that a
 * counter that keeps growing never overflows to Infinity or NaN.
 */
export interface Backoff {
  baseMs: number;
  maxMs: number;
}

export function backoffMs(attempt: number, { baseMs, maxMs }: Backoff): number {
  const n = Number.isFinite(attempt) ? Math.min(Math.max(Math.floor(attempt), 1), 31) : 1;
  return Math.min(maxMs, baseMs * 2 ** (n - 1));
}
