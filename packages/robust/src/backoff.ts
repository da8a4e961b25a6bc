// Reconnect delays: the strategy interface, and the built-in one (exponential backoff with
// jitter, capped).
import type { UmqttError } from '@umqtt/codec';

/**
 * Reconnect settings of a {@link RobustClient}. The built-in strategy ({@link exponentialBackoff})
 * is exponential with jitter, capped: the delay grows with failed attempts in a row (each try of
 * each server counts) and only with them, so a healthy connection that drops is retried within
 * `min`. `stableAfter` and `maxAttempts` hold for any strategy, and the `urgent*` fields
 * set how urgent messages bring an attempt forward.
 *
 * @example
 * const client = new RobustClient({ ...options, backoff: { min: 500, max: 60_000, maxAttempts: 20 } });
 */
export interface Backoff {
  /** Smallest cap of a delay, ms: the first retry comes within it. Default 1000. */
  min: number;
  /** Largest delay, ms. Default 200000 (3 min 20 s): an hour of outage costs about 30 attempts. */
  max: number;
  /** Growth of the cap per failed attempt. Default 3. */
  factor: number;
  /**
   * A connection counts as healthy once it has stayed up this long (ms), or as soon as the
   * broker acknowledges an exchange (a publish, a subscription). Losing a healthy connection
   * retries within `min`; losing one that was not healthy counts as a failed attempt. Default 5000.
   */
  stableAfter: number;
  /** Give up after this many failed attempts in a row (0 = never); a connection lost before it was healthy counts as one. Default 0. */
  maxAttempts: number;
  /**
   * Attempts per hour that urgent messages may bring forward (0 = none): a message with a time
   * to live whose deadline comes before the next attempt brings it forward to now; a message of
   * priority `urgentPriority` or more keeps the wait between attempts within `urgentDelay`. The
   * attempts it adds are counted (`counters.urgent`) and leave the strategy's schedule as it was.
   * A bucket: it holds at most max(1, urgentPerHour) and refills at this rate. Default 0.5.
   */
  urgentPerHour: number;
  /** While a message of priority `urgentPriority` or more waits: the longest wait after a failed attempt, ms. Default 60000. */
  urgentDelay: number;
  /** The priority from which a waiting message is urgent without a time to live. Default 10 (`PRESETS.alarm`). */
  urgentPriority: number;
}

/**
 * The backoff used where the `backoff` option says nothing.
 *
 * @example
 * const client = new RobustClient({ ...options, backoff: { ...DEFAULT_BACKOFF, max: 120_000 } });
 */
export const DEFAULT_BACKOFF: Readonly<Backoff> = /* @__PURE__ */ Object.freeze({
  min: 1000,
  max: 200_000,
  factor: 3,
  stableAfter: 5_000,
  maxAttempts: 0,
  urgentPerHour: 0.5,
  urgentDelay: 60_000,
  urgentPriority: 10,
});

/**
 * What a {@link ReconnectStrategy} is told when it chooses the delay before the next attempt.
 *
 * @example
 * const strategy: ReconnectStrategy = (ctx: ReconnectContext) =>
 *   ctx.error?.code === 'UMQTT_CONNACK_CREDENTIALS' ? 3_600_000 : exponentialBackoff(ctx);
 */
export interface ReconnectContext {
  /** Failed attempts in a row (each try of each server counts); 0 after a healthy connection was lost. */
  attempts: number;
  /** Milliseconds since the client was last online (since `start()` if it never was). */
  offline: number;
  /** Why the last attempt failed or the last connection ended, if it says. */
  error: UmqttError | undefined;
  /** Messages waiting to be sent. */
  queued: number;
  /** Messages held: queued plus in flight. */
  held: number;
  /** The earliest time (the client's clock) at which a queued message expires; Infinity if none. */
  deadline: number;
  /** The highest priority among held messages; -Infinity if none. */
  priority: number;
  /** The client's clock now. */
  now: number;
  /** The client's settings (the built-in strategy's parameters). */
  backoff: Readonly<Backoff>;
  /** Uniform in [0, 1): the client's `random` option. */
  random: () => number;
}

/**
 * Decides how long to wait before the next automatic connection attempt, in ms (`Infinity`:
 * none until `reconnect()` or the link coming up). Called after each failed attempt and each
 * lost connection, also while urgent messages wait; a strategy that throws or returns something
 * else than a number ≥ 0 is recorded as an issue and {@link exponentialBackoff} decides instead.
 *
 * @example
 * // robust2's way: the application retries itself, every 10 s while a message waits
 * const client = new RobustClient({ ...options, backoff: (ctx) => (ctx.held ? 10_000 : Infinity) });
 */
export type ReconnectStrategy = (ctx: ReconnectContext) => number;

/**
 * The built-in strategy: {@link backoffDelay} of round `attempts - 1` from `ctx.backoff`; after a
 * healthy connection was lost (attempts 0) as after the first failure. Export it to wrap it.
 *
 * @example
 * const client = new RobustClient({ ...options, backoff: (ctx) => Math.max(2000, exponentialBackoff(ctx)) });
 */
export const exponentialBackoff: ReconnectStrategy = (ctx) =>
  backoffDelay(Math.max(0, ctx.attempts - 1), ctx.backoff, ctx.random);

/**
 * Delay before retry round `round` (0-based): uniform in [cap / 2, cap) where cap =
 * min(max, min * factor^round) ("equal jitter": spread, so devices that lost one broker do not
 * come back in step, and never much sooner than the cap, which saves attempts).
 *
 * @example
 * backoffDelay(0, DEFAULT_BACKOFF, () => 0.5); // 750
 * backoffDelay(20, DEFAULT_BACKOFF, () => 0.5); // 150000: capped at max
 */
export function backoffDelay(round: number, b: Backoff, random: () => number): number {
  return (Math.min(b.max, b.min * b.factor ** round) * (1 + random())) / 2;
}
