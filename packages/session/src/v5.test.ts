// The MQTT 5 session core as plain functions of packets and times (what Mosquitto cannot be made
// to produce is tested here and in simple's scripted-broker tests).
import { describe, expect, test } from 'vitest';
import {
  AUTH,
  CONNACK,
  DISCONNECT,
  PUBACK,
  PUBCOMP,
  PUBLISH,
  PUBREC,
  PUBREL,
  SUBACK,
  UNSUBACK,
  Parser,
  serverDecoders,
  type ConnackProperties,
  type Packet,
} from '@umqtt/codec/v5';
import {
  CONNECTED_EVENT,
  ISSUE_EVENT,
  MESSAGE_EVENT,
  PROTOCOL_ERROR,
  STATUS_EVENT,
  TOO_LARGE,
  type SessionEvent,
} from './index.js';
import {
  BROKER_DISCONNECT,
  CONNACK_REFUSED,
  NOT_SUPPORTED,
  RECEIVE_MAXIMUM_EXCEEDED,
  Session5,
  type Session5Options,
} from './v5.js';

const payload = new Uint8Array([1, 2, 3]);

function connected(options: Session5Options = {}, properties?: ConnackProperties) {
  const parser = new Parser(serverDecoders);
  const written: Packet[] = [];
  const session = new Session5(options, (bytes, tail) => {
    parser.push(bytes);
    if (tail) parser.push(tail);
    for (let p = parser.read(); p; p = parser.read()) written.push(p);
  });
  session.begin(0);
  session.received({ type: CONNACK, sessionPresent: false, reasonCode: 0, properties }, 1);
  const events: SessionEvent[] = session.events.splice(0);
  return {
    session,
    connectedEvent: events[0],
    wrote: () => written.splice(0),
    events: () => session.events.splice(0),
  };
}

const statuses = (events: SessionEvent[]) =>
  events.flatMap((e) => (e.type === STATUS_EVENT ? [[e.id, e.status, e.granted] as const] : []));

