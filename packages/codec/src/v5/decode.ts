// MQTT 5 body decoders, their tables per side, and the Parser that reads with them: the 3.1.1
// Parser (framing, maxPacketSize, chunks, views) whose errors carry MQTT 5 clauses and the
// reason code to disconnect with.
import { MALFORMED, PACKET_TOO_LARGE, UNSUPPORTED_PROTOCOL, UmqttError, fail } from '../errors.js';
import {
  Parser as Parser311,
  bin,
  decodeOne,
  end,
  id,
  left,
  rest,
  str,
  u16,
  u8,
  type BodyDecoder,
  type Cursor,
  type Decoders,
  type ParserOptions,
} from '../parser.js';
import {
  CLEAN,
  CONNECT_RESERVED,
  DUP,
  LEVEL_5,
  NO_LOCAL,
  OPTIONS_RESERVED,
  PASSWORD,
  QOS_SHIFT,
  RETAIN,
  RETAIN_AS_PUBLISHED,
  RETAIN_HANDLING_SHIFT,
  SESSION_PRESENT,
  USERNAME,
  WILL,
  WILL_QOS,
  WILL_QOS_SHIFT,
  WILL_RETAIN,
} from '../flags.js';
import { CONNACK, CONNECT, DISCONNECT, PUBLISH, SUBSCRIBE, UNSUBSCRIBE } from '../packets.js';
import { checkFilter, checkName } from '../topic.js';
import type {
  AckPacket,
  AuthPacket,
  ConnackPacket,
  ConnectPacket,
  DisconnectPacket,
  Packet,
  PingPacket,
  PublishPacket,
  QoS,
  SubackPacket,
  SubscribePacket,
  Subscription,
  UnsubscribePacket,
} from './packets.js';
import { NAMES, WILL_PROPERTIES, isShared, malformed, protocolError, readProperties, v5Error } from './properties.js';
import { checkReason } from './reasons.js';

/**
 * A remaining length is written in the fewest bytes [MQTT-1.5.5-1]: `header` (the fixed header's
 * size) is 1 + the bytes the body's length needs.
 */
function head(c: Cursor, header: number): void {
  const n = left(c);
  const need = n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4;
  if (header - 1 !== need) throw malformed('remaining length', `${need} bytes`, `${header - 1}`, '1.5.5-1');
}

/**
 * Body decoder of an MQTT 5 CONNECT (protocol "MQTT" level 5; another is
 * `UMQTT_UNSUPPORTED_PROTOCOL` with reason code 0x84), for a {@link Decoders} table.
 *
 * @example
 * const decoders: Decoders<Packet> = [, decodeConnect]; // a gateway that reads only CONNECT
 */
export const decodeConnect: BodyDecoder<Packet> = (c, _, __, header): ConnectPacket => {
  head(c, header);
  const name = str(c, 'protocol name');
  const level = u8(c, 'protocol version');
  if (name !== 'MQTT' || level !== LEVEL_5)
    throw fail(
      UNSUPPORTED_PROTOCOL,
      'protocol',
      '"MQTT" version 5',
      `"${name}" version ${level}`,
      name !== 'MQTT' ? '3.1.2-1' : '3.1.2-2',
      0x84,
    );
  const f = u8(c, 'CONNECT flags');
  const hasWill = f & WILL;
  const willQoS = (f >> WILL_QOS_SHIFT) & 3;
  if (f & CONNECT_RESERVED) throw malformed('CONNECT reserved flag', 0, 1, '3.1.2-3');
  if (willQoS === 3) throw malformed('will QoS', '0, 1 or 2', 3, '3.1.2-12');
  if (!hasWill && f & WILL_QOS) throw malformed('will QoS', '0 without a will', willQoS, '3.1.2-11');
  if (!hasWill && f & WILL_RETAIN) throw malformed('will retain', '0 without a will', 1, '3.1.2-13');
  const keepAlive = u16(c, 'keep alive');
  const properties = readProperties(c, CONNECT);
  const clientId = str(c, 'client id');
  let will: ConnectPacket['will'];
  if (hasWill) {
    const wp = readProperties(c, WILL_PROPERTIES);
    will = {
      topic: checkName(str(c, 'will topic'), MALFORMED),
      payload: bin(c, 'will payload'),
      qos: willQoS as QoS,
      retain: (f & WILL_RETAIN) > 0,
      properties: wp,
    };
  }
  const username = f & USERNAME ? str(c, 'user name') : undefined;
  const password = f & PASSWORD ? bin(c, 'password') : undefined;
  end(c, CONNECT);
  return { type: CONNECT, clientId, clean: (f & CLEAN) > 0, keepAlive, username, password, will, properties };
};

