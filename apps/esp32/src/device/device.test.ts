// Edge cases of the device glue, in Node with a scripted ECMA-419 socket (the engine tests run
// the glue inside XS and QuickJS against a real broker; these cover what a broker never does).
// The scripted socket keeps lwIP's accounting as Moddable's tcp.c does (the free send buffer
// shrinks by what was written, "would block" past it), and its write() answers as SDK >= 5.3.1
// does (the room left) or as the SDKs before (undefined).
import { describe, expect, test } from 'vitest';
import type { DnsOptions, ResolveRequest, TCPOptions } from './moddable.js';
import { tcpSocketFactory } from './socket.js';
import { moddableTimers } from './timers.js';

const tick = () => new Promise<void>((r) => setTimeout(r, 0));

interface Made {
  options: TCPOptions;
  written: number[][];
  closed: boolean;
  room: number;
}

function scriptedTCP(
  behaviour: { throwOnWrite?: boolean; throwOnCreate?: boolean; returns?: 'room' | 'undefined' } = {},
) {
  const made: Made[] = [];
  class TCP {
    readonly s: Made;
    constructor(options: TCPOptions) {
      if (behaviour.throwOnCreate) throw new Error('no socket');
      this.s = { options, written: [], closed: false, room: 0 };
      made.push(this.s);
    }
    read() {
      return undefined;
    }
    write(buffer: ArrayBuffer | Uint8Array) {
      const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
      if (behaviour.throwOnWrite || bytes.length > this.s.room) throw new Error('would block');
      this.s.written.push([...bytes]);
      this.s.room -= bytes.length;
      return behaviour.returns === 'undefined' ? undefined : this.s.room;
    }
    close() {
      this.s.closed = true;
    }
  }
  /** The socket says it takes `room` bytes: what the SDK does on connect and on each ACK. */
  const writable = (m: Made, room: number) => {
    m.room = room;
    m.options.onWritable.call(undefined as never, room);
  };
  return { TCP, made, writable };
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

/** A resolver class that records its lookups and answers when told. */
function scriptedDns(servers: DnsOptions['servers']) {
  const made: { servers: readonly string[]; requests: ResolveRequest[]; closed: boolean }[] = [];
  class Resolver {
    readonly r: (typeof made)[number];
    constructor(o: { servers: readonly string[] }) {
      this.r = { servers: o.servers, requests: [], closed: false };
      made.push(this.r);
    }
    resolve(request: ResolveRequest) {
      this.r.requests.push(request);
    }
    close() {
      this.r.closed = true;
    }
  }
  return { dns: { io: Resolver, servers, socket: { io: {} } } as DnsOptions, made };
}

describe('tcpSocketFactory', () => {
  for (const returns of ['room', 'undefined'] as const)
    test(`bytes beyond the free send buffer wait, in order, and go out on onWritable (write() returns ${returns === 'room' ? 'the room left, SDK >= 5.3.1' : 'undefined, SDK < 5.3.1'})`, () => {
      const { TCP, made, writable } = scriptedTCP({ returns });
      const { log, options } = events();
      const sock = tcpSocketFactory(TCP)(options);
      const m = made[0]!;
      expect(m.options).toMatchObject({ address: '10.0.0.1', port: 1883, nodelay: true });
      expect(sock.write(Uint8Array.of(1, 2, 3))).toBeLessThanOrEqual(0); // not connected: all waits
      writable(m, 2); // 2 free: [1, 2] out, 3 waits for the next onWritable
      expect(m.written).toEqual([[1, 2]]);
      expect(log).toEqual([]);
      writable(m, 4);
      expect(m.written).toEqual([[1, 2], [3]]);
      // SDK >= 5.3.1 said 3 bytes are left; before, the glue waits for onWritable to know
      expect(log).toEqual([returns === 'room' ? 'writable 3' : 'writable 0']);
      const view = new Uint8Array([9, 8, 7, 6, 5]).subarray(1);
      const left = sock.write(view); // an offset view: written as it is, in pieces
      if (returns === 'room') {
        expect(left).toBe(-1);
        expect(m.written.slice(2)).toEqual([[8, 7, 6]]);
      } else expect(m.written).toHaveLength(2);
      writable(m, 10);
      expect(m.written.slice(2).flat()).toEqual([8, 7, 6, 5]);
    });

  test('several waiting arrays go out as one write (lwIP queues a segment per write)', () => {
    const { TCP, made, writable } = scriptedTCP({ returns: 'undefined' });
    const sock = tcpSocketFactory(TCP)(events().options);
    for (let i = 1; i <= 5; i++) sock.write(Uint8Array.of(i, i));
    writable(made[0]!, 7);
    expect(made[0]!.written).toEqual([[1, 1, 2, 2, 3, 3, 4]]);
    writable(made[0]!, 100);
    expect(made[0]!.written[1]).toEqual([4, 5, 5]);
  });

  test('a large array goes out in views of the room, never copied whole', () => {
    const { TCP, made, writable } = scriptedTCP();
    const sock = tcpSocketFactory(TCP)(events().options);
    const big = new Uint8Array(40_000).map((_, i) => i & 255);
    const seen: Uint8Array[] = [];
    const m = made[0]!;
    const write = TCP.prototype.write;
    TCP.prototype.write = function (this: InstanceType<typeof TCP>, b: Uint8Array) {
      seen.push(b);
      return write.call(this, b);
    };
    sock.write(big);
    for (let i = 0; i < 4; i++) writable(m, 11_000);
    expect(seen.every((b) => b.buffer === big.buffer)).toBe(true); // views of the array handed over
    expect(seen.map((b) => b.length)).toEqual([11_000, 11_000, 11_000, 7_000]);
    expect(m.written.flat()).toEqual([...big]);
  });

  test('a write larger than a TLS record is cut at 16,384 bytes', () => {
    const { TCP, made, writable } = scriptedTCP();
    const sock = tcpSocketFactory(TCP)(events().options);
    sock.write(new Uint8Array(20_000));
    writable(made[0]!, 65_535);
    expect(made[0]!.written.map((w) => w.length)).toEqual([16_384, 3_616]);
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

    class Throwing {
      resolve() {
        throw new Error('resolver closed');
      }
      close() {}
    }
    const b = events();
    tcpSocketFactory(scriptedTCP().TCP, { dns: { io: Throwing, servers: () => ['10.0.0.53'], socket: { io: {} } } })({
      ...b.options,
      host: 'broker.example',
    });
    expect(b.log).toEqual([]);
    await tick();
    expect(b.log).toEqual(['error Error: resolver closed']);

    const c = events();
    tcpSocketFactory(scriptedTCP().TCP)({ ...c.options, host: 'broker.example' });
    await tick();
    expect(c.log).toEqual(['error no DNS resolver for broker.example']);
  });

  test('no DNS server (Net.get("DNS") is an empty array): a clear error instead of a lookup that never ends', async () => {
    const { dns, made } = scriptedDns(() => []);
    const e = events();
    tcpSocketFactory(scriptedTCP().TCP, { dns })({ ...e.options, host: 'broker.example' });
    await tick();
    expect(made).toEqual([]); // Moddable's resolver would ask servers[NaN], every second, forever
    expect(e.log).toEqual(['error no DNS server for broker.example']);
  });

  test('a host name is looked up with the servers of the moment; close() before the answer opens nothing', async () => {
    let servers = ['10.0.0.53'];
    const { dns, made } = scriptedDns(() => servers);
    const { TCP, made: sockets } = scriptedTCP();
    const first = tcpSocketFactory(TCP, { dns })({ ...events().options, host: 'broker.example' });
    servers = ['10.0.0.54', '10.0.0.55']; // DHCP gave others after the device joined again
    const e = events();
    const second = tcpSocketFactory(TCP, { dns })({ ...e.options, host: 'broker.example' });
    expect(made.map((r) => r.servers)).toEqual([['10.0.0.53'], ['10.0.0.54', '10.0.0.55']]);
    first.close();
    expect(made[0]!.closed).toBe(true); // its lookup stops
    made[0]!.requests[0]!.onResolved('broker.example', '10.0.0.2');
    made[1]!.requests[0]!.onResolved('broker.example', '10.0.0.3');
    expect(sockets.map((m) => m.options.address)).toEqual(['10.0.0.3']);
    second.close();
    expect(sockets[0]!.closed).toBe(true);

    const failed = events();
    tcpSocketFactory(TCP, { dns: { ...dns, servers: () => ['10.0.0.53'] } })({
      ...failed.options,
      host: 'nowhere.example',
    });
    made[2]!.requests[0]!.onError('nowhere.example');
    await tick();
    expect(failed.log).toEqual(['error cannot resolve nowhere.example']);
  });

  test('TLS: the TLS socket gets the host (SNI), the session options, and a TCP socket whose callbacks cannot throw into the native one', () => {
    const { TCP, made } = scriptedTCP();
    const e = events();
    const opened: Record<string, unknown>[] = [];
    class TLSSocket {
      readonly tcp: InstanceType<typeof TCP>;
      constructor(o: Record<string, unknown> & { TCP: { io: new (o: object) => InstanceType<typeof TCP> } }) {
        opened.push(o);
        // as Moddable's tlssocket.js: the TCP socket gets the same options and the TLS layer's callbacks
        this.tcp = new o.TCP.io({
          ...o,
          onReadable: () => {
            throw new Error('TLSError: bad certificate'); // what ssl/session throws in the handshake
          },
          onWritable: () => {},
          onError: () => {},
        });
      }
      read() {
        return undefined;
      }
      write() {
        return 0;
      }
      close() {
        this.tcp.close();
      }
    }
    const certificate = new ArrayBuffer(8);
    const sock = tcpSocketFactory(TCP, { tls: { io: TLSSocket as never, secure: { certificate } } })({
      ...e.options,
      host: '10.0.0.7',
    });
    expect(opened[0]).toMatchObject({ address: '10.0.0.7', host: '10.0.0.7', port: 1883, secure: { certificate } });
    expect(made[0]!.options).toMatchObject({ address: '10.0.0.7', port: 1883 }); // the TCP socket under it
    expect(() => made[0]!.options.onReadable.call(undefined as never, 100)).not.toThrow();
    expect(e.log).toEqual(['error Error: TLSError: bad certificate']);
    sock.close();
    expect(made[0]!.closed).toBe(true);
  });

  test('TLS: what write() returns keeps room for the overhead of a record', () => {
    const { TCP, made } = scriptedTCP();
    const written: number[] = [];
    let room = 0;
    class TLSSocket {
      readonly o: TCPOptions;
      constructor(o: TCPOptions) {
        this.o = o;
        made.push({ options: o as never, written: [], closed: false, room: 0 });
      }
      read() {
        return undefined;
      }
      write(b: Uint8Array) {
        if (b.length + 29 > room) throw new Error('would block'); // a record: 5-byte header, 8-byte nonce, 16-byte tag
        written.push(b.length);
        room -= b.length + 29;
        return Math.max(0, room - 32); // session_419.js, SDK >= 5.3.1
      }
      close() {}
    }
    const sock = tcpSocketFactory(TCP, { tls: { io: TLSSocket as never } })(events().options);
    sock.write(new Uint8Array(5000));
    room = 2000;
    made[0]!.options.onWritable.call(undefined as never, room - 96);
    room = 5744;
    made[0]!.options.onWritable.call(undefined as never, room - 96);
    expect(written.reduce((a, b) => a + b)).toBe(5000); // all of it, and never "would block"
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

  test('timers are Timer.set (whole milliseconds, rounded up) and Timer.clear', () => {
    const calls: unknown[] = [];
    const handle = { id: 7 };
    const t = moddableTimers(
      { set: (cb, ms) => (calls.push(['set', ms]), cb(), handle), clear: (h) => calls.push(['clear', h]) },
      { ticks: 0 },
    );
    let fired = 0;
    t.clearTimeout(t.setTimeout(() => fired++, 25));
    t.setTimeout(() => fired++, 2.2);
    expect(calls).toEqual([
      ['set', 25],
      ['clear', handle],
      ['set', 3],
    ]);
    expect(fired).toBe(2);
  });

  test('clearing a timer that already fired is ignored, as Timer.clear does since SDK 5.7.0 (before, it throws)', () => {
    const t = moddableTimers(
      {
        set: () => ({}),
        clear: () => {
          throw new SyntaxError('C: xsGetHostData: invalid');
        },
      },
      { ticks: 0 },
    );
    expect(() => t.clearTimeout(t.setTimeout(() => {}, 1))).not.toThrow();
  });
});
