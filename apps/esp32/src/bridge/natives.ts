// Stand-ins for the Moddable SDK's native modules, running INSIDE XS or QuickJS over the bridge
// protocol, with the behaviour the Moddable sources document: an ECMA-419 TCP socket (IP
// address only, "not ready" before connect, "would block" past the free send buffer, onError
// only after the received bytes were read, onWritable with the free send buffer), a DNS
// resolver, `Timer` and `Time` (a 32-bit tick counter that wraps), and a `flash` partition
// (read returns an ArrayBuffer, write takes one). The device glue in dist/ adapts them exactly
// as it adapts the real ones on a device.
//
// Importing this module installs the global `handleCommand` that receives the host's events.
// CALL events go to the application registered with `serve()`.
import * as P from './protocol.js';

declare function issueCommand(request: ArrayBuffer): ArrayBuffer;

type Json = Record<string, unknown>;

export function request(op: number, id = 0, arg = 0, data?: Uint8Array): Uint8Array {
  const reply = new Uint8Array(issueCommand(P.frame(op, id, arg, data).buffer as ArrayBuffer));
  if (reply[0]) throw new Error(P.text(reply.subarray(1)));
  return reply.subarray(1);
}

export function report(what: Json): void {
  request(P.REPORT, 0, 0, P.utf8(JSON.stringify(what)));
}

const later = (f: () => void) => void Promise.resolve().then(f);

// ---- the natives -------------------------------------------------------------------------

interface TCPOptions {
  address: string;
  port: number;
  onReadable(count: number): void;
  onWritable(count: number): void;
  onError(): void;
}

const sockets = new Map<number, TCP>();
let nextSocket = 1;

export class TCP {
  readonly #id: number;
  readonly #o: TCPOptions;
  #buffers: Uint8Array[] = [];
  #ready = false;
  #writable = 0;
  #error = false;
  #closed = false;

