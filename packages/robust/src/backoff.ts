// Reconnect delays: the strategy interface, and the built-in one (exponential backoff with
// jitter, capped; bounded while an urgent message waits).
import type { UmqttError } from '@umqtt/codec';
import { CONNECT_TIMEOUT } from '@umqtt/simple';

/**
 * Reconnect settings of a {@link RobustClient}. The built-in strategy ({@link exponentialBackoff})
 * is exponential with jitter, capped: the delay grows with failed attempts in a row (each try of
 * each server counts) and only with them, so a healthy connection that drops is retried within
 * `min`; while a message of `urgentPriority` waits, the wait is bounded by `urgentDelay`.
 * `stableAfter` and `maxAttempts` hold for any strategy, and `urgentPerHour` sets how many
 * attempts urgent messages may bring forward beyond the strategy's.
 *
 * @example
 * const client = new RobustClient({ ...options, backoff: { min: 500, max: 60_000, maxAttempts: 20 } });
 */
export interface Backoff {
  /** Smallest cap of a delay, ms: the first retry comes within it. Default 1000. */
  min: number;
  /**
   * Largest delay, ms. Default 600000 (10 min): an hour of outage with nothing urgent waiting
   * costs about 10 attempts (caps 1 s, 10 s, 100 s, then 10 min).
   */
  max: number;
  /** Growth of the cap per failed attempt. Default 10. */
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
   * Attempts per hour that urgent messages may bring forward beyond the strategy's (0 = none): a
   * message with a time to live whose deadline comes before the next attempt brings it forward to
   * now; a message of priority `urgentPriority` or more queued while offline brings one to now,
   * and after each failure keeps the next within `urgentDelay` where the strategy would wait
   * longer. The attempts it adds are counted (`counters.urgent`) and leave the strategy's
   * schedule as it was. A bucket: it holds at most max(1, urgentPerHour) and refills at this
   * rate. Default 0.5.
   */
  urgentPerHour: number;
  /**
   * While a message of priority `urgentPriority` or more waits: the longest wait after a failed
   * attempt, ms. The built-in strategy keeps to it (waits of 0.9 to 1 times it) after an attempt
   * that the network answered (refused, dropped: the broker is down or restarting, and it is back
   * as soon as an attempt finds it), and to 5 times it after a connect timeout (nothing answered:
   * the link is probably down, each such attempt keeps the radio on for the whole
   * `connectTimeout`, and the platform's link signal, {@link RobustClient.setLink}, says when it
   * is back). Its attempts are the strategy's own, not counted as urgent. When the first such
   * message is queued while offline, the strategy is asked again (it may only bring the next
   * attempt forward). Default 60000.
   */
  urgentDelay: number;
  /** The priority from which a waiting message is urgent without a time to live. Default 10 (`PRESETS.alarm`); Infinity: none. */
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
  max: 600_000,
  factor: 10,
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
 * The built-in strategy: {@link backoffDelay} of round `attempts - 1` from `ctx.backoff` (after a
 * healthy connection was lost, attempts 0, as after the first failure); while a message of
 * `urgentPriority` or more waits, at most `urgentDelay` (0.9 to 1 times it; 5 times it after a
 * connect timeout), so an alarm is delivered within about `urgentDelay` of the broker's return
 * however long the outage. Export it to wrap it.
 *
 * @example
 * const client = new RobustClient({ ...options, backoff: (ctx) => Math.max(2000, exponentialBackoff(ctx)) });
 */
export const exponentialBackoff: ReconnectStrategy = (ctx) => {
  const b = ctx.backoff;
  const round = Math.max(0, ctx.attempts - 1);
  const bound =
    ctx.priority < b.urgentPriority ? Infinity : (ctx.error?.code === CONNECT_TIMEOUT ? 5 : 1) * b.urgentDelay;
  return bound < Math.min(b.max, b.min * b.factor ** round)
    ? bound * (0.9 + ctx.random() / 10)
    : backoffDelay(round, b, ctx.random);
};

/**
 * Delay before retry round `round` (0-based): uniform in [cap / 2, cap) where cap =
 * min(max, min * factor^round) ("equal jitter": spread, so devices that lost one broker do not
 * come back in step, and never much sooner than the cap, which saves attempts).
 *
 * @example
 * backoffDelay(0, DEFAULT_BACKOFF, () => 0.5); // 750
 * backoffDelay(20, DEFAULT_BACKOFF, () => 0.5); // 450000: capped at max
 */
export function backoffDelay(round: number, b: Pick<Backoff, 'min' | 'max' | 'factor'>, random: () => number): number {
  return (Math.min(b.max, b.min * b.factor ** round) * (1 + random())) / 2;
}
