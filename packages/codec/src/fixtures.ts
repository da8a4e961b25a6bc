// Test tables shared by the codec's tests (not part of the published package: excluded from
// the build in tsconfig.json). Packet objects beside their exact bytes, annotated with the
// MQTT 3.1.1 clauses they exercise. The bytes are written by hand from the spec, not produced
// by the encoder under test.
import type { Packet } from './packets.js';

/** Bytes from hex, spaces ignored. */
export function hex(s: string): Uint8Array {
  const h = s.replace(/\s+/g, '');
  if (h.length % 2) throw new Error(`odd hex: ${s}`);
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** `n` payload bytes 0, 1, 2 ... 255, 0, 1 ... */
export function counting(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = i & 255;
  return out;
}

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

export interface Fixture {
  name: string;
  /** MQTT 3.1.1 normative statements [MQTT-x.y.z-n] or sections (MQTT-x.y.z) exercised. */
  clauses: string[];
  packet: Packet;
  bytes: Uint8Array;
}

// "MQTT" protocol name and level 4, the start of every 3.1.1 CONNECT variable header.
const MQTT4 = '0004 4d515454 04';

/** Remaining length boundary: PUBLISH to topic "a" at QoS 0 with a body of exactly `rem` bytes. */
function boundary(rem: number, header: string, what: string): Fixture {
  const payload = counting(rem - 3);
  return {
    name: `PUBLISH remaining length ${rem} = ${header.replace(/^30 /, '')}: ${what}`,
    clauses: ['MQTT-2.2.3'],
    packet: { type: 3, topic: 'a', payload, qos: 0, retain: false, dup: false },
    bytes: concat(hex(header), hex('0001 61'), payload),
  };
}

export const fixtures: Fixture[] = [
  // ---- CONNECT (3.1) ----
  {
    name: 'CONNECT minimal, clean session, keepalive 60',
    clauses: ['MQTT-3.1.2-1', 'MQTT-3.1.2-2', 'MQTT-3.1.2-3', 'MQTT-3.1.2-6', 'MQTT-3.1.3-3'],
    packet: { type: 1, clientId: 'a', clean: true, keepAlive: 60 },
    bytes: hex(`10 0d ${MQTT4} 02 003c 0001 61`),
  },
  {
    name: 'CONNECT clean false, keepalive 0 (off)',
    clauses: ['MQTT-3.1.2-4', 'MQTT-3.1.2.10'],
    packet: { type: 1, clientId: 'dev-1', clean: false, keepAlive: 0 },
    bytes: hex(`10 11 ${MQTT4} 00 0000 0005 6465762d31`),
  },
  {
    name: 'CONNECT empty client id with clean session',
    clauses: ['MQTT-3.1.3-6', 'MQTT-3.1.3-7'],
    packet: { type: 1, clientId: '', clean: true, keepAlive: 30 },
    bytes: hex(`10 0c ${MQTT4} 02 001e 0000`),
  },
  {
    name: 'CONNECT with will QoS 1 retained',
    clauses: ['MQTT-3.1.2-8', 'MQTT-3.1.2-9', 'MQTT-3.1.2-14', 'MQTT-3.1.2-17', 'MQTT-3.1.3-1', 'MQTT-3.1.3-10'],
    packet: {
      type: 1,
      clientId: 'c',
      clean: true,
      keepAlive: 10,
      will: { topic: 'w/t', payload: ascii('bye'), qos: 1, retain: true },
    },
    bytes: hex(`10 17 ${MQTT4} 2e 000a 0001 63 0003 772f74 0003 627965`),
  },
  {
    name: 'CONNECT with user name and binary password',
    clauses: ['MQTT-3.1.2-19', 'MQTT-3.1.2-21', 'MQTT-3.1.3-11', 'MQTT-3.1.3.5'],
    packet: { type: 1, clientId: 'c', clean: true, keepAlive: 60, username: 'u', password: hex('70 00 ff') },
    bytes: hex(`10 15 ${MQTT4} c2 003c 0001 63 0001 75 0003 7000ff`),
  },
  {
    name: 'CONNECT with a non-ASCII user name and no password',
    clauses: ['MQTT-3.1.2-19', 'MQTT-3.1.2-20', 'MQTT-1.5.3'],
    packet: { type: 1, clientId: 'c', clean: true, keepAlive: 60, username: 'ü' },
    bytes: hex(`10 11 ${MQTT4} 82 003c 0001 63 0002 c3bc`),
  },
  {
    name: 'CONNECT with everything: will QoS 2 empty message, user, password, clean false, keepalive 65535',
    clauses: ['MQTT-3.1.2-14', 'MQTT-3.1.2-16', 'MQTT-3.1.3-1', 'MQTT-3.1.2.10'],
    packet: {
      type: 1,
      clientId: 'id',
      clean: false,
      keepAlive: 65535,
      will: { topic: 't', payload: new Uint8Array(0), qos: 2, retain: false },
      username: 'u',
      password: hex('01'),
    },
    bytes: hex(`10 19 ${MQTT4} d4 ffff 0002 6964 0001 74 0000 0001 75 0001 01`),
  },
  {
    name: 'CONNECT with empty user name and empty password',
    clauses: ['MQTT-3.1.2-19', 'MQTT-3.1.2-21'],
    packet: { type: 1, clientId: 'c', clean: true, keepAlive: 60, username: '', password: new Uint8Array(0) },
    bytes: hex(`10 11 ${MQTT4} c2 003c 0001 63 0000 0000`),
  },

  // ---- CONNACK (3.2) ----
  ...[0, 1, 2, 3, 4, 5].map((rc): Fixture => ({
    name: `CONNACK return code ${rc}`,
    clauses: rc ? ['MQTT-3.2.2-4', 'MQTT-3.2.2-5', 'MQTT-3.2.2.3'] : ['MQTT-3.2.2-1', 'MQTT-3.2.2-3', 'MQTT-3.2.2.3'],
    packet: { type: 2, sessionPresent: false, returnCode: rc },
    bytes: hex(`20 02 00 0${rc}`),
  })),
  {
    name: 'CONNACK accepted with session present',
    clauses: ['MQTT-3.2.2-2', 'MQTT-3.2.2.1'],
    packet: { type: 2, sessionPresent: true, returnCode: 0 },
    bytes: hex('20 02 01 00'),
  },

  // ---- PUBLISH (3.3) ----
  {
    name: 'PUBLISH QoS 0',
    clauses: ['MQTT-2.3.1-5', 'MQTT-3.3.2-1', 'MQTT-3.3.1-2'],
    packet: { type: 3, topic: 'a/b', payload: ascii('hi'), qos: 0, retain: false, dup: false },
    bytes: hex('30 07 0003 612f62 6869'),
  },
  {
    name: 'PUBLISH QoS 1',
    clauses: ['MQTT-2.3.1-1', 'MQTT-3.3.1-4'],
    packet: { type: 3, topic: 'a/b', payload: ascii('hi'), qos: 1, retain: false, dup: false, id: 10 },
    bytes: hex('32 09 0003 612f62 000a 6869'),
  },
  {
    name: 'PUBLISH QoS 2 retained, packet id 65535',
    clauses: ['MQTT-2.3.1-1', 'MQTT-3.3.1-4', 'MQTT-3.3.1-5'],
    packet: { type: 3, topic: 'a/b', payload: ascii('hi'), qos: 2, retain: true, dup: false, id: 65535 },
    bytes: hex('35 09 0003 612f62 ffff 6869'),
  },
  {
    name: 'PUBLISH QoS 1 DUP (redelivery)',
    clauses: ['MQTT-3.3.1-1', 'MQTT-2.3.1-1'],
    packet: { type: 3, topic: 'a/b', payload: ascii('hi'), qos: 1, retain: false, dup: true, id: 1 },
    bytes: hex('3a 09 0003 612f62 0001 6869'),
  },
  {
    name: 'PUBLISH QoS 2 DUP retained',
    clauses: ['MQTT-3.3.1-1', 'MQTT-3.3.1-5'],
    packet: { type: 3, topic: 'a/b', payload: ascii('hi'), qos: 2, retain: true, dup: true, id: 2 },
    bytes: hex('3d 09 0003 612f62 0002 6869'),
  },
  {
    name: 'PUBLISH retained with empty payload (clears the retained message)',
    clauses: ['MQTT-3.3.1-10', 'MQTT-3.3.3'],
    packet: { type: 3, topic: 'a/b', payload: new Uint8Array(0), qos: 0, retain: true, dup: false },
    bytes: hex('31 05 0003 612f62'),
  },
  {
    name: 'PUBLISH QoS 1 with empty payload',
    clauses: ['MQTT-3.3.3'],
    packet: { type: 3, topic: 'x', payload: new Uint8Array(0), qos: 1, retain: false, dup: false, id: 7 },
    bytes: hex('32 05 0001 78 0007'),
  },
  {
    name: 'PUBLISH to a multi-byte UTF-8 topic "é/€"',
    clauses: ['MQTT-1.5.3', 'MQTT-3.3.2-1'],
    packet: { type: 3, topic: 'é/€', payload: new Uint8Array(0), qos: 0, retain: false, dup: false },
    bytes: hex('30 08 0006 c3a9 2f e282ac'),
  },
  {
    name: 'PUBLISH to a topic with a 4-byte character (surrogate pair in JS) "x/😀"',
    clauses: ['MQTT-1.5.3', 'MQTT-1.5.3-1'],
    packet: { type: 3, topic: 'x/\u{1F600}', payload: hex('00 ff'), qos: 0, retain: false, dup: false },
    bytes: hex('30 0a 0006 782f f09f9880 00ff'),
  },
  {
    name: 'PUBLISH topic with U+FEFF kept, not stripped',
    clauses: ['MQTT-1.5.3-3'],
    packet: { type: 3, topic: '\uFEFFa', payload: new Uint8Array(0), qos: 0, retain: false, dup: false },
    bytes: hex('30 06 0004 efbbbf 61'),
  },
  {
    name: 'PUBLISH topics starting with $ and /, with empty levels',
    clauses: ['MQTT-4.7.1-1', 'MQTT-4.7.3-1'],
    packet: { type: 3, topic: '$SYS//x/', payload: new Uint8Array(0), qos: 0, retain: false, dup: false },
    bytes: hex('30 0a 0008 24535953 2f2f 78 2f'),
  },
  boundary(127, '30 7f', 'one byte, largest'),
  boundary(128, '30 80 01', 'two bytes, smallest'),
  boundary(16383, '30 ff 7f', 'two bytes, largest'),
  boundary(16384, '30 80 80 01', 'three bytes, smallest'),
  boundary(2097151, '30 ff ff 7f', 'three bytes, largest'),
  boundary(2097152, '30 80 80 80 01', 'four bytes, smallest'),

  // ---- PUBACK, PUBREC, PUBREL, PUBCOMP (3.4-3.7) and UNSUBACK (3.11) ----
  { name: 'PUBACK', clauses: ['MQTT-2.3.1-6', 'MQTT-3.4'], packet: { type: 4, id: 1 }, bytes: hex('40 02 0001') },
  { name: 'PUBREC', clauses: ['MQTT-2.3.1-6', 'MQTT-3.5'], packet: { type: 5, id: 0x1234 }, bytes: hex('50 02 1234') },
  {
    name: 'PUBREL (flags 0010)',
    clauses: ['MQTT-2.3.1-6', 'MQTT-3.6.1-1'],
    packet: { type: 6, id: 65535 },
    bytes: hex('62 02 ffff'),
  },
  { name: 'PUBCOMP', clauses: ['MQTT-2.3.1-6', 'MQTT-3.7'], packet: { type: 7, id: 7 }, bytes: hex('70 02 0007') },
  { name: 'UNSUBACK', clauses: ['MQTT-2.3.1-7', 'MQTT-3.11'], packet: { type: 11, id: 5 }, bytes: hex('b0 02 0005') },

  // ---- SUBSCRIBE (3.8), SUBACK (3.9) ----
  {
    name: 'SUBSCRIBE one filter',
    clauses: ['MQTT-3.8.1-1', 'MQTT-2.3.1-1', 'MQTT-3.8.3-3'],
    packet: { type: 8, id: 1, subscriptions: [{ topic: '#', qos: 0 }] },
    bytes: hex('82 06 0001 0001 23 00'),
  },
  {
    name: 'SUBSCRIBE several filters with QoS 0, 1, 2, wildcards and non-ASCII',
    clauses: ['MQTT-3.8.1-1', 'MQTT-3.8.3-1', 'MQTT-3.8.3-4', 'MQTT-4.7.1-2', 'MQTT-4.7.1-3'],
    packet: {
      type: 8,
      id: 10,
      subscriptions: [
        { topic: 'a/b', qos: 0 },
        { topic: 'c/+', qos: 1 },
        { topic: '#', qos: 2 },
        { topic: 'ü/#', qos: 1 },
      ],
    },
    bytes: hex('82 19 000a 0003 612f62 00 0003 632f2b 01 0001 23 02 0004 c3bc2f23 01'),
  },
  {
    name: 'SUBACK with granted QoS 0, 1, 2 and failure 0x80',
    clauses: ['MQTT-2.3.1-7', 'MQTT-3.9.3-1', 'MQTT-3.9.3-2'],
    packet: { type: 9, id: 10, granted: [0, 1, 2, 0x80] },
    bytes: hex('90 06 000a 00 01 02 80'),
  },
  {
    name: 'SUBACK single failure',
    clauses: ['MQTT-3.9.3-2'],
    packet: { type: 9, id: 300, granted: [0x80] },
    bytes: hex('90 03 012c 80'),
  },

  // ---- UNSUBSCRIBE (3.10) ----
  {
    name: 'UNSUBSCRIBE two filters',
    clauses: ['MQTT-3.10.1-1', 'MQTT-3.10.3-1', 'MQTT-3.10.3-2', 'MQTT-2.3.1-1'],
    packet: { type: 10, id: 2, topics: ['a/b', '+/#'] },
    bytes: hex('a2 0c 0002 0003 612f62 0003 2b2f23'),
  },

  // ---- PINGREQ (3.12), PINGRESP (3.13), DISCONNECT (3.14) ----
  { name: 'PINGREQ', clauses: ['MQTT-3.12', 'MQTT-2.2.2-1'], packet: { type: 12 }, bytes: hex('c0 00') },
  { name: 'PINGRESP', clauses: ['MQTT-3.13', 'MQTT-2.2.2-1'], packet: { type: 13 }, bytes: hex('d0 00') },
  { name: 'DISCONNECT', clauses: ['MQTT-3.14.1-1'], packet: { type: 14 }, bytes: hex('e0 00') },
];

/** Small fixtures only (no 2 MB boundary packets), for stream, fuzz and parser tests. */
export const smallFixtures = fixtures.filter((f) => f.bytes.length < 1024);

export interface DecodeError {
  name: string;
  bytes: Uint8Array;
  code: string;
  /** The spec clause on the error, or undefined when no clause applies. */
  clause: string | undefined;
  /** Decoder table to parse with; default: decode() (all 14 types, exactly one packet). */
  side?: 'client' | 'server';
}

const MALFORMED = 'UMQTT_MALFORMED';
const UTF8 = 'UMQTT_INVALID_UTF8';
const e = (
  name: string,
  h: string,
  clause: string | undefined,
  code = MALFORMED,
  side?: 'client' | 'server',
): DecodeError => (side ? { name, bytes: hex(h), code, clause, side } : { name, bytes: hex(h), code, clause });

/** Invalid byte sequences, each with the error code and clause it must produce. */
export const decodeErrors: DecodeError[] = [
  // Fixed header
  e('remaining length longer than 4 bytes', '30 80 80 80 80 01', 'MQTT-2.2.3'),
  e('remaining length 5 bytes, all continuation', '30 ff ff ff ff 7f', 'MQTT-2.2.3'),
  e('reserved packet type 0', '00 00', 'MQTT-2.2.1'),
  e('reserved packet type 15', 'f0 00', 'MQTT-2.2.1'),
  e('reserved packet type 15 to a client', 'f0 00', 'MQTT-2.2.1', MALFORMED, 'client'),
  e('CONNECT sent to a client', `10 0d ${MQTT4} 02 003c 0001 61`, 'MQTT-2.2.1', 'UMQTT_UNEXPECTED_PACKET', 'client'),
  e('SUBSCRIBE sent to a client', '82 06 0001 0001 23 00', 'MQTT-2.2.1', 'UMQTT_UNEXPECTED_PACKET', 'client'),
  e('DISCONNECT sent to a client', 'e0 00', 'MQTT-2.2.1', 'UMQTT_UNEXPECTED_PACKET', 'client'),
  e('CONNACK sent to a server', '20 02 00 00', 'MQTT-2.2.1', 'UMQTT_UNEXPECTED_PACKET', 'server'),
  e('SUBACK sent to a server', '90 03 0001 00', 'MQTT-2.2.1', 'UMQTT_UNEXPECTED_PACKET', 'server'),
  e('PINGRESP sent to a server', 'd0 00', 'MQTT-2.2.1', 'UMQTT_UNEXPECTED_PACKET', 'server'),
  // Reserved flag bits [MQTT-2.2.2-1]: PUBREL, SUBSCRIBE, UNSUBSCRIBE 0010; others 0000
  e('PUBREL flags 0000', '60 02 0001', 'MQTT-2.2.2-2'),
  e('PUBREL flags 0011', '63 02 0001', 'MQTT-2.2.2-2'),
  e('SUBSCRIBE flags 0000', '80 06 0001 0001 23 00', 'MQTT-2.2.2-2'),
  e('UNSUBSCRIBE flags 0000', 'a0 05 0001 0001 23', 'MQTT-2.2.2-2'),
  e('UNSUBSCRIBE flags 1010', 'aa 05 0001 0001 23', 'MQTT-2.2.2-2'),
  e('CONNECT flags 0010', `12 0d ${MQTT4} 02 003c 0001 61`, 'MQTT-2.2.2-2'),
  e('CONNACK flags 0001', '21 02 00 00', 'MQTT-2.2.2-2'),
  e('PUBACK flags 0010', '42 02 0001', 'MQTT-2.2.2-2'),
  e('PUBREC flags 1000', '58 02 0001', 'MQTT-2.2.2-2'),
  e('PUBCOMP flags 0010', '72 02 0001', 'MQTT-2.2.2-2'),
  e('SUBACK flags 0010', '92 03 0001 00', 'MQTT-2.2.2-2'),
  e('UNSUBACK flags 0010', 'b2 02 0001', 'MQTT-2.2.2-2'),
  e('PINGREQ flags 0001', 'c1 00', 'MQTT-2.2.2-2'),
  e('PINGRESP flags 0100', 'd4 00', 'MQTT-2.2.2-2'),
  e('DISCONNECT flags 1000', 'e8 00', 'MQTT-2.2.2-2'),
  // PUBLISH
  e('PUBLISH QoS 3', '36 05 0001 61 0001', 'MQTT-3.3.1-4'),
  e('PUBLISH QoS 3 with DUP', '3e 05 0001 61 0001', 'MQTT-3.3.1-4'),
  e('PUBLISH DUP at QoS 0', '38 05 0003 612f62', 'MQTT-3.3.1-2'),
  e('PUBLISH topic with +', '30 05 0003 612f2b', 'MQTT-3.3.2-2'),
  e('PUBLISH topic #', '30 03 0001 23', 'MQTT-3.3.2-2'),
  e('PUBLISH empty topic', '30 02 0000', 'MQTT-4.7.3-1'),
  e('PUBLISH topic with U+0000', '30 05 0003 610062', 'MQTT-1.5.3-2', UTF8),
  e('PUBLISH QoS 1 packet id 0', '32 05 0001 61 0000', 'MQTT-2.3.1-1'),
  e('PUBLISH QoS 2 packet id 0', '34 05 0001 61 0000', 'MQTT-2.3.1-1'),
  e('PUBLISH QoS 1 without packet id', '32 03 0001 61', 'MQTT-2.2.3'),
  e('PUBLISH topic length beyond the packet', '30 03 0005 61', 'MQTT-2.2.3'),
  e('PUBLISH without topic length', '30 01 00', 'MQTT-2.2.3'),
  // Invalid UTF-8 [MQTT-1.5.3-1]
  e('UTF-8 overlong 2-byte (C0 AF)', '30 04 0002 c0af', 'MQTT-1.5.3-1', UTF8),
  e('UTF-8 overlong 3-byte (E0 80 AF)', '30 05 0003 e080af', 'MQTT-1.5.3-1', UTF8),
  e('UTF-8 overlong 4-byte (F0 80 80 AF)', '30 06 0004 f08080af', 'MQTT-1.5.3-1', UTF8),
  e('UTF-8 encoded surrogate U+D800 (ED A0 80)', '30 05 0003 eda080', 'MQTT-1.5.3-1', UTF8),
  e('UTF-8 encoded surrogate U+DFFF (ED BF BF)', '30 05 0003 edbfbf', 'MQTT-1.5.3-1', UTF8),
  e('UTF-8 truncated 2-byte sequence', '30 03 0001 c3', 'MQTT-1.5.3-1', UTF8),
  e('UTF-8 truncated 3-byte sequence', '30 05 0003 61e282', 'MQTT-1.5.3-1', UTF8),
  e('UTF-8 truncated 4-byte sequence before more text', '30 06 0004 f09f9861', 'MQTT-1.5.3-1', UTF8),
  e('UTF-8 above U+10FFFF (F4 90 80 80)', '30 06 0004 f4908080', 'MQTT-1.5.3-1', UTF8),
  e('UTF-8 lead byte F5', '30 06 0004 f5808080', 'MQTT-1.5.3-1', UTF8),
  e('UTF-8 byte FF', '30 03 0001 ff', 'MQTT-1.5.3-1', UTF8),
  e('UTF-8 bad continuation (C3 41)', '30 04 0002 c341', 'MQTT-1.5.3-1', UTF8),
  e('UTF-8 lone continuation byte', '30 03 0001 80', 'MQTT-1.5.3-1', UTF8),
  e('UTF-8 invalid in a client id', `10 0d ${MQTT4} 02 003c 0001 c0`, 'MQTT-1.5.3-1', UTF8),
  e('UTF-8 invalid in a SUBSCRIBE filter', '82 07 0001 0002 eda0 00', 'MQTT-1.5.3-1', UTF8),
  // Acknowledgements
  e('PUBACK packet id 0', '40 02 0000', 'MQTT-2.3.1-1'),
  e('PUBREL packet id 0', '62 02 0000', 'MQTT-2.3.1-1'),
  e('UNSUBACK packet id 0', 'b0 02 0000', 'MQTT-2.3.1-1'),
  e('PUBACK trailing byte', '40 03 0001 00', 'MQTT-2.2.3'),
  e('PUBCOMP truncated id', '70 01 00', 'MQTT-2.2.3'),
  e('PINGREQ with a body', 'c0 01 00', 'MQTT-2.2.3'),
  e('DISCONNECT with a body', 'e0 02 0000', 'MQTT-2.2.3'),
  // SUBSCRIBE, SUBACK, UNSUBSCRIBE
  e('SUBSCRIBE packet id 0', '82 06 0000 0001 23 00', 'MQTT-2.3.1-1'),
  e('SUBSCRIBE without filters', '82 02 0001', 'MQTT-3.8.3-3'),
  e('SUBSCRIBE requested QoS 3', '82 06 0001 0001 23 03', 'MQTT-3.8.3-4'),
  e('SUBSCRIBE requested QoS reserved bits', '82 06 0001 0001 23 04', 'MQTT-3.8.3-4'),
  e('SUBSCRIBE requested QoS reserved top bit', '82 06 0001 0001 23 81', 'MQTT-3.8.3-4'),
  e('SUBSCRIBE filter without QoS byte', '82 05 0001 0001 23', 'MQTT-2.2.3'),
  e('SUBSCRIBE second filter truncated', '82 09 0001 0001 23 00 0005 61', 'MQTT-2.2.3'),
  e('SUBSCRIBE filter a/#/b', '82 0a 0001 0005 612f232f62 00', 'MQTT-4.7.1-2'),
  e('SUBSCRIBE filter a+', '82 07 0001 0002 612b 00', 'MQTT-4.7.1-3'),
  e('SUBSCRIBE empty filter', '82 05 0001 0000 00', 'MQTT-4.7.3-1'),
  e('SUBACK packet id 0', '90 03 0000 00', 'MQTT-2.3.1-1'),
  e('SUBACK without return codes', '90 02 0001', 'MQTT-3.9.3-1'),
  e('SUBACK return code 3', '90 03 0001 03', 'MQTT-3.9.3-2'),
  e('SUBACK return code 0x81', '90 04 0001 00 81', 'MQTT-3.9.3-2'),
  e('UNSUBSCRIBE packet id 0', 'a2 05 0000 0001 23', 'MQTT-2.3.1-1'),
  e('UNSUBSCRIBE without filters', 'a2 02 0001', 'MQTT-3.10.3-2'),
  e('UNSUBSCRIBE filter #a', 'a2 06 0001 0002 2361', 'MQTT-4.7.1-2'),
  // CONNACK
  e('CONNACK return code 6', '20 02 00 06', 'MQTT-3.2.2.3'),
  e('CONNACK return code 255', '20 02 00 ff', 'MQTT-3.2.2.3'),
  e('CONNACK reserved flag bits', '20 02 02 00', 'MQTT-3.2.2.1'),
  e('CONNACK reserved flag bit 7', '20 02 80 00', 'MQTT-3.2.2.1'),
  e('CONNACK refusing with session present', '20 02 01 05', 'MQTT-3.2.2-4'),
  e('CONNACK trailing byte', '20 03 00 00 00', 'MQTT-2.2.3'),
  e('CONNACK truncated', '20 01 00', 'MQTT-2.2.3'),
  // CONNECT
  e('CONNECT password without user name', `10 10 ${MQTT4} 42 003c 0001 61 0001 70`, 'MQTT-3.1.2-22'),
  e('CONNECT will QoS without will flag', `10 0d ${MQTT4} 0a 003c 0001 61`, 'MQTT-3.1.2-11'),
  e('CONNECT will retain without will flag', `10 0d ${MQTT4} 22 003c 0001 61`, 'MQTT-3.1.2-11'),
  e('CONNECT will QoS 3', `10 13 ${MQTT4} 1e 003c 0001 61 0001 74 0001 6d`, 'MQTT-3.1.2-14'),
  e('CONNECT reserved flag', `10 0d ${MQTT4} 03 003c 0001 61`, 'MQTT-3.1.2-3'),
  e(
    'CONNECT protocol name MQIsdp (3.1)',
    '10 0f 0006 4d5149736470 03 02 003c 0001 61',
    'MQTT-3.1.2-1',
    'UMQTT_UNSUPPORTED_PROTOCOL',
  ),
  e(
    'CONNECT protocol name mqtt',
    '10 0d 0004 6d717474 04 02 003c 0001 61',
    'MQTT-3.1.2-1',
    'UMQTT_UNSUPPORTED_PROTOCOL',
  ),
  e('CONNECT protocol level 5', `10 0d 0004 4d515454 05 02 003c 0001 61`, 'MQTT-3.1.2-2', 'UMQTT_UNSUPPORTED_PROTOCOL'),
  e('CONNECT protocol level 3', `10 0d 0004 4d515454 03 02 003c 0001 61`, 'MQTT-3.1.2-2', 'UMQTT_UNSUPPORTED_PROTOCOL'),
  e('CONNECT trailing byte', `10 0e ${MQTT4} 02 003c 0001 61 00`, 'MQTT-2.2.3'),
  e('CONNECT truncated protocol name', '10 04 0004 4d51', 'MQTT-2.2.3'),
  e('CONNECT truncated client id', `10 0c ${MQTT4} 02 003c 0001`, 'MQTT-2.2.3'),
  e('CONNECT will flag without will fields', `10 0d ${MQTT4} 06 003c 0001 61`, 'MQTT-2.2.3'),
  e('CONNECT user flag without user name', `10 0d ${MQTT4} 82 003c 0001 61`, 'MQTT-2.2.3'),
  e('CONNECT will topic with wildcard', `10 13 ${MQTT4} 06 003c 0001 61 0001 23 0001 6d`, 'MQTT-3.3.2-2'),
  // decode(): exactly one packet
  e('decode() with bytes after the packet', '40 02 0001 c0', 'MQTT-2.2.3'),
  e('decode() of an incomplete packet', '30 05 0003 61', 'MQTT-2.2.3'),
  e('decode() of a fixed header cut in its length', '30 80', 'MQTT-2.2.3'),
  e('decode() of nothing', '', 'MQTT-2.2.3'),
];
