// MQTT 5 properties [MQTT-2.2.2]: each one's identifier, name, data type and the packets it may
// appear in, written and read with the spec's rules (at most once unless the spec allows more,
// values in range, only in its packets). Also what the v5 encoders and decoders share: the
// sections that hold each packet's rules and the mapping of the 3.1.1 clauses that shared code
// names to their MQTT 5 numbers.
import { MALFORMED, UmqttError, fail } from '../errors.js';
import { bad, field, isUint, writeField, type Part } from '../encode.js';
import { CONNACK, CONNECT, DISCONNECT, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK } from '../packets.js';
import { SUBSCRIBE, UNSUBACK, UNSUBSCRIBE } from '../packets.js';
import { bin, left, str, u16, u8, type Cursor } from '../parser.js';
import { AUTH } from './packets.js';
import { utf8Length } from '../utf8.js';

/** Data types [MQTT-1.5]: 0/1 as a boolean, a byte 0/1 as a number, then as their names say. */
export const BOOL = 0;
export const BYTE = 1;
export const U16 = 2;
export const U32 = 3;
export const VBI = 4;
export const STRING = 5;
export const BINARY = 6;
export const PAIR = 7;

/** Where a property may be: bit `type` of a mask for packet `type`, bit 0 for a will's properties. */
export const WILL_PROPERTIES = 0;
const C = 1 << CONNECT;
const CA = 1 << CONNACK;
const PB = 1 << PUBLISH;
const W = 1 << WILL_PROPERTIES;
const ACKS = (1 << PUBACK) | (1 << PUBREC) | (1 << PUBREL) | (1 << PUBCOMP);
const S = 1 << SUBSCRIBE;
const SA = 1 << SUBACK;
const U = 1 << UNSUBSCRIBE;
const UA = 1 << UNSUBACK;
const D = 1 << DISCONNECT;
const A = 1 << AUTH;

/**
 * A property: its name (the key in a packet's `properties`); its data type (0 a byte 0/1 read as
 * a boolean, 1 a byte 0/1 as a number, 2 a Two Byte Integer, 3 a Four Byte Integer, 4 a Variable
 * Byte Integer, 5 a UTF-8 string, 6 Binary Data, 7 a UTF-8 string pair); the packets it may be
 * in, as a mask of bits by packet type (bit 0 for a will's properties); and the packets where it
 * may appear more than once (its value is then an array).
 *
 * @example
 * const [name, type, packets] = PROPERTIES[0x21]!; // 'receiveMaximum', 2, CONNECT and CONNACK: (packets >> CONNECT) & 1
 */
export type Property = readonly [name: string, type: number, packets: number, many: number];

/* eslint-disable no-sparse-arrays -- indexed by property identifier; a hole is an identifier MQTT 5 does not define */
/**
 * The 27 properties of MQTT 5, by identifier [MQTT-2.2.2.2, Table 2-4]: see {@link Property}.
 *
 * @example
 * const allowed = PROPERTIES.flatMap((p) => (p && (p[2] >> PUBLISH) & 1 ? [p[0]] : [])); // the properties of PUBLISH
 */
export const PROPERTIES: ReadonlyArray<Property | undefined> = /* @__PURE__ */ Object.freeze([
  ,
  ['payloadFormatIndicator', BOOL, PB | W, 0], // 0x01
  ['messageExpiryInterval', U32, PB | W, 0], // 0x02
  ['contentType', STRING, PB | W, 0], // 0x03
  ,
  ,
  ,
  ,
  ['responseTopic', STRING, PB | W, 0], // 0x08
  ['correlationData', BINARY, PB | W, 0], // 0x09
  ,
  ['subscriptionIdentifier', VBI, PB | S, PB], // 0x0B: several in a PUBLISH, one in a SUBSCRIBE
  ,
  ,
  ,
  ,
  ,
  ['sessionExpiryInterval', U32, C | CA | D, 0], // 0x11
  ['assignedClientIdentifier', STRING, CA, 0], // 0x12
  ['serverKeepAlive', U16, CA, 0], // 0x13
  ,
  ['authenticationMethod', STRING, C | CA | A, 0], // 0x15
  ['authenticationData', BINARY, C | CA | A, 0], // 0x16
  ['requestProblemInformation', BOOL, C, 0], // 0x17
  ['willDelayInterval', U32, W, 0], // 0x18
  ['requestResponseInformation', BOOL, C, 0], // 0x19
  ['responseInformation', STRING, CA, 0], // 0x1A
  ,
  ['serverReference', STRING, CA | D, 0], // 0x1C
  ,
  ,
  ['reasonString', STRING, CA | ACKS | SA | UA | D | A, 0], // 0x1F
  ,
  ['receiveMaximum', U16, C | CA, 0], // 0x21
  ['topicAliasMaximum', U16, C | CA, 0], // 0x22
  ['topicAlias', U16, PB, 0], // 0x23
  ['maximumQoS', BYTE, CA, 0], // 0x24
  ['retainAvailable', BOOL, CA, 0], // 0x25
  ['userProperties', PAIR, C | CA | PB | W | ACKS | S | SA | U | UA | D | A, 0xffff], // 0x26: any number, in order
  ['maximumPacketSize', U32, C | CA, 0], // 0x27
  ['wildcardSubscriptionAvailable', BOOL, CA, 0], // 0x28
  ['subscriptionIdentifiersAvailable', BOOL, CA, 0], // 0x29
  ['sharedSubscriptionAvailable', BOOL, CA, 0], // 0x2A
]);
/* eslint-enable no-sparse-arrays */