/**
 * Body decoder of an MQTT 5 CONNACK, for a {@link Decoders} table.
 *
 * @example
 * const decoders: Decoders<Packet> = [, , decodeConnack]; // CONNACK only
 */
export const decodeConnack: BodyDecoder<Packet> = (c, _, __, header): ConnackPacket => {
  head(c, header);
  const f = u8(c, 'CONNACK flags');
  const reasonCode = checkReason(CONNACK, u8(c, 'CONNACK reason code'), MALFORMED, 'CONNACK');
  if (f > SESSION_PRESENT) throw malformed('CONNACK flags', '0 or 1', f, '3.2.2-1');
  if (reasonCode && f)
    throw protocolError('CONNACK session present', 'false with a failing reason code', true, '3.2.2-6');
  const properties = readProperties(c, CONNACK);
  end(c, CONNACK);
  return { type: CONNACK, sessionPresent: f > 0, reasonCode, properties };
};

/**
 * Body decoder of an MQTT 5 PUBLISH (topic, or a topic alias with an empty topic; packet id at
 * QoS 1/2; properties; the payload as a view), for a {@link Decoders} table.
 *
 * @example
 * const decoders: Decoders<Packet> = [, , decodeConnack, decodePublish]; // CONNACK and PUBLISH only
 */
export const decodePublish: BodyDecoder<Packet> = (c, _, flags, header): PublishPacket => {
  const qos = (flags >> QOS_SHIFT) & 3;
  if (qos > 2) throw malformed('PUBLISH QoS', '0, 1 or 2', 3, '3.3.1-4');
  if (flags >= DUP && !qos) throw malformed('PUBLISH DUP', '0 at QoS 0', 1, '3.3.1-2');
  head(c, header);
  const topic = str(c, 'topic');
  const pid = qos ? id(c) : undefined;
  const properties = readProperties(c, PUBLISH);
  if (topic || !properties?.topicAlias) checkName(topic, MALFORMED); // '' stands for the alias's topic [MQTT-3.3.2.3.4]
  return {
    type: PUBLISH,
    topic,
    payload: rest(c),
    qos: qos as QoS,
    retain: (flags & RETAIN) > 0,
    dup: flags >= DUP,
    id: pid,
    properties,
  };
};

/** PUBLISH from a client: never with a Subscription Identifier [MQTT-3.3.4-6]. */
const decodeClientPublish: BodyDecoder<Packet> = (c, type, flags, header) => {
  const p = decodePublish(c, type, flags, header) as PublishPacket;
  if (p.properties?.subscriptionIdentifier)
    throw protocolError(
      'PUBLISH from a client',
      'no subscriptionIdentifier',
      p.properties.subscriptionIdentifier,
      '3.3.4-6',
    );
  return p;
};

/**
 * Body decoder of PUBACK, PUBREC, PUBREL, PUBCOMP (packet id, reason code, properties; a
 * remaining length of 2 means reason code 0), for a {@link Decoders} table.
 *
 * @example
 * const decoders: Decoders<Packet> = [, , decodeConnack, decodePublish, decodeAck]; // a QoS 0/1 publisher
 */
export const decodeAck: BodyDecoder<Packet> = (c, type, _, header): AckPacket => {
  head(c, header);
  const pid = id(c);
  let reasonCode = 0;
  let properties;
  if (left(c)) {
    reasonCode = checkReason(type, u8(c, 'reason code'), MALFORMED, NAMES[type]!);
    if (left(c)) properties = readProperties(c, type); // a remaining length under 4 has no property length
  }
  end(c, type);
  return { type: type as AckPacket['type'], id: pid, reasonCode, properties };
};

/**
 * Body decoder of SUBACK and UNSUBACK (packet id, properties, one reason code per filter), for
 * a {@link Decoders} table.
 *
 * @example
 * const decoders = [...clientDecoders]; decoders[SUBACK] = decodeSuback;
 */
