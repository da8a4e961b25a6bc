// The host side of the bridge: does an engine's I/O in Node.js. Real TCP sockets (to an aedes
// broker in the tests), real timers, a tick counter, DNS, and a flash partition that outlives
// the engine. Engine requests are answered synchronously; what happens on the host side
// (bytes arrive, a socket drains, a timer fires) becomes an event, queued and delivered to the
// engine one at a time. An event's frame is made when it is delivered, so what it says (the
// free send buffer above all) is true at that moment, and events of a socket or timer the
// engine closed meanwhile are dropped.
import { lookup } from 'node:dns';
import { connect, type Socket } from 'node:net';
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
}

interface HostSocket {
  sock: Socket;
  /** Bytes written and not yet handed to the kernel. */
  pending: number;
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
  readonly #timers = new Map<number, ReturnType<typeof setTimeout>>();
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
    for (const t of this.#timers.values()) clearTimeout(t);
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
      case P.WRITE: {
        const s = this.#sockets.get(f.id);
        if (!s || s.closed) throw new Error(`write on socket ${f.id}, which is closed`);
        if (s.failed) return P.ok(); // the ERROR event is on its way
        const n = f.data.length;
        if (n > this.#sendBuffer - s.pending)
          throw new Error(`socket ${f.id}: ${n} bytes written, only ${this.#sendBuffer - s.pending} free`);
        s.pending += n;
        this.written.bytes += n;
        if (n > this.written.largest) this.written.largest = n;
        s.sock.write(Buffer.from(f.data), () => {
          s.pending -= n;
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
        const id = f.id;
        this.#timers.set(
          id,
          setTimeout(() => {
            if (!this.#timers.delete(id)) return;
            this.#enqueue({ make: () => P.frame(P.TIMER, id) });
          }, f.arg),
        );
        return P.ok();
      }
      case P.TIMER_CLEAR:
        clearTimeout(this.#timers.get(f.id));
        this.#timers.delete(f.id);
        return P.ok();
      case P.NOW:
        return P.ok(P.float64((this.#ticks0 + Math.floor(performance.now() - this.#t0)) % 2 ** 32));
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

  #flash(): Flash {
    if (!this.flash) throw new Error("can't find partition");
    return this.flash;
  }

  #open(id: number, address: string, port: number): void {
    if (this.#closed) throw new Error('bridge closed');
    const sock = connect({ host: address, port });
    sock.setNoDelay(true);
    const s: HostSocket = { sock, pending: 0, writableQueued: false, failed: false, closed: false };
    this.#sockets.set(id, s);
    const live = () => !s.closed && this.#sockets.get(id) === s;
    sock.on('connect', () => this.#writable(id, s));
    sock.on('data', (chunk: Buffer) =>
      this.#enqueue({ make: () => (live() ? P.frame(P.READABLE, id, 0, chunk) : undefined) }),
    );
    const fail = (e?: Error) => {
      if (s.failed) return;
      s.failed = true;
      const why = P.utf8(e ? ((e as NodeJS.ErrnoException).code ?? e.message) : 'closed by the peer');
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