  constructor(o: TCPOptions) {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(String(o.address))) throw new Error('invalid address');
    if (!(o.port >= 0 && o.port <= 65535)) throw new RangeError('invalid port');
    this.#id = nextSocket++;
    this.#o = o;
    sockets.set(this.#id, this);
    request(P.OPEN, this.#id, o.port, P.utf8(o.address));
  }

  read(): ArrayBuffer | undefined {
    const list = this.#buffers;
    if (!list.length) return undefined;
    let n = 0;
    for (const b of list) n += b.length;
    const out = new Uint8Array(n);
    n = 0;
    for (const b of list) {
      out.set(b, n);
      n += b.length;
    }
    this.#buffers = [];
    if (this.#error) later(() => this.#fireError());
    return out.buffer;
  }

  write(buffer: ArrayBuffer | ArrayBufferView): number | undefined {
    if (!this.#ready) throw new Error('not ready');
    if (this.#error || this.#closed) return undefined;
    const bytes =
      buffer instanceof ArrayBuffer
        ? new Uint8Array(buffer)
        : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    if (bytes.length > this.#writable) throw new Error('would block');
    request(P.WRITE, this.#id, 0, bytes);
    this.#writable -= bytes.length;
    return this.#writable;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    sockets.delete(this.#id);
    request(P.CLOSE, this.#id);
  }

  onHostWritable(count: number): void {
    if (this.#closed || this.#error) return;
    this.#ready = true;
    this.#writable = count;
    this.#o.onWritable.call(this, count);
  }

  onHostReadable(bytes: Uint8Array): void {
    if (this.#closed || this.#error) return;
    this.#buffers.push(bytes.slice());
    let n = 0;
    for (const b of this.#buffers) n += b.length;
    this.#o.onReadable.call(this, n);
  }

  onHostError(): void {
    if (this.#closed || this.#error) return;
    this.#error = true;
    this.#ready = false;
    if (!this.#buffers.length) this.#fireError(); // else after the bytes were read
  }

  #fireError(): void {
    if (!this.#closed) this.#o.onError.call(this);
  }
}

const lookups = new Map<
  number,
  { host: string; onResolved(host: string, address: string): void; onError(host: string): void }
>();
let nextLookup = 1;

export class Resolver {
  constructor(_options?: unknown) {}
  resolve(r: { host: string; onResolved(host: string, address: string): void; onError(host: string): void }): void {
    const id = nextLookup++;
    lookups.set(id, r);
    request(P.RESOLVE, id, 0, P.utf8(String(r.host)));
  }
}

interface TimerHandle {
  readonly id: number;
}
/** Armed timers: what to run, and the interval of a repeating one (0: one-shot). */
const timers = new Map<number, { fire(): void; repeat: number }>();
let nextTimer = 1;

export const Timer = Object.freeze({
  set(callback: (id: TimerHandle) => void, delay = 0, repeat = 0): TimerHandle {
    const handle = Object.freeze({ id: nextTimer++ });
    timers.set(handle.id, { fire: () => callback(handle), repeat: Math.max(0, Math.floor(repeat)) });
    request(P.TIMER_SET, handle.id, Math.max(0, Math.floor(delay)));
    return handle;
  },
  repeat(callback: (id: TimerHandle) => void, interval: number): TimerHandle {
    return Timer.set(callback, interval, interval || 1);
  },
  clear(handle: TimerHandle): void {
    if (!handle || typeof handle.id !== 'number') throw new TypeError('Timer.clear: not a timer');
    if (timers.delete(handle.id)) request(P.TIMER_CLEAR, handle.id);
  },
});

export const Time = Object.freeze({
  get ticks(): number {
    return P.getFloat64(request(P.NOW));
  },
});

export class Flash {
  readonly #size: Uint8Array;
  constructor(partition: string) {
    this.#size = request(P.FLASH_INFO, 0, 0, P.utf8(String(partition))).slice();
  }
  get blockSize(): number {
    return P.get32(this.#size, 0);
  }
  get byteLength(): number {
    return P.get32(this.#size, 4);
  }
  read(offset: number, byteLength: number): ArrayBuffer {
    return request(P.FLASH_READ, offset, byteLength).slice().buffer as ArrayBuffer;
  }
  write(offset: number, byteLength: number, buffer: ArrayBuffer): void {
    if (!(buffer instanceof ArrayBuffer) || buffer.byteLength < byteLength)
      throw new TypeError('flash.write: expected an ArrayBuffer of byteLength bytes');
    request(P.FLASH_WRITE, offset, 0, new Uint8Array(buffer, 0, byteLength));
  }
  erase(sector: number): void {
    request(P.FLASH_ERASE, sector);
  }
}

/** ECMA-419 UDP: only handed to the resolver stand-in, which does its lookups through the host. */
export class UDP {}

/** Moddable's `net` module: no DHCP-provided DNS servers here. */
export const Net = Object.freeze({ get: (_what: string): unknown => undefined });

/** Globals of Moddable's XS a firmware uses: `trace` (to the host as a report), `String.fromArrayBuffer`. */
export function installModdableGlobals(): void {
  const g = globalThis as any;
  g.trace = (...parts: unknown[]) => report({ type: 'trace', text: parts.join('') }); // XS has its own: replaced
  (String as any).fromArrayBuffer ??= (buffer: ArrayBuffer) => P.text(new Uint8Array(buffer));
}

type App = Record<string, (arg: any) => unknown>;
let app: App = {};

/** The application that CALL events reach. */
export function serve(handlers: App): void {
  app = handlers;
}

// ---- events from the host ----------------------------------------------------------------

(globalThis as any).handleCommand = (buffer: ArrayBuffer): ArrayBuffer => {
  const f = P.parse(new Uint8Array(buffer));
  try {
    switch (f.op) {
      case P.READABLE:
        sockets.get(f.id)?.onHostReadable(f.data);
        break;
      case P.WRITABLE:
        sockets.get(f.id)?.onHostWritable(f.arg);
        break;
      case P.ERROR:
        sockets.get(f.id)?.onHostError();
        break;
      case P.TIMER: {
        const t = timers.get(f.id);
        if (!t) break; // cleared meanwhile
        if (t.repeat) request(P.TIMER_SET, f.id, t.repeat);
        else timers.delete(f.id);
        t.fire();
        break;
      }
      case P.RESOLVED: {
        const r = lookups.get(f.id);
        lookups.delete(f.id);
        if (r) f.data.length ? r.onResolved(r.host, P.text(f.data)) : r.onError(r.host);
        break;
      }
      case P.CALL: {
        const { fn, arg } = JSON.parse(P.text(f.data)) as { fn: string; arg: unknown };
        const call = app[fn];
        if (!call) throw new Error(`no app function ${fn}`);
        const result = call(arg);
        return P.ok(P.utf8(JSON.stringify(result === undefined ? null : result))).buffer as ArrayBuffer;
      }
      default:
        throw new Error(`unknown event ${f.op}`);
    }
  } catch (e) {
    const message = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
    if (f.op === P.CALL) return P.failed(message).buffer as ArrayBuffer;
    report({ type: 'error', op: f.op, message });
  }
  return P.ok().buffer as ArrayBuffer;
};
