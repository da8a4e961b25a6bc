// The host side of the bridge: does an engine's I/O in Node.js. Real TCP sockets (to an aedes
// broker in the tests), real timers, a tick counter, DNS, and a flash partition that outlives
// the engine. Engine requests are answered synchronously; what happens on the host side
// (bytes arrive, a socket drains, a timer fires) becomes an event, queued and delivered to the
// engine one at a time. An event's frame is made when it is delivered, so what it says (the
// free send buffer above all) is true at that moment, and events of a socket or timer the
// engine closed meanwhile are dropped.
import { lookup } from 'node:dns';
import { connect, isIP, type Socket } from 'node:net';
import { checkServerIdentity, connect as connectTls } from 'node:tls';
import type { Flash } from '@umqtt/store-flash';
import * as P from './protocol.js';

/** How the host talks to one engine: XS or QuickJS. */
export interface EngineDriver {
  readonly name: string;
  /** Hands one event to the engine and returns its answer, after its promise jobs ran. */
  deliver(frame: Uint8Array): Promise<Uint8Array>;
  /** Ends the engine at once (a power cut for the device it plays). */
  close(): Promise<void>;
}

export interface Report {
  type: string;
  [key: string]: unknown;
}

export interface BridgeHostOptions {
  /** The flash partition `new Flash("storage")` opens in the engine. */
  flash?: Flash | undefined;
  /** The free send buffer of each socket, in bytes (lwIP on an ESP32: 5744). Default 5744. */
  sendBuffer?: number | undefined;
  /** The tick counter's value when the host starts; it wraps at 2^32. Default 2^32 - 1500. */
  ticksStart?: number | undefined;
  /** Prints every report. */
  verbose?: boolean | undefined;
  /**
   * Which Moddable SDK the stand-ins of natives.ts behave as: 'current' (8.2.3) or 'oldest'
   * (5.0.0, the oldest the glue supports). Default 'current'.
   */
  sdk?: 'current' | 'oldest' | undefined;
  /** What `Net.get("DNS")` returns (the servers DHCP gave). Default one server. */
  dns?: string[] | undefined;
}

/** A TLS connection the host made for the engine's TLS socket: what it asked for. */
export interface TlsSession {
  servername: string;
  verify: boolean;
  /** The handshake succeeded (the certificate was verified when `verify`). */
  established: boolean;
  /** Why it failed (an OpenSSL code such as UNABLE_TO_VERIFY_LEAF_SIGNATURE). */
  error?: string;
}

interface HostSocket {
  sock: Socket;
  /** Bytes written and not yet handed to the kernel (for TLS, with each record's overhead). */
  pending: number;
  /** What each write costs beyond its bytes (a TLS record's overhead, as the engine counts it). */
  overhead: number;
  writableQueued: boolean;
  failed: boolean;
  closed: boolean;
}

interface QueuedEvent {
  make(): Uint8Array | undefined;
  done?(answer: Uint8Array): void;
  fail?(e: unknown): void;
}

export class BridgeHost {
  readonly reports: Report[] = [];
  readonly flash: Flash | undefined;
  /** Counts of requests by op, for the curious. */
  readonly requests = new Map<number, number>();
  /** Bytes the engine wrote to sockets, and the largest single write. */
  readonly written = { bytes: 0, largest: 0 };
  readonly #sendBuffer: number;
  readonly #ticks0: number;
  readonly #t0 = performance.now();
  readonly #verbose: boolean;
  readonly #sockets = new Map<number, HostSocket>();
  readonly #timers = new Map<number, { handle: ReturnType<typeof setTimeout>; due: number }>();
  /** The due tick of each timer the engine armed (kept after it fires: a repeat counts from it). */
  readonly #due = new Map<number, number>();
  readonly #sdk: 'current' | 'oldest';
  readonly #dns: string[];
  /** The TLS connections made for the engine, in order. */
  readonly tlsSessions: TlsSession[] = [];
  readonly #queue: QueuedEvent[] = [];
  #driver: EngineDriver | undefined;
  #pumping = false;
  #closed = false;
  /** Set when delivering an event failed: the engine is broken. */
  crash: unknown;

  constructor(options: BridgeHostOptions = {}) {
    this.flash = options.flash;
    this.#sendBuffer = options.sendBuffer ?? 5744;
    this.#ticks0 = options.ticksStart ?? 2 ** 32 - 1500;
    this.#verbose = options.verbose ?? false;
    this.#sdk = options.sdk ?? 'current';
    this.#dns = options.dns ?? ['192.0.2.53'];
  }

  /** Whole milliseconds since the host started: what the tick counter counts. */
  #elapsed(): number {
    return Math.floor(performance.now() - this.#t0);
  }

  /** The tick counter now: milliseconds, unsigned 32-bit, wrapping (modMilliseconds()). */
  #ticks(): number {
    return (this.#ticks0 + this.#elapsed()) % 2 ** 32;
  }

  /** Starts delivering events to `driver`. */
  attach(driver: EngineDriver): void {
    this.#driver = driver;
    this.#pump();
  }

