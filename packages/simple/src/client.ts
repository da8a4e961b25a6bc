// One MQTT 3.1.1 connection over an injected socket: CONNECT..DISCONNECT, QoS 0/1/2 both ways,
// keepalive, packet ids, a bounded in-flight window and per-id delivery status. No call waits
// for the network: outcomes arrive through callbacks and the connect() promise.
import {
  Parser,
  UmqttError,
  clientDecoders,
  encodeAck,
  encodeConnect,
  encodeEmpty,
  encodePublish,
  encodeSubscribe,
  encodeUnsubscribe,
  encodeUtf8,
  INVALID_ARGUMENT,
  CONNACK,
  PUBLISH,
  PUBACK,
  PUBREC,
  PUBREL,
  PUBCOMP,
  SUBACK,
  UNSUBACK,
  PINGREQ,
  PINGRESP,
  CONNECT,
  SUBSCRIBE,
  UNSUBSCRIBE,
  DISCONNECT,
  type Packet,
  type QoS,
  type Subscription,
} from '@umqtt/codec';
import {
  ALREADY_CONNECTED,
  CALLBACK_ERROR,
  INTERNAL,
  SLOW_READER,
  UNKNOWN_ID,
  CONNACK_CODES,
  CONNECT_TIMEOUT,
  CONNECTION_LOST,
  KEEPALIVE_TIMEOUT,
  NO_PACKET_ID,
  NOT_CONNECTED,
  PROTOCOL_ERROR,
  QUEUE_FULL,
  TOO_LARGE,
  WRITE_TIMEOUT,
  error,
} from './errors.js';
import type { Socket, SocketFactory, Timers } from './platform.js';

/**
 * Final or intermediate outcome of a packet id, as umqtt.simple2's status callback:
 * - `delivered`: PUBACK / PUBCOMP / SUBACK (all filters granted) / UNSUBACK arrived;
 * - `received`: QoS 2 PUBREC arrived (not final: PUBCOMP follows);
 * - `timeout`: no acknowledgement within `messageTimeout`;
 * - `unknown`: the final acknowledgement (PUBACK, PUBCOMP, SUBACK, UNSUBACK) for an id that had
 *   already timed out, i.e. it was delivered after all (a late PUBREC reports `received`);
 * - `refused`: SUBACK refused at least one filter (0x80; the granted list says which);
 * - `aborted`: the connection ended before the acknowledgement (the message may or may not
 *   have reached the broker; a persistent session can resend it with the same id and DUP).
 *
 * @example
 * client.onStatus = (id: number, status: Status) => {
 *   if (status === 'delivered') pending.delete(id);
 *   else if (status !== 'received') console.warn(`packet ${id}: ${status}`);
 * };
 */
export type Status = 'delivered' | 'received' | 'timeout' | 'unknown' | 'refused' | 'aborted';

/**
 * A message received from the broker.
 *
 * @example
 * client.onMessage = (message: Message) => console.log(message.topic, new TextDecoder().decode(message.payload), message.qos);
 */
export interface Message {
  /** Topic name the message was published to. */
  topic: string;
  /** Message body: a view of the received bytes, valid during the callback (copy it to keep it). */
  payload: Uint8Array;
  /** QoS it was delivered with (at most the subscription's). */
  qos: QoS;
  /** A retained message sent because of a new subscription. */
  retain: boolean;
  /** The broker may have sent it before (QoS 1: a duplicate is possible). */
  dup: boolean;
}

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
export interface ClientOptions {
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
  /** Seconds; 0 turns keepalive off. Default 60. */
  keepAlive?: number | undefined;
  /** Clean session. Default true. */
  clean?: boolean | undefined;
  /**
   * Last will, published by the broker if the connection ends without DISCONNECT: `topic`
   * (a topic name), `payload` (a string, sent as UTF-8, or bytes), `qos` (default 0) and
   * `retain` (default false).
   */
  will?:
    { topic: string; payload: string | Uint8Array; qos?: QoS | undefined; retain?: boolean | undefined } | undefined;
  /** Milliseconds to wait for CONNACK. Default 10000. */
  connectTimeout?: number | undefined;
  /** Milliseconds after which an unacknowledged publish, subscribe or unsubscribe times out. 0 = never. Default 30000. */
  messageTimeout?: number | undefined;
  /** Milliseconds the socket may refuse our bytes before the connection counts as dead. Default 30000. */
  socketTimeout?: number | undefined;
  /** QoS 1/2 messages in flight at once; more wait locally. Default 16 (Mosquitto allows 20). */
  maxInflight?: number | undefined;
  /** Messages allowed to wait locally for the window. Default 1000. */
  maxQueued?: number | undefined;
  /** Largest packet accepted or sent, in bytes. Default 1 MiB. */
  maxPacketSize?: number | undefined;
  /** Receives every issue as it is recorded (robust2's DEBUG). */
  logger?: ((issue: Issue) => void) | undefined;
}

