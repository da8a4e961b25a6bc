// MQTT 5 fixtures: each yields decode, encode and round-trip tests; the property and reason code
// tables are checked against the spec's, written out here independently.
import { describe, expect, it } from 'vitest';
import { fixtures5, longerForms } from './fixtures.js';
import {
  PROPERTIES,
  VALID_REASONS,
  decode,
  encode,
  encodeAck,
  encodeAuth,
  encodeConnack,
  encodeConnect,
  encodeDisconnect,
  encodeEmpty,
  encodePublish,
  encodeSuback,
  encodeSubscribe,
  encodeUnsubscribe,
  type Packet,
} from './index.js';

const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The type-specific encoder, to check it agrees with encode(). */
function encodeOne(p: Packet): Uint8Array {
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
    case 11:
      return encodeSuback(p);
    case 10:
      return encodeUnsubscribe(p);
    case 12:
    case 13:
      return encodeEmpty(p);
    case 14:
      return encodeDisconnect(p);
    case 15:
      return encodeAuth(p);
    default:
      return encodeAck(p);
  }
}

describe('MQTT 5 fixtures', () => {
  it('cover all 15 packet types and all 27 properties', () => {
    expect(new Set(fixtures5.map((f) => f.packet.type))).toEqual(new Set(Array.from({ length: 15 }, (_, i) => i + 1)));
    const seen = new Set<string>();
    const add = (props: object | undefined) => Object.keys(props ?? {}).forEach((k) => seen.add(k));
    for (const { packet } of fixtures5) {
      add((packet as { properties?: object }).properties);
      if (packet.type === 1) add(packet.will?.properties);
    }
    expect([...seen].sort()).toEqual(PROPERTIES.flatMap((p) => (p ? [p[0]] : [])).sort());
    expect(seen.size).toBe(27);
  });

  it('have unique names and at least one clause each', () => {
    expect(new Set(fixtures5.map((f) => f.name)).size).toBe(fixtures5.length);
    for (const f of fixtures5) expect(f.clauses.length, f.name).toBeGreaterThan(0);
  });

  describe.each(fixtures5.map((f) => [`${f.name} [${f.clauses.join(', ')}]`, f] as const))('%s', (_, f) => {
    it('decodes', () => {
      expect(decode(f.bytes)).toEqual(f.packet);
    });

    it('encodes', () => {
      expect(toHex(encode(f.packet))).toBe(toHex(f.bytes));
      expect(toHex(encodeOne(f.packet))).toBe(toHex(f.bytes));
    });

    it('round-trips', () => {
      const again = decode(encode(f.packet));
      expect(again).toEqual(f.packet);
      expect(toHex(encode(again))).toBe(toHex(f.bytes));
    });
  });

  describe.each(longerForms.map((f) => [`${f.name} [${f.clauses.join(', ')}]`, f] as const))(
    'a longer form the encoders write shorter: %s',
    (_, f) => {
      it('decodes, and encodes in the fewest bytes', () => {
        expect(decode(f.bytes)).toEqual(f.packet);
        expect(toHex(encode(f.packet))).toBe(toHex(f.shortest));
      });
    },
  );
});