export const decodeSuback: BodyDecoder<Packet> = (c, type, _, header): SubackPacket => {
  head(c, header);
  const pid = id(c);
  const properties = readProperties(c, type);
  const reasonCodes: number[] = [];
  while (left(c)) reasonCodes.push(checkReason(type, u8(c, 'reason code'), MALFORMED, NAMES[type]!));
  if (!reasonCodes.length) throw protocolError(`${NAMES[type]} reason codes`, 'one per filter', 'none', `3.${type}.3`);
  return { type: type as 9 | 11, id: pid, reasonCodes, properties };
};

/**
 * Body decoder of SUBSCRIBE (packet id, properties, filters with their subscription options),
 * for a {@link Decoders} table.
 *
 * @example
 * const decoders: Decoders<Packet> = [...serverDecoders];
 */
export const decodeSubscribe: BodyDecoder<Packet> = (c, _, __, header): SubscribePacket => {
  head(c, header);
  const pid = id(c);
  const properties = readProperties(c, SUBSCRIBE);
  const subscriptions: Subscription[] = [];
  while (left(c)) {
    const topic = checkFilter(str(c, 'topic filter'), MALFORMED);
    const shared = isShared(topic, malformed);
    const o = u8(c, 'subscription options');
    const qos = o & 3;
    const retainHandling = (o >> RETAIN_HANDLING_SHIFT) & 3;
    if (o & OPTIONS_RESERVED) throw malformed('subscription options', 'reserved bits 0', o, '3.8.3-5');
    if (qos === 3) throw protocolError('maximum QoS', '0, 1 or 2', 3, '3.8.3.1');
    if (retainHandling === 3) throw protocolError('retain handling', '0, 1 or 2', 3, '3.8.3.1');
    if (shared && o & NO_LOCAL) throw protocolError('no local', '0 on a shared subscription', 1, '3.8.3-4');
    subscriptions.push({
      topic,
      qos: qos as QoS,
      noLocal: (o & NO_LOCAL) > 0,
      retainAsPublished: (o & RETAIN_AS_PUBLISHED) > 0,
      retainHandling: retainHandling as 0 | 1 | 2,
    });
  }
  if (!subscriptions.length) throw protocolError('topic filters', 'at least one', 'none', '3.8.3-2');
  return { type: SUBSCRIBE, id: pid, subscriptions, properties };
};

/**
 * Body decoder of UNSUBSCRIBE (packet id, properties, filters), for a {@link Decoders} table.
 *
 * @example
 * const decoders: Decoders<Packet> = [...serverDecoders];
 */
export const decodeUnsubscribe: BodyDecoder<Packet> = (c, _, __, header): UnsubscribePacket => {
  head(c, header);
  const pid = id(c);
  const properties = readProperties(c, UNSUBSCRIBE);
  const topics: string[] = [];
  while (left(c)) {
    const t = checkFilter(str(c, 'topic filter'), MALFORMED);
    isShared(t, malformed);
    topics.push(t);
  }
  if (!topics.length) throw protocolError('topic filters', 'at least one', 'none', '3.10.3-2');
  return { type: UNSUBSCRIBE, id: pid, topics, properties };
};

/**
 * Body decoder of PINGREQ and PINGRESP (nothing), for a {@link Decoders} table.
 *
 * @example
 * const decoders: Decoders<Packet> = [, , decodeConnack, , , , , , , , , , , decodePing];
 */
export const decodePing: BodyDecoder<Packet> = (c, type, _, header): PingPacket => {
  head(c, header);
  end(c, type);
  return { type: type as 12 | 13 };
};

/**
 * Body decoder of DISCONNECT and AUTH (reason code, properties; nothing means reason code 0),
 * for a {@link Decoders} table. An AUTH with properties must name its authentication method.
 *
 * @example
 * const decoders: Decoders<Packet> = [...clientDecoders];
 */
export const decodeDisconnect: BodyDecoder<Packet> = (c, type, _, header): DisconnectPacket | AuthPacket => {
  head(c, header);
  let reasonCode = 0;
  let properties;
  if (left(c)) {
    reasonCode = checkReason(type, u8(c, 'reason code'), MALFORMED, NAMES[type]!);
    // DISCONNECT: a remaining length under 2 has no property length; AUTH always has one.
    if (left(c) || type > DISCONNECT) properties = readProperties(c, type);
    if (type > DISCONNECT && properties?.authenticationMethod === undefined)
      throw protocolError('AUTH properties', 'an authenticationMethod', 'none', '3.15.2.2');
  }
  end(c, type);
  return { type, reasonCode, properties } as DisconnectPacket | AuthPacket;
};

