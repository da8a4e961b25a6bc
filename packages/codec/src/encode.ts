// Packet encoders: one function per packet shape, so a bundle keeps only those it calls.
// Each checks its input against the 3.1.1 rules and allocates the exact output once.
import { INVALID_ARGUMENT, fail } from './errors.js';
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
import { validateTopicFilter, validateTopicName } from './topic.js';
import { utf8Length, writeUtf8 } from './utf8.js';

/** Largest remaining length a 4-byte variable-length integer holds. */
export const MAX_REMAINING_LENGTH = 268_435_455;

const bad = (what: string, expected: unknown, got: unknown, clause?: string) => fail(INVALID_ARGUMENT, what, expected, got, clause);

/** Allocates a packet and writes its fixed header; the body starts at `out.length - rem`. */
function alloc(first: number, rem: number): Uint8Array {
  if (rem > MAX_REMAINING_LENGTH) throw bad('packet body', `at most ${MAX_REMAINING_LENGTH} bytes`, rem, 'MQTT-2.2.3');
  const out = new Uint8Array(2 + (rem > 127 ? 1 : 0) + (rem > 16383 ? 1 : 0) + (rem > 2097151 ? 1 : 0) + rem);
  out[0] = first;
  for (let p = 1; ; rem >>>= 7) {
    out[p++] = rem > 127 ? (rem & 127) | 128 : rem;
    if (rem < 128) return out;
  }
}

function u16(out: Uint8Array, p: number, v: number): number {
  out[p] = v >> 8;
  out[p + 1] = v;
  return p + 2;
}

/** Writes a length-prefixed string (of measured byte length `n`) or binary field. */
function field(out: Uint8Array, p: number, v: string | Uint8Array, n: number): number {
  p = u16(out, p, n);
  if (typeof v === 'string') return writeUtf8(v, out, p);
  out.set(v, p);
  return p + n;
}

/** Byte length of a string or binary field, checked against the 2-byte length prefix. */
function len(v: string | Uint8Array | undefined, what: string): number {
  if (v === undefined) return 0;
  const n = typeof v === 'string' ? utf8Length(v) : v instanceof Uint8Array ? v.length : -1;
  if (n < 0 || n > 65535) throw bad(what, 'a string or Uint8Array of at most 65535 bytes', n < 0 ? typeof v : `${n} bytes`, 'MQTT-1.5.3');
  return n;
}

function qosOf(qos: unknown, what: string, clause: string): number {
  if (qos !== 0 && qos !== 1 && qos !== 2) throw bad(`${what} QoS`, '0, 1 or 2', qos, clause);
  return qos;
}

function idOf(id: unknown): number {
  if (!Number.isInteger(id) || (id as number) < 1 || (id as number) > 65535) throw bad('packet identifier', '1..65535', id, 'MQTT-2.3.1-1');
  return id as number;
}

export function encodeConnect(p: ConnectPacket): Uint8Array {
  const { will, username, password, clientId, keepAlive } = p;
  if (!Number.isInteger(keepAlive) || keepAlive < 0 || keepAlive > 65535) throw bad('keepAlive', '0..65535 seconds', keepAlive, 'MQTT-3.1.2-24');
  if (password !== undefined && username === undefined) throw bad('password', 'a user name with it', 'no user name', 'MQTT-3.1.2-22');
  const idLen = len(clientId, 'client id');
  if (!idLen && !p.clean) throw bad('empty client id', 'clean session', 'clean false', 'MQTT-3.1.3-7');
  const uLen = len(username, 'user name');
  const pLen = len(password, 'password');
  let flags = (p.clean ? 2 : 0) | (username === undefined ? 0 : 128) | (password === undefined ? 0 : 64);
  let rem = 12 + idLen + (username === undefined ? 0 : 2 + uLen) + (password === undefined ? 0 : 2 + pLen);
  let wLen = 0;
  let wpLen = 0;
  if (will) {
    flags |= 4 | (qosOf(will.qos ?? 0, 'will', 'MQTT-3.1.2-14') << 3) | (will.retain ? 32 : 0);
    wLen = validateTopicName(will.topic);
    wpLen = len(will.payload, 'will payload');
    rem += 4 + wLen + wpLen;
  }
  const out = alloc(0x10, rem);
  let o = out.length - rem;
  out.set([0, 4, 77, 81, 84, 84, 4, flags, keepAlive >> 8, keepAlive], o); // "MQTT", level 4
  o = field(out, o + 10, clientId, idLen);
  if (will) o = field(out, field(out, o, will.topic, wLen), will.payload, wpLen);
  if (username !== undefined) o = field(out, o, username, uLen);
  if (password !== undefined) field(out, o, password, pLen);
  return out;
}