/** Property identifiers by name. */
const IDS: Readonly<Record<string, number>> = /* @__PURE__ */ Object.freeze(
  Object.fromEntries(PROPERTIES.flatMap((p, id) => (p ? [[p[0], id]] : []))),
);

/** Properties whose value 0 is a Protocol Error: Subscription Identifier, Receive Maximum, Topic Alias, Maximum Packet Size. */
const NONZERO = [0x0b, 0x21, 0x23, 0x27];

/** Packet names by type, for messages (0: a will). */
export const NAMES = [
  'will',
  'CONNECT',
  'CONNACK',
  'PUBLISH',
  'PUBACK',
  'PUBREC',
  'PUBREL',
  'PUBCOMP',
  'SUBSCRIBE',
  'SUBACK',
  'UNSUBSCRIBE',
  'UNSUBACK',
  'PINGREQ',
  'PINGRESP',
  'DISCONNECT',
  'AUTH',
];

/** The section that holds the rules of packet `type`'s properties (0: a will's) [MQTT-3.x]. */
export const section = (type: number): string =>
  type === WILL_PROPERTIES
    ? '3.1.3.2'
    : type === 1
      ? '3.1.2.11'
      : type < 4
        ? `3.${type}.2.3`
        : `3.${type}.2.${type > 7 && type < 12 ? 1 : 2}`;

/** A Protocol Error from the wire: MALFORMED, with reason code 0x82 to disconnect with. */
export const protocolError = (what: string, expected: unknown, got: unknown, clause?: string): UmqttError =>
  fail(MALFORMED, what, expected, got, clause, 0x82);

/** A Malformed Packet from the wire: MALFORMED, with reason code 0x81 to disconnect with. */
export const malformed = (what: string, expected: unknown, got: unknown, clause?: string): UmqttError =>
  fail(MALFORMED, what, expected, got, clause, 0x81);

/** 3.1.1 clauses named by code shared with 3.1.1, and their MQTT 5 numbers. */
const V5: Readonly<Record<string, string>> = /* @__PURE__ */ Object.freeze({
  'MQTT-2.2.1': 'MQTT-2.1.2', // packet types
  'MQTT-2.2.2-2': 'MQTT-2.1.3-1', // reserved flags
  'MQTT-2.2.3': 'MQTT-2.1.4', // remaining length: fields within it, nothing after
  'MQTT-2.3.1-1': 'MQTT-2.2.1-3', // packet identifier not 0
  'MQTT-1.5.3': 'MQTT-1.5.4', // a string of at most 65535 bytes
  'MQTT-1.5.3-1': 'MQTT-1.5.4-1', // well-formed UTF-8, no surrogates
  'MQTT-1.5.3-2': 'MQTT-1.5.4-2', // no U+0000
});

/** Reason codes to disconnect with, by error code, for errors from the wire that carry none. */
const REASONS: Readonly<Record<string, number>> = /* @__PURE__ */ Object.freeze({
  UMQTT_MALFORMED: 0x81,
  UMQTT_INVALID_UTF8: 0x81,
  UMQTT_UNEXPECTED_PACKET: 0x82,
  UMQTT_PACKET_TOO_LARGE: 0x95,
});

/**
 * `e` as an MQTT 5 error: a clause that shared 3.1.1 code named becomes its MQTT 5 number; from
 * the wire (`wire`), an error without a reason code gets the one to disconnect with. Anything
 * but a UmqttError becomes one (`code`), so only UmqttError ever leaves the v5 codec.
 */
