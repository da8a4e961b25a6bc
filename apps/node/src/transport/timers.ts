import type { Timers } from '@umqtt/simple';

/**
 * Real time for Node: a monotonic clock (`performance.now()`) and the ordinary (ref'ed) timers.
 *
 * @example
 * const client = new RobustClient({ socket: createTcpSocketFactory(), timers: nodeTimers, servers: [{ host: 'localhost' }], store });
 */
export const nodeTimers: Timers = Object.freeze({
  now: () => performance.now(),
  setTimeout: (callback: () => void, ms: number) => setTimeout(callback, ms),
  clearTimeout: (handle: unknown) => clearTimeout(handle as ReturnType<typeof setTimeout>),
});
