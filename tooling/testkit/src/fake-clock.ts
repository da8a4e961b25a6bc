/** Structurally the same as `Timers` in @umqtt/simple (testkit must not depend on simple). */
export interface Timers {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

interface Timer {
  at: number;
  seq: number;
  callback: () => void;
}

/**
 * A deterministic clock. Time moves only in `advance(ms)`, which fires the due callbacks
 * in time order (ties in the order they were set), including callbacks scheduled by
 * callbacks when they fall due within the same window.
 */
export class FakeClock implements Timers {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, Timer>();

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): number {
    const seq = ++this.#seq;
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    this.#timers.set(seq, { at: this.#now + delay, seq, callback });
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
      next.callback();
    }
    this.#now = end;
    return fired;
  }

  /** Timers set and not yet fired or cleared. */
  pending(): number {
    return this.#timers.size;
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
