// MQTT 5 encoders: one per packet shape, as in 3.1.1, each checking its packet against the MQTT 5
// rules (properties, reason codes, subscription options) and returning the exact bytes. Only
// UmqttError leaves them, with MQTT 5 clauses.
import { INVALID_ARGUMENT } from '../errors.js';
import {
  alloc,
  bad,
  build,
  encodeEmpty as encodeEmpty311,
  field,
  idOf,
  nonEmpty,
  qosOf,
  writeField,
  isUint,
  type Part,
} from '../encode.js';
import {
  CLEAN,
  DUP,
  LEVEL_5,
  NO_LOCAL,
  PASSWORD,
  QOS_SHIFT,
  RETAIN,
  RETAIN_AS_PUBLISHED,
  RETAIN_HANDLING_SHIFT,
  SESSION_PRESENT,
  TYPE_SHIFT,
  USERNAME,
  WILL,
  WILL_QOS_SHIFT,
  WILL_RETAIN,
} from '../flags.js';
import {
  CONNACK,
  CONNECT,
  DISCONNECT,
  PINGREQ,
  PINGRESP,
  PUBLISH,
  PUBREL,
  SUBACK,
  SUBSCRIBE,
  UNSUBACK,
  UNSUBSCRIBE,
} from '../packets.js';
import { validateTopicFilter, validateTopicName, type TopicMemo } from '../topic.js';
import {
  AUTH,
  type AckPacket,
  type AuthPacket,
  type ConnackPacket,
  type ConnectPacket,
  type DisconnectPacket,
  type Packet,
  type PingPacket,
  type PublishPacket,
  type SubackPacket,
  type SubscribePacket,
  type UnsubscribePacket,
} from './packets.js';
import { NAMES, WILL_PROPERTIES, binary, isShared, propertyParts, put, size, v5Error } from './properties.js';
import { checkReason } from './reasons.js';

/** `f`, whose errors carry MQTT 5 clauses, and which throws only UmqttError. */
function v5<A extends unknown[]>(f: (...args: A) => Uint8Array): (...args: A) => Uint8Array {
  return (...args) => {
    try {
      return f(...args);
    } catch (e) {
      throw v5Error(e, false);
    }
  };
}

/**
 * Encodes an MQTT 5 CONNECT (protocol "MQTT" version 5): properties, will properties, and a
 * password without a user name if need be.
 *
 * @example
 * encodeConnect({ type: CONNECT, clientId: 'sensor-1', clean: true, keepAlive: 60, properties: { sessionExpiryInterval: 3600 } });
 */
export const encodeConnect: (p: ConnectPacket) => Uint8Array = /* @__PURE__ */ v5((p: ConnectPacket) => {
  const { will, username, password, clientId, keepAlive: k } = p ?? ({} as ConnectPacket); // k is checked first
  if (!isUint(k, 65535)) throw bad('keepAlive', '0..65535 seconds', k, '3.1.2.10');
  // "MQTT", version 5, the flags (set below), keep alive, properties [MQTT-3.1.2-1, 3.1.2-2]
  const parts: Part[] = ['MQTT', LEVEL_5, 0, k >> 8, k, ...propertyParts(CONNECT, p.properties)];
  parts.push(...field(clientId, 'client id'));
  let flags = p.clean ? CLEAN : 0;
  if (will) {
    flags |= WILL | (qosOf(will.qos ?? 0, 'will', '3.1.2-12') << WILL_QOS_SHIFT) | (will.retain ? WILL_RETAIN : 0);
    parts.push(...propertyParts(WILL_PROPERTIES, will.properties));
    validateTopicName(will.topic);
    parts.push(will.topic, ...binary(will.payload, 'will payload'));
  }
  if (username !== undefined) {
    flags |= USERNAME;
    parts.push(...field(username, 'user name'));
  }
  if (password !== undefined) {
    flags |= PASSWORD;
    parts.push(...binary(password, 'password'));
  }
  parts[2] = flags;
  return build(CONNECT << TYPE_SHIFT, parts);
});

/**
 * Encodes an MQTT 5 CONNACK: a reason code of its table [MQTT-3.2.2-8], session present only
 * with reason code 0 [MQTT-3.2.2-6], properties.
 *
 * @example
 * encodeConnack({ type: CONNACK, sessionPresent: false, reasonCode: 0, properties: { receiveMaximum: 20 } });
 */
export const encodeConnack: (p: ConnackPacket) => Uint8Array = /* @__PURE__ */ v5((p: ConnackPacket) => {
  const rc = checkReason(CONNACK, p?.reasonCode, INVALID_ARGUMENT, 'CONNACK');
  if (rc && p.sessionPresent) throw bad('CONNACK session present', 'false with a failing reason code', true, '3.2.2-6');
  return build(CONNACK << TYPE_SHIFT, [
    p.sessionPresent ? SESSION_PRESENT : 0,
    rc,
    ...propertyParts(CONNACK, p.properties),
  ]);
});

/** The property length 0: a packet without properties. */
const NONE: Part[] = [0];

