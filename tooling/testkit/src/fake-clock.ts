/** Structurally the same as `Timers` in @umqtt/simple (testkit must not depend on simple). */
export interface Timers {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * How a platform's timers really fire, for a {@link FakeClock}. All bounds in milliseconds;
 * where a timer falls inside a bound is drawn from a PRNG seeded by `seed`.
 */
export interface ClockHabits {
  /**
   * A timer may fire up to this long before it is due, by the clock the code reads. Node does:
   * its timers run on libuv's loop time, truncated to whole milliseconds and read at the start of
   * the loop turn, so `performance.now()` in the callback can be a millisecond or two short of the
   * time the timer was set for. A timer never fires before the instant it was set.
   */
  early?: number | undefined;
  /** A timer may fire up to this long after it is due (a busy loop, a slow device). */
  late?: number | undefined;
  /**
   * Timers fire only on multiples of this many milliseconds (coarse ticks: Moddable's timers
   * are serviced on the host's millisecond tick, slower hosts coarser).
   */
  tick?: number | undefined;
  /** Shorter delays are taken as this long (Node: `setTimeout(f, 0)` means 1 ms). */
  minDelay?: number | undefined;
  /** Seed of the jitter. Default 1. */
  seed?: number | undefined;
}

/**
 * Named habits for tests that run the same suite under several platforms' timers.
 * `exact` fires every timer at its due time (the old FakeClock); `node` early by up to 2 ms and
 * late by up to 1 ms, delays under 1 ms taken as 1; `moddable` on a 10 ms tick; `fractional`
 * late by a fraction of a millisecond, so times are never whole numbers.
 */
export const CLOCK_HABITS: Readonly<Record<string, ClockHabits>> = Object.freeze({
  exact: {},
  node: { early: 2, late: 1, minDelay: 1 },
  moddable: { tick: 10, minDelay: 1 },
  fractional: { late: 0.37 },
});

/**
 * The habits a suite runs under: `UMQTT_CLOCK` names one of {@link CLOCK_HABITS} (a vitest
 * project sets it to run a suite again under another platform's timers); default `exact`.
 */
export function clockHabitsFromEnv(): ClockHabits {
  const name = process.env.UMQTT_CLOCK;
  if (!name) return {};
  const habits = CLOCK_HABITS[name];
  if (!habits) throw new Error(`UMQTT_CLOCK: expected one of ${Object.keys(CLOCK_HABITS).join(', ')}, got ${name}`);
  return habits;
}

interface Timer {
  /** When it fires (its due time moved by the habits). */
  at: number;
  seq: number;
  callback: () => void;
}

/** The smallest step a timer that fires early still moves time forward by. */
const EPSILON = 0.001;

/**
 * A deterministic clock. Time moves only in `advance(ms)`, which fires the due callbacks
 * in time order (ties in the order they were set), including callbacks scheduled by
 * callbacks when they fall due within the same window. With {@link ClockHabits} its timers
 * fire early, late or on coarse ticks the way real platforms' do.
 */
export class FakeClock implements Timers {
  #now: number;
  #seq = 0;
  #fired = 0;
  readonly #timers = new Map<number, Timer>();
  readonly habits: Readonly<ClockHabits>;
  #random: () => number;

  constructor(start = 0, habits: ClockHabits = {}) {
    this.#now = start;
    this.habits = habits;
    this.#random = seeded(habits.seed ?? 1);
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): number {
    const seq = ++this.#seq;
    const h = this.habits;
    let delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    if (h.minDelay && delay < h.minDelay) delay = h.minDelay;
    let at = this.#now + delay;
    if (h.early) at -= this.#random() * h.early;
    if (h.late) at += this.#random() * h.late;
    if (h.tick) at = Math.ceil(at / h.tick) * h.tick;
    // A timer never fires before it was set; one that fires "early" still lets time move on.
    if (at < this.#now + (delay ? EPSILON : 0)) at = this.#now + (delay ? EPSILON : 0);
    this.#timers.set(seq, { at, seq, callback });
    return seq;
  }

  clearTimeout(handle: unknown): void {
    if (typeof handle === 'number') this.#timers.delete(handle);
  }

  /** Moves time forward by `ms`, firing every callback that falls due. Returns how many fired. */
  advance(ms: number): number {
    if (!(ms >= 0)) throw new RangeError(`FakeClock.advance: ms must be >= 0, got ${ms}`);
    const end = this.#now + ms;
    let fired = 0;
    for (let next = this.#next(end); next !== undefined; next = this.#next(end)) {
      this.#timers.delete(next.seq);
      this.#now = next.at;
      fired++;
      this.#fired++;
      next.callback();
    }
    this.#now = end;
    return fired;
  }

  /** Timers set and not yet fired or cleared. */
  pending(): number {
    return this.#timers.size;
  }

  /** When the next timer fires (Infinity when none is set). */
  nextDue(): number {
    let at = Infinity;
    for (const timer of this.#timers.values()) if (timer.at < at) at = timer.at;
    return at;
  }

  /** Callbacks fired since the clock was made (a storm of them at one instant is a bug). */
  get fired(): number {
    return this.#fired;
  }

  #next(end: number): Timer | undefined {
    let best: Timer | undefined;
    // The map iterates in the order timers were set, so `<` keeps ties first-set-first.
    for (const timer of this.#timers.values()) {
      if (timer.at <= end && (best === undefined || timer.at < best.at)) best = timer;
    }
    return best;
  }
}

/** mulberry32: a small seeded PRNG in [0, 1), for anything a test wants to replay from a seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
