// @umqtt/session/v5: the MQTT 5.0 session. A 3.1.1 bundle never imports this module.
//
// Session5 is the 3.1.1 Session with MQTT 5's additions in one place, around it: it encodes with
// the codec's MQTT 5 encoders (properties, subscription options), obeys the broker's CONNACK
// (Receive Maximum caps the window, Maximum Packet Size the packets sent, Server Keep Alive
// replaces ours, Maximum QoS / Retain Available / wildcard, shared and identified subscriptions
// make impossible calls fail at once), turns reason codes into statuses (a PUBACK or PUBREC of
// 0x80 or more is `refused` with its code, never `delivered`), a broker's DISCONNECT into a typed
// error, and resolves topic aliases both ways. Incoming packets are handed to the 3.1.1 core in
// its shapes; what MQTT 5 adds (properties, reason codes) is put on the events it produced.
/**
 * The MQTT 5.0 session core without I/O: `Session5`, the 3.1.1 `Session` with MQTT 5's
 * properties, reason codes, the broker's limits and topic aliases.
 *
 * @module @umqtt/session/v5
 */
import {
  AUTH,
  CONNACK,
  DISCONNECT,
  PUBACK,
  PUBCOMP,
  PUBLISH,
  PUBREC,
  SUBACK,
  UNSUBACK,
  REASON_NAMES,
  encodeAuth,
  encodeDisconnect,
  encodePublish,
  encodeSubscribe,
  encodeUnsubscribe,
  type AuthPacket,
  type ConnackProperties,
  type DisconnectProperties,
  type Packet,
  type PublishPacket,
  type PublishProperties,
  type Subscription,
  type SubscribeProperties,
  type ConnectProperties,
  type UserProperty,
} from '@umqtt/codec/v5';
import {
  decodeUtf8,
  type Packet as Packet311,
  type QoS,
  type SubscribePacket as SubscribePacket311,
} from '@umqtt/codec';
import {
  BROKER_DISCONNECT,
  CONNACK_CODES,
  CONNACK_REFUSED,
  NOT_SUPPORTED,
  RECEIVE_MAXIMUM_EXCEEDED,
  PROTOCOL_ERROR,
  sessionError as error,
} from './errors.js';
import { DEFAULT_KEEPALIVE, DEFAULT_MAX_INFLIGHT, DEFAULT_MAX_PACKET_SIZE } from './defaults.js';
import { CONNECTED_EVENT, ISSUE_EVENT, MESSAGE_EVENT, STATUS_EVENT, type Message } from './events.js';
import { Session, type PublishOptions, type SessionOptions, type SessionWrite } from './session.js';

export type { UserProperty, PublishProperties, ConnackProperties, Subscription, SubscribeProperties };
export { BROKER_DISCONNECT, CONNACK_REFUSED, NOT_SUPPORTED, RECEIVE_MAXIMUM_EXCEEDED } from './errors.js';

/**
 * Options of a {@link Session5}: the 3.1.1 session's, and MQTT 5's own.
 *
 * @example
 * const session = new Session5({ keepAlive: 30, topicAliasMaximum: 16, sendTopicAliases: 8 }, write);
 */
export interface Session5Options extends SessionOptions {
  /** Topic aliases the broker may use towards us (advertised in CONNECT as Topic Alias Maximum). Default 0. */
  topicAliasMaximum?: number | undefined;
  /** Topic aliases we use towards the broker, at most (and at most the broker's maximum); least recently used first to go. Default 16. */
  sendTopicAliases?: number | undefined;
  /** Test only: ignore the broker's Receive Maximum (to see what the broker does past it). */
  ignoreReceiveMaximum?: boolean | undefined;
  /** Answers the broker's AUTH (enhanced authentication): the properties of the AUTH to send back (reason 0x18, continue). */
  onAuth?: ((packet: AuthPacket) => AuthPacket['properties']) | undefined;
  /**
   * The CONNECT properties the connection is opened with: their Receive Maximum is what the
   * broker may leave unacknowledged by us; more is recorded once per connection as
   * `RECEIVE_MAXIMUM_EXCEEDED` (an issue, not a disconnection: Mosquitto 2.0.11 exceeds it).
   */
  properties?: Pick<ConnectProperties, 'receiveMaximum'> | undefined;
}

