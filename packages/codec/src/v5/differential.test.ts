// Differential tests against mqtt-packet's MQTT 5 mode (protocolVersion 5), an independent
// implementation, both directions and every packet type: what umqtt encodes mqtt-packet parses to
// the same packet, what mqtt-packet generates umqtt decodes to the same packet, and both write
// the same bytes except where the spec allows a shorter form, which umqtt writes (listed below
// with the clause that allows it). Inputs the two parse differently are listed at the end, each
// with the clause that decides, and checked so that the lists stay true.
import fc from 'fast-check';
import * as mqtt from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { hex } from '../fixtures.js';
import { packet5, packetByType5 } from './arbitraries.js';
import { fixtures5, pkt, props, s } from './fixtures.js';
import { decode, encode, type Packet, type UserProperty } from './index.js';

type MqttPacket = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const CMDS = ['reserved', 'connect', 'connack', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'subscribe'].concat(
  ['suback', 'unsubscribe', 'unsuback', 'pingreq', 'pingresp', 'disconnect', 'auth'],
);
const BINARY = ['correlationData', 'authenticationData'];

/** Our properties -> mqtt-packet's: user properties as an object of name -> value(s), binaries as Buffers. */
function propsToMqtt(p: Record<string, unknown> | undefined, type: number): MqttPacket | undefined {
  if (!p) return undefined;
  const out: MqttPacket = {};
  for (const [k, v] of Object.entries(p)) {
    if (k === 'userProperties') {
      const users: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
      for (const [name, value] of v as UserProperty[]) {
        const had = users[name];
        users[name] = had === undefined ? value : [...(Array.isArray(had) ? had : [had]), value];
      }
      out[k] = users;
    } else if (BINARY.includes(k)) out[k] = Buffer.from(v as Uint8Array);
    else if (k === 'subscriptionIdentifier' && type === 3)
      out[k] = (v as number[]).length === 1 ? (v as number[])[0] : v;
    else out[k] = v;
  }
  return out;
}

/** mqtt-packet's properties -> ours. */
function propsFromMqtt(p: MqttPacket | undefined, type: number): Record<string, unknown> | undefined {
  if (!p) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) {
    if (k === 'userProperties')
      out[k] = Object.entries(v as Record<string, string | string[]>).flatMap(([name, value]) =>
        (Array.isArray(value) ? value : [value]).map((x) => [name, x]),
      );
    else if (BINARY.includes(k)) out[k] = Uint8Array.from(v as Buffer);
    else if (k === 'subscriptionIdentifier' && type === 3) out[k] = Array.isArray(v) ? v : [v];
    else out[k] = v;
  }
  return out;
}

/** umqtt packet -> mqtt-packet object. */
function toMqtt(p: Packet): MqttPacket {
  const cmd = CMDS[p.type]!;
  const properties = propsToMqtt((p as { properties?: Record<string, unknown> }).properties, p.type);
  const withProps = properties ? { properties } : {};
  switch (p.type) {
    case 1:
      return {
        cmd,
        protocolId: 'MQTT',
        protocolVersion: 5,
        clientId: p.clientId,
        clean: p.clean,
        keepalive: p.keepAlive,
        ...(p.username === undefined ? {} : { username: p.username }),
        ...(p.password === undefined ? {} : { password: Buffer.from(p.password) }),
        ...(p.will
          ? {
              will: {
                topic: p.will.topic,
                payload: Buffer.from(p.will.payload),
                qos: p.will.qos ?? 0,
                retain: !!p.will.retain,
                ...(p.will.properties ? { properties: propsToMqtt(p.will.properties as never, 0) } : {}),
              },
            }
          : {}),
        ...withProps,
      };
    case 2:
      return { cmd, sessionPresent: p.sessionPresent, reasonCode: p.reasonCode, ...withProps };
    case 3:
      return {
        cmd,
        topic: p.topic,
        payload: Buffer.from(p.payload),
        qos: p.qos ?? 0,
        retain: !!p.retain,
        dup: !!p.dup,
        ...(p.qos ? { messageId: p.id } : {}),
        ...withProps,
      };
    case 8:
      return {
        cmd,
        messageId: p.id,
        subscriptions: p.subscriptions.map((x) => ({
          topic: x.topic,
          qos: x.qos,
          nl: !!x.noLocal,
          rap: !!x.retainAsPublished,
          rh: x.retainHandling ?? 0,
        })),
        ...withProps,
      };
    case 9:
    case 11:
      return { cmd, messageId: p.id, granted: p.reasonCodes, ...withProps };
    case 10:
      return { cmd, messageId: p.id, unsubscriptions: p.topics, ...withProps };
    case 12:
    case 13:
      return { cmd };
    case 14:
    case 15:
      return { cmd, reasonCode: p.reasonCode ?? 0, ...withProps };
    default:
      return { cmd, messageId: p.id, reasonCode: p.reasonCode ?? 0, ...withProps };
  }
}