describe("the property table is the spec's (Table 2-4)", () => {
  // Written out from the spec [MQTT-2.2.2.2]: identifier, name, data type, packets (W: will).
  const SPEC: Array<[number, string, string, string]> = [
    [0x01, 'payloadFormatIndicator', 'byte', 'PUBLISH W'],
    [0x02, 'messageExpiryInterval', 'four', 'PUBLISH W'],
    [0x03, 'contentType', 'string', 'PUBLISH W'],
    [0x08, 'responseTopic', 'string', 'PUBLISH W'],
    [0x09, 'correlationData', 'binary', 'PUBLISH W'],
    [0x0b, 'subscriptionIdentifier', 'vbi', 'PUBLISH SUBSCRIBE'],
    [0x11, 'sessionExpiryInterval', 'four', 'CONNECT CONNACK DISCONNECT'],
    [0x12, 'assignedClientIdentifier', 'string', 'CONNACK'],
    [0x13, 'serverKeepAlive', 'two', 'CONNACK'],
    [0x15, 'authenticationMethod', 'string', 'CONNECT CONNACK AUTH'],
    [0x16, 'authenticationData', 'binary', 'CONNECT CONNACK AUTH'],
    [0x17, 'requestProblemInformation', 'byte', 'CONNECT'],
    [0x18, 'willDelayInterval', 'four', 'W'],
    [0x19, 'requestResponseInformation', 'byte', 'CONNECT'],
    [0x1a, 'responseInformation', 'string', 'CONNACK'],
    [0x1c, 'serverReference', 'string', 'CONNACK DISCONNECT'],
    [0x1f, 'reasonString', 'string', 'CONNACK PUBACK PUBREC PUBREL PUBCOMP SUBACK UNSUBACK DISCONNECT AUTH'],
    [0x21, 'receiveMaximum', 'two', 'CONNECT CONNACK'],
    [0x22, 'topicAliasMaximum', 'two', 'CONNECT CONNACK'],
    [0x23, 'topicAlias', 'two', 'PUBLISH'],
    [0x24, 'maximumQoS', 'byte', 'CONNACK'],
    [0x25, 'retainAvailable', 'byte', 'CONNACK'],
    [
      0x26,
      'userProperties',
      'pair',
      'CONNECT CONNACK PUBLISH W PUBACK PUBREC PUBREL PUBCOMP SUBSCRIBE SUBACK UNSUBSCRIBE UNSUBACK DISCONNECT AUTH',
    ],
    [0x27, 'maximumPacketSize', 'four', 'CONNECT CONNACK'],
    [0x28, 'wildcardSubscriptionAvailable', 'byte', 'CONNACK'],
    [0x29, 'subscriptionIdentifiersAvailable', 'byte', 'CONNACK'],
    [0x2a, 'sharedSubscriptionAvailable', 'byte', 'CONNACK'],
  ];
  const TYPES = ['byte', 'byte', 'two', 'four', 'vbi', 'string', 'binary', 'pair'];
  const NAMES = ['W', 'CONNECT', 'CONNACK', 'PUBLISH', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP', 'SUBSCRIBE'].concat([
    'SUBACK',
    'UNSUBSCRIBE',
    'UNSUBACK',
    'PINGREQ',
    'PINGRESP',
    'DISCONNECT',
    'AUTH',
  ]);

  it('identifiers, names, data types and packets', () => {
    const ours = PROPERTIES.flatMap((p, id) =>
      p ? [[id, p[0], TYPES[p[1]], NAMES.filter((_, t) => (p[2] >> t) & 1).join(' ')]] : [],
    );
    expect(ours).toEqual(
      SPEC.map(([id, name, type, packets]) => [
        id,
        name,
        type,
        packets
          .split(' ')
          .sort((a, b) => NAMES.indexOf(a) - NAMES.indexOf(b))
          .join(' '),
      ]),
    );
  });

  it('only User Property (anywhere) and Subscription Identifier (in PUBLISH) may appear more than once', () => {
    for (const [id, p] of PROPERTIES.entries()) {
      if (!p) continue;
      const many = NAMES.filter((_, t) => (p[3] >> t) & 1 && (p[2] >> t) & 1);
      expect(many, p[0]).toEqual(
        id === 0x26 ? NAMES.filter((_, t) => (p[2] >> t) & 1) : id === 0x0b ? ['PUBLISH'] : [],
      );
    }
  });

  it('each property in each packet: where the spec allows it, it round-trips; elsewhere encode and decode refuse it', () => {
    const RAW: Record<string, string> = {
      byte: '01',
      two: '0007',
      four: '00011170',
      vbi: '05',
      string: '0001 73',
      binary: '0001 01',
      pair: '0001 6b 0001 76',
    };
    const VALUES: Record<string, unknown> = {
      byte: true,
      two: 7,
      four: 70000,
      vbi: 5,
      string: 's',
      binary: Uint8Array.of(1),
      pair: [['k', 'v']],
    };
    const carrier = (type: number, properties: object): Packet => {
      const all: Record<number, Packet> = {
        1: { type: 1, clientId: 'c', clean: true, keepAlive: 0, properties },
        2: { type: 2, sessionPresent: false, reasonCode: 0, properties },
        3: { type: 3, topic: 't', payload: new Uint8Array(0), qos: 0, retain: false, dup: false, properties },
        4: { type: 4, id: 1, reasonCode: 0, properties },
        5: { type: 5, id: 1, reasonCode: 0, properties },
        6: { type: 6, id: 1, reasonCode: 0, properties },
        7: { type: 7, id: 1, reasonCode: 0, properties },
        8: {
          type: 8,
          id: 1,
          subscriptions: [{ topic: 'a', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
          properties,
        },
        9: { type: 9, id: 1, reasonCodes: [0], properties },
        10: { type: 10, id: 1, topics: ['a'], properties },
        11: { type: 11, id: 1, reasonCodes: [0], properties },
        14: { type: 14, reasonCode: 0, properties },
        15: { type: 15, reasonCode: 0x18, properties: { ...properties, authenticationMethod: 'm' } },
      };
      return all[type]!;
    };
    let allowed = 0;
    let refused = 0;
    for (const [id, name, type, packets] of SPEC) {
      for (const t of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 15]) {
        let value = VALUES[type === 'byte' && name === 'maximumQoS' ? 'two' : type];
        if (name === 'maximumQoS') value = 1;
        if (type === 'vbi' && t === 3) value = [5];
        if (name === 'responseTopic') value = 'r';
        const packet = carrier(t, {
          [name]: value,
          ...(name === 'authenticationData' ? { authenticationMethod: 'm' } : {}),
        });
        if (packets.split(' ').includes(NAMES[t]!)) {
          allowed++;
          expect(decode(encode(packet)), `${name} in ${NAMES[t]}`).toEqual(packet);
        } else {
          refused++;
          expect(() => encode(packet), `${name} in ${NAMES[t]}`).toThrow(
            expect.objectContaining({ code: 'UMQTT_INVALID_ARGUMENT', clause: 'MQTT-2.2.2.2' }),
          );
          // The same packet with the property written in anyway: in the bytes of a twin carrying a
          // user property (allowed everywhere, and first), put this property in its place.
          const twin = Buffer.from(encode(carrier(t, { userProperties: [['k', 'v']] })));
          const user = Buffer.from('260001 6b 0001 76'.replace(/ /g, ''), 'hex');
          const at = twin.indexOf(user);
          const mine = Buffer.concat([Buffer.of(id), Buffer.from(RAW[type]!.replace(/ /g, ''), 'hex')]);
          const bytes = Buffer.concat([twin.subarray(0, at), mine, twin.subarray(at + user.length)]);
          bytes[at - 1]! += mine.length - user.length; // the property length (one byte here)
          bytes[1]! += mine.length - user.length; // the remaining length (one byte here)
          expect(() => decode(bytes), `${name} in ${NAMES[t]} from the wire`).toThrow(
            expect.objectContaining({ code: 'UMQTT_MALFORMED', clause: 'MQTT-2.2.2.2', reasonCode: 0x81 }),
          );
        }
      }
    }
    expect(allowed).toBeGreaterThan(40);
    expect(refused).toBeGreaterThan(200);
  });
});

