// One MQTT 3.1.1 connection over an injected socket: the driver of @umqtt/session's Session.
// The session decides (packet ids, stages, window, keepalive, timeouts); this class moves bytes
// between it and the socket, flushes once per turn, keeps one timer at the session's next
// deadline, and hands the session's events to the application's callbacks. No call waits for
// the network: outcomes arrive through callbacks and the connect() promise.
import {
  Parser,
  UmqttError,
  clientDecoders,
  encodeConnect,
  encodeUtf8,
  INVALID_ARGUMENT,
  CONNECT,
  type ConnectPacket,
  type Subscription,
  type QoS,
} from '@umqtt/codec';
import {
  Session,
  DEFAULT_CLEAN,
  DEFAULT_KEEPALIVE,
  DEFAULT_MAX_PACKET_SIZE,
  MESSAGE_EVENT,
  STATUS_EVENT,
  CONNECTED_EVENT,
  ISSUE_EVENT,
  INCOMING_EVENT,
  type Message,
  type PublishOptions,
  type SessionOptions,
  type SessionState,
  type SessionWrite,
  type Status,
  type StatusEvent,
} from '@umqtt/session';
import {
  ALREADY_CONNECTED,
  CALLBACK_ERROR,
  INTERNAL,
  SLOW_READER,
  CONNECTION_LOST,
  NOT_CONNECTED,
  WRITE_TIMEOUT,
  error,
} from './errors.js';
import type { Socket, SocketFactory, Timers } from './platform.js';

export type { Message, Status };

/**
 * State of the connection: `idle` before `connect()`, `connecting` until CONNACK, `connected`,
 * `closed` after it ended (a new `connect()` is allowed).
 *
 * @example
 * if (client.state === 'connected') client.publish('status', 'ok');
 */
export type State = 'idle' | 'connecting' | 'connected' | 'closed';

/**
 * Options of {@link MqttClient}. Only `socket`, `timers` and `host` are required.
 *
 * @example
 * const options: ClientOptions = {
 *   socket: createTcpSocketFactory(), // from @umqtt/node, or your own
 *   timers: nodeTimers,
 *   host: 'broker.local',
 *   clientId: 'sensor-42',
 *   clean: false,
 *   keepAlive: 30,
 *   will: { topic: 'sensors/42/online', payload: 'no', qos: 1, retain: true },
 * };
 */
export interface ClientOptions extends SessionOptions {
  /** Opens the socket (apps/node provides TCP and TLS ones; a device passes its own). */
  socket: SocketFactory;
  /** Clock and timers. */
  timers: Timers;
  /** Broker host: whatever the socket factory understands (a name on Node, an IP address on Moddable). */
  host: string;
  /** Default 1883. */
  port?: number | undefined;
  /** Default '' (the broker assigns one; needs clean session). */
  clientId?: string | undefined;
  /** User name sent in CONNECT. */
  username?: string | undefined;
  /** Password sent in CONNECT, as a string (UTF-8) or bytes; needs `username`. */
  password?: string | Uint8Array | undefined;
  /**
   * Last will, published by the broker if the connection ends without DISCONNECT: `topic`
   * (a topic name), `payload` (a string, sent as UTF-8, or bytes), `qos` (default 0) and
   * `retain` (default false).
   */
  will?:
    { topic: string; payload: string | Uint8Array; qos?: QoS | undefined; retain?: boolean | undefined } | undefined;
  /** Milliseconds the socket may refuse our bytes before the connection counts as dead. Default 30000. */
  socketTimeout?: number | undefined;
  /** Receives every issue as it is recorded (robust2's DEBUG). */
  logger?: ((issue: Issue) => void) | undefined;
  /** What the connection speaks when not MQTT 3.1.1 (`@umqtt/simple/v5`'s `MqttClient5` passes MQTT 5's). */
  protocol?: Protocol | undefined;
}

