// Stand-ins for the Moddable SDK's native modules, running INSIDE XS or QuickJS over the bridge
// protocol. Each behaviour follows the SDK's sources (github.com/Moddable-OpenSource/moddable),
// cited below by file and version, in two profiles the host chooses (BridgeHost's `sdk`):
//
// - 'current': 8.2.3, the newest release;
// - 'oldest': 5.0.0, the oldest release the glue supports (the first with the ECMA-419 socket's
//   "not ready"; tlssocket.js has SNI since 4.1).
//
// Where the releases differ (and the glue has to cope with both):
// - TCP write() returns the free send buffer since 5.3.1 ("419 TCP write always returns updated
//   writable", aec08150d), undefined before;
// - Timer.clear() throws on a timer that already fired or was cleared before 5.7.0 ("Timer.clear
//   never throws #1494", 476da3dc8), and is silent since;
// - the TLS socket's write() returns the TCP socket's room less 32 since 5.3.1 (session_419.js,
//   fa64e165c) and less 96 before, and refuses a record over 16 KiB: a throw since 5.3.1, before
//   nothing is sent and nothing said.
//
// The device glue in dist/ adapts these exactly as it adapts the real ones on a device.
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

/** The SDK profile and the network's DNS servers, asked of the host once. */
let config: { sdk: 'current' | 'oldest'; dns: string[] } | undefined;
const sdk = () => (config ??= JSON.parse(P.text(request(P.CONFIG)))).sdk;
const since531 = () => sdk() === 'current';

/**
 * xsmcGetBufferReadable (xs/sources/xsmc.c, _xsmcGetBuffer, unchanged since 2021): an
 * ArrayBuffer, a typed array of 1-byte elements, or a DataView; anything else is a TypeError.
 */
function readable(buffer: unknown): Uint8Array {
  if (buffer instanceof ArrayBuffer) return new Uint8Array(buffer);
  if (ArrayBuffer.isView(buffer) && ((buffer as Uint8Array).BYTES_PER_ELEMENT ?? 1) === 1)
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  throw new TypeError('invalid buffer');
}

// ---- TCP: modules/io/socket/lwip/tcp.c (5.0.0 - 8.2.3) -------------------------------------

interface TCPOptions {
  address: string;
  port: number;
  onReadable?(count: number): void;
  onWritable?(count: number): void;
  onError?(): void;
  [TLS_HOST]?: { servername: string; verify: boolean; ca: Uint8Array | undefined; overhead: number };
}

/** Set by the TLS stand-in on the TCP socket it opens: the host then does the TLS. */
const TLS_HOST = Symbol('tls over the host');

const sockets = new Map<number, TCP>();
let nextSocket = 1;

export class TCP {
  readonly #id: number;
  readonly #o: TCPOptions;
  /** A TLS stand-in's record overhead: what each write costs the send buffer beyond its bytes. */
  readonly #overhead: number;
  #buffers: Uint8Array[] = [];
  #ready = false;
  #writable = 0;
  #error = false;
  #closed = false;
  /** Why the host's connection failed (the TLS stand-in reads it). */
  why = '';