/**
 * Encodes an MQTT 5 PUBLISH. Checks the topic (which may be '' with a `topicAlias` property), the
 * QoS, the packet id at QoS 1/2, DUP at QoS 0 and the properties. With `headerOnly`, the packet
 * stops before the payload (counted in the remaining length), as in 3.1.1's `encodePublish`.
 * `memo` remembers the last topic validated (see {@link TopicMemo}; by default one shared memo).
 *
 * @example
 * encodePublish({ type: PUBLISH, topic: 'sensors/1/temp', payload, qos: 1, id: 10, properties: { messageExpiryInterval: 60 } });
 */
export const encodePublish: (p: PublishPacket, headerOnly?: boolean, memo?: TopicMemo) => Uint8Array =
  /* @__PURE__ */ v5((p: PublishPacket, headerOnly?: boolean, memo?: TopicMemo) => {
    const payload = p?.payload;
    if (!(payload instanceof Uint8Array)) throw bad('payload', 'a Uint8Array', typeof payload);
    const { topic, id, properties } = p;
    const qos = qosOf(p.qos ?? 0, 'PUBLISH', '3.3.1-4');
    if (!qos && p.dup) throw bad('DUP', 'false at QoS 0', true, '3.3.1-2');
    const n = topic === '' && properties?.topicAlias ? 0 : validateTopicName(topic, memo); // '' with an alias [MQTT-3.3.2.3.4]
    const props = properties === undefined ? NONE : propertyParts(PUBLISH, properties);
    const rem = 2 + n + (qos ? 2 : 0) + size(props) + payload.length;
    const omit = headerOnly ? payload.length : 0;
    const out = alloc(
      (PUBLISH << TYPE_SHIFT) | (p.dup ? DUP : 0) | (qos << QOS_SHIFT) | (p.retain ? RETAIN : 0),
      rem,
      omit,
    );
    let o = writeField(out, out.length - rem + omit, topic, n);
    if (qos) {
      out.set(idOf(id), o);
      o += 2;
    }
    o = put(out, o, props);
    if (!omit) out.set(payload, o);
    return out;
  });

/** The reason code and properties of an acknowledgement, DISCONNECT or AUTH, shortest: nothing for 0 without properties. */
function tail(type: number, reasonCode: unknown, properties: object | undefined): Part[] {
  const rc = checkReason(type, reasonCode ?? 0, INVALID_ARGUMENT, NAMES[type]!);
  const props = propertyParts(type, properties);
  return props.length > 1 ? [rc, ...props] : rc ? [rc] : [];
}

/**
 * Encodes PUBACK, PUBREC, PUBREL (flags 0010) or PUBCOMP: packet id, reason code of its table
 * (default 0) and properties; written in the fewest bytes (2 with reason code 0 and no
 * properties, 3 without properties).
 *
 * @example
 * encodeAck({ type: PUBACK, id: 10, reasonCode: 0x10 }); // no matching subscribers: Uint8Array [0x40, 3, 0, 10, 0x10]
 */
export const encodeAck: (p: AckPacket) => Uint8Array = /* @__PURE__ */ v5((p: AckPacket) => {
  const t = p?.type;
  if (!(t > PUBLISH && t < SUBSCRIBE)) throw bad('acknowledgement type', '4..7', t, '2.1.2');
  const first = (t << TYPE_SHIFT) | (t === PUBREL ? 2 : 0); // PUBREL's flags are 0010
  return build(first, [...idOf(p.id), ...tail(t, p.reasonCode, p.properties)]);
});

/**
 * Encodes an MQTT 5 SUBSCRIBE: packet id, properties, and at least one filter [MQTT-3.8.3-2]
 * with its options (maximum QoS, no local, retain as published, retain handling 0..2). Shared
 * subscriptions ($share/name/filter) are checked [MQTT-4.8.2-1, 4.8.2-2], and never no local
 * [MQTT-3.8.3-4].
 *
 * @example
 * encodeSubscribe({ type: SUBSCRIBE, id: 1, subscriptions: [{ topic: 'home/#', qos: 1, noLocal: true }] });
 */
export const encodeSubscribe: (p: SubscribePacket) => Uint8Array = /* @__PURE__ */ v5((p: SubscribePacket) => {
  const subs = nonEmpty(p?.subscriptions, 'subscriptions', '3.8.3-2');
  const parts: Part[] = [...idOf(p.id), ...propertyParts(SUBSCRIBE, p.properties)];
  for (const s of subs) {
    const topic = s?.topic;
    const qos = qosOf(s?.qos, 'maximum', '3.8.3.1');
    const rh = s.retainHandling ?? 0;
    if (!isUint(rh, 2)) throw bad('retainHandling', '0, 1 or 2', rh, '3.8.3.1');
    validateTopicFilter(topic);
    if (isShared(topic, bad) && s.noLocal) throw bad('noLocal', 'false on a shared subscription', true, '3.8.3-4');
    const options = qos | (s.noLocal ? NO_LOCAL : 0) | (s.retainAsPublished ? RETAIN_AS_PUBLISHED : 0);
    parts.push(topic, options | (rh << RETAIN_HANDLING_SHIFT));
  }
  return build((SUBSCRIBE << TYPE_SHIFT) | 2, parts); // flags 0010
});

