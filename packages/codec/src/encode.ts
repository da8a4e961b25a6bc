// Packet encoders: one function per packet shape, so a bundle keeps only those it calls.
// Each checks its input against the 3.1.1 rules and allocates the exact output once.
import { INVALID_ARGUMENT, fail } from './errors.js';
import {
  CLEAN,
  DUP,
  FAILURE,
  LEVEL_311,
  MORE,
  PASSWORD,
  QOS_SHIFT,
  RETAIN,
  SESSION_PRESENT,
  TYPE_SHIFT,
  USERNAME,
  WILL,
  WILL_QOS_SHIFT,
  WILL_RETAIN,
} from './flags.js';
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
} from './packets.js';
import type {
  AckPacket,
  ConnackPacket,
  ConnectPacket,
  EmptyPacket,
  Packet,
  PublishPacket,
  SubackPacket,
  SubscribePacket,
  UnsubscribePacket,
} from './packets.js';
import { validateTopicFilter, validateTopicName, type TopicMemo } from './topic.js';
import { utf8Length, writeUtf8 } from './utf8.js';

/**
 * Largest remaining length a 4-byte variable-length integer holds.
 *
 * @example
 * const fits = body.length <= MAX_REMAINING_LENGTH; // 268,435,455 bytes after the fixed header
 */
export const MAX_REMAINING_LENGTH = 268_435_455;

export const bad = (what: string, expected: unknown, got: unknown, clause?: string) =>
  fail(INVALID_ARGUMENT, what, expected, got, clause);

/** A piece of a packet body: a number is one byte; a string is written with its 2-byte length; bytes as they are. */
export type Part = number | string | Uint8Array;

// Packets of up to 256 bytes are carved from a shared 2 KiB ArrayBuffer, as Node carves small
// Buffers from its pool: allocating a separate buffer for each is several times slower than
// encoding it (V8 keeps only typed arrays of up to 64 bytes on its heap).
//
// Why one pool for every caller is safe: `alloc` runs to its end without calling other code, on
// one thread (an ArrayBuffer is never shared between threads), and hands out bytes
// [used - n, used) with `used` only growing until a new pool replaces the full one; so no two
// packets ever share a byte, and a packet's bytes are written only by the encoder that carved
// them, before it returns them. A pool lives as long as a packet in it does. What a caller sees
// of it: `packet.buffer` is the pool, shared with other packets (read a packet through its own
// `byteOffset` and `length`, and do not transfer its buffer to a worker: copy it with `slice()`).
const POOL = 2048;
let pool: ArrayBuffer | undefined;
let used = POOL; // no pool yet: the first small packet makes one

/** Allocates a packet of body size `rem` and writes its fixed header; the body starts at `out.length - rem`. */
export function alloc(first: number, rem: number, omit = 0): Uint8Array {
  if (rem > MAX_REMAINING_LENGTH) throw bad('packet body', `at most ${MAX_REMAINING_LENGTH} bytes`, rem, '2.2.3');
  const n = rem - omit + (rem > 2097151 ? 5 : rem > 16383 ? 4 : rem > 127 ? 3 : 2);
  let out: Uint8Array;
  if (n > 256) out = new Uint8Array(n);
  else {
    if (used + n > POOL) {
      pool = new ArrayBuffer(POOL);
      used = 0;
    }
    out = new Uint8Array(pool!, (used += n) - n, n);
  }
  out[0] = first;
  for (let o = 1; ; rem >>>= 7) {
    out[o++] = rem < MORE ? rem : rem | MORE; // remaining length: 7 bits a byte, least significant first [MQTT-2.2.3]
    if (rem < MORE) return out;
  }
}

/** Writes string `s` of UTF-8 length `n` with its 2-byte length at `o`; returns the position after it. */
export function writeField(out: Uint8Array, o: number, s: string, n: number): number {
  out[o] = n >> 8;
  out[o + 1] = n;
  return writeUtf8(s, out, o + 2);
}

/** The packet with first byte `first` and the body made of `parts`. */
export function build(first: number, parts: Part[]): Uint8Array {
  let rem = 0;
  for (const x of parts) rem += typeof x === 'number' ? 1 : typeof x === 'string' ? 2 + utf8Length(x) : x.length;
  const out = alloc(first, rem);
  let o = out.length - rem;
  for (const x of parts) {
    if (typeof x === 'number') out[o++] = x;
    else if (typeof x === 'string') o = writeField(out, o, x, utf8Length(x));
    else {
      out.set(x, o);
      o += x.length;
    }
  }
  return out;
}

/**
 * A string field (or, if `bin`, a Uint8Array field) as parts: it must be one, of at most
 * 65535 bytes [MQTT-1.5.3]. A binary field's parts are its 2-byte length and its bytes.
 */
export function field(v: unknown, what: string, bin?: 1): Part[] {
  const n = bin ? (v instanceof Uint8Array ? v.length : -1) : typeof v === 'string' ? utf8Length(v) : -1;
  if (n < 0 || n > 65535)
    throw bad(
      what,
      `${bin ? 'a Uint8Array' : 'a string'} of at most 65535 bytes`,
      n < 0 ? typeof v : `${n} bytes`,
      '1.5.3',
    );
  return bin ? [n >> 8, n, v as Uint8Array] : [v as string];
}