/** mqtt-packet parsed object -> umqtt packet. */
function fromMqtt(m: MqttPacket): Packet {
  const type = CMDS.indexOf(m.cmd);
  const properties = propsFromMqtt(m.properties, type);
  switch (type) {
    case 1:
      return {
        type,
        clientId: m.clientId,
        clean: m.clean,
        keepAlive: m.keepalive,
        username: m.username,
        password: m.password && Uint8Array.from(m.password),
        will: m.will && {
          topic: m.will.topic,
          payload: Uint8Array.from(m.will.payload),
          qos: m.will.qos,
          retain: m.will.retain,
          properties: propsFromMqtt(m.will.properties, 0),
        },
        properties,
      };
    case 2:
      return { type, sessionPresent: m.sessionPresent, reasonCode: m.reasonCode, properties };
    case 3:
      return {
        type,
        topic: m.topic,
        payload: Uint8Array.from(m.payload),
        qos: m.qos,
        retain: m.retain,
        dup: m.dup,
        id: m.qos ? m.messageId : undefined,
        properties,
      };
    case 8:
      return {
        type,
        id: m.messageId,
        subscriptions: m.subscriptions.map((x: MqttPacket) => ({
          topic: x.topic,
          qos: x.qos,
          noLocal: x.nl,
          retainAsPublished: x.rap,
          retainHandling: x.rh,
        })),
        properties,
      };
    case 9:
    case 11:
      return { type, id: m.messageId, reasonCodes: m.granted, properties };
    case 10:
      return { type, id: m.messageId, topics: m.unsubscriptions, properties };
    case 12:
    case 13:
      return { type };
    case 14:
    case 15:
      return { type, reasonCode: m.reasonCode, properties } as Packet;
    default:
      return { type: type as 4, id: m.messageId, reasonCode: m.reasonCode, properties };
  }
}

/** Everything mqtt-packet's MQTT 5 parser emits for `data`: packets and errors. */
function mqttParse(data: Uint8Array): { packets: MqttPacket[]; errors: string[] } {
  const parser = mqtt.parser({ protocolVersion: 5 });
  const packets: MqttPacket[] = [];
  const errors: string[] = [];
  parser.on('packet', (p: MqttPacket) => packets.push(p));
  parser.on('error', (e: Error) => errors.push(e.message));
  parser.parse(Buffer.from(data));
  return { packets, errors };
}
const mqttGenerate = (p: Packet) => Uint8Array.from(mqtt.generate(toMqtt(p) as mqtt.Packet, { protocolVersion: 5 }));

/** Our decoded packet with payload views as plain copies, for comparison. */
function plain(p: Packet): Packet {
  return JSON.parse(JSON.stringify(p, (_, v) => (v instanceof Uint8Array ? { bytes: [...v] } : v))) as Packet;
}

/**
 * User properties grouped by name in order of first appearance: mqtt-packet keeps them as an
 * object, so only this order survives it (umqtt keeps any order [MQTT-3.3.2-18]).
 */
