// The MQTT 3.1.1 session core: everything about a session that must be right, and nothing
// else. No socket, no timer, no application callback: a driver feeds it whole packets and the
// current time, and takes out the bytes to write (through `write`), the events (`events`) and
// the next deadline (`due()`). It owns packet id allocation, the outgoing stages, the incoming
// QoS 2 ids, the in-flight window, keepalive and every timeout. @umqtt/simple drives it over a
// socket; @umqtt/robust persists what it needs of it through its Store.
import {
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
  SUBSCRIBE,
  UNSUBSCRIBE,
  DISCONNECT,
  encodeAck,
  encodeEmpty,
  encodePublish,
  encodeSubscribe,
  encodeUnsubscribe,
  type Packet,
  type PublishPacket,
  type SubscribePacket,
  type UnsubscribePacket,
  type QoS,
  type Subscription,
  type UmqttError,
} from '@umqtt/codec';
import {
  CONNACK_CODES,
  CONNECT_TIMEOUT,
  KEEPALIVE_TIMEOUT,
  NO_PACKET_ID,
  PROTOCOL_ERROR,
  QUEUE_FULL,
  TOO_LARGE,
  UNKNOWN_ID,
  sessionError as error,
} from './errors.js';
import {
  DEFAULT_CLEAN,
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_KEEPALIVE,
  DEFAULT_MAX_INFLIGHT,
  DEFAULT_MAX_PACKET_SIZE,
  DEFAULT_MAX_QUEUED,
  DEFAULT_MAX_UNACKED,
  DEFAULT_MESSAGE_TIMEOUT,
} from './defaults.js';
import {
  MESSAGE_EVENT,
  STATUS_EVENT,
  CONNECTED_EVENT,
  ISSUE_EVENT,
  INCOMING_EVENT,
  type SessionEvent,
  type Status,
} from './events.js';

/**
 * Options of a {@link Session}: the protocol's numbers, resolved once.
 *
 * @example
 * const session = new Session({ keepAlive: 30, maxInflight: 20 }, (bytes) => out.push(bytes));
 */
export interface SessionOptions {
  /** Seconds; 0 turns keepalive off. Default 60. */
  keepAlive?: number | undefined;
  /**
   * Clean session. Default true. Decided once for the client: the CONNECT of every connection
   * says the same (simple's CONNECT reads this option), and the session drops the incoming QoS 2
   * ids at each `begin()` when it is clean.
   */
  clean?: boolean | undefined;
  /** Milliseconds to wait for CONNACK. Default 10000. */
  connectTimeout?: number | undefined;
  /** Milliseconds after which an unacknowledged publish, subscribe or unsubscribe times out. 0 = never. Default 30000. */
  messageTimeout?: number | undefined;
  /** QoS 1/2 messages in flight at once; more wait locally. Default 16 (Mosquitto allows 20). */
  maxInflight?: number | undefined;
  /** Messages allowed to wait locally for the window. Default 1000. */
  maxQueued?: number | undefined;
  /** Largest packet sent (and, by the driver's parser, accepted), in bytes. Default 1 MiB. */
  maxPacketSize?: number | undefined;
  /**
   * Incoming QoS 1/2 messages are acknowledged by the application (`ack(id)`) once it has
   * processed them, instead of as soon as they are handed over. Default false.
   */
  manualAcks?: boolean | undefined;
  /** With `manualAcks`: messages handed over and not yet acknowledged before the driver stops reading. Default 16. */
  maxUnacked?: number | undefined;
}

/**
 * Options of {@link Session.publish}.
 *
 * @example
 * client.publish('sensors/42/online', 'yes', { qos: 1, retain: true }); // MqttClient takes the same options
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
   * written as it is, after its header, without a copy (much faster for large payloads), and
   * must never be changed afterwards (pass a fresh array, or one that never changes).
   */
  copy?: boolean | undefined;
  /** Anything the caller wants back with the id's statuses (`onStatus`'s fourth argument; a stored message...). */
  ref?: unknown;
}

