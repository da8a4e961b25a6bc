// A simulated TCP/IP network on virtual time. A device opens sockets shaped like the ECMA-419 ones
// @umqtt/simple takes (packages/simple/src/platform.ts; apps/node/src/transport/adapt.ts and
// apps/esp32/src/device/socket.ts adapt Node's and Moddable's real ones to that contract):
//
// - write() queues everything and returns the room left in the send buffer (0 or less: wait for
//   onWritable); onWritable(count) first means "connected", then "room again": after the buffer
//   drained (Node's 'drain') or whenever acknowledged bytes free space (Moddable's lwip `sent`);
// - onReadable(count) when bytes arrive; read() takes them all; onError() once, never after close();
// - no callback from inside the factory.
//
// Between the ends: latency with jitter, bandwidth, segments of at most one MSS cut at any byte
// (fragmentation), a receive window (a peer that stops reading stops the sender, whose buffer
// then fills: a slow reader), and faults: reset at any byte in either direction, half-open
// silence without close, partitions (bytes wait, as TCP retransmits, until the path heals, and
// new connects hang), refused connections (a node that is down), connects that hang, DNS failure.
import { SOCKET_CLOSED } from '@umqtt/node';
import type { Random } from './random.js';
import { WireTap } from './trace.js';
import type { Event, World } from './world.js';

/** How one device's connections behave (drawn per device from the seed). */
export interface LinkProfile {
  /** One-way latency, ms. */
  latency: number;
  /** Extra latency, uniform in [0, jitter), ms (arrivals keep their order). */
  jitter: number;
  /** Bytes per ms. */
  bandwidth: number;
  /** Largest segment, bytes. */
  mss: number;
  /** Chance a segment arrives cut in two at a random byte. */
  fragment: number;
  /** The device's send buffer: what write() counts room against. */
  sendBuffer: number;
  /** Bytes that may be unread at a receiver before its sender stops. */
  window: number;
  /** `drain`: onWritable once the buffer is empty (Node); `sent`: on every acknowledged segment (Moddable). */
  writable: 'drain' | 'sent';
}

/** Faults of one connection, decided when it opens. */
export interface ConnectionFaults {
  /** The name lookup fails (the host is a name). */
  dns?: boolean;
  /** SYN lost: the connect hangs until the OS gives up (ms) or the client closes. */
  hang?: number;
  /** Reset when this many bytes have gone device -> broker. */
  resetUp?: number;
  /** Reset when this many bytes have gone broker -> device. */
  resetDown?: number;
  /** After this many ms open, the connection goes silent both ways for good (a NAT dropped it). */
  halfOpen?: number;
}

/** The broker's side of a connection. */
export interface ServerEnd {
  readonly id: number;
  /** The device's client id for traces, once known. */
  label: string;
  /** Bytes from the device (set by the listener). */
  onData: ((bytes: Uint8Array) => void) | undefined;
  /** The connection ended: `closed` by the peer (FIN) or `reset`. Not called after close(). */
  onClose: ((how: 'closed' | 'reset') => void) | undefined;
  write(bytes: Uint8Array): void;
  /** FIN after the written bytes. */
  close(): void;
  /** RST now. */
  reset(): void;
  /** Stop / resume reading (a slow reader). */
  pause(): void;
  resume(): void;
  readonly open: boolean;
}

/** A broker node listening on the network. */
export interface Listener {
  accept(end: ServerEnd): void;
}

/** What a device's platform provides the network: its guard, its clock's loop, its power. */
export interface DeviceHooks {
  readonly name: string;
  readonly link: LinkProfile;
  /** Runs a platform callback into the device (catches its exceptions, ignores a dead device). */
  guard(what: string, fn: () => void): void;
  /** Faults for a new connection to `host`. */
  faults(host: string): ConnectionFaults;
  /** False once the device lost power. */
  readonly alive: boolean;
  /** Counts bytes on the wire in both directions. */
  wire: { up: number; down: number };
}

/** The error a simulated socket reports (shaped like Node's system errors). */
export class NetError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'NetError';
  }
}

interface Node {
  host: string;
  port: number;
  listener: Listener;
  /** Accepts connections (false: the process is down, connects are refused). */
  up: boolean;
  /** Reachable (false: the machine is off or cut off, connects hang, packets wait). */
  reachable: boolean;
}