/**
 * Options of {@link Session5.publish}: the 3.1.1 options and the PUBLISH's properties.
 *
 * @example
 * session.publish(now, 'home/t', payload, { qos: 1, properties: { messageExpiryInterval: 60, contentType: 'text/plain' } });
 */
export interface Publish5Options extends PublishOptions {
  /** Properties of the PUBLISH (the topic alias is the session's to choose). */
  properties?: Omit<PublishProperties, 'topicAlias' | 'subscriptionIdentifier'> | undefined;
  /**
   * When `qos` is above the broker's Maximum QoS: publish at its maximum instead of failing with
   * `UMQTT_NOT_SUPPORTED`. The QoS it went out at: the status's `ack.qos` (1 or 2), or a
   * returned id of 0 (QoS 0, no status). Default false.
   */
  downgrade?: boolean | undefined;
}

/**
 * What an MQTT 5 acknowledgement said besides the codes of its status (`StatusEvent.ack`, the
 * fifth argument of `onStatus`): for a publish, the QoS it went out at and the reason code
 * (0x10: no subscriber matched); for any acknowledgement, the broker's reason string and user
 * properties.
 *
 * @example
 * client.onStatus = (id, status, codes, ref, ack?: Ack5) => ack?.reasonString && console.log(id, status, ack.reasonString);
 */
export interface Ack5 {
  /** The QoS the publish went out at: 1 (PUBACK) or 2 (PUBREC, PUBCOMP); none for SUBACK and UNSUBACK. */
  qos?: QoS | undefined;
  /** The PUBACK's, PUBREC's or PUBCOMP's reason code (0 success, 0x10 no matching subscribers, 0x80 and above refused). */
  reasonCode?: number | undefined;
  /** The broker's reason string, when it gave one (and we did not turn problem information off). */
  reasonString?: string | undefined;
  /** The acknowledgement's user properties. */
  userProperties?: UserProperty[] | undefined;
}

/**
 * A received MQTT 5 message: the 3.1.1 message with its properties (subscription identifiers,
 * user properties, content type, response topic, correlation data, message expiry...).
 *
 * @example
 * client.onMessage = (m: Message5) => console.log(m.topic, m.properties?.userProperties);
 */
export interface Message5 extends Message {
  /** The PUBLISH's properties, when it had any (the topic alias already resolved into `topic`). */
  properties?: PublishProperties | undefined;
}

const SUCCESS_LIMIT = 0x80;
/** The `ack` of a plain success at QoS 1 and 2 (no reason string, no user properties): shared, so frozen. */
const PLAIN_ACKS: readonly Ack5[] = /* @__PURE__ */ Object.freeze([
  Object.freeze({ qos: 1 as QoS, reasonCode: 0 }),
  Object.freeze({ qos: 2 as QoS, reasonCode: 0 }),
]);
/**
 * The 3.1.1 core's `received`, for the private methods below: XS (as @agoric/xsnap 0.15 builds
 * it) resolves `super.x` inside a private method as `this.x`, which here would call
 * Session5.received again, without end (a stack overflow found by the device test).
 */
const core = /* @__PURE__ */ (() => Session.prototype.received)();
/** The 3.1.1 CONNACK code (index in CONNACK_CODES) that means the same as an MQTT 5 CONNACK reason code. */
const REFUSALS: Readonly<Record<number, number>> = /* @__PURE__ */ Object.freeze({
  0x84: 1,
  0x85: 2,
  0x88: 3,
  0x89: 3,
  0x86: 4,
  0x8c: 4,
  0x87: 5,
});

/** Why, in words: the reason code's name, and the broker's reason string where it gave one. */
const why = (rc: number, reasonString?: string): string =>
  `${REASON_NAMES[rc] ?? 'reason'} (0x${rc.toString(16)})${reasonString ? `: ${reasonString}` : ''}`;