/**
 * The part of the session that survives a connection: what a persistent session saves.
 *
 * @example
 * const saved: SessionState = session.saved; // later, after a reboot: session.restore(saved)
 */
export interface SessionState {
  /** The last packet id given out. */
  nextId: number;
  /** Incoming QoS 2 ids acknowledged with PUBREC and not yet released by PUBREL. */
  incoming: number[];
}

/** Nothing received for this many keepalive intervals: the peer is dead (half-open) [MQTT-3.1.2-24]. */
const DEAD_PEER_FACTOR = 1.5;
/**
 * Keepalive airtime: while we write packets of our own and the link is known alive (a whole
 * packet came in since the last PINGREQ of the timer's), the PINGREQ deadline moves by
 * keepAlive / 8, at most this many ms. An application that publishes at about
 * the keepalive period then writes before the deadline instead of racing it (its timer and ours
 * fire within milliseconds of each other, and half the time a PINGREQ went out just before the
 * publish). The broker allows 1.5 x keepAlive [MQTT-3.1.2-24]; the dead-peer deadline is unchanged.
 */
const PING_GRACE = 5000;
/** Payloads of this size or more, handed over, are written after their header without a copy. */
const NO_COPY_FROM = 4096;
const LAST_PACKET_ID = 65535;

/**
 * An outgoing packet id in flight. What it is for and the stage it reached are one number: the
 * packet type it awaits (PUBACK; PUBREC, then PUBCOMP; SUBACK; UNSUBACK). A publish awaits a
 * type below SUBACK (PUBACK 4, PUBREC 5, PUBCOMP 7): see `isPublish`.
 */
interface Entry {
  id: number;
  /** The packet type that acknowledges it next. */
  expect: number;
  /** Encoded packet until it is written. */
  bytes: Uint8Array | undefined;
  /** A large payload written as it is after `bytes` (not copied into the packet). */
  tail?: Uint8Array | undefined;
  /** When it was written; -1 while waiting for the window. */
  sentAt: number;
  /** SUBSCRIBE: the number of filters (SUBACK has one return code each). */
  filters?: number;
  ref?: unknown;
}

/** A publish's entry (it takes a place in the window), not a SUBSCRIBE's or an UNSUBSCRIBE's. */
const isPublish = (e: Entry): boolean => e.expect < SUBACK;

/**
 * Writes bytes for the session: `owed` marks what the broker made us owe it (acknowledgements,
 * pings), which a driver bounds while the socket does not take them; `tail` is a payload
 * written as it is after `bytes`.
 *
 * @example
 * const write: SessionWrite = (bytes, tail) => { out.push(bytes); if (tail) out.push(tail); };
 */
export type SessionWrite = (bytes: Uint8Array, tail: Uint8Array | undefined, owed: boolean) => void;

/**
 * The encoders of the packets a session makes up from the application's calls, when they are
 * not MQTT 3.1.1's: `@umqtt/session/v5`'s `Session5` passes MQTT 5's (with properties), so a
 * 3.1.1 bundle holds no MQTT 5 code.
 *
 * @example
 * import { encodePublish, encodeSubscribe, encodeUnsubscribe } from '@umqtt/codec/v5';
 * const session = new Session({}, write, { publish: encodePublish, subscribe: encodeSubscribe, unsubscribe: encodeUnsubscribe });
 */
export interface SessionCodec {
  /** PUBLISH (with `headerOnly`, its header alone: the payload is written after it as it is). */
  publish: (packet: PublishPacket, headerOnly: boolean) => Uint8Array;
  /** SUBSCRIBE. */
  subscribe: (packet: SubscribePacket) => Uint8Array;
  /** UNSUBSCRIBE. */
  unsubscribe: (packet: UnsubscribePacket) => Uint8Array;
}

/**
 * One MQTT session, without I/O. The driver calls `begin()` when a socket opens, `received()`
 * for each whole packet, `wrote()` when bytes went out, `tick()` at `due()`, and `end()` when
 * the connection is gone; after each call it hands `events` to the application and empties the
 * list. A fatal problem (a broker that broke the protocol, a deadline passed) is thrown as a
 * UmqttError from the call that found it: the driver ends the connection with it.
 *
 * @example
 * const session = new Session({ keepAlive: 30 }, (bytes) => socket.write(bytes));
 * session.begin(now());
 * socket.write(encodeConnect({ type: CONNECT, clientId: 'a', clean: true, keepAlive: 30 }));
 * for (const packet of packets) session.received(packet, now());
 */