let connectionIds = 0;

/** One direction of a connection: a send buffer, segments in flight, arrival in order. */
class Pipe {
  chunks: Uint8Array[] = [];
  queued = 0;
  /** Bytes transmitted so far. */
  sent = 0;
  inFlight = 0;
  lastArrival = 0;
  /** Set while a segment is being put on the wire. */
  busy: Event | undefined;
  /** Bytes after which the connection resets. */
  resetAt = Infinity;
  /** FIN queued after the data. */
  finishing = false;
  constructor(
    readonly conn: Connection,
    readonly up: boolean,
  ) {}

  push(bytes: Uint8Array): void {
    if (!bytes.length) return;
    this.chunks.push(bytes);
    this.queued += bytes.length;
    this.pump();
  }

  /** Takes the next `n` queued bytes (views of the written arrays: the writer handed them over). */
  take(n: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    let o = 0;
    while (o < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - o);
      out.push(k === c.length ? c : c.subarray(0, k));
      o += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.queued -= n;
    return out;
  }

  pump(): void {
    const conn = this.conn;
    if (this.busy || conn.state !== 'open' || conn.stalled || conn.resetting) return;
    const net = conn.net;
    const world = net.world;
    if (!this.queued) {
      if (this.finishing && !this.inFlight) {
        this.finishing = false;
        conn.finArrives(this.up);
      }
      return;
    }
    const link = conn.link;
    const unread = this.up ? conn.serverUnread : 0;
    const allowed = link.window - unread - this.inFlight;
    if (allowed <= 0) return; // the receiver is not reading: wait for it
    let n = Math.min(link.mss, this.queued, allowed);
    const cut = this.sent + n > this.resetAt;
    if (cut) n = this.resetAt - this.sent;
    const bytes = n > 0 ? this.take(n) : undefined;
    this.sent += n;
    if (this.up) conn.device.wire.up += n;
    else conn.device.wire.down += n;
    const r = conn.random;
    const at = Math.max(this.lastArrival, world.now + link.latency + r.float(0, link.jitter));
    this.lastArrival = at;
    if (bytes) {
      this.inFlight += n;
      const parts = r.chance(link.fragment) && n > 1 ? split(bytes, r.int(1, n - 1)) : bytes;
      world.at(at, () => {
        this.inFlight -= n;
        for (const part of parts) conn.arrive(this.up, part);
        this.pump();
      });
    }
    if (cut) {
      conn.net.note(conn, `fault: reset after ${this.resetAt} bytes ${this.up ? 'up' : 'down'}`);
      this.resetAt = Infinity;
      conn.resetting = true;
      world.at(at, () => conn.reset('fault'));
      return;
    }
    this.busy = world.after(n / link.bandwidth, () => {
      this.busy = undefined;
      this.pump();
    });
    if (this.up) conn.sendRoom();
  }

  clear(): void {
    this.chunks = [];
    this.queued = 0;
    this.conn.net.world.cancel(this.busy);
    this.busy = undefined;
  }
}

/** Cuts a segment (a list of views) in two at byte `at`. */
function split(parts: Uint8Array[], at: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const p of parts) {
    if (at > 0 && at < p.length) out.push(p.subarray(0, at), p.subarray(at));
    else out.push(p);
    at -= p.length;
  }
  return out;
}

/** One TCP connection between a device and a broker node. */
class Connection {
  readonly id = ++connectionIds;
  state: 'connecting' | 'open' | 'closed' = 'connecting';
  readonly up: Pipe;
  readonly down: Pipe;
  /** Partitioned or half-open: nothing moves. */
  stalled = false;
  /** A reset is on its way (fault): nothing more is sent. */
  resetting = false;
  halfOpen = false;
  serverUnread = 0;
  serverQueue: Uint8Array[] = [];
  serverPaused = false;
  /** Bytes arrived at the device and not yet read. */
  inbox: Uint8Array[] = [];
  inboxBytes = 0;
  /** The device called close(): no callbacks to it. */
  deviceClosed = false;
  /** The last write() returned 0 or less: onWritable is owed. */
  deviceBlocked = false;
  errorSent = false;
  server: ServerEnd | undefined;
  serverClosed = false;
  readonly tapUp: WireTap | undefined;
  readonly tapDown: WireTap | undefined;