/* eslint-disable no-sparse-arrays -- in the decoder tables a hole is a packet type that side never receives */
/**
 * What an MQTT 5 client receives: CONNACK, PUBLISH, acknowledgements, SUBACK, UNSUBACK,
 * PINGRESP, DISCONNECT, AUTH.
 *
 * @example
 * const parser = new Parser(clientDecoders); // Parser of @umqtt/codec/v5
 */
export const clientDecoders: Decoders<Packet> = /* @__PURE__ */ Object.freeze([
  ,
  ,
  decodeConnack,
  decodePublish,
  decodeAck,
  decodeAck,
  decodeAck,
  decodeAck,
  ,
  decodeSuback,
  ,
  decodeSuback,
  ,
  decodePing,
  decodeDisconnect,
  decodeDisconnect,
]);

/**
 * What an MQTT 5 server receives: CONNECT, PUBLISH (without Subscription Identifier),
 * acknowledgements, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT, AUTH.
 *
 * @example
 * const parser = new Parser(serverDecoders); // in a broker or a test peer
 */
export const serverDecoders: Decoders<Packet> = /* @__PURE__ */ Object.freeze([
  ,
  decodeConnect,
  ,
  decodeClientPublish,
  decodeAck,
  decodeAck,
  decodeAck,
  decodeAck,
  decodeSubscribe,
  ,
  decodeUnsubscribe,
  ,
  decodePing,
  ,
  decodeDisconnect,
  decodeDisconnect,
]);

/**
 * All 15 MQTT 5 packet types (tools, tests, bridges).
 *
 * @example
 * const parser = new Parser(allDecoders);
 */
export const allDecoders: Decoders<Packet> = /* @__PURE__ */ Object.freeze([
  ,
  decodeConnect,
  decodeConnack,
  decodePublish,
  decodeAck,
  decodeAck,
  decodeAck,
  decodeAck,
  decodeSubscribe,
  decodeSuback,
  decodeUnsubscribe,
  decodeSuback,
  decodePing,
  decodePing,
  decodeDisconnect,
  decodeDisconnect,
]);
/* eslint-enable no-sparse-arrays */

/**
 * Incremental MQTT 5 parser: the 3.1.1 {@link Parser311 | Parser} (chunks cut anywhere,
 * `maxPacketSize` from the fixed header, payloads as views, a buffer that grows with the bytes
 * that arrive) reading with MQTT 5 decoder tables. Its errors carry the MQTT 5 clause and, as
 * `reasonCode`, the reason code to send in DISCONNECT: 0x81 Malformed Packet, 0x82 Protocol
 * Error, 0x95 Packet too large (0x84 for a CONNECT of another version).
 *
 * The protocol version is chosen per connection: a client that connected with version 5 reads
 * with this parser and {@link clientDecoders}; one that connected with 3.1.1, with the 3.1.1
 * Parser and its tables.
 *
 * @example
 * const parser = new Parser(clientDecoders, { maxPacketSize: 65536 });
 * try {
 *   parser.push(chunk);
 *   for (let p = parser.read(); p; p = parser.read()) handle(p);
 * } catch (e) {
 *   if (e instanceof UmqttError) socket.write(encodeDisconnect({ type: DISCONNECT, reasonCode: e.reasonCode ?? 0x80 }));
 * }
 */
export class Parser extends Parser311<Packet> {
  /**
   * @param decoders - the packets this side accepts, e.g. {@link clientDecoders}
   * @param options - {@link ParserOptions}
   */
  constructor(decoders: Decoders<Packet>, options?: ParserOptions) {
    super(decoders, options);
    const { push, read } = this;
    Object.assign(this, {
      push: (chunk: Uint8Array) => {
        try {
          push(chunk);
        } catch (e) {
          throw v5Error(e, (e as UmqttError).code === PACKET_TOO_LARGE);
        }
      },
      read: () => {
        try {
          return read();
        } catch (e) {
          throw v5Error(e, true);
        }
      },
    });
  }
}

/**
 * Decodes exactly one whole MQTT 5 packet of any type; throws if `bytes` hold less or more.
 *
 * @example
 * const packet = decode(new Uint8Array([0x40, 3, 0, 7, 0x10])); // { type: PUBACK, id: 7, reasonCode: 0x10 }
 */
export function decode(bytes: Uint8Array, options?: ParserOptions): Packet {
  try {
    return decodeOne(new Parser(allDecoders, options), bytes);
  } catch (e) {
    throw v5Error(e, true);
  }
}