export class Session {
  /** Events since the driver last emptied the list, oldest first. */
  readonly events: SessionEvent[] = [];
  readonly #write: SessionWrite;
  #keepAlive = 0;
  /** How far the PINGREQ deadline moves while traffic goes both ways (PING_GRACE). */
  #grace = 0;
  readonly #codec: SessionCodec;
  readonly #clean: boolean;
  readonly #connectTimeout: number;
  readonly #messageTimeout: number;
  #maxInflight = 0;
  readonly #maxQueued: number;
  #maxPacketSize = 0;
  readonly #manualAcks: boolean;
  /** With manual acknowledgements: how many unacknowledged messages make the driver stop reading. */
  readonly maxUnacked: number;
  #state: 'idle' | 'connecting' | 'connected' | 'closed' = 'idle';
  #connectBy = 0;
  /** DISCONNECT was sent: nothing more goes out. */
  #closing = false;
  #ids = new Map<number, Entry>();
  #waiting: Entry[] = [];
  #window = 0;
  #nextId = 0;
  // The collections below are made when first needed: a gateway holds thousands of sessions.
  /**
   * Ids that timed out, the broker may still acknowledge them. A publish keeps its place in the
   * window (true) until its final acknowledgement or the end of the connection: the broker still
   * counts it against its in-flight quota, and past that quota Mosquitto drops what comes next.
   */
  #expired: Map<number, Entry> | undefined;
  /** Incoming QoS 2 ids acknowledged with PUBREC, awaiting PUBREL: part of the session. */
  #incoming: Set<number> | undefined;
  /** Incoming QoS 1/2 messages handed over and not yet acknowledged (manual acknowledgements): id -> QoS. */
  #unacked: Map<number, number> | undefined;
  #lastSent = 0;
  #lastRecv = 0;
  #pingAt = 0;
  /**
   * Since the last PINGREQ of the timer's: 1 = we wrote packets other than PINGREQ, 2 = a whole
   * packet came in (the link is alive). The grace applies with both (3) only: without writes of
   * our own there is no publish to race, without packets in the link is not known to be alive.
   */
  #traffic = 0;

  /**
   * @param options - {@link SessionOptions}
   * @param write - takes the bytes the session sends, in order
   * @param codec - the encoders, when not MQTT 3.1.1's ({@link SessionCodec})
   */
  constructor(options: SessionOptions, write: SessionWrite, codec?: SessionCodec) {
    this.#write = write;
    this.#codec = codec ?? { publish: encodePublish, subscribe: encodeSubscribe, unsubscribe: encodeUnsubscribe };
    this.limit(
      options.maxInflight ?? DEFAULT_MAX_INFLIGHT,
      options.maxPacketSize ?? DEFAULT_MAX_PACKET_SIZE,
      (options.keepAlive ?? DEFAULT_KEEPALIVE) * 1000,
    );
    this.#clean = options.clean ?? DEFAULT_CLEAN;
    this.#connectTimeout = options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT;
    this.#messageTimeout = options.messageTimeout ?? DEFAULT_MESSAGE_TIMEOUT;
    this.#maxQueued = options.maxQueued ?? DEFAULT_MAX_QUEUED;
    this.#manualAcks = options.manualAcks ?? false;
    this.maxUnacked = options.maxUnacked ?? DEFAULT_MAX_UNACKED;
  }

  /**
   * Sets the limits of this connection: the in-flight window, the largest packet sent, and the
   * keepalive in ms. `@umqtt/session/v5` lowers them to what the broker's CONNACK says (Receive
   * Maximum, Maximum Packet Size, Server Keep Alive) and puts the configured ones back at `begin()`.
   */
  limit(maxInflight: number, maxPacketSize: number, keepAlive: number): void {
    this.#maxInflight = maxInflight;
    this.#maxPacketSize = maxPacketSize;
    this.#keepAlive = keepAlive;
    this.#grace = Math.min(keepAlive / 8, PING_GRACE);
  }