  constructor(
    readonly net: Network,
    readonly device: DeviceHooks,
    readonly node: Node,
    readonly options: { onReadable(n: number): void; onWritable(n: number): void; onError(e?: unknown): void },
    readonly random: Random,
  ) {
    this.up = new Pipe(this, true);
    this.down = new Pipe(this, false);
    const trace = net.world.trace;
    if (trace) {
      this.tapUp = new WireTap(trace, `${device.name}>${node.host}`);
      this.tapDown = new WireTap(trace, `${node.host}>${device.name}`, this.tapUp);
    }
  }

  get link(): LinkProfile {
    return this.device.link;
  }

  /** Room in the device's send buffer. */
  room(): number {
    return this.link.sendBuffer - this.up.queued;
  }

  /** The server end of an open connection. */
  accept(): void {
    const end = serverEnd(this);
    this.server = end;
    this.node.listener.accept(end);
  }

  /** Bytes reach one end. */
  arrive(up: boolean, bytes: Uint8Array): void {
    if (this.state !== 'open') return;
    if (up) {
      if (this.serverClosed) return;
      this.tapUp?.push(this.net.world.now, bytes);
      this.serverQueue.push(bytes);
      this.serverUnread += bytes.length;
      this.flushServer();
    } else {
      if (this.deviceClosed || !this.device.alive) return;
      this.tapDown?.push(this.net.world.now, bytes);
      this.inbox.push(bytes);
      this.inboxBytes += bytes.length;
      const count = this.inboxBytes;
      this.device.guard('onReadable', () => this.options.onReadable(count));
    }
  }

  flushServer(): void {
    while (this.serverQueue.length && !this.serverPaused && this.state === 'open' && !this.serverClosed) {
      const b = this.serverQueue.shift()!;
      this.serverUnread -= b.length;
      this.server!.onData?.(b);
    }
    this.up.pump();
  }

  /** The device's read(). */
  read(): Uint8Array | undefined {
    if (!this.inbox.length) return undefined;
    const out = this.inbox.length === 1 ? this.inbox[0]! : concat(this.inbox, this.inboxBytes);
    this.inbox = [];
    this.inboxBytes = 0;
    return out;
  }

  /** Space freed in the device's send buffer. */
  sendRoom(): void {
    if (!this.deviceBlocked || this.deviceClosed || this.state !== 'open') return;
    const room = this.room();
    if (room <= 0) return;
    if (this.link.writable === 'drain' && this.up.queued) return;
    this.deviceBlocked = false;
    this.device.guard('onWritable', () => this.options.onWritable(room));
  }

  /** A FIN reaches the other end after the data before it. */
  finArrives(up: boolean): void {
    this.net.world.at(this.up.lastArrival > this.down.lastArrival ? this.up.lastArrival : this.down.lastArrival, () => {
      if (this.state !== 'open') return;
      if (up) {
        // the device closed: the broker sees the end of the stream
        this.state = 'closed';
        this.stopPipes();
        this.server?.onClose?.('closed');
      } else {
        this.state = 'closed';
        this.stopPipes();
        this.deviceError(new NetError(SOCKET_CLOSED, 'connection closed by the peer'));
      }
    });
  }

  /** RST: both ends learn at once (the far one after the latency). */
  reset(cause: 'fault' | 'broker' | 'node-crash' | 'timeout'): void {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    this.stopPipes();
    const world = this.net.world;
    const code = cause === 'timeout' ? 'ETIMEDOUT' : wasOpen ? 'ECONNRESET' : 'ECONNREFUSED';
    const delay = cause === 'fault' || cause === 'timeout' ? 0 : this.link.latency;
    world.after(delay, () => this.deviceError(new NetError(code, `${code} (${cause})`)));
    if (wasOpen && !this.serverClosed) {
      this.serverClosed = true;
      const server = this.server;
      world.after(cause === 'broker' ? 0 : this.link.latency, () => server?.onClose?.('reset'));
    }
  }