function grouped(p: Packet): Packet {
  const group = (props?: { userProperties?: UserProperty[] | undefined }) => {
    if (!props?.userProperties) return props;
    const names = [...new Set(props.userProperties.map(([n]) => n))];
    return { ...props, userProperties: names.flatMap((n) => props.userProperties!.filter(([m]) => m === n)) };
  };
  const q = { ...p, properties: group((p as { properties?: object }).properties) } as Packet;
  if (q.type === 1 && q.will) q.will = { ...q.will, properties: group(q.will.properties) as never };
  if (!(p as { properties?: object }).properties) delete (q as { properties?: object }).properties;
  return q;
}

/**
 * The packet as mqtt-packet can carry it. Its user properties are an object: names that are
 * array indexes ('0', '12') come out first, and a name repeated after an empty value keeps one
 * value (listed below); such names are changed here, everything else is left as it is.
 */
function carriable(p: Packet): Packet {
  const fix = (props?: { userProperties?: UserProperty[] | undefined }) => {
    if (!props?.userProperties) return props;
    const first = new Map<string, string>();
    const users = props.userProperties.map(([n, v]): UserProperty => {
      const name = /^(0|[1-9]\d*)$/.test(n) ? `n${n}` : n;
      const was = first.get(name);
      if (was === undefined) first.set(name, v);
      return [was === '' ? `${name}+` : name, v];
    });
    return { ...props, userProperties: users };
  };
  const q = grouped(p);
  const withFix = { ...q, properties: fix((q as { properties?: object }).properties) } as Packet;
  if (!(q as { properties?: object }).properties) delete (withFix as { properties?: object }).properties;
  if (withFix.type === 1 && withFix.will)
    withFix.will = { ...withFix.will, properties: fix(withFix.will.properties) as never };
  return grouped(withFix);
}

/**
 * Where umqtt writes a shorter form the spec allows and mqtt-packet a longer one: the clause that
 * allows it, or undefined when both must be the same bytes.
 */
function shorterForm(p: Packet): string | undefined {
  const noProps = !(p as { properties?: object }).properties;
  if (p.type > 3 && p.type < 8 && noProps && (p as { reasonCode?: number }).reasonCode) return 'MQTT-3.4.2.2.1'; // no property length under 4 bytes
  if (p.type === 14 && noProps) return p.reasonCode ? 'MQTT-3.14.2.2.1' : 'MQTT-3.14.2.1'; // reason code 0 and property length left out
  if (p.type === 15 && noProps) return 'MQTT-3.15.2.1'; // AUTH success: remaining length 0
  return undefined;
}

describe('umqtt and mqtt-packet (MQTT 5) agree on valid MQTT 5 packets', () => {
  it.each(Object.keys(packetByType5))('%s: umqtt encodes, mqtt-packet parses it to the same packet', (name) => {
    fc.assert(
      fc.property(packetByType5[name]!.map(carriable), (p) => {
        if (p.type === 15 && shorterForm(p)) return; // mqtt-packet refuses the spec's two-byte AUTH: listed below
        const { packets, errors } = mqttParse(encode(p));
        expect(errors).toEqual([]);
        expect(packets.length).toBe(1);
        expect(plain(fromMqtt(packets[0]!))).toEqual(plain(p));
      }),
      { numRuns: 200 },
    );
  });

  it.each(Object.keys(packetByType5))(
    '%s: mqtt-packet generates, umqtt decodes; the bytes are the same unless a listed shorter form applies',
    (name) => {
      fc.assert(
        fc.property(packetByType5[name]!.map(carriable), (p) => {
          // mqtt-packet refuses to write these two CONNECTs (3.1.1 rules): listed below
          if (p.type === 1 && ((!p.clientId && !p.clean) || (p.password && p.username === undefined))) return;
          const theirs = mqttGenerate(p);
          if (p.type === 15 && !p.properties) return; // mqtt-packet writes it without a method: listed below
          expect(plain(decode(theirs))).toEqual(plain(p));
          const ours = encode(p);
          if (shorterForm(p)) expect(ours.length).toBeLessThan(theirs.length);
          else expect(Buffer.from(ours).toString('hex')).toBe(Buffer.from(theirs).toString('hex'));
        }),
        { numRuns: 200 },
      );
    },
  );

  it('a stream of many packets cut in one place: both parsers agree (without the two-byte AUTH and DISCONNECT, listed below)', () => {
    const inStream = packet5.map(carriable).filter((p) => !(p.type === 15 && shorterForm(p)) && p.type !== 14);
    fc.assert(
      fc.property(fc.array(inStream, { minLength: 1, maxLength: 10 }), (packets) => {
        const { packets: theirs, errors } = mqttParse(Buffer.concat(packets.map((p) => encode(p))));
        expect(errors).toEqual([]);
        expect(theirs.map((m) => plain(fromMqtt(m)))).toEqual(packets.map(plain));
      }),
      { numRuns: 100 },
    );
  });

  it('the fixtures agree too (mqtt-packet parses each alone)', () => {
    for (const f of fixtures5) {
      if (f.packet.type === 15 && shorterForm(f.packet)) continue;
      const { packets, errors } = mqttParse(f.bytes);
      expect(errors, f.name).toEqual([]);
      expect(plain(fromMqtt(packets[0]!)), f.name).toEqual(plain(grouped(f.packet)));
    }
  });
});