describe('CONNACK', () => {
  test('a refusal is a typed error with the reason code (3.1.1 codes where one means the same)', () => {
    const s = new Session5({}, () => {});
    s.begin(0);
    expect(() =>
      s.received({ type: CONNACK, sessionPresent: false, reasonCode: 0x97, properties: { reasonString: 'busy' } }, 1),
    ).toThrow(expect.objectContaining({ code: CONNACK_REFUSED, reasonCode: 0x97, place: 'connect' }));
    s.begin(2);
    expect(() => s.received({ type: CONNACK, sessionPresent: false, reasonCode: 0x87 }, 3)).toThrow(
      expect.objectContaining({ code: 'UMQTT_CONNACK_NOT_AUTHORIZED', reasonCode: 0x87 }),
    );
  });

  test("the broker's Receive Maximum caps the window; its properties reach the CONNECTED event", () => {
    const h = connected({ maxInflight: 16 }, { receiveMaximum: 2, assignedClientIdentifier: 'auto-1' });
    expect(h.connectedEvent).toMatchObject({
      type: CONNECTED_EVENT,
      properties: { assignedClientIdentifier: 'auto-1' },
    });
    for (let i = 0; i < 4; i++) h.session.publish(2, 't', payload, { qos: 1 });
    expect(h.wrote()).toHaveLength(2);
    expect(h.session.queued).toBe(2);
    h.session.received({ type: PUBACK, id: 1 }, 3);
    expect(h.wrote()).toMatchObject([{ type: PUBLISH, id: 3 }]);
  });

  test('test-only switch: ignoreReceiveMaximum keeps our own window', () => {
    const h = connected({ maxInflight: 5, ignoreReceiveMaximum: true }, { receiveMaximum: 2 });
    for (let i = 0; i < 5; i++) h.session.publish(2, 't', payload, { qos: 1 });
    expect(h.wrote()).toHaveLength(5);
  });

  test('Maximum Packet Size: a larger publish fails at once, nothing is sent', () => {
    const h = connected({}, { maximumPacketSize: 64 });
    expect(() => h.session.publish(2, 't', new Uint8Array(100), { qos: 1 })).toThrow(
      expect.objectContaining({ code: TOO_LARGE }),
    );
    expect(h.wrote()).toEqual([]);
    expect(h.session.inflight).toBe(0);
  });

  test('Maximum QoS, Retain Available, wildcard/shared/identifier support: impossible calls fail at once', () => {
    const h = connected(
      {},
      {
        maximumQoS: 1,
        retainAvailable: false,
        wildcardSubscriptionAvailable: false,
        sharedSubscriptionAvailable: false,
        subscriptionIdentifiersAvailable: false,
      },
    );
    const code = expect.objectContaining({ code: NOT_SUPPORTED });
    expect(() => h.session.publish(2, 't', payload, { qos: 2 })).toThrow(code);
    expect(() => h.session.publish(2, 't', payload, { retain: true })).toThrow(code);
    expect(() => h.session.subscribe(2, [{ topic: 'a/#', qos: 0 }])).toThrow(code);
    expect(() => h.session.subscribe(2, [{ topic: '$share/g/a', qos: 0 }])).toThrow(code);
    expect(() => h.session.subscribe(2, [{ topic: 'a', qos: 0 }], undefined, { subscriptionIdentifier: 3 })).toThrow(
      code,
    );
    expect(h.wrote()).toEqual([]);
    h.session.publish(2, 't', payload, { qos: 1 });
    expect(h.wrote()).toHaveLength(1);
  });

  test('Maximum QoS with `downgrade`: the publish goes out at the maximum, its ack says so', () => {
    const h = connected({}, { maximumQoS: 1 });
    const id = h.session.publish(2, 't', payload, { qos: 2, downgrade: true });
    expect(h.wrote()).toMatchObject([{ type: PUBLISH, qos: 1, id }]);
    h.session.received({ type: PUBACK, id }, 3);
    expect(h.events()).toMatchObject([{ type: STATUS_EVENT, id, status: 'delivered', ack: { qos: 1, reasonCode: 0 } }]);
    const z = connected({}, { maximumQoS: 0 });
    expect(z.session.publish(2, 't', payload, { qos: 2, downgrade: true })).toBe(0); // QoS 0: id 0, no status
    expect(z.wrote()).toMatchObject([{ type: PUBLISH, qos: 0 }]);
    expect(() => z.session.publish(2, 't', payload, { qos: 1 })).toThrow(
      expect.objectContaining({ code: NOT_SUPPORTED }),
    );
    expect(z.wrote()).toEqual([]);
  });

  test('Server Keep Alive replaces ours', () => {
    const h = connected({ keepAlive: 60 }, { serverKeepAlive: 10 });
    expect(h.session.due()).toBe(10_000); // keepAlive after the CONNECT was written at 0
  });
});