  deviceError(e: NetError): void {
    if (this.errorSent || this.deviceClosed) return;
    this.errorSent = true;
    this.net.note(this, `socket error ${e.code}`);
    this.device.guard('onError', () => this.options.onError(e));
  }

  stopPipes(): void {
    this.up.clear();
    this.down.clear();
    this.inbox = [];
    this.inboxBytes = 0;
    this.serverQueue = [];
    this.serverUnread = 0;
  }

  /** The device lost power: its end is gone without a word. */
  vanish(): void {
    this.deviceClosed = true;
    this.up.clear();
    this.inbox = [];
    this.inboxBytes = 0;
    if (this.state === 'connecting') this.state = 'closed';
  }
}

/** The broker's handle on a connection. */
function serverEnd(conn: Connection): ServerEnd {
  return {
    id: conn.id,
    label: conn.device.name,
    onData: undefined,
    onClose: undefined,
    get open() {
      return conn.state === 'open' && !conn.serverClosed;
    },
    write(bytes) {
      if (conn.state !== 'open' || conn.serverClosed || conn.down.finishing) return;
      conn.down.push(bytes);
    },
    close() {
      if (conn.state !== 'open' || conn.serverClosed) return;
      conn.serverClosed = true;
      conn.down.finishing = true;
      conn.down.pump();
    },
    reset() {
      if (conn.state !== 'open') return;
      conn.serverClosed = true;
      conn.reset('broker');
    },
    pause() {
      conn.serverPaused = true;
    },
    resume() {
      if (!conn.serverPaused) return;
      conn.serverPaused = false;
      conn.net.world.after(0, () => conn.flushServer());
    },
  };
}