export function encodeConnack(p: ConnackPacket): Uint8Array {
  const rc = p.returnCode;
  if (!(rc >= 0 && rc <= 5)) throw bad('CONNACK return code', '0..5', rc, 'MQTT-3.2.2.3');
  if (rc && p.sessionPresent) throw bad('refusing CONNACK', 'session present 0', 1, 'MQTT-3.2.2-4');
  return new Uint8Array([0x20, 2, p.sessionPresent ? 1 : 0, rc]);
}

export function encodePublish(p: PublishPacket): Uint8Array {
  const { payload, topic, id } = p;
  const qos = qosOf(p.qos ?? 0, 'PUBLISH', 'MQTT-3.3.1-4');
  if (!qos && p.dup) throw bad('DUP', '0 at QoS 0', 1, 'MQTT-3.3.1-2');
  if (!(payload instanceof Uint8Array)) throw bad('payload', 'a Uint8Array', typeof payload);
  const tLen = validateTopicName(topic);
  const rem = 2 + tLen + (qos ? 2 : 0) + payload.length;
  const out = alloc(0x30 | (p.dup ? 8 : 0) | (qos << 1) | (p.retain ? 1 : 0), rem);
  let o = field(out, out.length - rem, topic, tLen);
  if (qos) o = u16(out, o, idOf(id));
  out.set(payload, o);
  return out;
}

/** PUBACK, PUBREC, PUBREL (flags 0010), PUBCOMP or UNSUBACK: type and packet identifier. */
export function encodeAck(p: AckPacket): Uint8Array {
  const t = p.type;
  if (!(t >= 4 && t <= 7) && t !== 11) throw bad('acknowledgement type', 'PUBACK, PUBREC, PUBREL, PUBCOMP or UNSUBACK', t);
  const id = idOf(p.id);
  return new Uint8Array([(t << 4) | (t === 6 ? 2 : 0), 2, id >> 8, id & 255]);
}

/** SUBSCRIBE or UNSUBSCRIBE: a packet identifier and a list of topic filters (with QoS). */
function encodeFilters(first: number, id: number, topics: string[], qos: number[] | undefined, clause: string): Uint8Array {
  if (!topics.length) throw bad('topic filters', 'at least one', 0, clause);
  const lens = topics.map(validateTopicFilter);
  const rem = lens.reduce((a, n) => a + 2 + n + (qos ? 1 : 0), 2);
  const out = alloc(first, rem);
  let o = u16(out, out.length - rem, idOf(id));
  topics.forEach((t, i) => {
    o = field(out, o, t, lens[i]!);
    if (qos) out[o++] = qos[i]!;
  });
  return out;
}

export function encodeSubscribe(p: SubscribePacket): Uint8Array {
  const subs = p.subscriptions;
  return encodeFilters(0x82, p.id, subs.map((s) => s.topic), subs.map((s) => qosOf(s.qos, 'requested', 'MQTT-3.8.3-4')), 'MQTT-3.8.3-3');
}

export function encodeUnsubscribe(p: UnsubscribePacket): Uint8Array {
  return encodeFilters(0xa2, p.id, p.topics, undefined, 'MQTT-3.10.3-2');
}

export function encodeSuback(p: SubackPacket): Uint8Array {
  const g = p.granted;
  for (const c of g) if (c !== 0 && c !== 1 && c !== 2 && c !== 0x80) throw bad('SUBACK return code', '0, 1, 2 or 0x80', c, 'MQTT-3.9.3-2');
  if (!g.length) throw bad('SUBACK return codes', 'at least one', 0, 'MQTT-3.9.3-1');
  const out = alloc(0x90, 2 + g.length);
  out.set(g, u16(out, out.length - g.length - 2, idOf(p.id)));
  return out;
}

/** PINGREQ, PINGRESP or DISCONNECT: two bytes. */
export function encodeEmpty(p: EmptyPacket): Uint8Array {
  const t = p.type;
  if (t !== 12 && t !== 13 && t !== 14) throw bad('empty packet type', 'PINGREQ, PINGRESP or DISCONNECT', t);
  return new Uint8Array([t << 4, 0]);
}

/**
 * Encodes any packet. Pulls every encoder into a bundle; a device that knows which packets
 * it sends imports the individual `encodeXxx` functions instead.
 */
export function encode(p: Packet): Uint8Array {
  switch (p.type) {
    case 1:
      return encodeConnect(p);
    case 2:
      return encodeConnack(p);
    case 3:
      return encodePublish(p);
    case 8:
      return encodeSubscribe(p);
    case 9:
      return encodeSuback(p);
    case 10:
      return encodeUnsubscribe(p);
    case 12:
    case 13:
    case 14:
      return encodeEmpty(p);
  }
  return encodeAck(p);
}