  /** Calls the engine's test application. */
  call<T = unknown>(fn: string, arg?: unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#enqueue({
        make: () => P.frame(P.CALL, 0, 0, P.utf8(JSON.stringify({ fn, arg }))),
        done: (answer) => {
          if (answer[0]) reject(new Error(`engine: ${fn}() failed: ${P.text(answer.subarray(1))}`));
          else resolve(JSON.parse(P.text(answer.subarray(1))) as T);
        },
        fail: reject,
      });
    });
  }

  /** Reports of one type, optionally filtered. */
  find(type: string, where: (r: Report) => boolean = () => true): Report[] {
    return this.reports.filter((r) => r.type === type && where(r));
  }

  /** Closes every socket and timer of the engine; later events are dropped. */
  close(): void {
    this.#closed = true;
    for (const s of this.#sockets.values()) s.sock.destroy();
    this.#sockets.clear();
    for (const t of this.#timers.values()) clearTimeout(t.handle);
    this.#timers.clear();
    for (const e of this.#queue.splice(0)) e.fail?.(new Error('bridge closed'));
  }

  /** Answers one request of the engine. Synchronous: the engine waits for it. */
  request(bytes: Uint8Array): Uint8Array {
    const f = P.parse(bytes);
    this.requests.set(f.op, (this.requests.get(f.op) ?? 0) + 1);
    try {
      return this.#answer(f);
    } catch (e) {
      return P.failed(e instanceof Error ? e.message : String(e));
    }
  }

  #answer(f: P.Frame): Uint8Array {
    switch (f.op) {
      case P.OPEN:
        this.#open(f.id, P.text(f.data), f.arg);
        return P.ok();
      case P.OPEN_TLS: {
        const n = P.get32(f.data, 0);
        const o = JSON.parse(P.text(f.data.subarray(4, 4 + n))) as {
          address: string;
          servername: string;
          verify: boolean;
        };
        this.#open(f.id, o.address, f.arg, { ...o, ca: f.data.slice(4 + n) });
        return P.ok();
      }
      case P.ERROR_AGAIN: {
        const s = this.#sockets.get(f.id);
        if (s?.failed)
          this.#enqueue({ make: () => (this.#sockets.get(f.id) === s ? P.frame(P.ERROR, f.id) : undefined) });
        return P.ok();
      }
      case P.CONFIG:
        return P.ok(P.utf8(JSON.stringify({ sdk: this.#sdk, dns: this.#dns })));
      case P.WRITE: {
        const s = this.#sockets.get(f.id);
        if (!s || s.closed) throw new Error(`write on socket ${f.id}, which is closed`);
        if (s.failed) return P.ok(); // the ERROR event is on its way
        const n = f.data.length;
        const cost = n + s.overhead;
        if (cost > this.#sendBuffer - s.pending)
          throw new Error(`socket ${f.id}: ${cost} bytes written, only ${this.#sendBuffer - s.pending} free`);
        s.pending += cost;
        this.written.bytes += n;
        if (n > this.written.largest) this.written.largest = n;
        s.sock.write(Buffer.from(f.data), () => {
          s.pending -= cost;
          this.#writable(f.id, s);
        });
        return P.ok();
      }
      case P.CLOSE: {
        const s = this.#sockets.get(f.id);
        this.#sockets.delete(f.id);
        if (s) {
          s.closed = true;
          s.sock.end(); // what was written still goes out, then FIN
          setTimeout(() => s.sock.destroy(), 2000).unref();
        }
        return P.ok();
      }
      case P.TIMER_SET: {
        // due = ticks + delay, or (a repeat) the previous due time + interval; delivered once
        // the tick counter has reached it, never before (mc/timer.c, modTimersExecute)
        const previous = f.data[0] ? this.#due.get(f.id) : undefined;
        const due = (previous ?? this.#elapsed()) + f.arg;
        this.#due.set(f.id, due);
        this.#arm(f.id, due);
        return P.ok();
      }
      case P.TIMER_CLEAR:
        clearTimeout(this.#timers.get(f.id)?.handle);
        this.#timers.delete(f.id);
        this.#due.delete(f.id);
        return P.ok();
      case P.NOW:
        return P.ok(P.float64(this.#ticks()));
      case P.RESOLVE: {
        const id = f.id;
        lookup(P.text(f.data), { family: 4 }, (err, address) =>
          this.#enqueue({ make: () => P.frame(P.RESOLVED, id, 0, err ? undefined : P.utf8(address)) }),
        );
        return P.ok();
      }
      case P.FLASH_INFO: {
        const flash = this.flash;
        if (!flash || P.text(f.data) !== 'storage') throw new Error("can't find partition");
        const out = new Uint8Array(8);
        P.put32(out, 0, flash.blockSize);
        P.put32(out, 4, flash.byteLength);
        return P.ok(out);
      }
      case P.FLASH_READ: {
        const got = this.#flash().read(f.id, f.arg);
        return P.ok(got instanceof Uint8Array ? got : new Uint8Array(got));
      }
      case P.FLASH_WRITE:
        this.#flash().write(f.id, f.data.slice());
        return P.ok();
      case P.FLASH_ERASE:
        this.#flash().erase(f.id);
        return P.ok();
      case P.REPORT: {
        const r = JSON.parse(P.text(f.data)) as Report;
        this.reports.push(r);
        if (this.#verbose) console.log(`[${this.#driver?.name ?? 'engine'}]`, JSON.stringify(r));
        return P.ok();
      }
    }
    throw new Error(`unknown request ${f.op}`);
  }

  /** Delivers TIMER for `id` once the tick counter reaches `due` (in #elapsed() terms). */
  #arm(id: number, due: number): void {
    const handle = setTimeout(
      () => {
        if (this.#timers.get(id)?.handle !== handle) return;
        if (due > this.#elapsed()) return this.#arm(id, due); // Node's timers may fire a little early
        this.#timers.delete(id);
        this.#enqueue({ make: () => P.frame(P.TIMER, id) });
      },
      Math.max(0, due - this.#elapsed()),
    );
    this.#timers.set(id, { handle, due });
  }

  #flash(): Flash {
    if (!this.flash) throw new Error("can't find partition");
    return this.flash;
  }

  #open(
    id: number,
    address: string,
    port: number,
    tls?: { servername: string; verify: boolean; ca: Uint8Array },
  ): void {
    if (this.#closed) throw new Error('bridge closed');
    let session: TlsSession | undefined;
    let sock: Socket;
    if (!tls) sock = connect({ host: address, port });
    else {
      // What Moddable's ssl/session does, done by node:tls: TLS 1.2 (protocolVersion 0x303),
      // the CA given as `certificate` (DER), SNI and the certificate's name from the server name.
      session = { servername: tls.servername, verify: tls.verify, established: false };
      this.tlsSessions.push(session);
      const name = tls.servername;
      const pem = tls.ca.length
        ? `-----BEGIN CERTIFICATE-----\n${Buffer.from(tls.ca).toString('base64')}\n-----END CERTIFICATE-----\n`
        : undefined;
      sock = connectTls({
        host: address,
        port,
        servername: name && !isIP(name) ? name : undefined,
        ca: pem,
        rejectUnauthorized: tls.verify,
        minVersion: 'TLSv1.2',
        maxVersion: 'TLSv1.2',
        checkServerIdentity: (_host, cert) =>
          name ? checkServerIdentity(name, cert) : new Error('tls_server_name required'),
      });
    }
    sock.setNoDelay(true);
    const s: HostSocket = {
      sock,
      pending: 0,
      overhead: tls ? 29 : 0,
      writableQueued: false,
      failed: false,
      closed: false,
    };
    this.#sockets.set(id, s);
    const live = () => !s.closed && this.#sockets.get(id) === s;
    sock.on(tls ? 'secureConnect' : 'connect', () => {
      if (session) session.established = true;
      this.#writable(id, s);
    });
    sock.on('data', (chunk: Buffer) =>
      this.#enqueue({ make: () => (live() ? P.frame(P.READABLE, id, 0, chunk) : undefined) }),
    );
    const fail = (e?: Error) => {
      if (s.failed) return;
      s.failed = true;
      let reason = e ? ((e as NodeJS.ErrnoException).code ?? e.message) : 'closed by the peer';
      if (session && !session.established) {
        session.error = reason;
        reason = `tls:${reason}`; // the handshake failed: the TLS stand-in throws, as ssl/session does
      }
      const why = P.utf8(reason);
      this.#enqueue({ make: () => (live() ? P.frame(P.ERROR, id, 0, why) : undefined) });
    };
    sock.on('error', fail);
    sock.on('end', () => fail());
    sock.on('close', () => fail());
  }

  /** Queues one WRITABLE event for a socket (at most one waits at a time). */
  #writable(id: number, s: HostSocket): void {
    if (s.writableQueued || s.failed || s.closed) return;
    s.writableQueued = true;
    this.#enqueue({
      make: () => {
        s.writableQueued = false;
        if (s.closed || s.failed || this.#sockets.get(id) !== s) return undefined;
        return P.frame(P.WRITABLE, id, this.#sendBuffer - s.pending);
      },
    });
  }

  #enqueue(e: QueuedEvent): void {
    if (this.#closed) {
      e.fail?.(new Error('bridge closed'));
      return;
    }
    this.#queue.push(e);
    this.#pump();
  }

  #pump(): void {
    if (this.#pumping || !this.#driver || this.crash) return;
    this.#pumping = true;
    void (async () => {
      try {
        while (this.#queue.length && this.#driver && !this.#closed) {
          const e = this.#queue.shift()!;
          const frame = e.make();
          if (!frame) continue;
          let answer: Uint8Array;
          try {
            answer = await this.#driver.deliver(frame);
          } catch (err) {
            this.crash = err;
            this.reports.push({ type: 'crash', message: String(err) });
            e.fail?.(err);
            for (const rest of this.#queue.splice(0)) rest.fail?.(err);
            return;
          }
          e.done?.(answer);
        }
      } finally {
        this.#pumping = false;
      }
    })();
  }
}
