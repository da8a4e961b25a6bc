// A byte-level scripted peer for client tests: the test sees every byte the client writes
// and decides exactly which bytes arrive, how they are cut, and when the socket is writable.
// It implements the ECMA-419 style socket contract of @umqtt/simple's platform.ts.

export interface ScriptedSocketOptions {
  host: string;
  port: number;
  onReadable(count: number): void;
  onWritable(count: number): void;
  onError(error?: unknown): void;
}

/** Bytes from a hex string with optional spaces: `hex('30 05 00 01 61')`. */
export function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  if (clean.length % 2) throw new Error(`odd hex string: ${s}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Spaced lowercase hex of bytes, for readable assertions. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

export class ScriptedSocket {
  readonly options: ScriptedSocketOptions;
  /** Bytes written by the client and not yet taken by the test. */
  #written: number[] = [];
  #inbox: Uint8Array[] = [];
  /** How many bytes the socket accepts before write() reports it is full. */
  capacity: number;
  #pending = 0;
  closed = false;
  writes = 0;

  constructor(options: ScriptedSocketOptions, capacity: number) {
    this.options = options;
    this.capacity = capacity;
  }

  // ---- the socket contract ----
  read(): Uint8Array | undefined {
    const chunk = this.#inbox.shift();
    return chunk;
  }
  write(bytes: Uint8Array): number {
    if (this.closed) throw new Error('write after close');
    this.writes++;
    for (const b of bytes) this.#written.push(b);
    this.#pending += bytes.length;
    return this.capacity - this.#pending;
  }
  close(): void {
    this.closed = true;
  }

  // ---- the test's side ----
  /** The connection is established: the first onWritable. */
  open(): void {
    this.options.onWritable(this.capacity);
  }
  /** The peer drained everything: writable again. */
  drain(): void {
    this.#pending = 0;
    this.options.onWritable(this.capacity);
  }
  /** Everything written since the last take, as spaced hex. */
  take(): string {
    const out = toHex(Uint8Array.from(this.#written));
    this.#written = [];
    return out;
  }
  /** Delivers bytes to the client, cut into chunks of `chunk` bytes (default: one chunk). */
  send(bytes: Uint8Array | string, chunk = Infinity): void {
    const data = typeof bytes === 'string' ? hex(bytes) : bytes;
    for (let i = 0; i < data.length && !this.closed; i += chunk) {
      const part = data.slice(i, Math.min(data.length, i + chunk));
      this.#inbox.push(part);
      this.options.onReadable(part.length);
    }
  }
  /** The connection fails (reset, peer closed). */
  fail(error: unknown = new Error('connection reset')): void {
    this.options.onError(error);
  }
}

/** A socket factory that hands out ScriptedSockets and remembers them. */
export class ScriptedBroker {
  readonly sockets: ScriptedSocket[] = [];
  capacity: number;

  constructor(capacity = 1 << 20) {
    this.capacity = capacity;
  }

  readonly factory = (options: ScriptedSocketOptions): ScriptedSocket => {
    const s = new ScriptedSocket(options, this.capacity);
    this.sockets.push(s);
    return s;
  };

  /** The most recent socket. */
  get socket(): ScriptedSocket {
    const s = this.sockets[this.sockets.length - 1];
    if (!s) throw new Error('no socket was opened');
    return s;
  }
}

/** Lets queued microtasks (the client's coalesced writes) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}
