// Reconnect delays: exponential backoff with full jitter, capped.

/**
 * Reconnect backoff of a {@link RobustClient}: exponential with full jitter, capped. The delay
 * grows with failed attempts in a row (each try of each server counts) and only with them: a
 * healthy connection that drops is retried within `min`.
 *
 * @example
 * const client = new RobustClient({ ...options, backoff: { min: 500, max: 60_000, maxAttempts: 20 } });
 */
export interface Backoff {
  /** Smallest cap of a delay, ms. Default 1000. */
  min: number;
  /** Largest delay, ms. Default 300000 (5 min): an hour of outage costs about 30 attempts. */
  max: number;
  /** Growth of the cap per failed round. Default 2. */
  factor: number;
  /**
   * A connection counts as healthy once it has stayed up this long (ms), or as soon as the
   * broker acknowledges an exchange (a publish, a subscription). Losing a healthy connection
   * retries within `min`; losing one that was not healthy counts as a failed attempt. Default 5000.
   */
  stableAfter: number;
  /** Give up after this many failed attempts in a row (0 = never); a connection lost before it was healthy counts as one. Default 0. */
  maxAttempts: number;
}

/**
 * The backoff used where the `backoff` option says nothing.
 *
 * @example
 * const delay = backoffDelay(3, DEFAULT_BACKOFF, Math.random); // in [0, 8000) ms
 */
export const DEFAULT_BACKOFF: Readonly<Backoff> = /* @__PURE__ */ Object.freeze({
  min: 1000,
  max: 300_000,
  factor: 2,
  stableAfter: 5_000,
  maxAttempts: 0,
});

/**
 * Delay before retry round `round` (0-based): uniform in [0, min(max, min * factor^round)).
 *
 * @example
 * backoffDelay(0, DEFAULT_BACKOFF, () => 0.5); // 500
 * backoffDelay(20, DEFAULT_BACKOFF, () => 0.5); // 150000: capped at max
 */
export function backoffDelay(round: number, b: Backoff, random: () => number): number {
  return random() * Math.min(b.max, b.min * b.factor ** round);
}