describe("the reason codes are the spec's (Table 2-6 and each packet's table)", () => {
  // Written out from Table 2-6 [MQTT-2.4]: code -> the packets that may carry it; where it and a
  // packet's own table disagree, the packet's table (which that packet's normative statement names).
  const TABLE: Array<[number, string]> = [
    [0x00, 'CONNACK PUBACK PUBREC PUBREL PUBCOMP SUBACK UNSUBACK DISCONNECT AUTH'],
    [0x01, 'SUBACK'],
    [0x02, 'SUBACK'],
    [0x04, 'DISCONNECT'],
    [0x10, 'PUBACK PUBREC'],
    [0x11, 'UNSUBACK'],
    [0x18, 'AUTH'],
    [0x19, 'AUTH'],
    [0x80, 'CONNACK PUBACK PUBREC SUBACK UNSUBACK DISCONNECT'],
    [0x81, 'CONNACK DISCONNECT'],
    [0x82, 'CONNACK DISCONNECT'],
    [0x83, 'CONNACK PUBACK PUBREC SUBACK UNSUBACK DISCONNECT'],
    [0x84, 'CONNACK'],
    [0x85, 'CONNACK'],
    [0x86, 'CONNACK'],
    [0x87, 'CONNACK PUBACK PUBREC SUBACK UNSUBACK DISCONNECT'],
    [0x88, 'CONNACK'],
    [0x89, 'CONNACK DISCONNECT'],
    [0x8a, 'CONNACK'],
    [0x8b, 'DISCONNECT'],
    [0x8c, 'CONNACK'], // Table 2-6 adds DISCONNECT; the DISCONNECT table (3.14.2.1), which [MQTT-3.14.2-1] names, does not
    [0x8d, 'DISCONNECT'],
    [0x8e, 'DISCONNECT'],
    [0x8f, 'SUBACK UNSUBACK DISCONNECT'],
    [0x90, 'CONNACK PUBACK PUBREC DISCONNECT'],
    [0x91, 'PUBACK PUBREC SUBACK UNSUBACK'],
    [0x92, 'PUBREL PUBCOMP'],
    [0x93, 'DISCONNECT'],
    [0x94, 'DISCONNECT'],
    [0x95, 'CONNACK DISCONNECT'],
    [0x96, 'DISCONNECT'],
    [0x97, 'CONNACK PUBACK PUBREC SUBACK DISCONNECT'],
    [0x98, 'DISCONNECT'],
    [0x99, 'CONNACK PUBACK PUBREC DISCONNECT'],
    [0x9a, 'CONNACK DISCONNECT'],
    [0x9b, 'CONNACK DISCONNECT'],
    [0x9c, 'CONNACK DISCONNECT'],
    [0x9d, 'CONNACK DISCONNECT'],
    [0x9e, 'SUBACK DISCONNECT'],
    [0x9f, 'CONNACK DISCONNECT'],
    [0xa0, 'DISCONNECT'],
    [0xa1, 'SUBACK DISCONNECT'],
    [0xa2, 'SUBACK DISCONNECT'],
  ];
  const TYPES: Record<string, number> = {
    CONNACK: 2,
    PUBACK: 4,
    PUBREC: 5,
    PUBREL: 6,
    PUBCOMP: 7,
    SUBACK: 9,
    UNSUBACK: 11,
    DISCONNECT: 14,
    AUTH: 15,
  };

  it('each packet accepts exactly the codes Table 2-6 gives it', () => {
    for (const [name, type] of Object.entries(TYPES))
      expect(
        [...VALID_REASONS[type]!].sort((a, b) => a - b),
        name,
      ).toEqual(TABLE.filter(([, packets]) => packets.split(' ').includes(name)).map(([code]) => code));
  });

  it('every code 0..255 in every packet: valid ones round-trip, others are refused both ways', () => {
    const carrier = (type: number, rc: number): Packet =>
      type === 2
        ? { type, sessionPresent: false, reasonCode: rc }
        : type === 9 || type === 11
          ? { type, id: 1, reasonCodes: [rc] }
          : type === 14
            ? { type, reasonCode: rc }
            : type === 15
              ? { type, reasonCode: rc, properties: { authenticationMethod: 'm' } }
              : ({ type, id: 1, reasonCode: rc } as Packet);
    for (const type of Object.values(TYPES))
      for (let rc = 0; rc < 256; rc++) {
        const valid = VALID_REASONS[type]!.includes(rc);
        if (valid) expect(decode(encode(carrier(type, rc)))).toMatchObject(carrier(type, rc));
        else {
          expect(() => encode(carrier(type, rc))).toThrow(expect.objectContaining({ code: 'UMQTT_INVALID_ARGUMENT' }));
          const good = Buffer.from(encode(carrier(type, 0)));
          const at = type === 2 ? 3 : type === 9 || type === 11 ? good.length - 1 : type > 13 ? 2 : 4;
          const bad =
            type < 8 && type !== 2
              ? Buffer.from([good[0]!, 3, good[2]!, good[3]!, rc])
              : type === 14
                ? Buffer.from([0xe0, 1, rc])
                : Buffer.from(good);
          if (!(type < 8 && type !== 2) && type !== 14) bad[at] = rc;
          expect(() => decode(bad), `${type} 0x${rc.toString(16)}`).toThrow(
            expect.objectContaining({ code: 'UMQTT_MALFORMED', reasonCode: 0x82 }),
          );
        }
      }
  });
});