// Inputs the two parse differently. Each case checks that the difference still exists, so the
// list stays true: if mqtt-packet changes, the case fails and is revisited.
describe('where mqtt-packet (MQTT 5) accepts what the spec forbids (umqtt refuses, with the clause)', () => {
  const publishWith = (...p: string[]) => pkt('30', s('t'), props(...p));
  const lenient: Array<[string, Uint8Array, string]> = [
    ['a remaining length not in its fewest bytes', hex('c0 80 00'), 'MQTT-1.5.5-1'],
    ['a property length not in its fewest bytes', hex('30 05 0001 74 80 00'), 'MQTT-1.5.5-1'],
    ['CONNACK session present with a failing reason code', hex('20 03 01 87 00'), 'MQTT-3.2.2-6'],
    ['CONNACK reason code 0x01 (a 3.1.1 return code)', hex('20 03 00 01 00'), 'MQTT-3.2.2-8'],
    ['a property twice where it may appear once', publishWith('02 00000001', '02 00000002'), 'MQTT-3.3.2.3'],
    ['a property in a packet that may not carry it', publishWith('11 00000001'), 'MQTT-2.2.2.2'],
    ['Topic Alias 0', publishWith('23 0000'), 'MQTT-3.3.2-8'],
    ['Receive Maximum 0', pkt('20', '00 00', props('21 0000')), 'MQTT-3.2.2.3'],
    ['a Response Topic with a wildcard', publishWith(`08 ${s('a/#')}`), 'MQTT-3.3.2-14'],
    ['Authentication Data without Authentication Method', pkt('20', '00 00', props('16 0001 00')), 'MQTT-3.2.2.3'],
    ['AUTH with a reason code and no property length', hex('f0 01 18'), 'MQTT-2.1.4'],
    ['no local on a shared subscription', pkt('82', '0001 00', `${s('$share/g/a')} 04`), 'MQTT-3.8.3-4'],
    ['a PUBLISH topic with a wildcard', hex('30 06 0003 612f2b 00'), 'MQTT-3.3.2-2'],
    ['a PUBLISH topic with an encoded surrogate', hex('30 06 0003 eda080 00'), 'MQTT-1.5.4-1'],
    ['PUBACK packet id 0', hex('40 02 0000'), 'MQTT-2.2.1-3'],
  ];
  it.each(lenient)('%s', (_, bytes, clause) => {
    const { packets, errors } = mqttParse(bytes);
    expect(errors.length === 0 && packets.length === 1, 'mqtt-packet accepts it').toBe(true);
    expect(() => decode(bytes)).toThrow(expect.objectContaining({ clause }));
  });
});