export function v5Error(e: unknown, wire: boolean): UmqttError {
  if (!(e instanceof UmqttError))
    return wire ? malformed('packet', 'a decodable packet', e) : bad('packet', 'a packet object', e);
  const c = e.clause && V5[e.clause];
  // The fields are own properties (Object.assign in the constructor): they are set here, in place.
  const x = e as { -readonly [K in keyof UmqttError]: UmqttError[K] };
  if (c) {
    x.message = x.message.replace(`[${e.clause}]`, `[${c}]`);
    x.clause = c;
  }
  if (wire) x.reasonCode ??= REASONS[e.code];
  return e;
}

/**
 * A shared subscription's filter is `$share/{ShareName}/{filter}`, the name at least one
 * character without '/', '+' or '#' [MQTT-4.8.2-1, 4.8.2-2]; returns whether `t` is one.
 */
export function isShared(
  t: string,
  error: (what: string, expected: unknown, got: unknown, clause: string) => UmqttError,
): boolean {
  if (!t.startsWith('$share/')) return false;
  const slash = t.indexOf('/', 7);
  const name = t.slice(7, slash < 0 ? t.length : slash);
  if (!name) throw error('shared subscription', 'a share name of at least one character', JSON.stringify(t), '4.8.2-1');
  if (slash < 0 || /[+#]/.test(name) || slash === t.length - 1)
    throw error('shared subscription', '$share/{ShareName}/{filter}', JSON.stringify(t), '4.8.2-2');
  return true;
}

// ---- reading (a Cursor of parser.ts) ----

/** A Variable Byte Integer: at most 4 bytes, in the fewest bytes [MQTT-1.5.5-1]. */
export function vbi(c: Cursor, what: string): number {
  let v = 0;
  for (let m = 1; ; m *= 128) {
    const b = u8(c, what);
    v += (b & 127) * m;
    if (b < 128) {
      if (!b && m > 1) throw malformed(what, 'the fewest bytes', 'a last byte 0', '1.5.5-1');
      return v;
    }
    if (m > 16384) throw malformed(what, 'at most 4 bytes', 'more', '1.5.5');
  }
}

/**
 * The properties of packet `type` (0: a will's) at the cursor: their length, then each one;
 * `undefined` when there are none.
 */
export function readProperties(c: Cursor, type: number): Record<string, unknown> | undefined {
  const n = vbi(c, 'property length');
  if (n > left(c)) throw malformed('property length', `at most ${left(c)}`, n, '2.2.2.1');
  if (!n) return undefined;
  const stop = c.i + n;
  const out: Record<string, unknown> = {};
  const where = section(type);
  do {
    const id = vbi(c, 'property identifier');
    const p = PROPERTIES[id];
    const name = p?.[0] ?? `0x${id.toString(16)}`;
    if (!p || !((p[2] >> type) & 1)) throw malformed('property', `one that ${NAMES[type]} may carry`, name, '2.2.2.2');
    const t = p[1];
    let v: unknown;
    if (t < U16) {
      const b = u8(c, name);
      if (b > 1) throw protocolError(name, '0 or 1', b, where);
      v = t === BOOL ? b > 0 : b;
    } else if (t === U16) v = u16(c, name);
    else if (t === U32)
      v = u16(c, name) * 65536 + u16(c, name); // a Four Byte Integer
    else if (t === VBI) v = vbi(c, name);
    else if (t === STRING) v = str(c, name);
    else if (t === BINARY) v = bin(c, name);
    else v = [str(c, name), str(c, name)];
    if (v === 0 && NONZERO.includes(id)) throw protocolError(name, 'not 0', 0, id === 0x23 ? '3.3.2-8' : where);
    if (id === 8) checkResponseTopic(v as string, protocolError);
    if ((p[3] >> type) & 1) ((out[name] ??= []) as unknown[]).push(v);
    else if (name in out) throw protocolError(name, 'at most once', 'twice', where);
    else out[name] = v;
  } while (c.i < stop);
  if (c.i > stop) throw malformed('property length', n, `${n + c.i - stop} bytes of properties`, '2.2.2.1');
  if ('authenticationData' in out && !('authenticationMethod' in out))
    throw protocolError('authenticationData', 'an authenticationMethod with it', 'none', where);
  return out;
}

/** A response topic is a topic name [MQTT-3.3.2-13, 3.3.2-14, 4.7.3-1]. */
function checkResponseTopic(t: string, error: typeof bad): void {
  if (!t) throw error('responseTopic', 'a non-empty topic name', '""', '4.7.3-1');
  if (/[+#]/.test(t)) throw error('responseTopic', 'no wildcards', JSON.stringify(t), '3.3.2-14');
}

// ---- writing (the parts of encode.ts) ----

/** A Variable Byte Integer's bytes, fewest first [MQTT-1.5.5]. */
export function vbiBytes(n: number): number[] {
  const out: number[] = [];
  for (; n > 127; n >>>= 7) out.push((n & 127) | 128);
  out.push(n);
  return out;
}

/** The bytes `parts` take in a packet body (as build() of encode.ts writes them). */
export function size(parts: Part[]): number {
  let n = 0;
  for (const x of parts) n += typeof x === 'number' ? 1 : typeof x === 'string' ? 2 + utf8Length(x) : x.length;
  return n;
}

/**
 * Writes `parts` into `out` at `o` as build() of encode.ts does (which keeps its own loop: the
 * 3.1.1 bundles stay smaller without the call); returns the position after them.
 */
export function put(out: Uint8Array, o: number, parts: Part[]): number {
  for (const x of parts)
    if (typeof x === 'number') out[o++] = x;
    else if (typeof x !== 'string') out.set(x, (o += x.length) - x.length);
    else o = writeField(out, o, x, utf8Length(x));
  return o;
}

/** A Binary Data field's parts: its 2-byte length and its bytes [MQTT-1.5.6]. */
export function binary(v: unknown, what: string): Part[] {
  const n = v instanceof Uint8Array ? v.length : -1;
  if (n < 0 || n > 65535)
    throw bad(what, 'a Uint8Array of at most 65535 bytes', n < 0 ? typeof v : `${n} bytes`, '1.5.6');
  return [n >> 8, n, v as Uint8Array];
}

/**
 * The properties of packet `type` (0: a will's) as parts of its body, their length first; checks
 * each against the spec (a property of this packet, its type and range, at most once unless it
 * may be repeated, whose value is then an array).
 */
export function propertyParts(type: number, properties: object | undefined): Part[] {
  const parts: Part[] = [];
  if (properties !== undefined) {
    if (typeof properties !== 'object' || !properties) throw bad('properties', 'an object', typeof properties);
    const where = section(type);
    for (const [name, value] of Object.entries(properties)) {
      if (value === undefined) continue;
      const id = IDS[name] ?? 0;
      const p = PROPERTIES[id];
      if (!p || !((p[2] >> type) & 1)) throw bad('property', `one that ${NAMES[type]} may carry`, name, '2.2.2.2');
      const many = (p[3] >> type) & 1;
      if (many && !Array.isArray(value)) throw bad(name, 'an array', typeof value, where);
      for (const v of many ? (value as unknown[]) : [value]) {
        const t = p[1];
        parts.push(id);
        if (t === BOOL) {
          if (typeof v !== 'boolean') throw bad(name, 'true or false', v, where);
          parts.push(v ? 1 : 0);
        } else if (t === BINARY) parts.push(...binary(v, name));
        else if (t === STRING) {
          if (id === 8) checkResponseTopic(v as string, bad);
          parts.push(...field(v, name));
        } else if (t === PAIR) {
          if (!Array.isArray(v) || v.length !== 2) throw bad(name, 'a [name, value] pair of strings', v, '1.5.7');
          parts.push(...field(v[0], name), ...field(v[1], name));
        } else {
          const max = t === BYTE ? 1 : t === U16 ? 65535 : t === U32 ? 0xffffffff : 268_435_455;
          if (!isUint(v, max) || (!v && NONZERO.includes(id)))
            throw bad(name, `${NONZERO.includes(id) ? 1 : 0}..${max}`, v, id === 0x23 ? '3.3.2-8' : where);
          if (t === VBI) parts.push(...vbiBytes(v));
          else if (t === U32) parts.push(v >>> 24, v >>> 16, v >>> 8, v);
          else if (t === U16) parts.push(v >> 8, v);
          else parts.push(v);
        }
      }
    }
    const given = properties as Record<string, unknown>;
    if (given.authenticationData !== undefined && given.authenticationMethod === undefined)
      throw bad('authenticationData', 'an authenticationMethod with it', 'none', where);
  }
  return [...vbiBytes(size(parts)), ...parts];
}