/**
 * A protocol version other than 3.1.1: its session, its parser and its CONNECT. The 3.1.1 ones
 * are built in; `@umqtt/simple/v5` gives MQTT 5's, so a 3.1.1 bundle holds no MQTT 5 code.
 *
 * @example
 * const client = new MqttClient5({ socket, timers, host }); // passes { protocol: MQTT 5's } to MqttClient
 */
export interface Protocol {
  /** The session core of a connection. */
  session(options: SessionOptions, write: SessionWrite): Session;
  /** A parser of the broker's packets, refusing any over `maxPacketSize`. */
  parser(maxPacketSize: number): Parser;
  /** CONNECT for these options. */
  connect(options: ClientOptions): Uint8Array;
  /**
   * The connection ends (`error` says why, none when asked to): what to write to the socket
   * before it closes (MQTT 5: DISCONNECT with the reason code of a protocol error we found).
   * Must not throw.
   */
  abort?(error: UmqttError | undefined, socket: Socket | undefined): void;
}

export type { PublishOptions };

/**
 * A recorded problem: when, where, what.
 *
 * @example
 * const client = new MqttClient({ ...options, logger: (issue: Issue) => console.log(issue.place, issue.error.code) });
 * // or, later, the last 16:
 * for (const issue of client.issues) console.log(issue.time, issue.place, issue.error.code);
 */
export interface Issue {
  /** When, from `timers.now()` (milliseconds). */
  time: number;
  /** Where: connect, publish, subscribe, read, write, keepalive, callback... */
  place: string;
  /** What happened. */
  error: UmqttError;
}

/** Acknowledgements and pings that may wait unwritten before the broker counts as not reading (16,384 PUBACKs). */
const MAX_OWED_BYTES = 65_536;
/** Packets below this size are joined into one write; larger ones are written as they are. */
const JOIN_BELOW = 4096;
/** The most bytes joined into one write. */
const JOIN_MAX = 16_384;
/** Room assumed when a socket's onWritable does not say how much it takes: one turn's worth. */
const DEFAULT_ROOM = 16_384;
/** Issues kept in `issues`. */
const HISTORY = 16;

/**
 * One MQTT 3.1.1 connection.
 *
 * @example
 * const client = new MqttClient({ socket: createTcpSocketFactory(), timers: nodeTimers, host: 'localhost' });
 * client.onMessage = (m) => console.log(m.topic, m.payload);
 * client.onStatus = (id, status) => console.log(id, status);
 * await client.connect();
 * client.subscribe('sensors/#', 1);
 * client.publish('sensors/t1', '21.5', { qos: 1 });
 */
export class MqttClient {
  /** Called for each received message. */
  onMessage: ((message: Message) => void) | undefined;
  /**
   * Called with the outcome of each QoS 1/2 publish, subscribe and unsubscribe, by packet id
   * (with the SUBACK's return codes, the `ref` its publish was given, and in MQTT 5 what the
   * acknowledgement said besides its codes).
   */
  onStatus:
    ((id: number, status: Status, granted?: number[], ref?: unknown, ack?: StatusEvent['ack']) => void) | undefined;
  /** Called when the connection ends after it was established: `error` says why and where, none after disconnect(). */
  onClose: ((error?: UmqttError) => void) | undefined;
  /** Called when publishing may resume: the window and the socket have room again. */
  onWritable: (() => void) | undefined;
  /**
   * Called when an incoming QoS 2 packet id is held (PUBREC sent: a resend of it is not handed
   * over again) or released (PUBREL arrived, or the broker kept no session): what a persistent
   * session saves so that a message is handed over once across a reboot.
   */
  onIncoming: ((id: number, held: boolean) => void) | undefined;

