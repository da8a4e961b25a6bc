// Moddable's `timer` and `time` modules -> the Timers that @umqtt/simple and @umqtt/robust use.
import type { Timers } from '@umqtt/simple';
import type { TimeModule, TimerModule } from './moddable.js';

/**
 * A monotonic clock and one-shot timers from Moddable's modules. `Time.ticks` is a 32-bit
 * millisecond counter on a microcontroller; `now()` keeps counting where it wraps.
 *
 * @example
 * import Timer from "timer";
 * import Time from "time";
 * const timers = moddableTimers(Timer, Time);
 */
export function moddableTimers(Timer: TimerModule, Time: TimeModule): Timers {
  let last = 0;
  let base = 0;
  return {
    now() {
      const t = Time.ticks;
      if (t < last) base += 4294967296;
      last = t;
      return base + t;
    },
    setTimeout: (callback, ms) => Timer.set(callback, ms),
    clearTimeout: (id) => Timer.clear(id),
  };
}
