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
    // The SDK truncates the delay to whole milliseconds: rounded up, a timer never fires
    // before the deadline it was armed for.
    setTimeout: (callback, ms) => Timer.set(callback, Math.ceil(ms)),
    clearTimeout: (id) => {
      try {
        Timer.clear(id); // throws before SDK 5.7.0 when the timer already fired or was cleared
      } catch {
        // nothing to clear
      }
    },
  };
}