/**
 * Options of {@link MqttClient.publish}.
 *
 * @example
 * client.publish('sensors/42/online', 'yes', { qos: 1, retain: true });
 */
export interface PublishOptions {
  /** Quality of service. Default 0. */
  qos?: QoS | undefined;
  /** The broker keeps it as the last retained message of the topic. Default false. */
  retain?: boolean | undefined;
  /** Resend of a message whose id the broker may have seen: sets DUP. Needs `id`. */
  dup?: boolean | undefined;
  /** Use this packet id (a resend in a persistent session); it must not be in use. */
  id?: number | undefined;
  /**
   * Default true: the payload is copied into the packet, so the array may be changed as soon as
   * `publish()` returns. `false` hands the array over: a payload of 4 KiB or more is then
   * written to the socket as it is, after its header, without a copy (much faster for large
   * payloads), and must never be changed afterwards (pass a fresh array, or one that never
   * changes). A string payload is always encoded into an array of the client's own.
   */
  copy?: boolean | undefined;
}

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

/** Nothing received for this many keepalive intervals: the peer is dead (half-open) [MQTT-3.1.2-24]. */
const DEAD_PEER_FACTOR = 1.5;
/** Acknowledgements and pings that may wait unwritten before the broker counts as not reading (16,384 PUBACKs). */
const MAX_OWED_BYTES = 65_536;

const SUB = 1;
const UNSUB = 2;
const PUB = 3;