  constructor(o: TCPOptions) {
    // ipaddr_aton(): an IP address only, "invalid address"; port checked: "invalid port"
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(String(o.address))) throw new Error('invalid address');
    if (!(o.port >= 0 && o.port <= 65535)) throw new RangeError('invalid port');
    this.#id = nextSocket++;
    this.#o = o;
    sockets.set(this.#id, this);
    const tls = o[TLS_HOST];
    this.#overhead = tls ? tls.overhead : 0;
    if (!tls) request(P.OPEN, this.#id, o.port, P.utf8(o.address));
    else {
      const json = P.utf8(JSON.stringify({ address: o.address, servername: tls.servername, verify: tls.verify }));
      const data = new Uint8Array(4 + json.length + (tls.ca?.length ?? 0));
      P.put32(data, 0, json.length);
      data.set(json, 4);
      if (tls.ca) data.set(tls.ca, 4 + json.length);
      request(P.OPEN_TLS, this.#id, o.port, data);
    }
  }

  /** xs_tcp_read: every buffered byte; once they are read, a failure waiting for it is posted. */
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
    // "defer error until pending received data read" (8bca2bffa, 3.7.0): tcpTrigger(kTCPError)
    // posts a message, delivered after this callback returns
    if (this.#error && !this.#closed) request(P.ERROR_AGAIN, this.#id);
    return out.buffer;
  }

  /**
   * xs_tcp_write: "not ready" before the connection is made (and after it failed); undefined
   * when it failed and the failure is not delivered yet; "would block" past tcp_sndbuf();
   * then tcp_write(): the free send buffer after it since 5.3.1, undefined before.
   */
  write(buffer: ArrayBuffer | ArrayBufferView): number | undefined {
    if (!this.#ready) throw new Error('not ready');
    if (this.#error || this.#closed) return undefined;
    const bytes = readable(buffer);
    const cost = bytes.length + this.#overhead;
    if (cost > this.#writable) throw new Error('would block');
    request(P.WRITE, this.#id, 0, bytes);
    this.#writable -= cost;
    return since531() ? this.#writable : undefined;
  }

  /** xs_tcp_close / doClose: the callbacks are removed, nothing is delivered after. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ready = false;
    sockets.delete(this.#id);
    request(P.CLOSE, this.#id);
  }

  /** tcpConnect / tcpSent -> tcpDeliver: onWritable(tcp_sndbuf()), once connected and on each ACK. */
  onHostWritable(count: number): void {
    if (this.#closed || this.#error) return;
    this.#ready = true;
    this.#writable = count;
    this.#o.onWritable?.call(this, count);
  }

  /** tcpReceive -> tcpDeliver: onReadable(every byte buffered). */
  onHostReadable(bytes: Uint8Array): void {
    if (this.#closed || this.#error) return;
    this.#buffers.push(bytes.slice());
    let n = 0;
    for (const b of this.#buffers) n += b.length;
    this.#o.onReadable?.call(this, n);
  }

  /** tcpDeliver with kTCPError: error and not ready; onError once no received byte is left. */
  onHostError(why: string): void {
    if (this.#closed) return;
    this.why ||= why;
    this.#error = true;
    this.#ready = false;
    if (!this.#buffers.length) this.#o.onError?.call(this);
  }
}

// ---- TLS: examples/io/tcp/tlssocket/tlssocket.js with modules/crypt/ssl/session_419.js --------
//
// The handshake and the records are the host's (node:tls against the broker): this stand-in
// keeps the socket's own behaviour. It opens its TCP socket from `options.TCP.io` with the same
// options; onWritable reaches the application only after the handshake, as `count - 96`;
// write() makes one record of its bytes (TLS 1.2 AES-GCM: 29 bytes more on the wire) and
// returns the TCP socket's room less 32 (less 96 before 5.3.1). A certificate that fails
// verification makes ssl/session throw inside the TCP socket's callback (here: its onError,
// where the host reports the failure); what catches it is the caller's business.

/** What a TLS 1.2 AES-GCM record adds: 5-byte header, 8-byte explicit nonce, 16-byte tag. */
const RECORD_OVERHEAD = 29;

export class TLSSocket {
  readonly #callbacks: {
    onReadable: ((n: number) => void) | undefined;
    onWritable: ((n: number) => void) | undefined;
    onError: (() => void) | undefined;
  };
  readonly #socket: TCP & { writable: number; readable: number };
  #ready = false;
  #data: ArrayBuffer | undefined;

  constructor(options: Json & TCPOptions & { host?: string; secure?: Json; TCP: { io: new (o: object) => TCP } }) {
    this.#callbacks = { onReadable: options.onReadable, onWritable: options.onWritable, onError: options.onError };
    // new Session({ serverName: options.host, ...options.secure }); ssl_cert.js verifies against
    // the CA in `certificate` (DER) and the server name, unless `verify` is false
    const session = { serverName: options.host, ...options.secure } as Json;
    const certificate = session.certificate as ArrayBuffer | undefined;
    this.#socket = new options.TCP.io({
      ...options,
      onReadable: (count: number) => this.#onReadable(count),
      onWritable: (count: number) => this.#onWritable(count),
      onError: () => this.#onError(),
      [TLS_HOST]: {
        servername: String(session.serverName ?? ''),
        verify: session.verify !== false,
        ca: certificate ? new Uint8Array(certificate) : undefined,
        overhead: RECORD_OVERHEAD,
      },
    }) as TCP & { writable: number; readable: number };
    this.#socket.readable = this.#socket.writable = 0;
  }

  /** All the data of what was read; what arrived meanwhile is announced from a timer. */
  read(): ArrayBuffer | undefined {
    const data = this.#data;
    this.#data = undefined;
    if (this.#socket.readable)
      Timer.set(() => {
        if (this.#socket.readable) this.#onReadable(this.#socket.readable);
      });
    return data;
  }

  write(buffer: ArrayBuffer | ArrayBufferView): number {
    const bytes = readable(buffer);
    const s = this.#socket;
    if (since531()) {
      if (bytes.length > 16384) throw new Error('too large');
      s.writable = s.write(bytes) as number;
      return Math.max(0, s.writable - 32);
    }
    if (bytes.length <= 16384) {
      s.write(bytes); // 5.0.0: over 16 KiB, session.write returns -1 and nothing is sent
      s.writable -= bytes.length + RECORD_OVERHEAD;
    }
    return Math.max(0, s.writable - 96);
  }

  close(): void {
    this.#socket.close();
  }

  #onWritable(count: number): void {
    this.#socket.writable = count;
    this.#ready = true; // the host's handshake is done when its socket first says it is writable
    if (count > 96) this.#callbacks.onWritable?.(count - 96);
  }

  #onReadable(count: number): void {
    this.#socket.readable = count;
    if (this.#data) return;
    this.#data = this.#socket.read();
    this.#socket.readable = 0;
    if (this.#data) this.#callbacks.onReadable?.(this.#data.byteLength);
  }

  #onError(): void {
    if (!this.#ready && this.#socket.why.startsWith('tls:'))
      throw new Error(`TLSError: handshake: ${this.#socket.why.slice(4)}`);
    this.#callbacks.onError?.();
  }
}

// ---- DNS: examples/io/udp/dns/dns.js (5.0.0 - 8.2.3), the module behind -----------------------
// "embedded:network/dns/resolver/udp" (examples/io/udp/dns/manifest_dns.json)

interface Lookup {
  resolver: Resolver;
  host: string;
  onResolved: ((host: string, address: string) => void) | undefined;
  onError: ((host: string) => void) | undefined;
}
const lookups = new Map<number, Lookup>();
let nextLookup = 1;

export class Resolver {
  readonly #servers: string[];
  #udp: unknown;

  /** `options.servers.slice()`: an array is required (undefined throws a TypeError). */
  constructor(options: { servers: string[]; socket: unknown }) {
    this.#servers = options.servers.slice();
    this.#udp = options.socket;
  }

  /** Stops every lookup of this resolver: no callback follows. */
  close(): void {
    this.#udp = undefined;
    for (const [id, l] of lookups) if (l.resolver === this) lookups.delete(id);
  }

  /**
   * Throws without a host, without callbacks, or once closed. "localhost" is 127.0.0.1; an IPv4
   * address resolves to itself on the first tick of the resolver's timer. A name is asked of
   * servers[state % servers.length] every second: with no server that is servers[NaN], the
   * write throws (caught) and the lookup never ends, neither resolved nor failed. Here the host
   * looks the name up (node:dns) for the servers; the answer comes back as onResolved(host,
   * address) or onError(host), called on the resolver.
   */
  resolve(options: { host: string; onResolved?(host: string, address: string): void; onError?(host: string): void }) {
    let host = options.host;
    if (!host || (!options.onResolved && !options.onError) || !this.#udp) throw new Error();
    host = String(host);
    if (host === 'localhost') host = '127.0.0.1';
    if (!this.#servers.length && !/^\d+\.\d+\.\d+\.\d+$/.test(host)) {
      report({ type: 'dns-stuck', host }); // what a device would do: nothing, forever
      return;
    }
    const id = nextLookup++;
    lookups.set(id, { resolver: this, host, onResolved: options.onResolved, onError: options.onError });
    request(P.RESOLVE, id, 0, P.utf8(host));
  }
}

// ---- Timer: modules/base/timer/modTimer.c and mc/timer.c; Time: modules/base/time/esp/modTime.c --

interface TimerHandle {
  readonly id: number;
}
/** Live timers: what to run, and the interval of a repeating one (0: one-shot). */
const timers = new Map<number, { fire(): void; repeat: number; handle: TimerHandle }>();
let nextTimer = 1;

/** xsmcToInteger: toward zero, NaN is 0. */
const integer = (v: unknown) => Math.trunc(Number(v)) || 0;

export const Timer = Object.freeze({
  /**
   * modTimerAdd(): due at ticks + delay (whole milliseconds, a negative one is due at once),
   * then every `repeat` ms after the previous due time; modTimersExecute() runs a timer once
   * ticks - due >= 0, never before. The callback gets the timer as its argument.
   */
  set(callback: (id: TimerHandle) => void, delay = 0, repeat = 0): TimerHandle {
    const handle = Object.freeze({ id: nextTimer++ });
    timers.set(handle.id, { fire: () => callback.call(globalThis, handle), repeat: integer(repeat), handle });
    request(P.TIMER_SET, handle.id, Math.max(0, integer(delay)));
    return handle;
  },
  repeat(callback: (id: TimerHandle) => void, interval: number): TimerHandle {
    return Timer.set(callback, interval, interval);
  },
  /**
   * 8.2.3 (since 5.7.0): anything that is not a live timer is ignored. 5.0.0: not an object is
   * ignored; a timer that fired (one-shot) or was cleared, or another object, throws
   * xsGetHostData's SyntaxError.
   */
  clear(handle?: TimerHandle): void {
    const live = handle && typeof handle === 'object' && timers.get(handle.id)?.handle === handle;
    if (!live) {
      if (sdk() === 'current' || handle === null || typeof handle !== 'object') return;
      throw new SyntaxError('C: xsGetHostData: invalid');
    }
    timers.delete(handle.id);
    request(P.TIMER_CLEAR, handle.id);
  },
});

export const Time = Object.freeze({
  /** xs_time_ticks: xsmcSetInteger(modMilliseconds()): the uint32 tick count as a signed 32-bit integer. */
  get ticks(): number {
    return P.getFloat64(request(P.NOW)) | 0;
  },
});

// ---- Flash: modules/files/flash/flash.js and esp32/flash.c (unchanged 5.0.0 - 8.2.3) ----------

export class Flash {
  readonly #byteLength: number;

  /** esp_partition_find_first(DATA, ANY, name): "can't find partition" when there is none. */
  constructor(partition: string) {
    const info = request(P.FLASH_INFO, 0, 0, P.utf8(String(partition)));
    if (P.get32(info, 0) !== 4096) throw new Error('the stand-in models ESP32 flash: 4,096-byte sectors');
    this.#byteLength = P.get32(info, 4);
  }
  /** SPI_FLASH_SEC_SIZE, whatever the partition. */
  get blockSize(): number {
    return 4096;
  }
  get byteLength(): number {
    return this.#byteLength;
  }
  /** A new ArrayBuffer of byteLength bytes; "read failed" outside the partition. */
  read(offset: number, byteLength: number): ArrayBuffer {
    return this.#call(() => request(P.FLASH_READ, integer(offset), integer(byteLength)).slice().buffer, 'read');
  }
  /**
   * Any readable buffer (xsmcGetBufferReadable) with at least byteLength bytes, byteLength > 0,
   * else "invalid"; esp_partition_write() with flash encryption off: NOR, bits only cleared.
   */
  write(offset: number, byteLength: number, buffer: ArrayBuffer | ArrayBufferView): void {
    const n = integer(byteLength);
    const bytes = readable(buffer);
    if (n <= 0 || bytes.length < n) throw new Error('invalid');
    this.#call(() => request(P.FLASH_WRITE, integer(offset), 0, bytes.subarray(0, n)), 'write');
  }
  /** esp_partition_erase_range(sector * 4096, 4096): all 0xFF; "erase failed" outside. */
  erase(sector: number): void {
    this.#call(() => request(P.FLASH_ERASE, integer(sector)), 'erase');
  }
  #call<T>(f: () => T, what: string): T {
    try {
      return f();
    } catch {
      throw new Error(`${what} failed`);
    }
  }
}

/** ECMA-419 UDP: only handed to the resolver stand-in, which does its lookups through the host. */
export class UDP {}

/**
 * Moddable's `net` module (modules/network/net/esp/modNet.c, since 2020): `Net.get("DNS")` is a
 * new array of the lwIP DNS servers, empty when there are none; never undefined.
 */
export const Net = Object.freeze({
  get(what: string): unknown {
    if (what !== 'DNS') return undefined;
    sdk();
    return config!.dns.slice();
  },
});

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
        sockets.get(f.id)?.onHostError(P.text(f.data));
        break;
      case P.TIMER: {
        const t = timers.get(f.id);
        if (!t) break; // cleared meanwhile
        // a repeating timer is due `repeat` ms after its previous due time ("non-drifting")
        if (t.repeat) request(P.TIMER_SET, f.id, t.repeat, Uint8Array.of(1));
        try {
          t.fire();
        } finally {
          // a one-shot timer is live during its callback (it may clear itself), dead after it
          if (!t.repeat && timers.get(f.id) === t) timers.delete(f.id);
        }
        break;
      }
      case P.RESOLVED: {
        const l = lookups.get(f.id);
        lookups.delete(f.id);
        if (l)
          f.data.length ? l.onResolved?.call(l.resolver, l.host, P.text(f.data)) : l.onError?.call(l.resolver, l.host);
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
    // An exception that reached a native callback: on a device it is uncaught. Reported, and the
    // tests fail on it.
    const message = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
    if (f.op === P.CALL) return P.failed(message).buffer as ArrayBuffer;
    report({ type: 'error', op: f.op, message });
  }
  return P.ok().buffer as ArrayBuffer;
};
