// What a command touches outside itself: standard streams and signals. main.ts passes the
// process's; the commands never reach for `process` themselves.
import type { Readable, Writable } from 'node:stream';
import { cutLong } from './errors.js';

export interface Io {
  stdin: Readable;
  stdout: Writable & { isTTY?: boolean | undefined };
  stderr: Writable;
  /** Calls `handler` on SIGINT or SIGTERM; returns a function that removes it. */
  onSignal(handler: (signal: string) => void): () => void;
}

export function processIo(): Io {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    onSignal(handler) {
      process.on('SIGINT', handler);
      process.on('SIGTERM', handler);
      return () => {
        process.off('SIGINT', handler);
        process.off('SIGTERM', handler);
      };
    },
  };
}

/** Something to await until whatever it stands for may have changed. */
export class Signal {
  #waiters: (() => void)[] = [];
  /** Resolves at the next fire(), or after `ms` if given. */
  wait(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(resolve, ms);
      this.#waiters.push(() => {
        if (timer !== undefined) clearTimeout(timer);
        resolve();
      });
    });
  }
  fire(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
}

/** A line printer for stderr, prefixed with the command (long quoted values cut). */
export function printer(io: Io, command: string) {
  return {
    warn: (text: string) => void io.stderr.write(`umqtt ${command}: warning: ${cutLong(text)}\n`),
    note: (text: string) => void io.stderr.write(`umqtt ${command}: ${cutLong(text)}\n`),
  };
}