describe('reason codes', () => {
  test('PUBACK 0x97 (quota exceeded) is refused with the code, never delivered; the window frees', () => {
    const h = connected({ maxInflight: 1 });
    h.session.publish(1, 't', payload, { qos: 1 });
    h.session.publish(1, 't', payload, { qos: 1 });
    h.wrote();
    h.session.received({ type: PUBACK, id: 1, reasonCode: 0x97 }, 2);
    expect(statuses(h.events())).toEqual([[1, 'refused', [0x97]]]);
    expect(h.wrote()).toMatchObject([{ type: PUBLISH, id: 2 }]);
  });

  test('PUBREC 0x87 (not authorized) ends the QoS 2 exchange: no PUBREL, refused with the code', () => {
    const h = connected();
    h.session.publish(1, 't', payload, { qos: 2 });
    h.wrote();
    h.session.received({ type: PUBREC, id: 1, reasonCode: 0x87 }, 2);
    expect(h.wrote()).toEqual([]);
    expect(statuses(h.events())).toEqual([[1, 'refused', [0x87]]]);
    expect(h.session.inflight).toBe(0);
  });

  test('a success code below 0x80 (0x10 no matching subscribers) is delivered', () => {
    const h = connected();
    h.session.publish(1, 't', payload, { qos: 2 });
    h.session.received({ type: PUBREC, id: 1, reasonCode: 0x10 }, 2);
    h.session.received({ type: PUBCOMP, id: 1 }, 3);
    expect(h.wrote().map((p) => p.type)).toEqual([PUBLISH, PUBREL]);
    expect(statuses(h.events())).toEqual([
      [1, 'received', undefined],
      [1, 'delivered', undefined],
    ]);
  });

  test("the acknowledgements' reason strings and user properties reach the status (ack), with the QoS", () => {
    const h = connected();
    const one = h.session.publish(1, 't', payload, { qos: 1 });
    const two = h.session.publish(1, 't', payload, { qos: 2 });
    const props = (reasonString: string) => ({
      reasonString,
      userProperties: [['k', reasonString]] as [string, string][],
    });
    h.session.received({ type: PUBACK, id: one, reasonCode: 0x10, properties: props('no one') }, 2);
    h.session.received({ type: PUBREC, id: two, reasonCode: 0, properties: props('rec') }, 2);
    h.session.received({ type: PUBCOMP, id: two, reasonCode: 0, properties: props('comp') }, 3);
    const acks = h.events().flatMap((e) => (e.type === STATUS_EVENT ? [[e.id, e.status, e.ack]] : []));
    expect(acks).toEqual([
      [one, 'delivered', { qos: 1, reasonCode: 0x10, ...props('no one') }],
      [two, 'received', { qos: 2, reasonCode: 0, ...props('rec') }],
      [two, 'delivered', { qos: 2, reasonCode: 0, ...props('comp') }],
    ]);
    const three = h.session.publish(4, 't', payload, { qos: 2 });
    h.session.received({ type: PUBREC, id: three, reasonCode: 0x87, properties: props('acl') }, 5);
    expect(h.events()).toMatchObject([
      { id: three, status: 'refused', granted: [0x87], ack: { qos: 2, reasonCode: 0x87, reasonString: 'acl' } },
    ]);
    const sub = h.session.subscribe(6, [{ topic: 'a', qos: 1 }]);
    h.session.received({ type: SUBACK, id: sub, reasonCodes: [1], properties: props('sub') }, 7);
    expect(h.events()).toMatchObject([{ id: sub, status: 'delivered', granted: [1], ack: props('sub') }]);
  });

  test('SUBACK codes per filter; UNSUBACK codes', () => {
    const h = connected();
    const id = h.session.subscribe(1, [
      { topic: 'a', qos: 1 },
      { topic: 'b', qos: 2, noLocal: true, retainHandling: 2 },
    ]);
    expect(h.wrote()).toMatchObject([
      { subscriptions: [{ topic: 'a' }, { topic: 'b', noLocal: true, retainHandling: 2 }] },
    ]);
    h.session.received({ type: SUBACK, id, reasonCodes: [1, 0x87] }, 2);
    expect(statuses(h.events())).toEqual([[id, 'refused', [1, 0x87]]]);
    const u = h.session.unsubscribe(3, ['a']);
    h.session.received({ type: UNSUBACK, id: u, reasonCodes: [0x11] }, 4);
    expect(statuses(h.events())).toEqual([[u, 'delivered', [0x11]]]);
  });

  test("the broker's DISCONNECT is a typed error with its reason code", () => {
    const h = connected();
    expect(() =>
      h.session.received({ type: DISCONNECT, reasonCode: 0x8b, properties: { reasonString: 'bye' } }, 2),
    ).toThrow(expect.objectContaining({ code: BROKER_DISCONNECT, reasonCode: 0x8b, place: 'read' }));
    expect(h.session.disconnected).toEqual({ reasonString: 'bye' });
  });

  test('our DISCONNECT with a reason (0x04: with will) and a session expiry', () => {
    const h = connected();
    h.session.disconnect(4, { sessionExpiryInterval: 0 });
    expect(h.wrote()).toEqual([{ type: DISCONNECT, reasonCode: 4, properties: { sessionExpiryInterval: 0 } }]);
    h.session.publish(2, 't', payload); // nothing after DISCONNECT
    expect(h.wrote()).toEqual([]);
  });
});

