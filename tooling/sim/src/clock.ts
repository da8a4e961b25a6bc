// Clocks with the habits of real platforms, on the world's virtual time. Each device gets one,
// its habit drawn from the seed:
//
// - `exact`: FakeClock-like: a timer fires exactly when due (0 ms or less: at this instant),
//   now() is the virtual time plus a fractional origin.
// - `node`: Node.js 20. now() is performance.now() (fractional). setTimeout takes its delay as
//   libuv does: out of range (< 1, NaN, > 2^31-1) becomes 1 ms (lib/internal/timers.js), a timer
//   fires once the loop's integer millisecond clock has moved by the delay rounded up
//   (`now - timer._idleStart >= msecs` in processTimers), and that loop clock was sampled when the
//   loop iteration began, so a timer can fire up to a millisecond or two before
//   performance.now() reaches its due time; it is often late by a little, now and then by a lot
//   (a busy loop, a garbage collection).
// - `moddable`: Moddable XS on ESP32. now() is Time.ticks: whole milliseconds. Timer.set fires
//   once the tick count reaches its trigger (never early by the tick clock), but only when the
//   task wakes, on the scheduler's coarse tick (10 ms at FreeRTOS' 100 Hz), and late when the
//   engine is busy.
// - `jitter`: early by up to 2 ms and late by up to 20 ms around the due time, fractional, always
//   moving forward by at least the delay or 1 ms, whichever is smaller.
//
// Every callback runs inside a guard: an exception escaping into the platform is a violation
// (unless it is the device's own power loss), and callbacks per virtual second are counted.
import type { Random } from './random.js';
import type { Event, World } from './world.js';

export type ClockHabit = 'exact' | 'node' | 'moddable' | 'jitter';
export const CLOCK_HABITS: readonly ClockHabit[] = ['exact', 'node', 'moddable', 'jitter'];

/** Timers, as @umqtt/simple takes them (structurally). */
export interface Timers {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ClockOptions {
  habit: ClockHabit;
  /** Added to the virtual time in now(): a device up for days, or past a 32-bit tick wrap. */
  origin: number;
  /** Moddable's scheduler tick, ms. */
  tick: number;
  /** Runs a platform callback: the device's guard (power, exceptions). */
  guard: (what: string, fn: () => void) => void;
}

/** Callbacks per virtual second above which the clock's owner storms. */
export const STORM_PER_SECOND = 1000;

export class PlatformClock implements Timers {
  readonly habit: ClockHabit;
  readonly origin: number;
  /** Timer callbacks run. */
  fired = 0;
  /** Most timer callbacks in one virtual second. */
  peakPerSecond = 0;
  /** The virtual second of the most callbacks, for the trace. */
  peakSecond = 0;
  #second = -1;
  #inSecond = 0;
  readonly #world: World;
  readonly #random: Random;
  readonly #tick: number;
  readonly #guard: ClockOptions['guard'];
  readonly #timers = new Map<number, Event>();
  #next = 0;
  #dead = false;
  /** Node: libuv's loop time (integer ms) of the iteration now running. */
  #loop = 0;

  constructor(world: World, random: Random, options: ClockOptions) {
    this.#world = world;
    this.#random = random;
    this.habit = options.habit;
    this.origin = options.origin;
    this.#tick = options.tick;
    this.#guard = options.guard;
  }

  now(): number {
    const t = this.#world.now + this.origin;
    return this.habit === 'moddable' ? Math.floor(t) : t;
  }

  setTimeout(callback: () => void, ms: number): number {
    const handle = ++this.#next;
    if (this.#dead) return handle;
    const world = this.#world;
    const at = this.#due(ms);
    const ev = world.at(at, () => {
      this.#timers.delete(handle);
      if (this.#dead) return;
      this.#count();
      if (this.habit === 'node') this.#loopAt(world.now);
      this.#guard('timer', callback);
    });
    this.#timers.set(handle, ev);
    return handle;
  }

  clearTimeout(handle: unknown): void {
    const ev = this.#timers.get(handle as number);
    if (ev) {
      this.#world.cancel(ev);
      this.#timers.delete(handle as number);
    }
  }

  /** Timers armed and not yet fired. */
  get pending(): number {
    return this.#timers.size;
  }

  /** A socket event reaches the device: for Node, the loop iteration that runs it began a little before. */
  touch(): void {
    if (this.habit === 'node') this.#loopAt(this.#world.now);
  }

  /** The device lost power: no timer fires again. */
  kill(): void {
    this.#dead = true;
    for (const ev of this.#timers.values()) this.#world.cancel(ev);
    this.#timers.clear();
  }

  /** When (virtual time) a timer set now for `ms` fires. */
  #due(ms: number): number {
    const now = this.#world.now;
    const r = this.#random;
    switch (this.habit) {
      case 'exact':
        return now + (ms > 0 ? ms : 0);
      case 'node': {
        // lib/internal/timers.js: `if (!(after >= 1 && after <= TIMEOUT_MAX)) after = 1`
        const after = ms >= 1 && ms <= 2147483647 ? ms : 1;
        this.#loopAt(now);
        const at = this.#loop + Math.ceil(after) - this.origin;
        return Math.max(at, now + 0.001) + this.#late(r);
      }
      case 'moddable': {
        const tick = this.#tick;
        const trigger = Math.floor(now + this.origin) + Math.max(0, Math.floor(ms || 0)) - this.origin;
        const wake = Math.ceil((trigger + 1e-9) / tick) * tick;
        return Math.max(wake, now + 0.001) + this.#late(r);
      }
      case 'jitter': {
        const d = ms > 0 ? ms : 0;
        const shifted = d - r.float(0, 2) + (r.chance(0.3) ? r.float(0, 20) : 0);
        return now + Math.max(Math.min(d, 1), shifted);
      }
    }
  }

  /** Lateness of a callback: mostly a little, sometimes a busy loop, rarely a long pause. */
  #late(r: Random): number {
    const x = r.next();
    if (x < 0.6) return 0;
    if (x < 0.97) return r.float(0, 2);
    if (x < 0.999) return r.float(2, 50);
    return r.float(50, 1500);
  }

  /** libuv samples its clock once per iteration, in whole ms, some time before the callback runs. */
  #loopAt(now: number): void {
    const sampled = Math.floor(now + this.origin - this.#random.float(0, 1));
    if (sampled > this.#loop) this.#loop = sampled;
  }

  #count(): void {
    this.fired++;
    const second = Math.floor(this.#world.now / 1000);
    if (second !== this.#second) {
      this.#second = second;
      this.#inSecond = 0;
    }
    if (++this.#inSecond > this.peakPerSecond) {
      this.peakPerSecond = this.#inSecond;
      this.peakSecond = second;
    }
    if (this.#inSecond > STORM_PER_SECOND)
      this.#world.fail(
        'no-timer-storm',
        `more than ${STORM_PER_SECOND} timer callbacks in the virtual second ${second} (${this.habit} clock)`,
      );
  }
}
