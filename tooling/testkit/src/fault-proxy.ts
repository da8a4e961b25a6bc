// A TCP proxy on loopback that injects network faults between a client and a broker.
import { connect, createServer, type Socket } from 'node:net';

export type Direction = 'up' | 'down'; // up: client -> target, down: target -> client

export interface FaultCounters {
  /** Connections accepted and proxied (refused ones are not counted here). */
  connections: number;
  /** Connections refused by `refuse()`. */
  refused: number;
  /** Proxied connections still open. */
  active: number;
  /** Bytes forwarded client -> target and target -> client. */
  bytesUp: number;
  bytesDown: number;
}

export interface FaultProxy {
  host: '127.0.0.1';
  port: number;
  url: string;
  /** Live counters. */
  readonly counters: Readonly<FaultCounters>;
  /**
   * Once `bytes` more bytes have passed in `direction` on a connection (counted from now on
   * live connections, from the start on new ones), reset both sides (RST).
   */
  resetAfter(bytes: number, direction: Direction): void;
  /** Keep every connection open but drop all bytes both ways, FIN included: half-open. */
  blackhole(): void;
  /** Forward each chunk `ms` later than it arrived (order kept). */
  delay(ms: number): void;
  /** Forward in writes of at most `size` bytes, one event-loop turn apart. */
  fragment(size: number): void;
  /** Close new connections at once. */
  refuse(): void;
  /** Clear every fault: plain pass-through for data from now on. */
  heal(): void;
  /** Destroy every live connection (both sides). */
  dropAll(): void;
  /** Stop listening and destroy everything. */
  close(): Promise<void>;
}

interface Faults {
  reset: { bytes: number; direction: Direction } | undefined;
  blackhole: boolean;
  delayMs: number;
  fragmentSize: number;
  refuse: boolean;
}

const HIGH_WATER = 1 << 20; // pause a source with this many bytes queued
const RESET_GRACE_MS = 20;
const healthy = (): Faults => ({
  reset: undefined,
  blackhole: false,
  delayMs: 0,
  fragmentSize: 0,
  refuse: false,
});

/** Resolves when a connecting socket connects or closes, whichever comes first. */
function connected(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('connect', done).off('close', done);
      resolve();
    };
    socket.on('connect', done).on('close', done);
  });
}

/** One proxied connection: two lanes, each forwarding one direction. */
class Link {
  closed = false;
  resetting = false;
  readonly timers = new Set<NodeJS.Timeout>();
  readonly lanes: Record<Direction, Lane>;

  constructor(
    readonly client: Socket,
    readonly server: Socket,
    faults: Faults,
    counters: FaultCounters,
  ) {
    this.lanes = {
      up: new Lane(this, 'up', client, server, faults, counters),
      down: new Lane(this, 'down', server, client, faults, counters),
    };
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  /**
   * Stops forwarding at once; the RST follows a moment later, so that a peer on this host
   * reads the bytes already sent first (Linux reports a RST that finds unread bytes as EOF).
   */
  reset() {
    if (this.closed || this.resetting) return;
    this.resetting = true;
    void this.sleep(RESET_GRACE_MS).then(() => this.destroy(true));
  }

  destroy(reset: boolean) {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const socket of [this.client, this.server]) {
      if (reset && !socket.destroyed) socket.resetAndDestroy();
      else socket.destroy();
    }
  }
}

class Lane {
  budget: number | undefined; // bytes left before a reset, when one is set
  readonly #queue: { chunk: Buffer; at: number }[] = [];
  #queued = 0;
  #pumping = false;
  #ended = false;