function concat(list: Uint8Array[], n: number): Uint8Array {
  const out = new Uint8Array(n);
  let o = 0;
  for (const b of list) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

/** The network: broker nodes by host, the devices' sockets, partitions. */
export class Network {
  readonly world: World;
  readonly #random: Random;
  readonly #nodes = new Map<string, Node>();
  readonly #conns = new Set<Connection>();
  /** Device names cut off from hosts: `${device}|${host}` or `${device}|*`. */
  readonly #cut = new Set<string>();
  /** Connections opened so far. */
  opened = 0;

  constructor(world: World, random: Random) {
    this.world = world;
    this.#random = random;
  }

  note(conn: Connection, text: string): void {
    this.world.trace?.note(this.world.now, `net#${conn.id}`, `${conn.device.name}<->${conn.node.host} ${text}`);
  }

  listen(host: string, port: number, listener: Listener): void {
    this.#nodes.set(host, { host, port, listener, up: true, reachable: true });
  }

  /**
   * The broker process on `host` stops (its connections reset, connects refused) or starts. On a
   * clean shutdown (`closing`), connections the broker already closed keep what is on its way
   * (its FIN follows its last bytes).
   */
  setUp(host: string, up: boolean, closing = false): void {
    const node = this.#nodes.get(host)!;
    node.up = up;
    if (!up)
      for (const c of [...this.#conns]) if (c.node === node && !(closing && c.serverClosed)) c.reset('node-crash');
  }

  /** The machine `host` becomes unreachable (packets wait, connects hang) or reachable again. */
  setReachable(host: string, reachable: boolean): void {
    const node = this.#nodes.get(host)!;
    node.reachable = reachable;
    this.#restall();
  }

  /** Cuts `device` off from `host` (or from every host: `*`) or heals the cut. */
  partition(device: string, host: string, cut: boolean): void {
    const key = `${device}|${host}`;
    if (cut) this.#cut.add(key);
    else this.#cut.delete(key);
    this.#restall();
  }

  /** Every partition heals (half-open connections stay silent: that is their fault). */
  healAll(): void {
    this.#cut.clear();
    this.#restall();
  }

  #blocked(device: string, node: Node): boolean {
    return !node.reachable || this.#cut.has(`${device}|${node.host}`) || this.#cut.has(`${device}|*`);
  }

  #restall(): void {
    for (const c of this.#conns) {
      const stalled = c.halfOpen || this.#blocked(c.device.name, c.node);
      if (stalled === c.stalled) continue;
      c.stalled = stalled;
      if (!stalled) {
        c.up.pump();
        c.down.pump();
      }
    }
  }

  /** The socket factory of one device. */
  factory(device: DeviceHooks) {
    return (options: {
      host: string;
      port: number;
      onReadable(n: number): void;
      onWritable(n: number): void;
      onError(e?: unknown): void;
    }) => {
      const world = this.world;
      const node = this.#nodes.get(options.host);
      const faults = device.faults(options.host);
      const fake: Node = node ?? {
        host: options.host,
        port: options.port,
        listener: { accept: (end) => end.reset() },
        up: false,
        reachable: true,
      };
      const conn = new Connection(this, device, fake, options, this.#random.fork());
      this.opened++;
      this.#conns.add(conn);
      const link = device.link;
      const rtt = 2 * link.latency + conn.random.float(0, link.jitter);
      this.note(conn, `connect to ${options.host}:${options.port}`);
      const refuse = (code: string, why: string, after: number) =>
        world.after(after, () => {
          if (conn.state !== 'connecting') return;
          conn.state = 'closed';
          this.#conns.delete(conn);
          conn.deviceError(new NetError(code, why));
        });
      if (faults.dns) {
        this.note(conn, 'fault: name lookup fails');
        refuse('ENOTFOUND', `cannot resolve ${options.host}`, conn.random.float(1, 5000));
      } else if (!node || options.port !== node.port) refuse('ECONNREFUSED', 'nothing listens there', rtt);
      else if (faults.hang !== undefined || this.#blocked(device.name, node)) {
        const ms = faults.hang ?? conn.random.float(20_000, 130_000);
        this.note(
          conn,
          `connect hangs (${faults.hang !== undefined ? 'fault' : 'unreachable'}) for ${ms.toFixed(0)} ms`,
        );
        refuse('ETIMEDOUT', 'connect timed out', ms);
      } else if (!node.up) refuse('ECONNREFUSED', 'connection refused', rtt);
      else
        world.after(rtt, () => {
          if (conn.state !== 'connecting' || conn.deviceClosed) {
            this.#conns.delete(conn);
            return;
          }
          if (!node.up) return refuse('ECONNREFUSED', 'connection refused', 0);
          if (this.#blocked(device.name, node)) return refuse('ETIMEDOUT', 'connect timed out', 60_000);
          conn.state = 'open';
          if (faults.resetUp !== undefined) conn.up.resetAt = faults.resetUp;
          if (faults.resetDown !== undefined) conn.down.resetAt = faults.resetDown;
          if (faults.halfOpen !== undefined)
            world.after(faults.halfOpen, () => {
              if (conn.state !== 'open') return;
              this.note(conn, 'fault: half-open (silence both ways, no close)');
              conn.halfOpen = true;
              conn.stalled = true;
            });
          conn.accept();
          const room = conn.room();
          device.guard('onWritable', () => options.onWritable(room));
        });
      const socket = {
        read: () => (conn.deviceClosed ? undefined : conn.read()),
        write: (bytes: Uint8Array) => {
          if (!device.alive) return 0; // the power failed in this very turn: nothing leaves
          if (conn.deviceClosed) throw new NetError('EPIPE', 'write after close');
          if (conn.state === 'closed') return 0;
          conn.up.push(bytes);
          const room = conn.room();
          if (room <= 0) conn.deviceBlocked = true;
          return room;
        },
        close: () => {
          if (conn.deviceClosed) return;
          conn.deviceClosed = true;
          this.note(conn, 'closed by the device');
          if (conn.state === 'connecting') {
            conn.state = 'closed';
            this.#conns.delete(conn);
          } else if (conn.state === 'open') {
            conn.up.finishing = true;
            conn.up.pump();
          }
        },
        conn,
      };
      return socket;
    };
  }

  /** A device lost power: its connections go silent from its side. */
  vanish(device: DeviceHooks): void {
    for (const c of this.#conns) if (c.device === device) c.vanish();
  }

  /** Drops connections that ended (keeps the set small in long runs). */
  sweep(): void {
    for (const c of this.#conns) if (c.state === 'closed' && (c.deviceClosed || c.errorSent)) this.#conns.delete(c);
  }

  /** Open connections (for checks). */
  get connections(): number {
    let n = 0;
    for (const c of this.#conns) if (c.state === 'open') n++;
    return n;
  }
}