  /** The options given to the constructor. */
  readonly options: Readonly<ClientOptions>;
  readonly #t: Timers;
  readonly #session: Session;
  readonly #socketTimeout: number;
  readonly #maxPacketSize: number;
  #sock: Socket | undefined;
  #parser: Parser | undefined;
  #connect: { resolve(sessionPresent: boolean): void; reject(e: UmqttError): void } | undefined;
  // output
  #out: Uint8Array[] = [];
  /** Bytes in #out, not yet given to the socket. */
  #pending = 0;
  /** Bytes the socket said it takes (its last write() or onWritable): `writable` counts #pending against it. */
  #room = 0;
  #blockedSince = 0; // > 0 while the socket refuses bytes (or is not yet open)
  #flushing = false;
  #wasFull = false;
  #timer: unknown;
  #timerDue = Infinity;
  #issues: Issue[] = [];
  /** Bytes of acknowledgements and pings in #out: what the broker makes us owe it. */
  #owed = 0;
  /** Packets kept in #out that count in #owed. */
  #owedPackets: Set<Uint8Array> | undefined;
  /** CONNACK was handled in the current read: the packets after it wait until connect()'s awaiter has run. */
  #deferred = false;
  /** The session's events are being handed to the application (a callback that calls in adds to the same list). */
  #dispatching = false;

  /**
   * Creates an idle client; nothing happens until {@link MqttClient.connect}.
   *
   * @param options - {@link ClientOptions}
   */
  constructor(options: ClientOptions) {
    this.options = options;
    this.#t = options.timers;
    this.#socketTimeout = options.socketTimeout ?? 30_000;
    this.#maxPacketSize = options.maxPacketSize ?? DEFAULT_MAX_PACKET_SIZE;
    const write: SessionWrite = (bytes, tail, owed) => this.#send(bytes, tail, owed);
    // the session reads the same options, maxPacketSize with the same default
    this.#session = options.protocol ? options.protocol.session(options, write) : new Session(options, write);
  }

  /** The connection state: idle, connecting, connected or closed. */
  get state(): State {
    return this.#session.state; // one owner: the session's begin(), CONNACK and end() move it
  }

  /** Recent issues, oldest first (at most 16). */
  get issues(): readonly Issue[] {
    return this.#issues;
  }

  /** QoS 1/2 messages written and not yet acknowledged. */
  get inflight(): number {
    return this.#session.inflight;
  }

  /** Messages waiting locally for the window. */
  get queued(): number {
    return this.#session.queued;
  }

  /**
   * Whether a publish now would go out at once: connected, the window open, and the socket has
   * room for what this turn already published (so `while (client.writable) publish(...)` stops,
   * at QoS 0 too, once the socket's room is used; `onWritable` says when to go on).
   */
  get writable(): boolean {
    return this.#session.open && !this.#blockedSince && this.#pending < this.#room;
  }

  /** What of the session survives a connection (last packet id, incoming QoS 2 ids held): for a persistent session to save. */
  get saved(): SessionState {
    return this.#session.saved;
  }

  /** Restores what a persistent session saved, before `connect()`. */
  restore(state: Partial<SessionState>): void {
    this.#session.restore(state);
  }

