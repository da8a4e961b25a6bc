// Edge cases of the device glue, in Node with a scripted ECMA-419 socket (the engine tests run
// the glue inside XS and QuickJS against a real broker; these cover what a broker never does).
import { describe, expect, test } from 'vitest';
import type { Resolver, TCPOptions } from './moddable.js';
import { tcpSocketFactory } from './socket.js';
import { moddableTimers } from './timers.js';

const tick = () => new Promise<void>((r) => setTimeout(r, 0));

function scriptedTCP(behaviour: { throwOnWrite?: boolean; throwOnCreate?: boolean } = {}) {
  const made: { options: TCPOptions; written: number[][]; closed: boolean }[] = [];
  class TCP {
    readonly s: (typeof made)[number];
    constructor(options: TCPOptions) {
      if (behaviour.throwOnCreate) throw new Error('no socket');
      this.s = { options, written: [], closed: false };
      made.push(this.s);
    }
    read() {
      return undefined;
    }
    write(buffer: ArrayBuffer) {
      if (behaviour.throwOnWrite) throw new Error('would block');
      this.s.written.push([...new Uint8Array(buffer)]);
      return 2;
    }
    close() {
      this.s.closed = true;
    }
  }
  return { TCP, made };
}

function events() {
  const log: string[] = [];
  const options = {
    host: '10.0.0.1',
    port: 1883,
    onReadable: (n: number) => log.push(`readable ${n}`),
    onWritable: (n: number) => log.push(`writable ${n}`),
    onError: (e?: unknown) => log.push(`error ${String(e)}`),
  };
  return { log, options };
}

describe('tcpSocketFactory', () => {
  test('bytes beyond the free send buffer wait, in order, and go out on onWritable', () => {
    const { TCP, made } = scriptedTCP();
    const { log, options } = events();
    const sock = tcpSocketFactory(TCP)(options);
    expect(made[0]!.options).toMatchObject({ address: '10.0.0.1', port: 1883, nodelay: true });
    expect(sock.write(Uint8Array.of(1, 2, 3))).toBeLessThanOrEqual(0); // not connected: all waits
    made[0]!.options.onWritable.call(undefined as never, 2); // 2 free: [1, 2] out, 3 still waits
    expect(made[0]!.written).toEqual([[1, 2], [3]]); // write() answered 2 free again, so 3 went too
    expect(log).toEqual(['writable 2']);
    expect(sock.write(new Uint8Array([9, 8, 7, 6]).subarray(1))).toBe(2); // an offset view, copied in pieces
    expect(made[0]!.written.slice(2)).toEqual([[8, 7], [6]]);
  });

  test('a socket that throws inside onWritable becomes onError, never an exception into the native callback', () => {
    const { TCP, made } = scriptedTCP({ throwOnWrite: true });
    const { log, options } = events();
    const sock = tcpSocketFactory(TCP)(options);
    sock.write(Uint8Array.of(1));
    expect(() => made[0]!.options.onWritable.call(undefined as never, 10)).not.toThrow();
    expect(log).toEqual(['error Error: would block']);
    made[0]!.options.onWritable.call(undefined as never, 10); // nothing after onError
    expect(log).toHaveLength(1);
  });

  test('no callback from inside the factory: a failing socket or lookup reports later', async () => {
    const { TCP } = scriptedTCP({ throwOnCreate: true });
    const a = events();
    tcpSocketFactory(TCP)(a.options);
    expect(a.log).toEqual([]);
    await tick();
    expect(a.log).toEqual(['error Error: no socket']);

    const failing: Resolver = { resolve: (r) => r.onError(r.host) }; // even a resolver that answers at once
    const b = events();
    tcpSocketFactory(scriptedTCP().TCP, failing)({ ...b.options, host: 'broker.example' });
    expect(b.log).toEqual([]);
    await tick();
    expect(b.log).toEqual(['error cannot resolve broker.example']);

    const c = events();
    tcpSocketFactory(scriptedTCP().TCP)({ ...c.options, host: 'broker.example' });
    await tick();
    expect(c.log).toEqual(['error no DNS resolver for broker.example']);
  });

  test('a host name is resolved first; close() before the answer opens nothing', () => {
    const pending: ((address: string) => void)[] = [];
    const dns: Resolver = { resolve: (r) => pending.push((a) => r.onResolved(r.host, a)) };
    const { TCP, made } = scriptedTCP();
    const first = tcpSocketFactory(TCP, dns)({ ...events().options, host: 'broker.example' });
    const second = tcpSocketFactory(TCP, dns)({ ...events().options, host: 'broker.example' });
    first.close();
    pending[0]!('10.0.0.2');
    pending[1]!('10.0.0.3');
    expect(made.map((m) => m.options.address)).toEqual(['10.0.0.3']);
    second.close();
    expect(made[0]!.closed).toBe(true);
  });
});

describe('moddableTimers', () => {
  test('now() keeps counting where the 32-bit tick counter wraps (unsigned or signed)', () => {
    let ticks = 2 ** 32 - 10;
    const t = moddableTimers(
      { set: () => 0, clear: () => {} },
      {
        get ticks() {
          return ticks;
        },
      },
    );
    expect(t.now()).toBe(2 ** 32 - 10);
    ticks = 5;
    expect(t.now()).toBe(2 ** 32 + 5);
    let signed = 2 ** 31 - 3;
    const s = moddableTimers(
      { set: () => 0, clear: () => {} },
      {
        get ticks() {
          return signed;
        },
      },
    );
    expect(s.now()).toBe(2 ** 31 - 3);
    signed = -(2 ** 31) + 4;
    expect(s.now()).toBe(2 ** 31 + 4);
  });

  test('timers are Timer.set and Timer.clear', () => {
    const calls: unknown[] = [];
    const handle = { id: 7 };
    const t = moddableTimers(
      { set: (cb, ms) => (calls.push(['set', ms]), cb(), handle), clear: (h) => calls.push(['clear', h]) },
      { ticks: 0 },
    );
    let fired = 0;
    t.clearTimeout(t.setTimeout(() => fired++, 25));
    expect(calls).toEqual([
      ['set', 25],
      ['clear', handle],
    ]);
    expect(fired).toBe(1);
  });
});