/**
 * One MQTT 5.0 session without I/O (see {@link Session}): the driver writes CONNECT with the
 * codec's MQTT 5 `encodeConnect` and feeds packets from its MQTT 5 `Parser`.
 *
 * @example
 * import { Parser, clientDecoders, encodeConnect, CONNECT } from '@umqtt/codec/v5';
 * const session = new Session5({ keepAlive: 30 }, (bytes) => socket.write(bytes));
 * session.begin(now());
 * socket.write(encodeConnect({ type: CONNECT, clientId: 'a', clean: true, keepAlive: 30, properties: { sessionExpiryInterval: 3600 } }));
 */
export class Session5 extends Session {
  /** The broker's CONNACK properties on this connection (its limits, reason string, user properties...). */
  connack: ConnackProperties | undefined;
  /** The broker's DISCONNECT properties, when it ended the connection with one. */
  disconnected: DisconnectProperties | undefined;
  /** The properties of the next `subscribe()` called without any (a driver's way to pass them). */
  subscribeProperties: SubscribeProperties | undefined;
  /** The reason code and properties of the next `disconnect()` called without any (a driver's way to pass them). */
  disconnectWith: [reasonCode: number, properties?: DisconnectProperties | undefined] | undefined;
  readonly #write: SessionWrite;
  readonly #o: Session5Options;
  /** Incoming topic aliases of this connection: alias -> topic name. */
  #aliasesIn: Map<number, string> | undefined;
  /** Outgoing topic aliases of this connection, least recently used first: topic name -> alias. */
  #aliasesOut: Map<string, number> | undefined;
  #aliasMax = 0;
  /** The broker went past our Receive Maximum on this connection (recorded once). */
  #exceeded = false;
  /** The properties of the publish or subscribe being encoded. */
  #props: PublishProperties | SubscribeProperties | undefined;
  /** The outgoing alias the publish being encoded takes: made part of the map once the publish went through. */
  #take: [topic: string, alias: number, evicted: string | undefined] | undefined;
  /** While true the core's writes are dropped (a PUBREC refusal is not answered with PUBREL). */
  #mute = false;
  /** DISCONNECT with a reason, written instead of the core's plain one. */
  #disconnect: Uint8Array | undefined;

