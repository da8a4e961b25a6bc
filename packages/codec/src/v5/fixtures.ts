// MQTT 5 test tables (test support, excluded from the build): packet objects beside their exact
// bytes, annotated with the MQTT 5.0 clauses they exercise, and invalid bytes with the error
// code, clause and reason code each must produce. The bytes are written from the spec; the only
// help is `pkt`, `props` and `s`, which put a length in front of hand-written bytes (they share
// nothing with the encoder under test).
import { hex } from '../fixtures.js';
import type { Packet } from './packets.js';

/** A Variable Byte Integer as hex [MQTT-1.5.5]. */
function vbi(n: number): string {
  const out: string[] = [];
  do {
    const b = n % 128;
    n = Math.floor(n / 128);
    out.push((b | (n ? 128 : 0)).toString(16).padStart(2, '0'));
  } while (n);
  return out.join('');
}
const clean = (h: string) => h.replace(/\s+/g, '');
/** A packet: its first byte, the remaining length, the body. */
export const pkt = (first: string, ...body: string[]): Uint8Array =>
  hex(first + vbi(clean(body.join('')).length / 2) + body.join(''));
/** A property section: its length, then the properties. */
export const props = (...p: string[]): string => vbi(clean(p.join('')).length / 2) + p.join('');
/** A UTF-8 string field: its 2-byte length, then its bytes [MQTT-1.5.4]. */
export const s = (text: string): string => {
  const b = Buffer.from(text, 'utf8');
  return b.length.toString(16).padStart(4, '0') + b.toString('hex');
};
const bytes = (h: string) => hex(h);

export interface Fixture5 {
  name: string;
  /** MQTT 5.0 normative statements [MQTT-x.y.z-n] or sections (MQTT-x.y.z) exercised. */
  clauses: string[];
  packet: Packet;
  bytes: Uint8Array;
}

const MQTT5 = `${s('MQTT')} 05`;