describe('where mqtt-packet (MQTT 5) refuses or misreads what the spec allows (umqtt follows the spec)', () => {
  it('CONNECT with an empty client id and clean start 0 [MQTT-3.1.3-6]: mqtt-packet refuses to write it (a 3.1.1 rule)', () => {
    const p: Packet = { type: 1, clientId: '', clean: false, keepAlive: 0 };
    expect(() => mqttGenerate(p)).toThrow(/clientId must be given/);
    expect(decode(encode(p))).toEqual(p);
  });

  it('CONNECT with a password and no user name [MQTT-3.1.2-18, 3.1.2-19]: mqtt-packet refuses to write it (a 3.1.1 rule), and parses it', () => {
    const p: Packet = { type: 1, clientId: 'c', clean: true, keepAlive: 0, password: Uint8Array.of(1) };
    expect(() => mqttGenerate(p)).toThrow(/Username is required/);
    expect(mqttParse(encode(p)).packets[0]!.password).toEqual(Buffer.of(1));
    expect(decode(encode(p))).toEqual(p);
  });

  it('AUTH success without properties: mqtt-packet writes a property length and no Authentication Method, which umqtt refuses [MQTT-3.15.2.2]', () => {
    const theirs = mqttGenerate({ type: 15, reasonCode: 0 });
    expect(Buffer.from(theirs).toString('hex')).toBe('f0020000');
    expect(() => decode(theirs)).toThrow(expect.objectContaining({ clause: 'MQTT-3.15.2.2' }));
    expect(Buffer.from(encode({ type: 15, reasonCode: 0 })).toString('hex')).toBe('f000'); // [MQTT-3.15.2.1]
  });

  it('a user property repeated after an empty value [MQTT-3.3.2-17, 1.5.7-1]: mqtt-packet keeps one of them', () => {
    const p: Packet = {
      type: 14,
      reasonCode: 0,
      properties: {
        userProperties: [
          ['a', ''],
          ['a', 'x'],
        ],
      },
    };
    const { packets } = mqttParse(encode(p));
    expect(packets[0]!.properties.userProperties).toEqual({ a: 'x' });
    expect(decode(encode(p))).toEqual(p);
  });

  it('user properties named like array indexes [MQTT-3.3.2-18]: mqtt-packet returns them first, out of order', () => {
    const p: Packet = {
      type: 14,
      reasonCode: 0,
      properties: {
        userProperties: [
          ['b', '1'],
          ['0', '2'],
        ],
      },
    };
    expect(Object.keys(mqttParse(encode(p)).packets[0]!.properties.userProperties)).toEqual(['0', 'b']);
    expect(decode(encode(p))).toEqual(p);
  });

  it('DISCONNECT reason code 0x8C, which Table 2-6 gives DISCONNECT but the DISCONNECT table [MQTT-3.14.2-1] does not: both refuse it', () => {
    expect(mqttParse(hex('e0 01 8c')).errors).toEqual(['Invalid disconnect reason code']);
    expect(() => decode(hex('e0 01 8c'))).toThrow(expect.objectContaining({ clause: 'MQTT-3.14.2-1' }));
  });

  it('AUTH success with remaining length 0 [MQTT-3.15.2.1]: mqtt-packet reports an invalid reason code', () => {
    expect(mqttParse(hex('f0 00')).errors).toEqual(['Invalid auth reason code']);
    expect(decode(hex('f0 00'))).toEqual({ type: 15, reasonCode: 0 });
  });

  it('DISCONNECT with remaining length 0 [MQTT-3.14.2.1] followed by another packet: mqtt-packet reads the next packet as its reason code', () => {
    expect(mqttParse(hex('e0 00 c0 00')).errors).toEqual(['Invalid disconnect reason code']);
    expect(decode(hex('e0 00'))).toEqual({ type: 14, reasonCode: 0 });
  });

  it('DISCONNECT with remaining length 1 [MQTT-3.14.2.2.1] followed by another packet: mqtt-packet reads the next packet as properties', () => {
    expect(mqttParse(hex('e0 01 04 d0 00')).errors).toEqual(['Cannot parse property code type']);
    expect(decode(hex('e0 01 04'))).toEqual({ type: 14, reasonCode: 4 });
  });
});