/**
 * Encodes an MQTT 5 UNSUBSCRIBE: packet id, properties, at least one filter [MQTT-3.10.3-2].
 *
 * @example
 * encodeUnsubscribe({ type: UNSUBSCRIBE, id: 2, topics: ['home/#'] });
 */
export const encodeUnsubscribe: (p: UnsubscribePacket) => Uint8Array = /* @__PURE__ */ v5((p: UnsubscribePacket) => {
  const topics = nonEmpty(p?.topics, 'topic filters', '3.10.3-2');
  const parts: Part[] = [...idOf(p.id), ...propertyParts(UNSUBSCRIBE, p.properties)];
  for (const t of topics) {
    validateTopicFilter(t);
    isShared(t, bad);
    parts.push(t);
  }
  return build((UNSUBSCRIBE << TYPE_SHIFT) | 2, parts); // flags 0010
});

/**
 * Encodes SUBACK or UNSUBACK: packet id, properties, one reason code of its table per filter.
 *
 * @example
 * encodeSuback({ type: SUBACK, id: 1, reasonCodes: [1, 0x87] }); // QoS 1 granted, the second not authorized
 */
export const encodeSuback: (p: SubackPacket) => Uint8Array = /* @__PURE__ */ v5((p: SubackPacket) => {
  const t = p?.type;
  if (t !== SUBACK && t !== UNSUBACK) throw bad('SUBACK or UNSUBACK type', '9 or 11', t, '2.1.2');
  const codes = nonEmpty(p.reasonCodes, `${NAMES[t]} reason codes`, `3.${t}.3`);
  for (const c of codes) checkReason(t, c, INVALID_ARGUMENT, NAMES[t]!);
  return build(t << TYPE_SHIFT, [...idOf(p.id), ...propertyParts(t, p.properties), ...codes]);
});

/**
 * Encodes PINGREQ or PINGRESP: two bytes.
 *
 * @example
 * socket.write(encodeEmpty({ type: PINGREQ })); // Uint8Array [0xc0, 0]
 */
export const encodeEmpty: (p: PingPacket) => Uint8Array = /* @__PURE__ */ v5((p: PingPacket) => {
  if (p?.type !== PINGREQ && p?.type !== PINGRESP) throw bad('PINGREQ or PINGRESP type', '12 or 13', p?.type, '2.1.2');
  return encodeEmpty311(p);
});

/**
 * Encodes DISCONNECT: a reason code of its table (default 0, normal disconnection) and
 * properties; two bytes for reason code 0 without properties.
 *
 * @example
 * encodeDisconnect({ type: DISCONNECT }); // Uint8Array [0xe0, 0]
 * encodeDisconnect({ type: DISCONNECT, reasonCode: 0x81 }); // malformed packet: [0xe0, 1, 0x81]
 */
export const encodeDisconnect: (p: DisconnectPacket) => Uint8Array = /* @__PURE__ */ v5((p: DisconnectPacket) => {
  if (p?.type !== DISCONNECT) throw bad('DISCONNECT type', 14, p?.type, '2.1.2');
  return build(DISCONNECT << TYPE_SHIFT, tail(DISCONNECT, p.reasonCode, p.properties));
});

/**
 * Encodes AUTH: a reason code (0 success, 0x18 continue authentication, 0x19 re-authenticate)
 * and properties, which name the authentication method [MQTT-3.15.2.2]; two bytes for reason
 * code 0 without properties.
 *
 * @example
 * encodeAuth({ type: AUTH, reasonCode: 0x18, properties: { authenticationMethod: 'SCRAM-SHA-1', authenticationData } });
 */
export const encodeAuth: (p: AuthPacket) => Uint8Array = /* @__PURE__ */ v5((p: AuthPacket) => {
  if (p?.type !== AUTH) throw bad('AUTH type', 15, p?.type, '2.1.2');
  const body = tail(AUTH, p.reasonCode, p.properties);
  if (body.length && p.properties?.authenticationMethod === undefined)
    throw bad('AUTH properties', 'an authenticationMethod', 'none', '3.15.2.2');
  return build(AUTH << TYPE_SHIFT, body);
});

/**
 * Encodes any MQTT 5 packet. Pulls every encoder into a bundle; a device that knows which
 * packets it sends imports the individual `encodeXxx` functions instead.
 *
 * @example
 * const bytes = encode(packet); // whatever its type
 */
export function encode(p: Packet): Uint8Array {
  switch (p?.type) {
    case CONNECT:
      return encodeConnect(p);
    case CONNACK:
      return encodeConnack(p);
    case PUBLISH:
      return encodePublish(p);
    case SUBSCRIBE:
      return encodeSubscribe(p);
    case SUBACK:
    case UNSUBACK:
      return encodeSuback(p);
    case UNSUBSCRIBE:
      return encodeUnsubscribe(p);
    case PINGREQ:
    case PINGRESP:
      return encodeEmpty(p);
    case DISCONNECT:
      return encodeDisconnect(p);
    case AUTH:
      return encodeAuth(p);
  }
  return encodeAck(p as AckPacket);
}