  constructor(
    readonly link: Link,
    readonly direction: Direction,
    readonly from: Socket,
    readonly to: Socket,
    readonly faults: Faults,
    readonly counters: FaultCounters,
  ) {
    this.budget = faults.reset?.direction === direction ? faults.reset.bytes : undefined;
    from.on('data', (chunk: Buffer) => this.#receive(chunk));
    from.on('end', () => {
      if (this.faults.blackhole) return;
      this.#ended = true;
      void this.#pump();
    });
  }

  #receive(chunk: Buffer) {
    if (this.faults.blackhole || this.link.resetting) return;
    this.#queue.push({ chunk, at: performance.now() + this.faults.delayMs });
    this.#queued += chunk.length;
    if (this.#queued > HIGH_WATER) this.from.pause();
    void this.#pump();
  }

  async #pump() {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      if (this.to.connecting) await connected(this.to);
      for (let item = this.#queue[0]; item && !this.#stopped(); item = this.#queue[0]) {
        const wait = item.at - performance.now();
        if (wait > 0) await this.link.sleep(wait);
        this.#queue.shift();
        this.#queued -= item.chunk.length;
        if (!this.faults.blackhole) await this.#forward(item.chunk);
        if (this.#queued <= HIGH_WATER && this.from.isPaused()) this.from.resume();
      }
      if (this.#ended && !this.#stopped() && this.#queue.length === 0) this.to.end();
    } finally {
      this.#pumping = false;
    }
  }

  async #forward(chunk: Buffer) {
    const fragmenting = this.faults.fragmentSize > 0;
    const size = fragmenting ? this.faults.fragmentSize : chunk.length;
    for (let offset = 0; offset < chunk.length; offset += size) {
      // Each piece from a check phase: a poll phase, where receivers read, lies between two.
      if (fragmenting) await new Promise((resolve) => setImmediate(resolve));
      if (this.#stopped()) return;
      let piece = chunk.subarray(offset, offset + size);
      const resetNow = this.budget !== undefined && piece.length >= this.budget;
      if (resetNow) piece = piece.subarray(0, this.budget);
      else if (this.budget !== undefined) this.budget -= piece.length;
      if (piece.length > 0) await this.#write(piece);
      if (resetNow) return this.link.reset();
    }
  }

  #stopped() {
    return this.link.closed || this.link.resetting;
  }

  /** Writes and waits until the bytes are handed to the kernel. */
  #write(piece: Buffer): Promise<void> {
    this.counters[this.direction === 'up' ? 'bytesUp' : 'bytesDown'] += piece.length;
    return new Promise((resolve) => this.to.write(piece, () => resolve()));
  }
}

/** Starts a fault proxy on 127.0.0.1 (free port) in front of `target`. */
export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  const faults = healthy();
  const counters: FaultCounters = {
    connections: 0,
    refused: 0,
    active: 0,
    bytesUp: 0,
    bytesDown: 0,
  };
  const links = new Set<Link>();

  const server = createServer({ allowHalfOpen: true }, (client) => {
    if (faults.refuse) {
      counters.refused++;
      client.destroy();
      return;
    }
    counters.connections++;
    counters.active++;
    const upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true });
    const link = new Link(client, upstream, faults, counters);
    links.add(link);
    const onClose = (hadError: boolean) => {
      // A reset on one side is passed on as a reset; in a blackhole nothing is passed on.
      if (hadError && !faults.blackhole) link.reset();
      if (client.destroyed && upstream.destroyed && links.delete(link)) {
        link.destroy(false);
        counters.active--;
      }
    };
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true);
      socket.on('error', () => {}); // reported through 'close' (hadError)
      socket.on('close', onClose);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;

  const dropAll = () => {
    for (const link of links) link.destroy(false);
  };
  return {
    host: '127.0.0.1',
    port,
    url: `mqtt://127.0.0.1:${port}`,
    counters,
    resetAfter(bytes, direction) {
      if (!(bytes >= 0)) throw new RangeError(`resetAfter: bytes must be >= 0, got ${bytes}`);
      faults.reset = { bytes, direction };
      for (const link of links) {
        link.lanes[direction].budget = bytes;
        link.lanes[direction === 'up' ? 'down' : 'up'].budget = undefined;
      }
    },
    blackhole() {
      faults.blackhole = true;
    },
    delay(ms) {
      faults.delayMs = Math.max(0, ms);
    },
    fragment(size) {
      if (!(size >= 1)) throw new RangeError(`fragment: size must be >= 1, got ${size}`);
      faults.fragmentSize = Math.floor(size);
    },
    refuse() {
      faults.refuse = true;
    },
    heal() {
      Object.assign(faults, healthy());
      for (const link of links) link.lanes.up.budget = link.lanes.down.budget = undefined;
    },
    dropAll,
    async close() {
      faults.refuse = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      dropAll();
      await closed;
    },
  };
}