  /**
   * Opens the socket and sends CONNECT. Resolves with the broker's "session present" flag
   * once CONNACK accepts; rejects with the refusal (UMQTT_CONNACK_*), a timeout or the
   * socket's failure. Later failures go to `onClose`. `server` overrides the host and port of
   * the options for this connection (failover between the brokers of one cluster keeps the
   * session state of this client).
   */
  connect(server?: { host: string; port?: number | undefined }): Promise<boolean> {
    const state = this.state;
    if (state === 'connecting' || state === 'connected')
      return Promise.reject(error(ALREADY_CONNECTED, `connect() while ${state}`, 'connect'));
    const o = this.options;
    let bytes: Uint8Array;
    try {
      bytes = o.protocol ? o.protocol.connect(o) : encodeConnect(connectPacket(o));
    } catch (e) {
      return Promise.reject(placed(e, 'connect'));
    }
    const now = this.#now();
    this.#session.begin(now);
    this.#parser = o.protocol
      ? o.protocol.parser(this.#maxPacketSize)
      : new Parser(clientDecoders, { maxPacketSize: this.#maxPacketSize });
    // what #end() resets (the output, what we owe, a deferred read) is as it left it, or new
    this.#out = [bytes];
    this.#pending = bytes.length;
    this.#blockedSince = now || 1; // nothing is written before the socket opens
    this.#arm(this.#session.due());
    return new Promise<boolean>((resolve, reject) => {
      this.#connect = { resolve, reject };
      // The platform calls these: nothing thrown inside may escape into it.
      const guard = (place: string, fn: () => void) => {
        if (this.#sock !== sock) return;
        try {
          fn();
        } catch (e) {
          this.#fail(placed(e, place));
        }
      };
      let sock: Socket | undefined;
      try {
        sock = o.socket({
          host: server?.host ?? o.host,
          port: (server ? server.port : o.port) ?? 1883,
          onReadable: () => guard('read', () => this.#readable()),
          onWritable: (count) =>
            guard('write', () => {
              this.#room = count > 0 ? count : DEFAULT_ROOM;
              this.#blockedSince = 0;
              this.#flush();
            }),
          onError: (e?: unknown) =>
            guard('read', () =>
              this.#fail(
                error(
                  CONNECTION_LOST,
                  `connection lost: ${describe(e)}`,
                  this.state === 'connecting' ? 'connect' : 'read',
                ),
              ),
            ),
        });
      } catch (e) {
        this.#fail(error(CONNECTION_LOST, `the socket could not be opened: ${describe(e)}`, 'connect'));
        return;
      }
      if (this.state === 'connecting') this.#sock = sock;
      else sock.close(); // it failed before the factory returned (a factory that broke the contract)
    });
  }

  /**
   * Publishes. Returns the packet id (0 for QoS 0); the outcome of QoS 1/2 arrives through
   * `onStatus`. Beyond the in-flight window the message waits locally (see `writable`).
   * Throws at once on misuse: bad topic, QoS, payload size, not connected, no free id, queue full.
   */
  publish(topic: string, payload: string | Uint8Array, opts?: PublishOptions): number {
    return this.#request('publish', (now) => this.#session.publish(now, topic, payloadBytes(payload), opts));
  }

  /**
   * Resumes a QoS 2 message the broker already acknowledged with PUBREC in an earlier
   * connection of this session: sends PUBREL for `id` and reports PUBCOMP as `delivered`.
   */
  release(id: number, ref?: unknown): number {
    return this.#request('publish', (now) => this.#session.release(now, id, ref));
  }

  /**
   * Subscribes to one filter, several filters at one QoS, or a list of {topic, qos}.
   * Returns the packet id; `onStatus(id, 'delivered' | 'refused', granted, ref)` reports the
   * SUBACK, with `ref` (anything the caller wants back, as a publish's `ref`).
   */
  subscribe(filters: string | string[] | Subscription[], qos: QoS = 0, ref?: unknown): number {
    return this.#request('subscribe', (now) =>
      this.#session.subscribe(
        now,
        (Array.isArray(filters) ? filters : [filters]).map((f) => (typeof f === 'string' ? { topic: f, qos } : f)),
        ref,
      ),
    );
  }

  /**
   * Unsubscribes from one or several filters. Returns the packet id; UNSUBACK reports
   * `delivered` (with `ref`, as `subscribe()`'s).
   */
  unsubscribe(filters: string | string[], ref?: unknown): number {
    return this.#request('unsubscribe', (now) =>
      this.#session.unsubscribe(now, Array.isArray(filters) ? filters : [filters], ref),
    );
  }

  /**
   * Acknowledges an incoming QoS 1/2 message once it is processed (with `manualAcks`): PUBACK,
   * or PUBREC for QoS 2. Reading resumes once fewer than `maxUnacked` wait. A message of an
   * earlier connection, or one already acknowledged, is ignored (the broker sends it again).
   */
  ack(message: Message): void {
    const session = this.#session;
    if (session.state !== 'connected') return;
    const stalled = session.unacked >= session.maxUnacked;
    session.ack(message.id);
    this.#dispatch();
    if (stalled) {
      // reading goes on in a turn of its own: ack() may be called from inside onMessage
      const sock = this.#sock;
      void Promise.resolve().then(() => {
        if (this.#sock === sock && !this.#deferred) this.#drain();
      });
    }
  }

  /** Sends PINGREQ now (keepalive sends its own when needed). */
  ping(): void {
    this.#request('ping', (now) => this.#session.ping(now));
  }

  /** Sends DISCONNECT (the broker then discards the will) and closes. `onClose` gets no error. */
  disconnect(): void {
    if (this.#session.usable) {
      this.#session.disconnect();
      this.#flush(); // at once: the flush #send scheduled then finds nothing to do
      // A full socket: DISCONNECT goes out when it drains (bounded by socketTimeout), then close.
      if (this.#out.length) return;
    }
    this.#end(undefined, 'disconnect');
  }

  /** Closes the socket without DISCONNECT: the broker publishes the will. */
  close(): void {
    this.#end(undefined, 'disconnect');
  }

  // ---- internals -------------------------------------------------------------------------

  #now(): number {
    return this.#t.now();
  }

  /**
   * A call that sends (publish, release, subscribe, unsubscribe, ping): refused unless
   * connected; then the timer covers what was sent, and onWritable is owed if the window filled.
   */
  #request<T>(place: string, call: (now: number) => T): T {
    const session = this.#session;
    if (!session.usable)
      throw error(NOT_CONNECTED, `${place}() needs a connection; the client is ${this.state}`, place);
    const result = call(this.#now());
    if (!session.open) this.#wasFull = true; // onWritable when a slot frees
    this.#arm(session.dueBy(this.#now()));
    return result;
  }

  #send(bytes: Uint8Array, tail: Uint8Array | undefined, owed: boolean): void {
    if (owed) {
      // What the broker made us owe it (acknowledgements, pings) and is still unwritten is
      // bounded: a broker that keeps sending but stops reading would otherwise grow it without end.
      if (this.#owed + bytes.length > MAX_OWED_BYTES)
        throw error(
          SLOW_READER,
          `the broker does not read: ${this.#owed} bytes of acknowledgements wait to be written (at most ${MAX_OWED_BYTES})`,
          'write',
        );
      this.#owed += bytes.length;
      (this.#owedPackets ??= new Set()).add(bytes);
    }
    this.#out.push(bytes);
    this.#pending += bytes.length;
    if (tail) {
      this.#out.push(tail);
      this.#pending += tail.length;
    }
    if (this.#pending >= this.#room) this.#wasFull = true; // onWritable once the socket took it
    if (!this.#flushing) {
      this.#flushing = true;
      // Coalesce the packets of one turn into few socket writes.
      void Promise.resolve().then(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushing = false;
    const sock = this.#sock;
    const out = this.#out;
    if (!sock || this.#blockedSince) return;
    let i = 0;
    try {
      while (i < out.length) {
        let chunk = out[i++]!;
        if (chunk.length < JOIN_BELOW && i < out.length) {
          // join small packets into one write; large chunks go as they are
          let n = chunk.length;
          let j = i;
          while (j < out.length && out[j]!.length < JOIN_BELOW && n + out[j]!.length <= JOIN_MAX) n += out[j++]!.length;
          if (j > i) {
            const joined = new Uint8Array(n);
            joined.set(chunk);
            for (let p = chunk.length; i < j; p += out[i++]!.length) joined.set(out[i]!, p);
            chunk = joined;
          }
        }
        const now = this.#now();
        this.#session.wrote(now);
        this.#pending -= chunk.length;
        if ((this.#room = sock.write(chunk)) <= 0) {
          this.#blockedSince = now || 1;
          this.#wasFull = true;
          this.#arm(this.#socketDue());
          break;
        }
      }
    } catch (e) {
      this.#written(i);
      this.#fail(error(CONNECTION_LOST, `write failed: ${describe(e)}`, 'write'));
      return;
    }
    this.#written(i);
    if (this.#session.closing && !out.length) return this.#end(undefined, 'disconnect'); // DISCONNECT drained
    this.#resume();
  }

  /** The first `count` arrays of #out went to the socket. */
  #written(count: number): void {
    const out = this.#out;
    if (this.#owed)
      for (let k = 0; k < count; k++) {
        const b = out[k]!;
        if (this.#owedPackets!.delete(b)) this.#owed -= b.length;
      }
    out.splice(0, count);
  }

  /** Calls onWritable once publishing can go on after it could not (`writable` was false). */
  #resume(): void {
    if (this.#wasFull && this.writable) {
      this.#wasFull = false;
      this.#call(() => this.onWritable?.(), 'writable');
    }
  }

  #readable(): void {
    const data = this.#sock!.read();
    if (data) this.#parser!.push(data instanceof Uint8Array ? data : new Uint8Array(data));
    if (!this.#deferred) this.#drain();
  }

  /** Hands every whole packet the parser holds to the session, and the session's events to the application. */
  #drain(): void {
    const parser = this.#parser!;
    const session = this.#session;
    const sock = this.#sock;
    try {
      // With manual acknowledgements, reading stops while too many messages wait for theirs.
      while (session.unacked < session.maxUnacked) {
        const p = parser.read();
        if (!p) break;
        session.received(p, this.#now());
        this.#dispatch();
        if (this.#sock !== sock) return;
        if (this.#deferred) {
          // connect() has just resolved: what followed CONNACK is handled after the code that
          // awaited it has run, so that code never sees a connection that has already closed.
          void Promise.resolve().then(() => {
            if (this.#sock !== sock) return;
            this.#deferred = false;
            this.#flush(); // what the awaiter published goes to the socket before anything can end it
            if (this.#sock === sock) this.#drain();
          });
          return;
        }
      }
    } catch (e) {
      this.#fail(placed(e, 'read'));
      return;
    }
    this.#arm(session.dueBy(this.#now()));
    this.#resume();
  }

  /** Hands the session's events to the application, in order. */
  #dispatch(): void {
    if (this.#dispatching) return; // a callback called in: the loop below reaches what it added
    this.#dispatching = true;
    const events = this.#session.events;
    try {
      for (let i = 0; i < events.length; i++) {
        const e = events[i]!;
        if (e.type === MESSAGE_EVENT) this.#call(() => this.onMessage?.(e.message), 'message');
        else if (e.type === STATUS_EVENT)
          this.#call(() => this.onStatus?.(e.id, e.status, e.granted, e.ref, e.ack), 'status');
        else if (e.type === INCOMING_EVENT) this.#call(() => this.onIncoming?.(e.id, e.held), 'incoming');
        else if (e.type === ISSUE_EVENT) this.#record(e.error);
        else if (e.type === CONNECTED_EVENT) this.#connected(e.sessionPresent);
      }
    } finally {
      events.length = 0;
      this.#dispatching = false;
    }
  }

  #connected(sessionPresent: boolean): void {
    const c = this.#connect!;
    this.#connect = undefined;
    this.#rearm();
    this.#deferred = true;
    c.resolve(sessionPresent);
  }

  /** Runs an application callback; an exception there is recorded, never thrown into the protocol. */
  #call(fn: () => void, place: string): void {
    try {
      fn();
    } catch (e) {
      this.#record(error(CALLBACK_ERROR, `the ${place} callback threw: ${describe(e)}`, place));
    }
  }

  #record(e: UmqttError): void {
    const issue: Issue = { time: this.#now(), place: e.place ?? 'unknown', error: e };
    this.#issues.push(issue);
    if (this.#issues.length > HISTORY) this.#issues.shift();
    try {
      this.options.logger?.(issue);
    } catch {
      // a failing logger must not break the client
    }
  }

  /** A fatal problem: record it, end the connection, report through one path. */
  #fail(e: UmqttError): void {
    this.#end(e, e.place ?? 'read');
  }

  #end(e: UmqttError | undefined, place: string): void {
    const sock = this.#sock;
    const was = this.state;
    if (was !== 'connecting' && was !== 'connected') return;
    if (e) {
      e.place ??= place;
      this.#record(e);
    }
    this.#sock = undefined;
    this.#session.end(); // closed: every id in flight reported aborted (handed over below)
    this.#out = [];
    this.#pending = 0;
    this.#owed = 0;
    this.#owedPackets = undefined;
    this.#deferred = false;
    this.#blockedSince = 0;
    if (this.#timer !== undefined) this.#t.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = Infinity;
    try {
      this.options.protocol?.abort?.(e, sock);
      sock?.close();
    } catch {
      // already closed
    }
    this.#dispatch();
    const c = this.#connect;
    this.#connect = undefined;
    if (c) c.reject(e ?? error(CONNECTION_LOST, 'closed before CONNACK', 'connect'));
    else this.#call(() => this.onClose?.(e), 'close');
  }

  // ---- time --------------------------------------------------------------------------------
  // One timer, at the earliest of the session's next deadline and the socket's. The session
  // checks its deadlines with the same expressions it reports them by, so a timer that fires
  // early finds nothing due and is re-armed for the rest; one that fires late finds it passed.

  /** Makes sure the timer fires by `due`. */
  #arm(due: number): void {
    if (due >= this.#timerDue || (this.#sock === undefined && this.state !== 'connecting')) return;
    if (this.#timer !== undefined) this.#t.clearTimeout(this.#timer);
    this.#timerDue = due;
    this.#timer = this.#t.setTimeout(() => this.#tick(), Math.max(0, due - this.#now()));
  }

  /** The socket refused our bytes this long ago: dead. */
  #socketDue(): number {
    return this.#blockedSince && this.state === 'connected' ? this.#blockedSince + this.#socketTimeout : Infinity;
  }

  #rearm(): void {
    this.#timerDue = Infinity;
    if (this.#timer !== undefined) this.#t.clearTimeout(this.#timer);
    this.#timer = undefined;
    const due = Math.min(this.#session.due(), this.#socketDue());
    if (due < Infinity) this.#arm(due);
  }

  #tick(): void {
    this.#timer = undefined;
    this.#timerDue = Infinity;
    try {
      const now = this.#now();
      if (now >= this.#socketDue())
        return this.#fail(error(WRITE_TIMEOUT, `the socket took no bytes for ${this.#socketTimeout} ms`, 'write'));
      this.#session.tick(now);
      this.#dispatch();
    } catch (e) {
      // a timer is the platform's callback: nothing may escape into it
      return this.#fail(placed(e, 'keepalive'));
    }
    if (this.state === 'connecting' || this.state === 'connected') this.#rearm();
  }
}

/**
 * CONNECT's fields from the options, as MQTT 3.1.1 has them (MQTT 5 adds its properties).
 *
 * @internal
 */
export function connectPacket(o: ClientOptions): ConnectPacket {
  const will = o.will;
  return {
    type: CONNECT,
    clientId: o.clientId ?? '',
    clean: o.clean ?? DEFAULT_CLEAN,
    keepAlive: o.keepAlive ?? DEFAULT_KEEPALIVE,
    username: o.username,
    password: typeof o.password === 'string' ? encodeUtf8(o.password) : o.password,
    will: will && { topic: will.topic, payload: payloadBytes(will.payload), qos: will.qos, retain: will.retain },
  };
}

/**
 * A payload as bytes: a string encoded in UTF-8 (a new array), a Uint8Array as it is. Throws
 * UMQTT_INVALID_ARGUMENT for anything else.
 *
 * @example
 * payloadBytes('21.5'); // Uint8Array [0x32, 0x31, 0x2e, 0x35]
 */
export function payloadBytes(payload: string | Uint8Array): Uint8Array {
  if (typeof payload === 'string') return encodeUtf8(payload);
  if (payload instanceof Uint8Array) return payload;
  throw error(INVALID_ARGUMENT, `payload must be a string or Uint8Array, got ${typeof payload}`, 'publish');
}

function placed(e: unknown, place: string): UmqttError {
  const u = e instanceof UmqttError ? e : error(INTERNAL, describe(e), place);
  u.place ??= place;
  return u;
}

function describe(e: unknown): string {
  if (e instanceof Error)
    return (e as Error & { code?: string }).code ? `${(e as Error & { code?: string }).code}: ${e.message}` : e.message;
  return e === undefined ? 'closed' : String(e);
}