  /** idle, connecting (until CONNACK), connected, or closed. */
  get state(): 'idle' | 'connecting' | 'connected' | 'closed' {
    return this.#state;
  }

  /** DISCONNECT was sent on this connection: nothing more goes out, and the driver closes once it is written. */
  get closing(): boolean {
    return this.#closing;
  }

  /** Connected and DISCONNECT not sent: calls that send are allowed. */
  get usable(): boolean {
    return this.#state === 'connected' && !this.#closing;
  }

  /** QoS 1/2 messages written and not yet acknowledged (timed-out ones included). */
  get inflight(): number {
    return this.#window;
  }

  /** Messages waiting for the window. */
  get queued(): number {
    return this.#waiting.length;
  }

  /** A publish now would go out at once: the window has room and nothing waits for it. */
  get open(): boolean {
    return this.usable && !this.#waiting.length && this.#window < this.#maxInflight;
  }

  /** Incoming messages handed over and not yet acknowledged (manual acknowledgements). */
  get unacked(): number {
    return this.#unacked?.size ?? 0;
  }

  /** What survives the connection, for a persistent session to save. */
  get saved(): SessionState {
    return { nextId: this.#nextId, incoming: [...(this.#incoming ?? [])] };
  }

  /** Restores what a persistent session saved (before `begin()`). */
  restore(state: Partial<SessionState>): void {
    if (state.nextId !== undefined) this.#nextId = state.nextId;
    if (state.incoming) for (const id of state.incoming) (this.#incoming ??= new Set()).add(id);
  }

  /** A connection starts: CONNECT is being sent; CONNACK is due within `connectTimeout`. */
  begin(now: number): void {
    if (this.#clean) this.#incoming = undefined;
    this.#expired = this.#unacked = undefined;
    this.#state = 'connecting';
    this.#closing = false;
    this.#pingAt = 0;
    this.#traffic = 0;
    this.#lastSent = this.#lastRecv = now;
    this.#connectBy = now + this.#connectTimeout;
  }

  /** Bytes went to the socket at `now` (keepalive counts from the last write). */
  wrote(now: number): void {
    this.#lastSent = now;
  }

  /** Handles one whole packet from the broker. Throws a UmqttError when the broker broke the protocol. */
  received(p: Packet, now: number): void {
    // Only a whole packet is a sign of life: a peer trickling bytes is not alive.
    this.#lastRecv = now;
    if (this.#state === 'connecting') return this.#connack(p);
    this.#traffic |= 2;
    switch (p.type) {
      case PUBLISH:
        return this.#message(p);
      case PUBREL:
        if (this.#incoming?.delete(p.id)) this.#held(p.id, false);
        this.#owe(PUBCOMP, p.id);
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

  /** Acknowledges an incoming QoS 1/2 message by its id (manual acknowledgements); an id not awaiting one is ignored. */
  ack(id: number): void {
    const qos = this.#unacked?.get(id);
    if (qos === undefined || !this.usable) return;
    this.#unacked!.delete(id);
    if (qos === 2) this.#hold(id); // held until PUBREL, then PUBREC: after the message was handed over
    this.#sendAck(id, qos);
  }

  /**
   * Publishes: returns the packet id (0 for QoS 0). Beyond the window the message waits
   * (`maxQueued` at most). Throws at once on misuse: bad topic, QoS, size, no free id, queue full.
   */
  publish(now: number, topic: string, data: Uint8Array, opts?: PublishOptions): number {
    const qos = opts?.qos ?? 0;
    const max = this.#maxPacketSize;
    if (data.length > max)
      throw error(TOO_LARGE, `payload of ${data.length} bytes is over maxPacketSize ${max}`, 'publish');
    if (qos && this.#waiting.length >= this.#maxQueued)
      throw error(
        QUEUE_FULL,
        `${this.#waiting.length} messages already wait for the in-flight window (maxQueued)`,
        'publish',
      );
    const id = qos ? this.#id(opts?.id, 'publish') : undefined;
    // A large payload handed over (copy: false) is written after its header as it is:
    // copying it costs more than all the rest of publish().
    const tail = opts?.copy === false && data.length >= NO_COPY_FROM ? data : undefined;
    let bytes: Uint8Array;
    try {
      bytes = this.#codec.publish(
        { type: PUBLISH, topic, payload: data, qos, retain: opts?.retain, dup: opts?.dup, id },
        !!tail,
      );
    } catch (e) {
      throw placed(e, 'publish');
    }
    const size = bytes.length + (tail?.length ?? 0);
    if (size > max) throw error(TOO_LARGE, `packet of ${size} bytes is over maxPacketSize ${max}`, 'publish');
    if (!id) {
      this.#send(bytes, tail, false);
      this.#along(now);
      return 0;
    }
    this.#enqueue(now, { id, expect: qos === 1 ? PUBACK : PUBREC, bytes, tail, sentAt: -1, ref: opts?.ref });
    return id;
  }

  /**
   * Resumes a QoS 2 message the broker acknowledged with PUBREC in an earlier connection of
   * this session: PUBREL for `id`; PUBCOMP reports `delivered`.
   */
  release(now: number, id: number, ref?: unknown): number {
    this.#id(id, 'publish');
    this.#enqueue(now, { id, expect: PUBCOMP, bytes: encodeAck({ type: PUBREL, id }), sentAt: -1, ref });
    return id;
  }

  /**
   * SUBSCRIBE for a list of filters; returns its packet id (SUBACK reports `delivered` or
   * `refused`). `ref` comes back with each of its statuses, as a publish's does.
   */
  subscribe(now: number, list: Subscription[], ref?: unknown): number {
    return this.#control(
      now,
      { id: 0, expect: SUBACK, bytes: undefined, sentAt: -1, filters: list.length, ref },
      'subscribe',
      (id) => this.#codec.subscribe({ type: SUBSCRIBE, id, subscriptions: list }),
    );
  }

  /** UNSUBSCRIBE; returns its packet id (UNSUBACK reports `delivered`). `ref` comes back with each of its statuses. */
  unsubscribe(now: number, topics: string[], ref?: unknown): number {
    return this.#control(now, { id: 0, expect: UNSUBACK, bytes: undefined, sentAt: -1, ref }, 'unsubscribe', (id) =>
      this.#codec.unsubscribe({ type: UNSUBSCRIBE, id, topics }),
    );
  }

  /** Sends PINGREQ now. */
  ping(now: number): void {
    const traffic = this.#traffic;
    this.#pingAt = now;
    this.#send(encodeEmpty({ type: PINGREQ }), undefined, true);
    this.#traffic = traffic; // a PINGREQ is not traffic
  }

  /** Sends DISCONNECT: nothing is sent after it [MQTT-3.14.4-2]. */
  disconnect(): void {
    this.#send(encodeEmpty({ type: DISCONNECT }), undefined, false);
    this.#closing = true;
  }

  /**
   * The connection is gone: every id in flight or waiting is `aborted` (and a `timeout` still in
   * `events` becomes `aborted`); the session's state (ids held both ways) stays.
   */
  end(): void {
    const entries = this.#ids;
    this.#ids = new Map();
    this.#waiting = [];
    this.#window = 0;
    this.#expired = this.#unacked = undefined;
    this.#state = 'closed';
    this.#closing = false;
    // A timeout the application has not yet heard of is overtaken by the end of the connection.
    for (const e of this.events) if (e.type === STATUS_EVENT && e.status === 'timeout') e.status = 'aborted';
    for (const e of entries.values()) this.#status(e, 'aborted');
  }

  // ---- time --------------------------------------------------------------------------------
  // Every deadline is an absolute time, computed by one expression both when the driver arms its
  // timer (`due()`) and when `tick()` checks it: a timer that fires early (Node fires up to a
  // millisecond or two before its due time) finds the deadline not yet reached, and the driver
  // re-arms for the rest; one that fires late finds it passed.

  /** The next deadline (Infinity when none): the driver calls `tick()` then. */
  due(): number {
    if (this.#state === 'connecting') return this.#connectBy;
    if (this.#state !== 'connected') return Infinity;
    let due = Math.min(this.#deadDue(), this.#pongDue(), this.#pingDue());
    for (const e of this.#ids.values()) due = Math.min(due, this.#timeoutDue(e));
    return due;
  }

  /**
   * A time by which `tick()` must run for what a call at `now` changed, found without a scan:
   * the keepalive deadlines as `due()` has them, and `now + messageTimeout` for the messages in
   * flight (what this call wrote times out then). It is never earlier than `due()`, and can be
   * later: a message written before `now` times out before `now + messageTimeout`. So it does
   * not replace `due()`: a driver arms its timer at `due()` when it (re)starts it (at CONNACK,
   * at each tick) and, after each other call that may have sent something, moves it earlier to
   * `dueBy(now)` if that is earlier, never later; at the tick, `due()` gives the next deadline.
   */
  dueBy(now: number): number {
    const due = this.#state === 'connected' ? Math.min(this.#deadDue(), this.#pongDue(), this.#pingDue()) : this.due();
    return this.#ids.size && this.#messageTimeout ? Math.min(due, now + this.#messageTimeout) : due;
  }

  /** Acts on the deadlines passed by `now`: a ping, timeouts; throws a UmqttError when the connection must end. */
  tick(now: number): void {
    if (this.#state === 'connecting' && now >= this.#connectBy)
      throw error(CONNECT_TIMEOUT, `no CONNACK within ${this.#connectTimeout} ms`, 'connect');
    if (this.#state !== 'connected') return;
    if (now >= this.#deadDue())
      throw error(
        KEEPALIVE_TIMEOUT,
        `no packet received for ${Math.round(now - this.#lastRecv)} ms (1.5 x keepAlive ${this.#keepAlive / 1000} s)`,
        'keepalive',
      );
    if (now >= this.#pongDue())
      throw error(
        KEEPALIVE_TIMEOUT,
        `no PINGRESP within keepAlive (${this.#keepAlive / 1000} s) of PINGREQ`,
        'keepalive',
      );
    if (now >= this.#pingDue()) {
      this.ping(now);
      this.#traffic = 0; // a PINGREQ of its own: nothing else went either way
    }
    for (const e of this.#ids.values())
      if (now >= this.#timeoutDue(e)) {
        this.#ids.delete(e.id);
        (this.#expired ??= new Map()).set(e.id, e); // a publish keeps its place in the window
        this.#status(e, 'timeout');
      }
  }

  /** No whole packet for 1.5 x keepAlive: the peer is dead (half-open, or trickling). */
  #deadDue(): number {
    return this.#keepAlive ? this.#lastRecv + this.#keepAlive * DEAD_PEER_FACTOR : Infinity;
  }
  /** A PINGREQ unanswered for keepAlive. */
  #pongDue(): number {
    return this.#keepAlive && this.#pingAt ? this.#pingAt + this.#keepAlive : Infinity;
  }
  /**
   * Keepalive: when a PINGREQ is due (none outstanding, not closing): keepAlive after the older
   * of the last write and the last whole packet received, plus the grace while traffic goes both ways.
   */
  #pingDue(): number {
    return this.#keepAlive && !this.#pingAt && !this.#closing
      ? Math.min(this.#lastSent, this.#lastRecv) + this.#keepAlive + (this.#traffic === 3 ? this.#grace : 0)
      : Infinity;
  }
  /**
   * A QoS 0 publish expects no answer: when nothing else in flight will prove the link alive and
   * the receiving side's PINGREQ is due within the grace, PINGREQ goes with it, in the same
   * flush, instead of waking the radio again a few seconds later.
   */
  #along(now: number): void {
    if (this.#keepAlive && !this.#pingAt && !this.#ids.size && now >= this.#lastRecv + this.#keepAlive - this.#grace)
      this.ping(now);
  }
  /** When an entry in flight times out. */
  #timeoutDue(e: Entry): number {
    return this.#messageTimeout && e.sentAt >= 0 ? e.sentAt + this.#messageTimeout : Infinity;
  }

  // ---- incoming ------------------------------------------------------------------------------

  #connack(p: Packet): void {
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
    if (p.sessionPresent && this.#clean)
      throw error(
        PROTOCOL_ERROR,
        'CONNACK says a session is present in answer to a clean-session CONNECT',
        'connect',
        undefined,
        'MQTT-3.2.2-1',
      );
    // A broker without our session holds no QoS 2 message of ours awaiting PUBREL.
    if (!p.sessionPresent && this.#incoming) {
      for (const id of this.#incoming) this.#held(id, false);
      this.#incoming = undefined;
    }
    this.#state = 'connected';
    this.events.push({ type: CONNECTED_EVENT, sessionPresent: p.sessionPresent });
  }

  #message(p: PublishPacket): void {
    const qos = p.qos ?? 0;
    const id = p.id ?? 0;
    if (qos && this.#unacked?.has(id)) return; // a resend while the application still has it
    if (qos === 2 && this.#incoming?.has(id)) {
      this.#owe(PUBREC, id); // a resend before PUBREL: handed over once already
      return;
    }
    // Automatic acknowledgement: a QoS 2 id is reported held (INCOMING) before the message, so a
    // Store records it before the application has the message: a reboot while the record is
    // written hands the message over once, when the broker sends it again. The PUBREC is
    // written after both.
    const auto = qos && !this.#manualAcks;
    if (auto && qos === 2) this.#hold(id);
    this.events.push({
      type: MESSAGE_EVENT,
      message: { topic: p.topic, payload: p.payload, qos, retain: p.retain ?? false, dup: p.dup ?? false, id },
    });
    if (!qos) return;
    if (auto) this.#sendAck(id, qos);
    else (this.#unacked ??= new Map()).set(id, qos);
  }

  /** An incoming QoS 2 id held until PUBREL, reported for the Store. */
  #hold(id: number): void {
    (this.#incoming ??= new Set()).add(id);
    this.#held(id, true);
  }

  /** Reports an incoming QoS 2 id held until PUBREL, or released (for the Store). */
  #held(id: number, held: boolean): void {
    this.events.push({ type: INCOMING_EVENT, id, held });
  }

  #sendAck(id: number, qos: number): void {
    this.#owe(qos === 2 ? PUBREC : PUBACK, id);
  }

  /** An acknowledgement the broker made us owe it (the driver bounds those while unwritten). */
  #owe(type: typeof PUBACK | typeof PUBREC | typeof PUBREL | typeof PUBCOMP, id: number): void {
    this.#send(encodeAck({ type, id }), undefined, true);
  }

  #ack(type: number, id: number, granted: number[] | undefined): void {
    const e = this.#ids.get(id);
    const expect = !e || e.sentAt < 0 ? 0 : e.expect;
    if (type === PUBREC && expect === PUBCOMP) {
      this.#owe(PUBREL, id); // a repeated PUBREC: repeat PUBREL
      return;
    }
    if (expect !== type) {
      const late = this.#expired?.get(id);
      if (late) {
        // A late acknowledgement of a message that timed out: its final one reports "unknown
        // id", as in simple2, and frees its place in the window (a late PUBREC is answered with
        // PUBREL and reported `received`; PUBCOMP is still to come).
        if (type === PUBREC) {
          this.#owe(PUBREL, id);
          return this.#status(late, 'received');
        }
        if (isPublish(late)) this.#window--;
        this.#expired!.delete(id);
        this.#status(late, 'unknown');
        return this.#pump();
      }
      // An acknowledgement for an id we do not track: brokers repeat PUBREC and PUBCOMP, and
      // ack what an earlier connection sent. As libmosquitto and MQTT.js do, PUBREC is answered
      // with PUBREL (so the broker can forget the id) and the rest is recorded and ignored. A
      // repeated PUBCOMP may also arrive after its id went to a new message: ignored the same way.
      if (!e || e.sentAt < 0 || type === PUBCOMP) {
        if (type === PUBREC) this.#owe(PUBREL, id);
        this.events.push({
          type: ISSUE_EVENT,
          error: error(
            UNKNOWN_ID,
            `acknowledgement (packet type ${type}) for packet id ${id}, which is not in flight`,
            'read',
          ),
        });
        return;
      }
      throw error(
        PROTOCOL_ERROR,
        `acknowledgement (packet type ${type}) for packet id ${id}, which awaits packet type ${expect}`,
        'read',
      );
    }
    const entry = e!;
    if (type === PUBREC) {
      entry.expect = PUBCOMP;
      this.#owe(PUBREL, id);
      this.#status(entry, 'received');
      return;
    }
    if (type === SUBACK && granted!.length !== entry.filters)
      throw error(
        PROTOCOL_ERROR,
        `SUBACK for ${entry.filters} filter(s) has ${granted!.length} return code(s)`,
        'subscribe',
        undefined,
        'MQTT-3.9.3-1',
      );
    this.#ids.delete(id);
    if (isPublish(entry)) this.#window--;
    this.#status(entry, type === SUBACK && granted!.includes(0x80) ? 'refused' : 'delivered', granted);
    this.#pump();
  }

  // ---- outgoing ------------------------------------------------------------------------------

  /** A free packet id (or checks a requested one). */
  #id(wanted: number | undefined, place: string): number {
    const ids = this.#ids;
    const expired = this.#expired; // timed out, and may still be acknowledged on this connection
    if (wanted !== undefined) {
      if (ids.has(wanted) || expired?.has(wanted))
        throw error(INVALID_ARGUMENT, `packet id ${wanted} is in use`, place);
      return wanted;
    }
    if (ids.size + (expired?.size ?? 0) >= LAST_PACKET_ID)
      throw error(NO_PACKET_ID, `all ${LAST_PACKET_ID} packet ids are in use`, place);
    let id = this.#nextId;
    do id = (id % LAST_PACKET_ID) + 1;
    while (ids.has(id) || expired?.has(id));
    return (this.#nextId = id);
  }

  /** SUBSCRIBE or UNSUBSCRIBE: `entry` gets its id and bytes, and is written at once (outside the window). */
  #control(now: number, entry: Entry, place: string, encode: (id: number) => Uint8Array): number {
    const id = (entry.id = this.#id(undefined, place));
    try {
      entry.bytes = encode(id);
    } catch (e) {
      throw placed(e, place);
    }
    this.#ids.set(id, entry);
    this.#transmit(now, entry);
    return id;
  }

  #enqueue(now: number, entry: Entry): void {
    this.#ids.set(entry.id, entry);
    if (this.#window < this.#maxInflight && !this.#waiting.length) this.#transmit(now, entry);
    else this.#waiting.push(entry);
  }

  #transmit(now: number, entry: Entry): void {
    entry.sentAt = now;
    if (isPublish(entry)) this.#window++;
    this.#send(entry.bytes!, entry.tail, false);
    entry.bytes = entry.tail = undefined;
  }

  /** Sends waiting messages while the window has room (called while a packet is handled: #lastRecv is now). */
  #pump(): void {
    const w = this.#waiting;
    let i = 0;
    while (i < w.length && this.#window < this.#maxInflight) this.#transmit(this.#lastRecv, w[i++]!);
    if (i) w.splice(0, i);
  }

  /** Everything the session writes goes through here: nothing after DISCONNECT [MQTT-3.14.4-2]. */
  #send(bytes: Uint8Array, tail: Uint8Array | undefined, owed: boolean): void {
    if (this.#closing) return;
    this.#traffic |= 1;
    this.#write(bytes, tail, owed);
  }

  #status(e: Entry, status: Status, granted?: number[]): void {
    this.events.push({ type: STATUS_EVENT, id: e.id, status, granted, ref: e.ref });
  }
}

/** An error thrown by the codec, given the place it happened (anything else becomes INVALID_ARGUMENT's cousin upstream). */
function placed(e: unknown, place: string): unknown {
  if (e && typeof e === 'object' && 'code' in e) (e as UmqttError).place ??= place;
  return e;
}
