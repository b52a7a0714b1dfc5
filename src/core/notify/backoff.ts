/**
 * When a delivery that failed is tried again: 5 s after the first failure,
 * doubling each time up to 15 min, each ±20% so that many deliveries failing
 * together (a sink down for everyone) do not come back in one burst.
 *
 * The cap is applied before the jitter, so retries of a long outage stay
 * spread (12–18 min) instead of all landing on 15 min exactly.
 */
export const FIRST_RETRY_MS = 5_000;
export const MAX_RETRY_MS = 15 * 60_000;
export const RETRY_JITTER = 0.2;

/**
 * `failures`: how many attempts have failed so far (1 after the first).
 * `random` in [0, 1) is handed in, so tests can pin it.
 */
export function retryDelayMs(failures: number, random: () => number = Math.random): number {
  const doublings = Math.max(0, Math.min(failures - 1, 30));
  const base = Math.min(FIRST_RETRY_MS * 2 ** doublings, MAX_RETRY_MS);
  return Math.round(base * (1 - RETRY_JITTER + 2 * RETRY_JITTER * random()));
}