/** Whether `v` is an integer from 0 to `max` (false for anything else: a string, a BigInt, NaN...). */
export const isUint = (v: unknown, max: number): v is number =>
  Number.isInteger(v) && (v as number) >= 0 && (v as number) <= max;

/** `v` if it is an array of at least one element; throws otherwise [MQTT-`clause`]. */
export function nonEmpty<T>(v: T[], what: string, clause: string): T[] {
  if (!Array.isArray(v) || !v.length)
    throw bad(what, 'an array of at least one', Array.isArray(v) ? 'none' : typeof v, clause);
  return v;
}

export function qosOf(qos: unknown, what: string, clause: string): number {
  if (!isUint(qos, 2)) throw bad(`${what} QoS`, '0, 1 or 2', qos, clause);
  return qos;
}

/** A packet identifier as its 2 bytes. */
export function idOf(id: unknown): number[] {
  if (!id || !isUint(id, 65535)) throw bad('packet id', '1..65535', id, '2.3.1-1');
  return [id >> 8, id]; // a Uint8Array keeps the low 8 bits
}

/**
 * Encodes CONNECT (protocol "MQTT" level 4). Throws {@link INVALID_ARGUMENT} or {@link
 * INVALID_TOPIC} for a packet breaking the 3.1.1 rules (a password without a user name, an empty
 * client id without clean session...).
 *
 * @example
 * const bytes = encodeConnect({ type: CONNECT, clientId: 'sensor-1', clean: true, keepAlive: 60, username: 'u', password: encodeUtf8('p') });
 */
export function encodeConnect(p: ConnectPacket): Uint8Array {
  const { will, username, password, clientId, keepAlive: k } = p ?? ({} as ConnectPacket); // k is checked first
  if (!isUint(k, 65535)) throw bad('keepAlive', '0..65535 seconds', k, '3.1.2.10');
  // "MQTT" (with its length), level 4, the flags (set below), keepalive [MQTT-3.1.2-1, 3.1.2-2]
  const parts: Part[] = ['MQTT', LEVEL_311, 0, k >> 8, k, ...field(clientId, 'client id')];
  let flags = p.clean ? CLEAN : 0;
  if (!clientId && !p.clean) throw bad('clean', 'true with an empty client id', false, '3.1.3-7');
  if (will) {
    flags |= WILL | (qosOf(will.qos ?? 0, 'will', '3.1.2-14') << WILL_QOS_SHIFT) | (will.retain ? WILL_RETAIN : 0);
    validateTopicName(will.topic);
    parts.push(will.topic, ...field(will.payload, 'will payload', 1));
  }
  if (username !== undefined) {
    flags |= USERNAME;
    parts.push(...field(username, 'user name'));
  }
  if (password !== undefined) {
    if (username === undefined) throw bad('password', 'a user name with it', 'none', '3.1.2-22');
    flags |= PASSWORD;
    parts.push(...field(password, 'password', 1));
  }
  parts[2] = flags;
  return build(CONNECT << TYPE_SHIFT, parts);
}

/**
 * Encodes CONNACK (return code 0..5; session present only when accepted).
 *
 * @example
 * encodeConnack({ type: CONNACK, sessionPresent: false, returnCode: 0 }); // Uint8Array [0x20, 2, 0, 0]
 */
export function encodeConnack(p: ConnackPacket): Uint8Array {
  const rc = p?.returnCode;
  if (!isUint(rc, 5)) throw bad('CONNACK return code', '0..5', rc, '3.2.2.3');
  if (rc && p.sessionPresent) throw bad('refusing CONNACK session present', 'false', true, '3.2.2-4');
  return build(CONNACK << TYPE_SHIFT, [p.sessionPresent ? SESSION_PRESENT : 0, rc]);
}

/**
 * Encodes PUBLISH. Checks the topic name (no wildcards), the QoS, that QoS 1/2 have a packet id and
 * QoS 0 no DUP; the payload must be a Uint8Array. With `headerOnly`, the packet stops before the
 * payload (its length still counted in the remaining length): written before the payload itself,
 * they make the whole packet without the payload ever being copied. `memo` remembers the last
 * topic validated (see {@link TopicMemo}; by default one memo shared by all callers).
 *
 * @example
 * encodePublish({ type: PUBLISH, topic: 'sensors/1/temp', payload: encodeUtf8('21.5'), qos: 1, id: 10 });
 * const head = encodePublish({ type: PUBLISH, topic: 'video/frame', payload: frame, qos: 0 }, true);
 * socket.write(head); socket.write(frame); // the same bytes as encodePublish(packet)
 */