interface Entry {
  kind: number;
  id: number;
  qos: number;
  /** Encoded packet until it is written. */
  bytes: Uint8Array | undefined;
  /** A large payload written as it is after `bytes` (not copied into the packet). */
  tail?: Uint8Array | undefined;
  /** When it was written; -1 while waiting for the window. */
  sentAt: number;
  /** QoS 2: 0 before PUBREC, 1 after (PUBREL sent). SUBSCRIBE: number of filters. */
  stage: number;
}

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
  /** Called with the outcome of each QoS 1/2 publish, subscribe and unsubscribe, by packet id. */
  onStatus: ((id: number, status: Status, granted?: number[]) => void) | undefined;
  /** Called when the connection ends after it was established: `error` says why and where, none after disconnect(). */
  onClose: ((error?: UmqttError) => void) | undefined;
  /** Called when publishing may resume: the window and the socket have room again. */
  onWritable: (() => void) | undefined;

  /** The options given to the constructor. */
  readonly options: Readonly<ClientOptions>;
  #t: Timers;
  #state: State = 'idle';
  #sock: Socket | undefined;
  #parser: Parser | undefined;
  #connect: { resolve(sessionPresent: boolean): void; reject(e: UmqttError): void } | undefined;
  #connectBy = 0;
  // output
  #out: Uint8Array[] = [];
  /** Bytes in #out, not yet given to the socket. */
  #pending = 0;
  /** Bytes the socket said it takes (its last write() or onWritable): `writable` counts #pending against it. */
  #room = 0;
  #blockedSince = 0; // > 0 while the socket refuses bytes (or is not yet open)
  #flushing = false;
  #wasFull = false;
  /** disconnect() was called: DISCONNECT is waiting for the socket to drain. */
  #closing = false;
  // packet ids
  #ids = new Map<number, Entry>();
  #waiting: Entry[] = [];
  #window = 0;
  #nextId = 0;
  /**
   * Ids that timed out, the broker may still acknowledge them. A publish keeps its place in the
   * window (true) until its final acknowledgement or the end of the connection: the broker still
   * counts it against its in-flight quota, and past that quota Mosquitto drops what comes next.
   */
  #expired = new Map<number, boolean>();
  /** Inbound QoS 2 ids acknowledged with PUBREC, awaiting PUBREL: part of the session. */
  #inbound2 = new Set<number>();
  // keepalive
  #lastSent = 0;
  #lastRecv = 0;
  #pingAt = 0;
  #timer: unknown;
  #timerDue = Infinity;
  #issues: Issue[] = [];
  /** Bytes of acknowledgements and pings in #out: what the broker makes us owe it. */
  #owed = 0;
  /** Packets kept in #out that count in #owed. */
  #owedPackets = new Set<Uint8Array>();
  /** CONNACK was handled in the current read: the packets after it wait until connect()'s awaiter has run. */
  #deferred = false;
  // options, resolved once
  readonly #keepAlive: number;
  readonly #connectTimeout: number;
  readonly #messageTimeout: number;
  readonly #socketTimeout: number;
  readonly #maxInflight: number;
  readonly #maxPacketSize: number;
  readonly #maxQueued: number;

  /**
   * Creates an idle client; nothing happens until {@link MqttClient.connect}.
   *
   * @param options - {@link ClientOptions}
   */
  constructor(options: ClientOptions) {
    this.options = options;
    this.#t = options.timers;
    this.#keepAlive = (options.keepAlive ?? 60) * 1000;
    this.#connectTimeout = options.connectTimeout ?? 10_000;
    this.#messageTimeout = options.messageTimeout ?? 30_000;
    this.#socketTimeout = options.socketTimeout ?? 30_000;
    this.#maxInflight = options.maxInflight ?? 16;
    this.#maxPacketSize = options.maxPacketSize ?? 1_048_576;
    this.#maxQueued = options.maxQueued ?? 1000;
  }

  /** The connection state: idle, connecting, connected or closed. */
  get state(): State {
    return this.#state;
  }

  /** Recent issues, oldest first (at most 16). */
  get issues(): readonly Issue[] {
    return this.#issues;
  }

  /** QoS 1/2 messages written and not yet acknowledged. */
  get inflight(): number {
    return this.#window;
  }

  /** Messages waiting locally for the window. */
  get queued(): number {
    return this.#waiting.length;
  }

  /**
   * Whether a publish now would go out at once: connected, the window open, and the socket has
   * room for what this turn already published (so `while (client.writable) publish(...)` stops,
   * at QoS 0 too, once the socket's room is used; `onWritable` says when to go on).
   */
  get writable(): boolean {
    return (
      this.#state === 'connected' &&
      !this.#closing &&
      !this.#waiting.length &&
      this.#window < this.#maxInflight &&
      !this.#blockedSince &&
      this.#pending < this.#room
    );
  }

  /**
   * Opens the socket and sends CONNECT. Resolves with the broker's "session present" flag
   * once CONNACK accepts; rejects with the refusal (UMQTT_CONNACK_*), a timeout or the
   * socket's failure. Later failures go to `onClose`. `server` overrides the host and port of
   * the options for this connection (failover between the brokers of one cluster keeps the
   * session state of this client).
   */
  connect(server?: { host: string; port?: number | undefined }): Promise<boolean> {
    if (this.#state === 'connecting' || this.#state === 'connected')
      return Promise.reject(error(ALREADY_CONNECTED, `connect() while ${this.#state}`, 'connect'));
    const o = this.options;
    const clean = o.clean ?? true;
    let bytes: Uint8Array;
    try {
      const will = o.will;
      bytes = encodeConnect({
        type: CONNECT,
        clientId: o.clientId ?? '',
        clean,
        keepAlive: this.#keepAlive / 1000,
        username: o.username,
        password: typeof o.password === 'string' ? encodeUtf8(o.password) : o.password,
        will: will && { topic: will.topic, payload: payloadBytes(will.payload), qos: will.qos, retain: will.retain },
      });
    } catch (e) {
      return Promise.reject(placed(e, 'connect'));
    }
    if (clean) this.#inbound2.clear();
    this.#expired.clear();
    this.#state = 'connecting';
    this.#parser = new Parser(clientDecoders, { maxPacketSize: this.#maxPacketSize });
    this.#out = [bytes];
    this.#pending = bytes.length;
    this.#owed = 0;
    this.#owedPackets.clear();
    this.#deferred = false;
    this.#pingAt = 0;
    this.#blockedSince = this.#now() || 1; // nothing is written before the socket opens
    this.#connectBy = this.#now() + this.#connectTimeout;
    this.#arm(this.#connectBy);
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
              this.#room = count > 0 ? count : 16_384; // a socket that does not say how much: one turn's worth
              this.#blockedSince = 0;
              this.#flush();
            }),
          onError: (e?: unknown) =>
            guard('read', () =>
              this.#fail(
                error(
                  CONNECTION_LOST,
                  `connection lost: ${describe(e)}`,
                  this.#state === 'connecting' ? 'connect' : 'read',
                ),
              ),
            ),
        });
      } catch (e) {
        this.#fail(error(CONNECTION_LOST, `the socket could not be opened: ${describe(e)}`, 'connect'));
        return;
      }
      if (this.#state === 'connecting') this.#sock = sock;
      else sock.close(); // it failed before the factory returned (a factory that broke the contract)
    });
  }

  /**
   * Publishes. Returns the packet id (0 for QoS 0); the outcome of QoS 1/2 arrives through
   * `onStatus`. Beyond the in-flight window the message waits locally (see `writable`).
   * Throws at once on misuse: bad topic, QoS, payload size, not connected, no free id, queue full.
   */
  publish(topic: string, payload: string | Uint8Array, opts?: PublishOptions): number {
    this.#need('publish');
    const qos = opts?.qos ?? 0;
    const data = payloadBytes(payload);
    if (data.length > this.#maxPacketSize)
      throw error(TOO_LARGE, `payload of ${data.length} bytes is over maxPacketSize ${this.#maxPacketSize}`, 'publish');
    if (qos && this.#waiting.length >= this.#maxQueued)
      throw error(
        QUEUE_FULL,
        `${this.#waiting.length} messages already wait for the in-flight window (maxQueued)`,
        'publish',
      );
    const id = qos ? this.#id(opts?.id, 'publish') : undefined;
    // A large payload handed over (copy: false) is written after its header as it is:
    // copying it costs more than all the rest of publish().
    const tail = opts?.copy === false && data.length > 4095 ? data : undefined;
    let bytes: Uint8Array;
    try {
      bytes = encodePublish(
        { type: PUBLISH, topic, payload: data, qos, retain: opts?.retain, dup: opts?.dup, id },
        !!tail,
      );
    } catch (e) {
      throw placed(e, 'publish');
    }
    const size = bytes.length + (tail?.length ?? 0);
    if (size > this.#maxPacketSize)
      throw error(TOO_LARGE, `packet of ${size} bytes is over maxPacketSize ${this.#maxPacketSize}`, 'publish');
    if (!id) {
      this.#send(bytes, tail);
      return 0;
    }
    this.#enqueue({ kind: PUB, id, qos, bytes, tail, sentAt: -1, stage: 0 });
    return id;
  }

  /**
   * Resumes a QoS 2 message the broker already acknowledged with PUBREC in an earlier
   * connection of this session: sends PUBREL for `id` and reports PUBCOMP as `delivered`.
   */
  release(id: number): number {
    this.#need('publish');
    this.#id(id, 'publish');
    this.#enqueue({ kind: PUB, id, qos: 2, bytes: encodeAck({ type: PUBREL, id }), sentAt: -1, stage: 1 });
    return id;
  }

  /**
   * Subscribes to one filter, several filters at one QoS, or a list of {topic, qos}.
   * Returns the packet id; `onStatus(id, 'delivered' | 'refused', granted)` reports the SUBACK.
   */
  subscribe(filters: string | string[] | Subscription[], qos: QoS = 0): number {
    this.#need('subscribe');
    const list: Subscription[] = (Array.isArray(filters) ? filters : [filters]).map((f) =>
      typeof f === 'string' ? { topic: f, qos } : f,
    );
    return this.#control(SUB, 'subscribe', list.length, (id) =>
      encodeSubscribe({ type: SUBSCRIBE, id, subscriptions: list }),
    );
  }

  /** Unsubscribes from one or several filters. Returns the packet id; UNSUBACK reports `delivered`. */
  unsubscribe(filters: string | string[]): number {
    this.#need('unsubscribe');
    const topics = Array.isArray(filters) ? filters : [filters];
    return this.#control(UNSUB, 'unsubscribe', 0, (id) => encodeUnsubscribe({ type: UNSUBSCRIBE, id, topics }));
  }

  /** Sends PINGREQ now (keepalive sends its own when needed). */
  ping(): void {
    this.#need('ping');
    this.#ping();
  }

  /** Sends DISCONNECT (the broker then discards the will) and closes. `onClose` gets no error. */
  disconnect(): void {
    if (this.#state === 'connected' && !this.#closing) {
      this.#send(encodeEmpty({ type: DISCONNECT }));
      this.#closing = true;
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

  #need(place: string): void {
    if (this.#state !== 'connected' || this.#closing)
      throw error(NOT_CONNECTED, `${place}() needs a connection; the client is ${this.#state}`, place);
  }

  /** A free packet id (or checks a requested one). */
  #id(wanted: number | undefined, place: string): number {
    const ids = this.#ids;
    if (wanted !== undefined) {
      if (ids.has(wanted)) throw error(INVALID_ARGUMENT, `packet id ${wanted} is in use`, place);
      return wanted;
    }
    if (ids.size + this.#expired.size >= 65535) throw error(NO_PACKET_ID, 'all 65535 packet ids are in use', place);
    let id = this.#nextId;
    do id = (id % 65535) + 1;
    while (ids.has(id) || this.#expired.has(id));
    return (this.#nextId = id);
  }

  #control(kind: number, place: string, stage: number, encode: (id: number) => Uint8Array): number {
    const id = this.#id(undefined, place);
    let bytes: Uint8Array;
    try {
      bytes = encode(id);
    } catch (e) {
      throw placed(e, place);
    }
    const entry: Entry = { kind, id, qos: 1, bytes, sentAt: -1, stage };
    this.#ids.set(id, entry);
    this.#transmit(entry);
    return id;
  }

  #enqueue(entry: Entry): void {
    this.#ids.set(entry.id, entry);
    if (this.#window < this.#maxInflight && !this.#waiting.length) {
      this.#transmit(entry);
      if (this.#window >= this.#maxInflight) this.#wasFull = true; // onWritable when a slot frees
    } else {
      this.#waiting.push(entry);
      this.#wasFull = true;
    }
  }

  #transmit(entry: Entry): void {
    entry.sentAt = this.#now();
    if (entry.kind === PUB) this.#window++;
    this.#send(entry.bytes!, entry.tail);
    entry.bytes = entry.tail = undefined;
    this.#arm(this.#timeoutDue(entry));
  }

  #send(bytes: Uint8Array, tail?: Uint8Array): void {
    if (this.#closing) return; // nothing goes out after DISCONNECT [MQTT-3.14.4-2]
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

  /**
   * Sends a packet the broker made us owe it (an acknowledgement, a ping). What waits unwritten
   * of these is bounded: a broker that keeps sending but stops reading would otherwise grow it
   * without end.
   */
  #owe(bytes: Uint8Array): void {
    if (this.#closing) return;
    if (this.#owed + bytes.length > MAX_OWED_BYTES)
      throw error(
        SLOW_READER,
        `the broker does not read: ${this.#owed} bytes of acknowledgements wait to be written (at most ${MAX_OWED_BYTES})`,
        'write',
      );
    this.#owed += bytes.length;
    this.#owedPackets.add(bytes);
    this.#send(bytes);
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
        if (chunk.length < 4096 && i < out.length) {
          // join small packets (up to 16 KiB) into one write; large chunks go as they are
          let n = chunk.length;
          let j = i;
          while (j < out.length && out[j]!.length < 4096 && n + out[j]!.length <= 16384) n += out[j++]!.length;
          if (j > i) {
            const joined = new Uint8Array(n);
            joined.set(chunk);
            for (let p = chunk.length; i < j; p += out[i++]!.length) joined.set(out[i]!, p);
            chunk = joined;
          }
        }
        this.#lastSent = this.#now();
        this.#pending -= chunk.length;
        if ((this.#room = sock.write(chunk)) <= 0) {
          this.#blockedSince = this.#lastSent || 1;
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
    if (this.#closing && !out.length) return this.#end(undefined, 'disconnect');
    this.#resume();
  }

  /** The first `count` arrays of #out went to the socket. */
  #written(count: number): void {
    const out = this.#out;
    if (this.#owed)
      for (let k = 0; k < count; k++) {
        const b = out[k]!;
        if (this.#owedPackets.delete(b)) this.#owed -= b.length;
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

  /** Handles every whole packet the parser holds. */
  #drain(): void {
    const parser = this.#parser!;
    const sock = this.#sock;
    try {
      for (let p = parser.read(); p; p = parser.read()) {
        // Only a whole packet is a sign of life: a peer trickling bytes is not alive.
        this.#lastRecv = this.#now();
        this.#handle(p);
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
    }
  }

  #handle(p: Packet): void {
    if (this.#state === 'connecting') {
      if (p.type !== CONNACK)
        throw error(
          PROTOCOL_ERROR,
          `expected CONNACK first, got packet type ${p.type}`,
          'connect',
          undefined,
          'MQTT-3.2.0-1',
        );
      if (p.returnCode) {
        const code = CONNACK_CODES[p.returnCode]!;
        throw error(
          code,
          `broker refused the connection: return code ${p.returnCode} (${code.slice(14).toLowerCase().replace('_', ' ')})`,
          'connect',
          p.returnCode,
        );
      }
      if (p.sessionPresent && (this.options.clean ?? true))
        throw error(
          PROTOCOL_ERROR,
          'CONNACK says a session is present in answer to a clean-session CONNECT',
          'connect',
          undefined,
          'MQTT-3.2.2-1',
        );
      // A broker without our session holds no QoS 2 message of ours awaiting PUBREL.
      if (!p.sessionPresent) this.#inbound2.clear();
      this.#state = 'connected';
      const c = this.#connect!;
      this.#connect = undefined;
      this.#rearm();
      this.#deferred = true;
      c.resolve(p.sessionPresent);
      return;
    }
    switch (p.type) {
      case PUBLISH: {
        const { qos, id } = p;
        if (qos === 2) {
          const seen = this.#inbound2.has(id!);
          this.#owe(encodeAck({ type: PUBREC, id: id! }));
          if (seen) return; // a resend before PUBREL: delivered once already
          this.#inbound2.add(id!);
        } else if (qos === 1) this.#owe(encodeAck({ type: PUBACK, id: id! }));
        this.#call(
          () => this.onMessage?.({ topic: p.topic, payload: p.payload, qos: qos!, retain: p.retain!, dup: p.dup! }),
          'message',
        );
        return;
      }
      case PUBREL:
        this.#inbound2.delete(p.id);
        this.#owe(encodeAck({ type: PUBCOMP, id: p.id }));
        return;
      case PINGRESP:
        this.#pingAt = 0;
        return;
      case PUBACK:
      case PUBREC:
      case PUBCOMP:
      case SUBACK:
      case UNSUBACK:
        return this.#ack(p.type, p.id, p.type === SUBACK ? p.granted : undefined);
    }
    throw error(PROTOCOL_ERROR, `unexpected packet type ${p.type} from the broker`, 'read');
  }

  #ack(type: number, id: number, granted: number[] | undefined): void {
    const e = this.#ids.get(id);
    const expect =
      !e || e.sentAt < 0
        ? 0
        : e.kind === SUB
          ? SUBACK
          : e.kind === UNSUB
            ? UNSUBACK
            : e.qos === 1
              ? PUBACK
              : e.stage
                ? PUBCOMP
                : PUBREC;
    if (type === PUBREC && expect === PUBCOMP) {
      this.#owe(encodeAck({ type: PUBREL, id })); // a repeated PUBREC: repeat PUBREL
      return;
    }
    if (expect !== type) {
      if (this.#expired.has(id)) {
        // A late acknowledgement of a message that timed out: its final one reports "unknown
        // id", as in simple2, and frees its place in the window (a late PUBREC is answered with
        // PUBREL and reported `received`; PUBCOMP is still to come).
        if (type === PUBREC) {
          this.#owe(encodeAck({ type: PUBREL, id }));
          return this.#status(id, 'received');
        }
        if (this.#expired.get(id)) this.#window--;
        this.#expired.delete(id);
        this.#status(id, 'unknown');
        return this.#pump();
      }
      // An acknowledgement for an id we do not track: brokers repeat PUBREC and PUBCOMP, and
      // ack what an earlier connection sent. As libmosquitto and MQTT.js do, PUBREC is answered
      // with PUBREL (so the broker can forget the id) and the rest is recorded and ignored. A
      // repeated PUBCOMP may also arrive after its id went to a new message: ignored the same way.
      if (!e || e.sentAt < 0 || type === PUBCOMP) {
        if (type === PUBREC) this.#owe(encodeAck({ type: PUBREL, id }));
        this.#record(
          error(
            UNKNOWN_ID,
            `acknowledgement (packet type ${type}) for packet id ${id}, which is not in flight`,
            'read',
          ),
        );
        return;
      }
      throw error(
        PROTOCOL_ERROR,
        `acknowledgement (packet type ${type}) for packet id ${id}, which awaits packet type ${expect}`,
        'read',
      );
    }
    if (type === PUBREC) {
      e!.stage = 1;
      this.#owe(encodeAck({ type: PUBREL, id }));
      this.#status(id, 'received');
      return;
    }
    if (type === SUBACK && granted!.length !== e!.stage)
      throw error(
        PROTOCOL_ERROR,
        `SUBACK for ${e!.stage} filter(s) has ${granted!.length} return code(s)`,
        'subscribe',
        undefined,
        'MQTT-3.9.3-1',
      );
    this.#complete(e!, type === SUBACK && granted!.includes(0x80) ? 'refused' : 'delivered', granted);
  }

  #complete(e: Entry, status: Status, granted?: number[]): void {
    this.#ids.delete(e.id);
    if (e.kind === PUB) this.#window--;
    this.#status(e.id, status, granted);
    this.#pump();
  }

  /** Sends waiting messages while the window has room. */
  #pump(): void {
    const w = this.#waiting;
    let i = 0;
    while (i < w.length && this.#window < this.#maxInflight) this.#transmit(w[i++]!);
    if (i) w.splice(0, i);
    this.#resume();
  }

  #status(id: number, status: Status, granted?: number[]): void {
    this.#call(() => this.onStatus?.(id, status, granted), 'status');
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

  #ping(): void {
    this.#pingAt = this.#now();
    this.#owe(encodeEmpty({ type: PINGREQ }));
  }

  /** A fatal problem: record it, end the connection, report through one path. */
  #fail(e: UmqttError): void {
    this.#end(e, e.place ?? 'read');
  }

  #end(e: UmqttError | undefined, place: string): void {
    const sock = this.#sock;
    const was = this.#state;
    if (was !== 'connecting' && was !== 'connected') return;
    if (e) {
      e.place ??= place;
      this.#record(e);
    }
    this.#sock = undefined;
    this.#state = 'closed';
    this.#closing = false;
    this.#out = [];
    this.#pending = 0;
    this.#owed = 0;
    this.#owedPackets.clear();
    this.#deferred = false;
    this.#blockedSince = 0;
    if (this.#timer !== undefined) this.#t.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = Infinity;
    try {
      sock?.close();
    } catch {
      // already closed
    }
    const entries = [...this.#ids.values()];
    this.#ids.clear();
    this.#waiting = [];
    this.#window = 0;
    this.#expired.clear();
    for (const entry of entries) this.#status(entry.id, 'aborted');
    const c = this.#connect;
    this.#connect = undefined;
    if (c) c.reject(e ?? error(CONNECTION_LOST, 'closed before CONNACK', 'connect'));
    else this.#call(() => this.onClose?.(e), 'close');
  }

  // ---- time --------------------------------------------------------------------------------
  // Every deadline is an absolute time, computed by one expression both when the timer is armed
  // and when it is checked: a timer that fires early (Node fires up to a millisecond or two
  // before its due time) finds the deadline not yet reached and re-arms for the rest; one that
  // fires late finds it passed. The tick always re-arms while the connection lives.

  /** Makes sure the housekeeping timer fires by `due`. */
  #arm(due: number): void {
    if (due >= this.#timerDue) return;
    if (this.#timer !== undefined) this.#t.clearTimeout(this.#timer);
    this.#timerDue = due;
    this.#timer = this.#t.setTimeout(() => this.#tick(), Math.max(0, due - this.#now()));
  }

  // Each deadline, as one expression (Infinity when it does not apply).
  /** The socket refused our bytes this long ago: dead. */
  #socketDue(): number {
    return this.#blockedSince ? this.#blockedSince + this.#socketTimeout : Infinity;
  }
  /** No whole packet for 1.5 x keepAlive: the peer is dead (half-open, or trickling). */
  #deadDue(): number {
    return this.#keepAlive ? this.#lastRecv + this.#keepAlive * DEAD_PEER_FACTOR : Infinity;
  }
  /** A PINGREQ unanswered for keepAlive. */
  #pongDue(): number {
    return this.#keepAlive && this.#pingAt ? this.#pingAt + this.#keepAlive : Infinity;
  }
  /** Keepalive: when a PINGREQ is due (none outstanding, not closing). */
  #pingDue(): number {
    return this.#keepAlive && !this.#pingAt && !this.#closing
      ? Math.min(this.#lastSent, this.#lastRecv) + this.#keepAlive
      : Infinity;
  }
  /** When an entry in flight times out. */
  #timeoutDue(e: Entry): number {
    return this.#messageTimeout && e.sentAt >= 0 ? e.sentAt + this.#messageTimeout : Infinity;
  }

  #rearm(): void {
    let due = Infinity;
    if (this.#state === 'connecting') due = this.#connectBy;
    else if (this.#state === 'connected') {
      due = Math.min(this.#socketDue(), this.#deadDue(), this.#pongDue(), this.#pingDue());
      for (const e of this.#ids.values()) due = Math.min(due, this.#timeoutDue(e));
    }
    this.#timerDue = Infinity;
    if (this.#timer !== undefined) this.#t.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (due < Infinity) this.#arm(due);
  }

  #tick(): void {
    this.#timer = undefined;
    this.#timerDue = Infinity;
    try {
      this.#deadlines();
    } catch (e) {
      // a timer is the platform's callback: nothing may escape into it
      this.#fail(placed(e, 'keepalive'));
    }
  }

  #deadlines(): void {
    const now = this.#now();
    if (this.#state === 'connecting' && now >= this.#connectBy)
      return this.#fail(error(CONNECT_TIMEOUT, `no CONNACK within ${this.#connectTimeout} ms`, 'connect'));
    if (this.#state === 'connected') {
      const ka = this.#keepAlive / 1000;
      if (now >= this.#socketDue())
        return this.#fail(error(WRITE_TIMEOUT, `the socket took no bytes for ${this.#socketTimeout} ms`, 'write'));
      if (now >= this.#deadDue())
        return this.#fail(
          error(
            KEEPALIVE_TIMEOUT,
            `no packet received for ${Math.round(now - this.#lastRecv)} ms (1.5 x keepAlive ${ka} s)`,
            'keepalive',
          ),
        );
      if (now >= this.#pongDue())
        return this.#fail(error(KEEPALIVE_TIMEOUT, `no PINGRESP within keepAlive (${ka} s) of PINGREQ`, 'keepalive'));
      if (now >= this.#pingDue()) this.#ping();
      const expired: Entry[] = [];
      for (const e of this.#ids.values()) if (now >= this.#timeoutDue(e)) expired.push(e);
      for (const e of expired) {
        if (this.#ids.get(e.id) !== e) continue; // a status callback ended or renewed the connection
        this.#ids.delete(e.id);
        this.#expired.set(e.id, e.kind === PUB); // a publish keeps its place in the window
        this.#status(e.id, 'timeout');
      }
    }
    this.#rearm();
  }
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