  /**
   * @param options - {@link Session5Options}
   * @param write - takes the bytes the session sends, in order
   */
  constructor(options: Session5Options, write: SessionWrite) {
    // The encoders and the write function reach this instance once it exists.
    // eslint-disable-next-line prefer-const -- assigned after super()
    let self: Session5 | undefined;
    super(options, (bytes, tail, owed) => self!.#out(bytes, tail, owed), {
      publish: (p, headerOnly) => self!.#encodePublish(p, headerOnly),
      subscribe: (p) =>
        encodeSubscribe({
          ...(p as SubscribePacket311 & { subscriptions: Subscription[] }),
          properties: self!.#props as SubscribeProperties,
        }),
      unsubscribe: encodeUnsubscribe,
    });
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- what was given to super() reaches this instance through it
    self = this;
    this.#write = write;
    this.#o = options;
  }

  /** A connection starts: the configured limits come back, aliases start empty. */
  override begin(now: number): void {
    const o = this.#o;
    this.limit(
      o.maxInflight ?? DEFAULT_MAX_INFLIGHT,
      o.maxPacketSize ?? DEFAULT_MAX_PACKET_SIZE,
      (o.keepAlive ?? DEFAULT_KEEPALIVE) * 1000,
    );
    this.connack = this.disconnected = this.#aliasesIn = this.#aliasesOut = undefined;
    this.#aliasMax = 0;
    this.#exceeded = false;
    super.begin(now);
  }

  /** Handles one whole MQTT 5 packet from the broker; throws a UmqttError when the connection must end. */
  override received(packet: Packet | Packet311, now: number): void {
    const p = packet as Packet;
    const from = this.events.length;
    if (this.state === 'connecting' && p.type === CONNACK) return this.#connack(p, now);
    switch (p.type) {
      case DISCONNECT: {
        const rc = p.reasonCode ?? 0;
        this.disconnected = p.properties;
        throw error(
          BROKER_DISCONNECT,
          `the broker ended the connection: ${why(rc, p.properties?.reasonString)}`,
          this.state === 'connecting' ? 'connect' : 'read',
          rc,
        );
      }
      case AUTH:
        return this.#auth(p);
      case PUBLISH:
        return this.#message(p, now, from);
      case PUBACK:
      case PUBREC:
      case PUBCOMP: {
        const rc = p.reasonCode ?? 0;
        const qos = p.type === PUBACK ? 1 : 2;
        if (rc < SUCCESS_LIMIT || p.type === PUBCOMP) {
          // PUBCOMP 0x92 (packet identifier not found) follows a PUBREC the broker accepted: delivered.
          super.received({ type: p.type, id: p.id }, now);
          return this.#ack(from, p.id, qos, rc, p.properties);
        }
        // A refusal ends the exchange [MQTT-4.3.3-4]: no PUBREL after a PUBREC of 0x80 or more.
        // The core takes a refused PUBREC as PUBREC (its PUBREL dropped) and then PUBCOMP, so the
        // message leaves the window (and the next waiting ones are written) as when delivered.
        if (p.type === PUBREC) {
          this.#mute = true;
          try {
            super.received({ type: PUBREC, id: p.id }, now);
          } finally {
            this.#mute = false;
          }
          const received = this.#status(from, p.id, 'received');
          if (!received) return;
          this.events.splice(this.events.indexOf(received), 1);
          super.received({ type: PUBCOMP, id: p.id }, now);
        } else super.received({ type: PUBACK, id: p.id }, now);
        const done = this.#status(from, p.id, 'delivered') ?? this.#status(from, p.id, 'unknown');
        if (done) {
          if (done.status === 'delivered') done.status = 'refused';
          done.granted = [rc];
        }
        return this.#ack(from, p.id, qos, rc, p.properties);
      }
      case SUBACK:
      case UNSUBACK: {
        super.received({ type: p.type, id: p.id, granted: p.reasonCodes } as Packet311, now);
        const e = this.#status(from, p.id, 'delivered') ?? this.#status(from, p.id, 'refused');
        if (e) {
          e.granted = p.reasonCodes;
          if (p.reasonCodes.some((rc) => rc >= SUCCESS_LIMIT)) e.status = 'refused';
          if (p.properties) e.ack = { ...p.properties };
        }
        return;
      }
    }
    super.received(p as Packet311, now);
  }

  /**
   * Publishes (see {@link Session.publish}), with the PUBLISH's properties. Throws NOT_SUPPORTED
   * at once for a QoS above the broker's Maximum QoS (unless `downgrade` allows its maximum) or a
   * retained message it does not take, and INVALID_UTF8 for a payload said to be UTF-8 that is not.
   */
  override publish(now: number, topic: string, data: Uint8Array, opts?: Publish5Options): number {
    const c = this.connack;
    const max = c?.maximumQoS;
    if (max !== undefined && (opts?.qos ?? 0) > max) {
      if (!opts!.downgrade)
        throw error(NOT_SUPPORTED, `QoS ${opts!.qos} is above the broker's Maximum QoS ${max}`, 'publish');
      opts = { ...opts, qos: max as QoS };
    }
    if (opts?.retain && c?.retainAvailable === false)
      throw error(NOT_SUPPORTED, 'the broker does not keep retained messages (Retain Available 0)', 'publish');
    const props = opts?.properties;
    if (props?.payloadFormatIndicator) decodeUtf8(data); // throws INVALID_UTF8 [MQTT-3.3.2-4]
    this.#props = props;
    try {
      const id = super.publish(now, topic, data, opts);
      const take = this.#take;
      if (take) {
        const map = this.#aliasesOut!;
        if (take[2] !== undefined) map.delete(take[2]);
        map.delete(take[0]); // moved to the most recently used end
        map.set(take[0], take[1]);
      }
      return id;
    } finally {
      this.#props = this.#take = undefined;
    }
  }

  /**
   * SUBSCRIBE with MQTT 5 subscription options (no local, retain as published, retain handling)
   * and properties (a subscription identifier, user properties). Throws NOT_SUPPORTED at once for
   * what the broker said it does not support. `ref` comes back with its statuses, as in `Session.subscribe`.
   */
  override subscribe(now: number, list: Subscription[], ref?: unknown, properties = this.subscribeProperties): number {
    const c = this.connack;
    for (const s of list) {
      const f = s.topic;
      if (c?.wildcardSubscriptionAvailable === false && /[#+]/.test(f))
        throw error(NOT_SUPPORTED, `the broker does not support wildcard subscriptions: ${f}`, 'subscribe');
      if (c?.sharedSubscriptionAvailable === false && f.startsWith('$share/'))
        throw error(NOT_SUPPORTED, `the broker does not support shared subscriptions: ${f}`, 'subscribe');
    }
    if (properties?.subscriptionIdentifier !== undefined && c?.subscriptionIdentifiersAvailable === false)
      throw error(NOT_SUPPORTED, 'the broker does not support subscription identifiers', 'subscribe');
    this.#props = properties;
    try {
      return super.subscribe(now, list, ref);
    } finally {
      this.#props = undefined;
    }
  }

  /**
   * Sends DISCONNECT with a reason code (0x04: the broker publishes the will) and properties
   * (a new Session Expiry Interval, a reason string); nothing is sent after it.
   */
  override disconnect(reasonCode = this.disconnectWith?.[0] ?? 0, properties = this.disconnectWith?.[1]): void {
    if (reasonCode || properties) this.#disconnect = encodeDisconnect({ type: DISCONNECT, reasonCode, properties });
    try {
      super.disconnect();
    } finally {
      this.#disconnect = undefined;
    }
  }

  /** Sends AUTH (enhanced authentication; re-authentication with reason 0x19). */
  auth(reasonCode: number, properties?: AuthPacket['properties']): void {
    this.#write(encodeAuth({ type: AUTH, reasonCode, properties }), undefined, true);
  }

  // ---- internals -----------------------------------------------------------------------------

  #out(bytes: Uint8Array, tail: Uint8Array | undefined, owed: boolean): void {
    if (this.#mute) return;
    const d = this.#disconnect;
    this.#write(d ?? bytes, tail, owed);
  }

  #connack(p: Extract<Packet, { type: 2 }>, now: number): void {
    const rc = p.reasonCode;
    const c = p.properties ?? {};
    if (rc >= SUCCESS_LIMIT) {
      const old = REFUSALS[rc];
      throw error(
        old ? CONNACK_CODES[old]! : CONNACK_REFUSED,
        `broker refused the connection: ${why(rc, c.reasonString)}`,
        'connect',
        rc,
      );
    }
    const o = this.#o;
    this.connack = c;
    this.limit(
      o.ignoreReceiveMaximum
        ? (o.maxInflight ?? DEFAULT_MAX_INFLIGHT)
        : Math.min(o.maxInflight ?? DEFAULT_MAX_INFLIGHT, c.receiveMaximum ?? 65_535),
      Math.min(o.maxPacketSize ?? DEFAULT_MAX_PACKET_SIZE, c.maximumPacketSize ?? Infinity),
      (c.serverKeepAlive ?? o.keepAlive ?? DEFAULT_KEEPALIVE) * 1000,
    );
    this.#aliasMax = Math.min(o.sendTopicAliases ?? 16, c.topicAliasMaximum ?? 0);
    const from = this.events.length;
    core.call(this, { type: CONNACK, sessionPresent: p.sessionPresent, returnCode: 0 }, now);
    for (let i = from; i < this.events.length; i++) {
      const e = this.events[i]!;
      if (e.type === CONNECTED_EVENT) (e as typeof e & { properties?: ConnackProperties }).properties = c;
    }
  }

  #message(p: PublishPacket, now: number, from: number): void {
    const most = this.#o.properties?.receiveMaximum;
    if (most && p.qos && !this.#exceeded) {
      // Ours unacknowledged: handed over and not yet acknowledged (manual acks), and QoS 2 ids
      // held until PUBREL. A resend of a held id is not one more.
      // The spec has the client disconnect with 0x93 here, but Mosquitto 2.0.11 does it in plain
      // QoS 2 streams: recorded, not fatal (the driver's flow control still bounds what waits).
      // Checked until it first happens on a connection: the copy of the held ids is then never
      // more than the Receive Maximum.
      const held = this.saved.incoming;
      if (this.unacked + held.length >= most && !held.includes(p.id!)) {
        this.#exceeded = true;
        this.events.push({
          type: ISSUE_EVENT,
          error: error(
            RECEIVE_MAXIMUM_EXCEEDED,
            `the broker sent more than our Receive Maximum of ${most} QoS 1/2 messages unacknowledged`,
            'read',
            0x93,
            'MQTT-3.3.4-9',
          ),
        });
      }
    }
    let topic = p.topic;
    const alias = p.properties?.topicAlias;
    if (alias !== undefined) {
      const max = this.#o.topicAliasMaximum ?? 0;
      if (!alias || alias > max)
        throw error(
          PROTOCOL_ERROR,
          `topic alias ${alias} is not within our maximum ${max}`,
          'read',
          0x94,
          'MQTT-3.3.2-9',
        );
      const map = (this.#aliasesIn ??= new Map());
      if (topic) map.set(alias, topic);
      else {
        const known = map.get(alias);
        if (known === undefined)
          throw error(
            PROTOCOL_ERROR,
            `topic alias ${alias} was never set on this connection`,
            'read',
            0x82,
            'MQTT-3.3.4-1',
          );
        topic = known;
      }
    } else if (!topic)
      throw error(PROTOCOL_ERROR, 'PUBLISH without a topic name or alias', 'read', 0x82, 'MQTT-3.3.4-1');
    // A payload said to be UTF-8 is checked [MQTT-3.3.2.3.2]: one that is not ends the connection (0x99).
    if (p.properties?.payloadFormatIndicator)
      try {
        decodeUtf8(p.payload);
      } catch {
        throw error(PROTOCOL_ERROR, `PUBLISH on ${topic}: the payload is said to be UTF-8 and is not`, 'read', 0x99);
      }
    core.call(this, { ...p, topic } as Packet311, now);
    if (!p.properties) return;
    for (let i = from; i < this.events.length; i++) {
      const e = this.events[i]!;
      if (e.type === MESSAGE_EVENT) (e.message as Message5).properties = p.properties;
    }
  }

  #auth(p: AuthPacket): void {
    const answer = this.#o.onAuth;
    if (!answer || (p.reasonCode ?? 0) !== 0x18)
      throw error(PROTOCOL_ERROR, `unexpected AUTH (reason 0x${(p.reasonCode ?? 0).toString(16)})`, 'read', 0x82);
    this.auth(0x18, answer(p));
  }

  /** Puts what a publish's acknowledgement said on the status events of `id` the core added since `from`. */
  #ack(from: number, id: number, qos: number, reasonCode: number, properties: Ack5 | undefined): void {
    const ack = reasonCode || properties ? { ...properties, qos: qos as QoS, reasonCode } : PLAIN_ACKS[qos - 1];
    for (let i = from; i < this.events.length; i++) {
      const e = this.events[i]!;
      if (e.type === STATUS_EVENT && e.id === id) e.ack = ack;
    }
  }

  /** The status event for `id` with `status` the core added since `from`. */
  #status(from: number, id: number, status: string) {
    for (let i = from; i < this.events.length; i++) {
      const e = this.events[i]!;
      if (e.type === STATUS_EVENT && e.id === id && e.status === status) return e;
    }
    return undefined;
  }

  /** MQTT 5's PUBLISH: the properties given, and a topic alias when the broker takes them. */
  #encodePublish(p: PublishPacket, headerOnly: boolean): Uint8Array {
    const given = this.#props as PublishProperties | undefined;
    let topic = p.topic;
    let alias: number | undefined;
    // Only a packet written now uses or sets an alias (QoS 0, or the window open): one that waits
    // for the window was encoded now and goes out later, after packets that may change the
    // aliases meanwhile (a QoS 0 publish is written at once), so it carries its topic and no alias.
    if (this.#aliasMax && (!p.qos || this.open)) {
      const map = (this.#aliasesOut ??= new Map<string, number>());
      alias = map.get(topic);
      let evicted: string | undefined;
      if (alias !== undefined) topic = '';
      else if (map.size < this.#aliasMax) alias = map.size + 1;
      else [evicted, alias] = map.entries().next().value as [string, number];
      this.#take = [p.topic, alias, evicted];
    }
    return encodePublish({ ...p, topic, properties: alias ? { ...given, topicAlias: alias } : given }, headerOnly);
  }
}