export function encodePublish(p: PublishPacket, headerOnly?: boolean, memo?: TopicMemo): Uint8Array {
  const payload = p?.payload;
  if (!(payload instanceof Uint8Array)) throw bad('payload', 'a Uint8Array', typeof payload);
  const { topic, id } = p;
  const qos = qosOf(p.qos ?? 0, 'PUBLISH', '3.3.1-4');
  if (!qos && p.dup) throw bad('DUP', 'false at QoS 0', true, '3.3.1-2');
  // Written directly, not with build(): the hot path of a publisher
  const n = validateTopicName(topic, memo);
  const rem = 2 + n + (qos ? 2 : 0) + payload.length;
  const omit = headerOnly ? payload.length : 0;
  const out = alloc(
    (PUBLISH << TYPE_SHIFT) | (p.dup ? DUP : 0) | (qos << QOS_SHIFT) | (p.retain ? RETAIN : 0),
    rem,
    omit,
  );
  const o = writeField(out, out.length - rem + omit, topic, n);
  if (qos) out.set(idOf(id), o);
  if (!omit) out.set(payload, o + (qos ? 2 : 0));
  return out;
}

/**
 * PUBACK, PUBREC, PUBREL (flags 0010), PUBCOMP or UNSUBACK: type and packet identifier.
 *
 * @example
 * encodeAck({ type: PUBREL, id: 10 }); // Uint8Array [0x62, 2, 0, 10]
 */
export function encodeAck(p: AckPacket): Uint8Array {
  const t = p?.type;
  if (!(t > PUBLISH && t < SUBSCRIBE) && t !== UNSUBACK) throw bad('acknowledgement type', '4..7 or 11', t, '2.2.1');
  return build((t << TYPE_SHIFT) | (t === PUBREL ? 2 : 0), idOf(p.id)); // PUBREL's flags are 0010
}

/** SUBSCRIBE or UNSUBSCRIBE: a packet identifier and a list of topic filters (with QoS). */
function encodeFilters(first: number, id: number, topics: string[], qos?: number[]): Uint8Array {
  const parts: Part[] = idOf(id);
  topics.forEach((t, i) => {
    validateTopicFilter(t);
    parts.push(t);
    if (qos) parts.push(qos[i]!);
  });
  return build(first, parts);
}

/**
 * Encodes SUBSCRIBE: a packet id and at least one topic filter with its requested QoS.
 *
 * @example
 * encodeSubscribe({ type: SUBSCRIBE, id: 1, subscriptions: [{ topic: 'home/+/temp', qos: 1 }, { topic: 'alarms/#', qos: 2 }] });
 */
export function encodeSubscribe(p: SubscribePacket): Uint8Array {
  const subs = nonEmpty(p?.subscriptions, 'subscriptions', '3.8.3-3');
  return encodeFilters(
    (SUBSCRIBE << TYPE_SHIFT) | 2, // flags 0010
    p.id,
    subs.map((s) => s?.topic),
    subs.map((s) => qosOf(s?.qos, 'requested', '3.8.3-4')),
  );
}

/**
 * Encodes UNSUBSCRIBE: a packet id and at least one topic filter.
 *
 * @example
 * encodeUnsubscribe({ type: UNSUBSCRIBE, id: 2, topics: ['home/+/temp'] });
 */
export function encodeUnsubscribe(p: UnsubscribePacket): Uint8Array {
  return encodeFilters((UNSUBSCRIBE << TYPE_SHIFT) | 2, p?.id, nonEmpty(p?.topics, 'topic filters', '3.10.3-2'));
}

/**
 * Encodes SUBACK: the packet id of the SUBSCRIBE and one return code per filter (0, 1, 2 or {@link
 * SUBACK_FAILURE}).
 *
 * @example
 * encodeSuback({ type: SUBACK, id: 1, granted: [1, SUBACK_FAILURE] }); // Uint8Array [0x90, 4, 0, 1, 1, 0x80]
 */
export function encodeSuback(p: SubackPacket): Uint8Array {
  const g = nonEmpty(p?.granted, 'SUBACK return codes', '3.9.3-1');
  for (const c of g)
    if (!isUint(c, 2) && c !== FAILURE) throw bad('SUBACK return code', '0, 1, 2 or 0x80', c, '3.9.3-2');
  return build(SUBACK << TYPE_SHIFT, [...idOf(p.id), ...g]);
}

/**
 * PINGREQ, PINGRESP or DISCONNECT: two bytes.
 *
 * @example
 * socket.write(encodeEmpty({ type: PINGREQ })); // Uint8Array [0xc0, 0]
 */
export function encodeEmpty(p: EmptyPacket): Uint8Array {
  const t = p?.type;
  if (t !== PINGREQ && t !== PINGRESP && t !== DISCONNECT)
    throw bad('PINGREQ, PINGRESP or DISCONNECT type', '12..14', t, '2.2.1');
  return build(t << TYPE_SHIFT, []);
}

/**
 * Encodes any packet. Pulls every encoder into a bundle; a device that knows which packets
 * it sends imports the individual `encodeXxx` functions instead.
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
      return encodeSuback(p);
    case UNSUBSCRIBE:
      return encodeUnsubscribe(p);
  }
  return p?.type > UNSUBACK ? encodeEmpty(p as EmptyPacket) : encodeAck(p as AckPacket);
}