export const fixtures5: Fixture5[] = [
  // ---- CONNECT (3.1) ----
  {
    name: 'CONNECT minimal: clean start, keep alive 60, no properties',
    clauses: ['MQTT-3.1.2-1', 'MQTT-3.1.2-2', 'MQTT-3.1.2-4', 'MQTT-2.2.2-1', 'MQTT-3.1.3-3'],
    packet: { type: 1, clientId: 'a', clean: true, keepAlive: 60 },
    bytes: hex(`10 0e ${MQTT5} 02 003c 00 0001 61`),
  },
  {
    name: 'CONNECT with every CONNECT property, user properties in order',
    clauses: ['MQTT-3.1.2.11', 'MQTT-3.1.2-23', 'MQTT-3.1.2-28', 'MQTT-3.1.2-29', 'MQTT-1.5.7-1'],
    packet: {
      type: 1,
      clientId: 'c',
      clean: false,
      keepAlive: 0,
      properties: {
        sessionExpiryInterval: 3600,
        receiveMaximum: 20,
        maximumPacketSize: 65536,
        topicAliasMaximum: 10,
        requestResponseInformation: true,
        requestProblemInformation: false,
        userProperties: [
          ['k', 'v'],
          ['k', 'v2'],
          ['a', ''],
        ],
        authenticationMethod: 'm1',
        authenticationData: bytes('0102'),
      },
    },
    bytes: pkt(
      '10',
      `${MQTT5} 00 0000`,
      props(
        '11 00000e10', // session expiry interval 3600
        '21 0014', // receive maximum 20
        '27 00010000', // maximum packet size 65536
        '22 000a', // topic alias maximum 10
        '19 01', // request response information
        '17 00', // request problem information
        `26 ${s('k')} ${s('v')}`,
        `26 ${s('k')} ${s('v2')}`,
        `26 ${s('a')} ${s('')}`,
        `15 ${s('m1')}`, // authentication method
        '16 0002 0102', // authentication data
      ),
      s('c'),
    ),
  },
  {
    name: 'CONNECT with a will QoS 2 retained and every will property, user name and password',
    clauses: ['MQTT-3.1.2-7', 'MQTT-3.1.2-9', 'MQTT-3.1.2-12', 'MQTT-3.1.2-15', 'MQTT-3.1.3-1', 'MQTT-3.1.3.2'],
    packet: {
      type: 1,
      clientId: 'dev',
      clean: true,
      keepAlive: 30,
      username: 'u',
      password: bytes('70 00 ff'),
      will: {
        topic: 'w/t',
        payload: bytes('627965'),
        qos: 2,
        retain: true,
        properties: {
          willDelayInterval: 5,
          payloadFormatIndicator: true,
          messageExpiryInterval: 120,
          contentType: 'text/plain',
          responseTopic: 'r/1',
          correlationData: bytes('abcd'),
          userProperties: [['x', 'y']],
        },
      },
    },
    bytes: pkt(
      '10',
      `${MQTT5} f6 001e 00`, // flags: user, password, will retain, will QoS 2, will, clean start
      s('dev'),
      props(
        '18 00000005', // will delay interval
        '01 01', // payload format indicator: UTF-8
        '02 00000078', // message expiry interval 120
        `03 ${s('text/plain')}`,
        `08 ${s('r/1')}`,
        '09 0002 abcd',
        `26 ${s('x')} ${s('y')}`,
      ),
      s('w/t'),
      '0003 627965',
      s('u'),
      '0003 7000ff',
    ),
  },
  {
    name: 'CONNECT with a password and no user name (allowed in MQTT 5)',
    clauses: ['MQTT-3.1.2-16', 'MQTT-3.1.2-19'],
    packet: { type: 1, clientId: 'c', clean: true, keepAlive: 60, password: bytes('01') },
    bytes: pkt('10', `${MQTT5} 42 003c 00`, s('c'), '0001 01'),
  },
  {
    name: 'CONNECT with an empty client id and clean start 0 (the broker assigns one)',
    clauses: ['MQTT-3.1.3-6', 'MQTT-3.1.3-7'],
    packet: { type: 1, clientId: '', clean: false, keepAlive: 10 },
    bytes: pkt('10', `${MQTT5} 00 000a 00`, s('')),
  },

  // ---- CONNACK (3.2) ----
  {
    name: 'CONNACK success',
    clauses: ['MQTT-3.2.2-2', 'MQTT-3.2.2-8'],
    packet: { type: 2, sessionPresent: false, reasonCode: 0 },
    bytes: hex('20 03 00 00 00'),
  },
  {
    name: 'CONNACK success with session present',
    clauses: ['MQTT-3.2.2-3'],
    packet: { type: 2, sessionPresent: true, reasonCode: 0 },
    bytes: hex('20 03 01 00 00'),
  },
  ...[0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b, 0x9c]
    .concat([0x9d, 0x9f])
    .map((rc): Fixture5 => ({
      name: `CONNACK reason code 0x${rc.toString(16)}`,
      clauses: ['MQTT-3.2.2-6', 'MQTT-3.2.2-7', 'MQTT-3.2.2-8'],
      packet: { type: 2, sessionPresent: false, reasonCode: rc },
      bytes: hex(`20 03 00 ${rc.toString(16)} 00`),
    })),
  {
    name: 'CONNACK with every CONNACK property',
    clauses: ['MQTT-3.2.2.3', 'MQTT-3.2.2-9', 'MQTT-3.2.2-16', 'MQTT-3.2.2-21'],
    packet: {
      type: 2,
      sessionPresent: false,
      reasonCode: 0,
      properties: {
        sessionExpiryInterval: 0xffffffff,
        receiveMaximum: 65535,
        maximumQoS: 1,
        retainAvailable: false,
        maximumPacketSize: 268435460,
        assignedClientIdentifier: 'auto-1',
        topicAliasMaximum: 0,
        reasonString: 'ok',
        userProperties: [['region', 'eu']],
        wildcardSubscriptionAvailable: true,
        subscriptionIdentifiersAvailable: false,
        sharedSubscriptionAvailable: true,
        serverKeepAlive: 120,
        responseInformation: 'resp/',
        serverReference: 'other:1883',
        authenticationMethod: 'm',
        authenticationData: bytes('00'),
      },
    },
    bytes: pkt(
      '20',
      '00 00',
      props(
        '11 ffffffff',
        '21 ffff',
        '24 01', // maximum QoS 1
        '25 00', // retain not available
        '27 10000004',
        `12 ${s('auto-1')}`,
        '22 0000',
        `1f ${s('ok')}`,
        `26 ${s('region')} ${s('eu')}`,
        '28 01',
        '29 00',
        '2a 01',
        '13 0078', // server keep alive 120
        `1a ${s('resp/')}`,
        `1c ${s('other:1883')}`,
        `15 ${s('m')}`,
        '16 0001 00',
      ),
    ),
  },

  // ---- PUBLISH (3.3) ----
  {
    name: 'PUBLISH QoS 0 without properties',
    clauses: ['MQTT-3.3.2-1', 'MQTT-2.2.1-2', 'MQTT-2.2.2-1'],
    packet: { type: 3, topic: 'a/b', payload: bytes('6869'), qos: 0, retain: false, dup: false },
    bytes: hex('30 08 0003 612f62 00 6869'),
  },
  {
    name: 'PUBLISH QoS 1 with message expiry, payload format and content type',
    clauses: ['MQTT-2.2.1-3', 'MQTT-3.3.2-4', 'MQTT-3.3.2-19', 'MQTT-3.3.2.3'],
    packet: {
      type: 3,
      topic: 'sensors/1',
      payload: bytes('32312e35'),
      qos: 1,
      retain: false,
      dup: false,
      id: 10,
      properties: { messageExpiryInterval: 60, payloadFormatIndicator: true, contentType: 'text/plain' },
    },
    bytes: pkt('32', s('sensors/1'), '000a', props('02 0000003c', '01 01', `03 ${s('text/plain')}`), '32312e35'),
  },
  {
    name: 'PUBLISH QoS 2 DUP retained: a request with response topic, correlation data, user properties in order',
    clauses: ['MQTT-3.3.1-1', 'MQTT-3.3.2-13', 'MQTT-3.3.2-18', 'MQTT-4.10'],
    packet: {
      type: 3,
      topic: 'req',
      payload: new Uint8Array(0),
      qos: 2,
      retain: true,
      dup: true,
      id: 65535,
      properties: {
        responseTopic: 'resp/é',
        correlationData: bytes('0001'),
        userProperties: [
          ['b', '1'],
          ['a', '2'],
          ['b', '3'],
        ],
      },
    },
    bytes: pkt(
      '3d',
      s('req'),
      'ffff',
      props(
        `08 ${s('resp/é')}`,
        '09 0002 0001',
        `26 ${s('b')} ${s('1')}`,
        `26 ${s('a')} ${s('2')}`,
        `26 ${s('b')} ${s('3')}`,
      ),
    ),
  },
  {
    name: 'PUBLISH from a broker with a topic alias and two subscription identifiers (1 and the largest)',
    clauses: ['MQTT-3.3.2-10', 'MQTT-3.3.4-3', 'MQTT-3.3.4-4', 'MQTT-1.5.5-1'],
    packet: {
      type: 3,
      topic: 't',
      payload: bytes('ff'),
      qos: 0,
      retain: false,
      dup: false,
      properties: { topicAlias: 3, subscriptionIdentifier: [1, 268435455] },
    },
    bytes: pkt('30', s('t'), props('23 0003', '0b 01', '0b ffffff7f'), 'ff'),
  },
  {
    name: 'PUBLISH with an empty topic and the topic alias that stands for it',
    clauses: ['MQTT-3.3.2.3.4', 'MQTT-3.3.2-12'],
    packet: {
      type: 3,
      topic: '',
      payload: bytes('01'),
      qos: 1,
      retain: false,
      dup: false,
      id: 2,
      properties: { topicAlias: 3 },
    },
    bytes: hex('32 09 0000 0002 03 230003 01'),
  },
  {
    name: 'PUBLISH with a remaining length of 128 (two bytes)',
    clauses: ['MQTT-2.1.4', 'MQTT-1.5.5-1'],
    packet: { type: 3, topic: 'a', payload: new Uint8Array(124), qos: 0, retain: false, dup: false },
    bytes: hex(`30 8001 0001 61 00 ${'00'.repeat(124)}`),
  },

  // ---- PUBACK, PUBREC, PUBREL, PUBCOMP (3.4-3.7) ----
  {
    name: 'PUBACK success: remaining length 2, no reason code',
    clauses: ['MQTT-3.4.2-1', 'MQTT-3.4.2.1'],
    packet: { type: 4, id: 1, reasonCode: 0 },
    bytes: hex('40 02 0001'),
  },
  {
    name: 'PUBACK no matching subscribers: remaining length 3, no property length',
    clauses: ['MQTT-3.4.2-1', 'MQTT-3.4.2.2.1'],
    packet: { type: 4, id: 7, reasonCode: 0x10 },
    bytes: hex('40 03 0007 10'),
  },
  ...[0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99].map((rc): Fixture5 => ({
    name: `PUBREC reason code 0x${rc.toString(16)} with a reason string`,
    clauses: ['MQTT-3.5.2-1', 'MQTT-3.5.2.2'],
    packet: { type: 5, id: 0x1234, reasonCode: rc, properties: { reasonString: 'no' } },
    bytes: pkt('50', '1234', rc.toString(16), props(`1f ${s('no')}`)),
  })),
  {
    name: 'PUBREL packet identifier not found (flags 0010)',
    clauses: ['MQTT-3.6.1-1', 'MQTT-3.6.2-1'],
    packet: { type: 6, id: 65535, reasonCode: 0x92 },
    bytes: hex('62 03 ffff 92'),
  },
  {
    name: 'PUBCOMP success with user properties (reason code written)',
    clauses: ['MQTT-3.7.2-1', 'MQTT-3.7.2.2'],
    packet: { type: 7, id: 3, reasonCode: 0, properties: { userProperties: [['n', 'v']] } },
    bytes: pkt('70', '0003 00', props(`26 ${s('n')} ${s('v')}`)),
  },

  // ---- SUBSCRIBE (3.8), SUBACK (3.9) ----
  {
    name: 'SUBSCRIBE with subscription options and a subscription identifier',
    clauses: ['MQTT-3.8.1-1', 'MQTT-3.8.3-1', 'MQTT-3.8.3-3', 'MQTT-3.8.3.1', 'MQTT-3.8.2.1'],
    packet: {
      type: 8,
      id: 1,
      subscriptions: [
        { topic: 'a/+', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 },
        { topic: '#', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
        { topic: 'ü/x', qos: 2, noLocal: false, retainAsPublished: false, retainHandling: 1 },
      ],
      properties: { subscriptionIdentifier: 200, userProperties: [['k', 'v']] },
    },
    bytes: pkt(
      '82',
      '0001',
      props('0b c801', `26 ${s('k')} ${s('v')}`), // subscription identifier 200: two bytes
      `${s('a/+')} 2d`, // QoS 1, no local, retain as published, retain handling 2
      `${s('#')} 00`,
      `${s('ü/x')} 12`, // QoS 2, retain handling 1
    ),
  },
  {
    name: 'SUBSCRIBE to a shared subscription',
    clauses: ['MQTT-4.8.2-1', 'MQTT-4.8.2-2'],
    packet: {
      type: 8,
      id: 2,
      subscriptions: [
        { topic: '$share/group/a/#', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    },
    bytes: pkt('82', '0002 00', `${s('$share/group/a/#')} 01`),
  },
  {
    name: 'SUBACK with every SUBACK reason code and a reason string',
    clauses: ['MQTT-3.9.3-1', 'MQTT-3.9.3-2', 'MQTT-3.9.2.1'],
    packet: {
      type: 9,
      id: 10,
      reasonCodes: [0, 1, 2, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2],
      properties: { reasonString: 'partly' },
    },
    bytes: pkt('90', '000a', props(`1f ${s('partly')}`), '000102 80 83 87 8f 91 97 9e a1 a2'),
  },
  {
    name: 'SUBACK granted QoS 1 without properties',
    clauses: ['MQTT-3.8.4-6', 'MQTT-3.9.3-2'],
    packet: { type: 9, id: 300, reasonCodes: [1] },
    bytes: hex('90 04 012c 00 01'),
  },

  // ---- UNSUBSCRIBE (3.10), UNSUBACK (3.11) ----
  {
    name: 'UNSUBSCRIBE two filters with a user property',
    clauses: ['MQTT-3.10.1-1', 'MQTT-3.10.3-1', 'MQTT-3.10.3-2', 'MQTT-3.10.2.1'],
    packet: { type: 10, id: 2, topics: ['a/b', '$share/g/+/#'], properties: { userProperties: [['k', 'v']] } },
    bytes: pkt('a2', '0002', props(`26 ${s('k')} ${s('v')}`), s('a/b'), s('$share/g/+/#')),
  },
  {
    name: 'UNSUBACK with every UNSUBACK reason code',
    clauses: ['MQTT-3.11.3-1', 'MQTT-3.11.3-2'],
    packet: { type: 11, id: 5, reasonCodes: [0, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91] },
    bytes: hex('b0 0a 0005 00 00 11 80 83 87 8f 91'),
  },

  // ---- PINGREQ (3.12), PINGRESP (3.13) ----
  { name: 'PINGREQ', clauses: ['MQTT-3.12', 'MQTT-2.1.3-1'], packet: { type: 12 }, bytes: hex('c0 00') },
  { name: 'PINGRESP', clauses: ['MQTT-3.13', 'MQTT-2.1.3-1'], packet: { type: 13 }, bytes: hex('d0 00') },

  // ---- DISCONNECT (3.14) ----
  {
    name: 'DISCONNECT normal: remaining length 0',
    clauses: ['MQTT-3.14.1-1', 'MQTT-3.14.2.1'],
    packet: { type: 14, reasonCode: 0 },
    bytes: hex('e0 00'),
  },
  {
    name: 'DISCONNECT with will message: remaining length 1',
    clauses: ['MQTT-3.14.2-1', 'MQTT-3.14.2.2.1'],
    packet: { type: 14, reasonCode: 4 },
    bytes: hex('e0 01 04'),
  },
  {
    name: 'DISCONNECT from a client with session expiry, reason string and user property',
    clauses: ['MQTT-3.14.2-1', 'MQTT-3.14.2.2'],
    packet: {
      type: 14,
      reasonCode: 0x80,
      properties: { sessionExpiryInterval: 0, reasonString: 'bye', userProperties: [['k', 'v']] },
    },
    bytes: pkt('e0', '80', props('11 00000000', `1f ${s('bye')}`, `26 ${s('k')} ${s('v')}`)),
  },
  {
    name: 'DISCONNECT from a broker: use another server',
    clauses: ['MQTT-3.14.2-1', 'MQTT-4.11'],
    packet: { type: 14, reasonCode: 0x9c, properties: { serverReference: 'b:1883' } },
    bytes: pkt('e0', '9c', props(`1c ${s('b:1883')}`)),
  },
  ...[0x81, 0x82, 0x8b, 0x8d, 0x8e, 0x93, 0x94, 0x95, 0x98, 0xa0].map((rc): Fixture5 => ({
    name: `DISCONNECT reason code 0x${rc.toString(16)}`,
    clauses: ['MQTT-3.14.2-1'],
    packet: { type: 14, reasonCode: rc },
    bytes: hex(`e0 01 ${rc.toString(16)}`),
  })),

  // ---- AUTH (3.15) ----
  {
    name: 'AUTH success: remaining length 0',
    clauses: ['MQTT-3.15.1-1', 'MQTT-3.15.2-1'],
    packet: { type: 15, reasonCode: 0 },
    bytes: hex('f0 00'),
  },
  {
    name: 'AUTH continue authentication with method and data',
    clauses: ['MQTT-3.15.2-1', 'MQTT-3.15.2.2', 'MQTT-4.12.0-5'],
    packet: {
      type: 15,
      reasonCode: 0x18,
      properties: { authenticationMethod: 'SCRAM-SHA-1', authenticationData: bytes('6e2c2c6e3d75') },
    },
    bytes: pkt('f0', '18', props(`15 ${s('SCRAM-SHA-1')}`, '16 0006 6e2c2c6e3d75')),
  },
  {
    name: 'AUTH re-authenticate with reason string and user property',
    clauses: ['MQTT-4.12.1-1', 'MQTT-3.15.2-1'],
    packet: {
      type: 15,
      reasonCode: 0x19,
      properties: { authenticationMethod: 'm', reasonString: 'again', userProperties: [['k', 'v']] },
    },
    bytes: pkt('f0', '19', props(`15 ${s('m')}`, `1f ${s('again')}`, `26 ${s('k')} ${s('v')}`)),
  },
];

/**
 * Valid bytes that the encoders write shorter (the spec allows both): each decodes to its
 * packet, and re-encodes to `shortest`.
 */
export const longerForms: Array<{
  name: string;
  clauses: string[];
  bytes: Uint8Array;
  packet: Packet;
  shortest: Uint8Array;
}> = [
  {
    name: 'PUBACK success with its reason code and an empty property length',
    clauses: ['MQTT-3.4.2.1', 'MQTT-3.4.2.2.1'],
    bytes: hex('40 04 0001 00 00'),
    packet: { type: 4, id: 1, reasonCode: 0 },
    shortest: hex('40 02 0001'),
  },
  {
    name: 'PUBREC 0x10 with an empty property length',
    clauses: ['MQTT-3.5.2.2.1'],
    bytes: hex('50 04 0001 10 00'),
    packet: { type: 5, id: 1, reasonCode: 0x10 },
    shortest: hex('50 03 0001 10'),
  },
  {
    name: 'DISCONNECT normal with its reason code',
    clauses: ['MQTT-3.14.2.1'],
    bytes: hex('e0 01 00'),
    packet: { type: 14, reasonCode: 0 },
    shortest: hex('e0 00'),
  },
  {
    name: 'DISCONNECT normal with its reason code and an empty property length',
    clauses: ['MQTT-3.14.2.2.1'],
    bytes: hex('e0 02 00 00'),
    packet: { type: 14, reasonCode: 0 },
    shortest: hex('e0 00'),
  },
];

export interface DecodeError5 {
  name: string;
  bytes: Uint8Array;
  code: string;
  clause: string | undefined;
  /** The reason code to disconnect with, on the error. */
  reasonCode: number | undefined;
  /** Decoder table to parse with; default: decode() (all 15 types, exactly one packet). */
  side?: 'client' | 'server';
}

const MALFORMED = 'UMQTT_MALFORMED';
const UTF8 = 'UMQTT_INVALID_UTF8';
/** Malformed Packet (0x81). */
const m = (name: string, bytes: Uint8Array, clause: string, code = MALFORMED): DecodeError5 => ({
  name,
  bytes,
  code,
  clause: `MQTT-${clause}`,
  reasonCode: 0x81,
});
/** Protocol Error (0x82). */
const p = (name: string, bytes: Uint8Array, clause: string, side?: 'server'): DecodeError5 => ({
  name,
  bytes,
  code: MALFORMED,
  clause: `MQTT-${clause}`,
  reasonCode: 0x82,
  ...(side ? { side } : {}),
});

/** PUBLISH QoS 0 to topic 't' with these properties (hex) and an empty payload. */
const publishWith = (...p: string[]) => pkt('30', s('t'), props(...p));
/** CONNECT minimal with these properties. */
const connectWith = (...p: string[]) => pkt('10', `${MQTT5} 02 003c`, props(...p), s('c'));
/** CONNACK success with these properties. */
const connackWith = (...p: string[]) => pkt('20', '00 00', props(...p));

/** Invalid bytes, each with the error code, MQTT 5 clause and reason code it must produce. */
export const decodeErrors5: DecodeError5[] = [
  // Fixed header, with the MQTT 5 numbers of the 3.1.1 rules
  m('reserved packet type 0', hex('00 00'), '2.1.2'),
  {
    name: 'CONNECT sent to a client',
    bytes: hex(`10 0e ${MQTT5} 02 003c 00 0001 61`),
    code: 'UMQTT_UNEXPECTED_PACKET',
    clause: 'MQTT-2.1.2',
    reasonCode: 0x82,
    side: 'client',
  },
  {
    name: 'SUBACK sent to a server',
    bytes: hex('90 04 0001 00 00'),
    code: 'UMQTT_UNEXPECTED_PACKET',
    clause: 'MQTT-2.1.2',
    reasonCode: 0x82,
    side: 'server',
  },
  m('PUBREL flags 0000', hex('60 02 0001'), '2.1.3-1'),
  m('SUBSCRIBE flags 0000', pkt('80', '0001 00', `${s('a')} 00`), '2.1.3-1'),
  m('AUTH flags 0001', hex('f1 00'), '2.1.3-1'),
  m('DISCONNECT flags 1000', hex('e8 00'), '2.1.3-1'),
  m('remaining length of 5 bytes', hex('30 80 80 80 80 01'), '2.1.4'),
  m('remaining length 0 in two bytes', hex('c0 80 00'), '1.5.5-1'),
  m('remaining length 2 in two bytes', hex('40 82 00 0001'), '1.5.5-1'),
  m('remaining length 130 in three bytes', hex(`30 82 81 00 0001 61 00 ${'00'.repeat(126)}`), '1.5.5-1'),
  m('PUBACK truncated packet id', hex('40 01 00'), '2.1.4'),
  m('PINGREQ with a body', hex('c0 01 00'), '2.1.4'),
  m('PUBACK packet id 0', hex('40 02 0000'), '2.2.1-3'),
  m('SUBSCRIBE packet id 0', pkt('82', '0000 00', `${s('a')} 00`), '2.2.1-3'),
  m('decode() with bytes after the packet', hex('d0 00 c0'), '2.1.4'),

  // UTF-8 [MQTT-1.5.4]
  m('PUBLISH topic with U+0000', hex('30 06 0003 610062 00'), '1.5.4-2', UTF8),
  m('PUBLISH topic with an encoded surrogate', hex('30 06 0003 eda080 00'), '1.5.4-1', UTF8),
  m('user property name with an overlong sequence', publishWith('26 0002 c0af 0000'), '1.5.4-1', UTF8),
  m('reason string with U+0000', pkt('40', '0001 80', props('1f 0001 00')), '1.5.4-2', UTF8),

  // Properties [MQTT-2.2.2]
  m('property length of 5 bytes', hex('30 08 0001 74 8080808001'), '1.5.5'),
  m('property length 0 in two bytes', hex('30 05 0001 74 80 00'), '1.5.5-1'),
  m('property length beyond the packet', hex('30 05 0001 74 05 01'), '2.2.2.1'),
  m('a property running past the property length', hex('30 0a 0001 74 02 03 0003 616263'), '2.2.2.1'),
  m('property identifier 0', publishWith('00 00'), '2.2.2.2'),
  m('property identifier 0x04 (not defined)', publishWith('04 00'), '2.2.2.2'),
  m('property identifier 0x2B (not defined)', publishWith('2b 00'), '2.2.2.2'),
  m('property identifier in two bytes (non-minimal 0x01)', publishWith('81 00 01'), '1.5.5-1'),
  m('Topic Alias in CONNECT', connectWith('23 0001'), '2.2.2.2'),
  m('Will Delay Interval in CONNECT properties', connectWith('18 00000001'), '2.2.2.2'),
  m('Server Keep Alive in CONNECT', connectWith('13 000a'), '2.2.2.2'),
  m('Session Expiry Interval in PUBLISH', publishWith('11 00000001'), '2.2.2.2'),
  m('Reason String in PUBLISH', publishWith(`1f ${s('x')}`), '2.2.2.2'),
  m('Content Type in CONNACK', connackWith(`03 ${s('x')}`), '2.2.2.2'),
  m('Subscription Identifier in UNSUBSCRIBE', pkt('a2', '0001', props('0b 01'), s('a')), '2.2.2.2'),
  m('Authentication Method in DISCONNECT', pkt('e0', '00', props(`15 ${s('m')}`)), '2.2.2.2'),
  m('Message Expiry Interval in SUBACK', pkt('90', '0001', props('02 00000001'), '00'), '2.2.2.2'),
  p('Receive Maximum twice in CONNECT', connectWith('21 0001', '21 0002'), '3.1.2.11'),
  p(
    'Will Delay Interval twice',
    pkt('10', `${MQTT5} 06 003c 00`, s('c'), props('18 00000001', '18 00000002'), s('t'), '0000'),
    '3.1.3.2',
  ),
  p('Reason String twice in CONNACK', connackWith(`1f ${s('a')}`, `1f ${s('b')}`), '3.2.2.3'),
  p('Message Expiry Interval twice in PUBLISH', publishWith('02 00000001', '02 00000001'), '3.3.2.3'),
  p('Reason String twice in PUBACK', pkt('40', '0001 00', props(`1f ${s('a')}`, `1f ${s('b')}`)), '3.4.2.2'),
  p(
    'Subscription Identifier twice in SUBSCRIBE',
    pkt('82', '0001', props('0b 01', '0b 02'), `${s('a')} 00`),
    '3.8.2.1',
  ),
  p('Session Expiry Interval twice in DISCONNECT', pkt('e0', '00', props('11 00000001', '11 00000001')), '3.14.2.2'),
  p('Authentication Method twice in AUTH', pkt('f0', '18', props(`15 ${s('m')}`, `15 ${s('m')}`)), '3.15.2.2'),
  p('Receive Maximum 0', connectWith('21 0000'), '3.1.2.11'),
  p('Maximum Packet Size 0', connackWith('27 00000000'), '3.2.2.3'),
  p('Topic Alias 0', publishWith('23 0000'), '3.3.2-8'),
  p('Subscription Identifier 0 in PUBLISH', publishWith('0b 00'), '3.3.2.3'),
  p('Subscription Identifier 0 in SUBSCRIBE', pkt('82', '0001', props('0b 00'), `${s('a')} 00`), '3.8.2.1'),
  p('Maximum QoS 2', connackWith('24 02'), '3.2.2.3'),
  p('Payload Format Indicator 2', publishWith('01 02'), '3.3.2.3'),
  p('Request Problem Information 2', connectWith('17 02'), '3.1.2.11'),
  p('Retain Available 255', connackWith('25 ff'), '3.2.2.3'),
  p('Response Topic with a wildcard', publishWith(`08 ${s('r/#')}`), '3.3.2-14'),
  p('Response Topic empty', publishWith(`08 ${s('')}`), '4.7.3-1'),
  p('Authentication Data without Authentication Method in CONNECT', connectWith('16 0001 00'), '3.1.2.11'),
  p('a Subscription Identifier in a PUBLISH from a client', publishWith('0b 01'), '3.3.4-6', 'server'),

  // Reason codes [MQTT-2.4]
  p('CONNACK reason code 0x01 (a 3.1.1 return code)', hex('20 03 00 01 00'), '3.2.2-8'),
  p('CONNACK reason code 0x8b (DISCONNECT only)', hex('20 03 00 8b 00'), '3.2.2-8'),
  p('CONNACK refusing with session present', hex('20 03 01 87 00'), '3.2.2-6'),
  m('CONNACK reserved flag bits', hex('20 03 02 00 00'), '3.2.2-1'),
  m('CONNACK without property length', hex('20 02 00 00'), '2.1.4'),
  p('PUBACK reason code 0x92', hex('40 03 0001 92'), '3.4.2-1'),
  p('PUBREC reason code 0x01', hex('50 03 0001 01'), '3.5.2-1'),
  p('PUBREL reason code 0x10', hex('62 03 0001 10'), '3.6.2-1'),
  p('PUBCOMP reason code 0x80', hex('70 03 0001 80'), '3.7.2-1'),
  p('SUBACK reason code 3', hex('90 04 0001 00 03'), '3.9.3-2'),
  p('SUBACK reason code 0x11 (UNSUBACK only)', hex('90 04 0001 00 11'), '3.9.3-2'),
  p('UNSUBACK reason code 1 (SUBACK only)', hex('b0 04 0001 00 01'), '3.11.3-2'),
  p('SUBACK without reason codes', hex('90 03 0001 00'), '3.9.3'),
  p('UNSUBACK without reason codes', hex('b0 03 0001 00'), '3.11.3'),
  p('DISCONNECT reason code 0x01', hex('e0 01 01'), '3.14.2-1'),
  p('DISCONNECT reason code 0x84 (CONNACK only)', hex('e0 01 84'), '3.14.2-1'),
  p('AUTH reason code 0x04', pkt('f0', '04', props(`15 ${s('m')}`)), '3.15.2-1'),
  p('AUTH with properties but no Authentication Method', pkt('f0', '18', props(`1f ${s('x')}`)), '3.15.2.2'),
  m('AUTH with a reason code and no property length', hex('f0 01 18'), '2.1.4'),

  // PUBLISH
  m('PUBLISH QoS 3', hex('36 06 0001 61 0001 00'), '3.3.1-4'),
  m('PUBLISH DUP at QoS 0', hex('38 04 0001 61 00'), '3.3.1-2'),
  m('PUBLISH topic with a wildcard', hex('30 06 0003 612f2b 00'), '3.3.2-2'),
  m('PUBLISH empty topic without a topic alias', hex('30 03 0000 00'), '4.7.3-1'),
  m('PUBLISH QoS 1 without properties', hex('32 05 0001 61 0001'), '2.1.4'),

  // CONNECT
  {
    name: 'CONNECT protocol version 4',
    bytes: hex(`10 0d ${s('MQTT')} 04 02 003c 0001 61`),
    code: 'UMQTT_UNSUPPORTED_PROTOCOL',
    clause: 'MQTT-3.1.2-2',
    reasonCode: 0x84,
  },
  {
    name: 'CONNECT protocol name MQIsdp',
    bytes: pkt('10', `${s('MQIsdp')} 05 02 003c 00`, s('c')),
    code: 'UMQTT_UNSUPPORTED_PROTOCOL',
    clause: 'MQTT-3.1.2-1',
    reasonCode: 0x84,
  },
  m('CONNECT reserved flag', hex(`10 0e ${MQTT5} 03 003c 00 0001 61`), '3.1.2-3'),
  m('CONNECT will QoS 3', pkt('10', `${MQTT5} 1e 003c 00`, s('c'), '00', s('t'), '0000'), '3.1.2-12'),
  m('CONNECT will QoS without a will', hex(`10 0e ${MQTT5} 0a 003c 00 0001 61`), '3.1.2-11'),
  m('CONNECT will retain without a will', hex(`10 0e ${MQTT5} 22 003c 00 0001 61`), '3.1.2-13'),
  m('CONNECT will topic with a wildcard', pkt('10', `${MQTT5} 06 003c 00`, s('c'), '00', s('t/#'), '0000'), '3.3.2-2'),
  m('CONNECT user name flag without a user name', hex(`10 0e ${MQTT5} 82 003c 00 0001 61`), '2.1.4'),

  // SUBSCRIBE, UNSUBSCRIBE
  p('SUBSCRIBE without filters', hex('82 03 0001 00'), '3.8.3-2'),
  m('SUBSCRIBE reserved option bits', pkt('82', '0001 00', `${s('a')} 40`), '3.8.3-5'),
  p('SUBSCRIBE maximum QoS 3', pkt('82', '0001 00', `${s('a')} 03`), '3.8.3.1'),
  p('SUBSCRIBE retain handling 3', pkt('82', '0001 00', `${s('a')} 30`), '3.8.3.1'),
  p('SUBSCRIBE no local on a shared subscription', pkt('82', '0001 00', `${s('$share/g/a')} 04`), '3.8.3-4'),
  m('SUBSCRIBE shared subscription without a share name', pkt('82', '0001 00', `${s('$share//a')} 00`), '4.8.2-1'),
  m('SUBSCRIBE shared subscription without a filter', pkt('82', '0001 00', `${s('$share/g')} 00`), '4.8.2-2'),
  m('SUBSCRIBE shared subscription with an empty filter', pkt('82', '0001 00', `${s('$share/g/')} 00`), '4.8.2-2'),
  m('SUBSCRIBE shared subscription named +', pkt('82', '0001 00', `${s('$share/+/a')} 00`), '4.8.2-2'),
  m('SUBSCRIBE filter a/#/b', pkt('82', '0001 00', `${s('a/#/b')} 00`), '4.7.1-2'),
  m('SUBSCRIBE filter a+', pkt('82', '0001 00', `${s('a+')} 00`), '4.7.1-3'),
  p('UNSUBSCRIBE without filters', hex('a2 03 0001 00'), '3.10.3-2'),
  m('UNSUBSCRIBE shared subscription without a filter', pkt('a2', '0001 00', s('$share/g')), '4.8.2-2'),
];