describe('topic aliases and properties', () => {
  test('inbound: an alias within our maximum is resolved; unknown or too large is a protocol error (0x94)', () => {
    const h = connected({ topicAliasMaximum: 2 });
    h.session.received(
      {
        type: PUBLISH,
        topic: 'long/topic',
        payload,
        qos: 0,
        properties: { topicAlias: 1, userProperties: [['k', 'v']] },
      },
      2,
    );
    h.session.received({ type: PUBLISH, topic: '', payload, qos: 0, properties: { topicAlias: 1 } }, 3);
    const messages = h.events().flatMap((e) => (e.type === MESSAGE_EVENT ? [e.message] : []));
    expect(messages.map((m) => m.topic)).toEqual(['long/topic', 'long/topic']);
    expect(messages[0]).toMatchObject({ properties: { userProperties: [['k', 'v']] } });
    expect(() =>
      h.session.received({ type: PUBLISH, topic: '', payload, qos: 0, properties: { topicAlias: 2 } }, 4),
    ).toThrow(expect.objectContaining({ code: PROTOCOL_ERROR }));
    expect(() =>
      h.session.received({ type: PUBLISH, topic: 'x', payload, qos: 0, properties: { topicAlias: 3 } }, 4),
    ).toThrow(expect.objectContaining({ code: PROTOCOL_ERROR, reasonCode: 0x94 }));
  });

  test('outbound: automatic, bounded by the broker, least recently used replaced, started over on reconnect', () => {
    const h = connected({ sendTopicAliases: 8 }, { topicAliasMaximum: 2 });
    for (const t of ['a', 'b', 'a', 'c', 'a', 'b'])
      h.session.publish(2, t, payload, { properties: { contentType: 'x' } });
    expect(h.wrote().map((p) => p.type === PUBLISH && [p.topic, p.properties?.topicAlias])).toEqual([
      ['a', 1],
      ['b', 2],
      ['', 1],
      ['c', 2], // b was least recently used
      ['', 1],
      ['b', 2], // c was
    ]);
    h.session.end();
    h.session.begin(10);
    h.session.received(
      { type: CONNACK, sessionPresent: false, reasonCode: 0, properties: { topicAliasMaximum: 2 } },
      11,
    );
    h.session.publish(12, 'a', payload);
    expect(h.wrote()).toMatchObject([{ topic: 'a', properties: { topicAlias: 1 } }]);
  });

  test('outbound: a publish that waits for the window carries its topic and no alias (a QoS 0 written meanwhile may take it)', () => {
    const h = connected({ maxInflight: 1 }, { topicAliasMaximum: 1 });
    h.session.publish(2, 'a/1', payload, { qos: 1 }); // written: sets alias 1 = a/1
    h.session.publish(2, 'a/1', payload, { qos: 1 }); // waits for the window
    h.session.publish(2, 'b/2', payload); // QoS 0, written at once: alias 1 = b/2 now
    h.session.publish(2, 'b/2', payload); // written at once: the alias alone
    h.session.received({ type: PUBACK, id: 1 }, 3); // the waiting one goes out
    const topics = (ps: Packet[]) => ps.map((p) => p.type === PUBLISH && [p.topic, p.properties?.topicAlias]);
    expect(topics(h.wrote())).toEqual([
      ['a/1', 1],
      ['b/2', 1],
      ['', 1],
      ['a/1', undefined], // with the alias alone, the broker would have read b/2
    ]);
  });

  test('a received payload said to be UTF-8 that is not: protocol error 0x99 (payload format invalid)', () => {
    const h = connected();
    const pfi = { payloadFormatIndicator: true };
    h.session.received({ type: PUBLISH, topic: 't', payload: new Uint8Array([0x68]), qos: 0, properties: pfi }, 2);
    expect(h.events()).toHaveLength(1);
    expect(() =>
      h.session.received({ type: PUBLISH, topic: 't', payload: new Uint8Array([0xc3]), qos: 0, properties: pfi }, 3),
    ).toThrow(expect.objectContaining({ code: PROTOCOL_ERROR, reasonCode: 0x99 }));
    expect(h.events()).toEqual([]);
  });

  test('a payload said to be UTF-8 that is not fails at once', () => {
    const h = connected();
    expect(() =>
      h.session.publish(1, 't', new Uint8Array([0xff]), { properties: { payloadFormatIndicator: true } }),
    ).toThrow(expect.objectContaining({ code: 'UMQTT_INVALID_UTF8' }));
  });

  test('Receive Maximum we advertised: going past it is recorded once per connection, not fatal (Mosquitto 2.0.11 does it)', () => {
    const publish = (id: number, qos: 1 | 2, dup = false) =>
      ({ type: PUBLISH, topic: 't', payload, qos, id, dup }) as const;
    const issues = (events: { type: number }[]) => events.filter((e) => e.type === ISSUE_EVENT);
    // QoS 2 ids held until PUBREL count; a resend of a held id does not; PUBREL frees one
    const h = connected({ properties: { receiveMaximum: 2 } });
    h.session.received(publish(3, 1), 2); // answered at once: not outstanding
    h.session.received(publish(1, 2), 2);
    h.session.received(publish(2, 2), 2);
    h.session.received(publish(2, 2, true), 3);
    let events = h.events();
    expect(events.filter((e) => e.type === MESSAGE_EVENT)).toHaveLength(3);
    expect(issues(events)).toEqual([]);
    h.session.received(publish(6, 1), 4); // one past: recorded, still handed over
    h.session.received(publish(4, 2), 4); // and again: not recorded twice
    events = h.events();
    expect(events.filter((e) => e.type === MESSAGE_EVENT)).toHaveLength(2);
    expect(issues(events)).toEqual([
      {
        type: ISSUE_EVENT,
        error: expect.objectContaining({ code: RECEIVE_MAXIMUM_EXCEEDED, reasonCode: 0x93, clause: 'MQTT-3.3.4-9' }),
      },
    ]);
    // with manual acknowledgements, messages handed over and not yet acknowledged count; a new
    // connection records it again
    const m = connected({ manualAcks: true, properties: { receiveMaximum: 1 } });
    m.session.received(publish(1, 1), 2);
    expect(issues(m.events())).toEqual([]);
    m.session.received(publish(2, 1), 3);
    expect(issues(m.events())).toHaveLength(1);
  });

  test('AUTH: the hook answers a continue-authentication challenge', () => {
    const out: Packet[] = [];
    const parser = new Parser(serverDecoders);
    const h = new Session5(
      { onAuth: (p) => ({ authenticationMethod: 'X', authenticationData: p.properties?.authenticationData }) },
      (b) => {
        parser.push(b);
        for (let p = parser.read(); p; p = parser.read()) out.push(p);
      },
    );
    h.begin(0);
    h.received(
      { type: AUTH, reasonCode: 0x18, properties: { authenticationMethod: 'X', authenticationData: payload } },
      1,
    );
    expect(out).toMatchObject([{ type: AUTH, reasonCode: 0x18, properties: { authenticationMethod: 'X' } }]);
    h.received({ type: CONNACK, sessionPresent: false, reasonCode: 0 }, 2);
    expect(h.state).toBe('connected');
  });
});
