import { createServer } from 'node:net';

export interface WaitOptions {
  /** Give up after this many milliseconds. Default 5000. */
  timeout?: number;
  /** Poll every this many milliseconds. Default 5. */
  interval?: number;
  /** Said in the error when the wait times out. */
  message?: string;
}

/** What a truthy check lets through. */
export type Truthy<T> = Exclude<T, false | 0 | 0n | '' | null | undefined>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until `predicate` returns a truthy value, and resolves with it; rejects on timeout. */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  { timeout = 5000, interval = 5, message = 'condition' }: WaitOptions = {},
): Promise<Truthy<T>> {
  const deadline = performance.now() + timeout;
  for (;;) {
    const value = await predicate();
    if (value) return value as Truthy<T>;
    if (performance.now() >= deadline) {
      throw new Error(`waitFor: ${message} not met within ${timeout} ms`);
    }
    await sleep(interval);
  }
}

/**
 * Resolves with the first value given to a callback: `await once((cb) => emitter.on('x', cb))`.
 * Rejects after `timeout` ms (default 5000) so a test never hangs on it.
 */
export function once<T = void>(
  register: (callback: (value: T) => void) => void,
  { timeout = 5000, message = 'callback' }: Omit<WaitOptions, 'interval'> = {},
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`once: ${message} not called within ${timeout} ms`)), timeout);
    register((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/** A TCP port that was free on the loopback interface a moment ago. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('freePort: no port'))));
    });
  });
}
