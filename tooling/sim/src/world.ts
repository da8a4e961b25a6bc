// The world's heart: virtual time and one queue of events. Nothing in a run uses real time, real
// sockets or real randomness; the only real thing is the JavaScript job queue, which the loop
// drains after every event that ran device code (as a platform runs every microtask before its
// next callback), so the clients' promise-based flushes and deferred statuses run exactly where
// they would on a device.
import { Random } from './random.js';
import type { Trace } from './trace.js';

/** A scheduled event; `cancel()` it through {@link World.cancel}. */
export interface Event {
  readonly at: number;
  readonly seq: number;
  fn: (() => void) | undefined;
}

/** Why a run failed: the invariant (or guard) that broke, and what it saw. */
export interface Violation {
  /** Short stable name of the invariant, e.g. `one-final-status`. */
  invariant: string;
  /** What was seen, in one or two sentences. */
  detail: string;
  /** Virtual time (ms) when it was seen. */
  time: number;
}

/** Thrown out of the loop to end a run at once (a storm, or a failure that must stop the world). */
export class Stop extends Error {
  constructor(readonly violation: Violation) {
    super(`${violation.invariant}: ${violation.detail}`);
  }
}

/** Events allowed at one virtual instant before the world calls it a storm. */
const SAME_INSTANT_LIMIT = 20_000;

const drain = () => new Promise<void>((resolve) => setImmediate(resolve));

export class World {
  /** Virtual time in milliseconds (fractional). */
  now = 0;
  /** Events run so far. */
  events = 0;
  readonly random: Random;
  /** Set in replays: a readable record of packets, faults and states. */
  readonly trace: Trace | undefined;
  /** Called after every event, once the job queue is empty: per-step invariants. */
  readonly steps: (() => void)[] = [];
  /** The first violation seen (the run stops there). */
  violation: Violation | undefined;
  /** Run-wide cap on events (a guard against a world that never calms down). */
  maxEvents = 3_000_000;
  /** Device code ran since the last drain (only then can jobs be queued). */
  #dirty = false;
  #heap: Event[] = [];
  #seq = 0;
  #sameAt = -1;
  #sameCount = 0;

  constructor(seed: number, trace?: Trace) {
    this.random = new Random(seed);
    this.trace = trace;
  }

  /** Device code is about to run: drain the job queue after this event. */
  touch(): void {
    this.#dirty = true;
  }

  /** Runs `fn` after `delay` ms of virtual time (0: at this instant, after what is already due now). */
  after(delay: number, fn: () => void): Event {
    return this.at(this.now + (delay > 0 ? delay : 0), fn);
  }

  /** Runs `fn` at virtual time `at` (not before now). */
  at(at: number, fn: () => void): Event {
    const ev: Event = { at: at > this.now ? at : this.now, seq: ++this.#seq, fn };
    const heap = this.#heap;
    heap.push(ev);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(ev, heap[p]!)) break;
      heap[i] = heap[p]!;
      i = p;
    }
    heap[i] = ev;
    return ev;
  }

  /** Runs `fn` every `ms` of virtual time (housekeeping of the world itself). */
  every(ms: number, fn: () => void): void {
    const tick = () => {
      fn();
      this.after(ms, tick);
    };
    this.after(ms, tick);
  }

  cancel(ev: Event | undefined): void {
    if (ev) ev.fn = undefined;
  }

  /** Records a violation (the first one wins) and stops the run. */
  fail(invariant: string, detail: string): never {
    const v: Violation = { invariant, detail, time: this.now };
    this.violation ??= v;
    this.trace?.note(this.now, 'VIOLATION', `${invariant}: ${detail}`);
    throw new Stop(v);
  }

  /** Checks a condition; a false one fails the run. */
  check(ok: boolean, invariant: string, detail: () => string): void {
    if (!ok) this.fail(invariant, detail());
  }

  /**
   * Runs events in time order until `until` (virtual ms) or until `stop()` says so; time then
   * stands at `until`. Returns false when a violation stopped the world.
   */
  async run(until: number, stop?: () => boolean): Promise<boolean> {
    try {
      for (;;) {
        if (this.violation) return false;
        if (stop?.()) return true;
        const ev = this.#pop(until);
        if (!ev) break;
        const fn = ev.fn;
        if (!fn) continue;
        ev.fn = undefined;
        if (ev.at > this.now) this.now = ev.at;
        if (++this.events > this.maxEvents)
          this.fail('bounded-run', `more than ${this.maxEvents} events: the world never calmed down`);
        if (ev.at === this.#sameAt) {
          if (++this.#sameCount > SAME_INSTANT_LIMIT)
            this.fail('no-timer-storm', `more than ${SAME_INSTANT_LIMIT} events at the one instant ${ev.at} ms`);
        } else {
          this.#sameAt = ev.at;
          this.#sameCount = 0;
        }
        fn();
        if (this.#dirty) {
          this.#dirty = false;
          await drain();
          for (const step of this.steps) step();
        }
      }
      if (until > this.now) this.now = until;
      return !this.violation;
    } catch (e) {
      if (e instanceof Stop) return false;
      throw e;
    }
  }

  /** The earliest event due by `until`, removed from the queue. */
  #pop(until: number): Event | undefined {
    const heap = this.#heap;
    for (;;) {
      const top = heap[0];
      if (!top || top.at > until) return undefined;
      const last = heap.pop()!;
      if (heap.length) {
        let i = 0;
        const n = heap.length;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= n) break;
          const r = l + 1;
          const c = r < n && before(heap[r]!, heap[l]!) ? r : l;
          if (!before(heap[c]!, last)) break;
          heap[i] = heap[c]!;
          i = c;
        }
        heap[i] = last;
      }
      if (top.fn) return top;
    }
  }
}

function before(a: Event, b: Event): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
