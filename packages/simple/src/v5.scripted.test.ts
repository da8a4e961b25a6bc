// MqttClient5 against a scripted broker (bytes made by the codec's MQTT 5 encoders, a fake clock):
// what Mosquitto 2.0.11 cannot be made to produce — a DISCONNECT with a reason (it closes a
// taken-over connection without one, measured), switched-off features, AUTH, aliases towards us.
import { describe, expect, test } from 'vitest';
import {
  AUTH,
  CONNACK,
  DISCONNECT,
  PUBLISH,
  Parser,
  PUBACK,
  PUBCOMP,
  PUBREC,
  encodeAck,
  encodeAuth,
  encodeConnack,
  encodeDisconnect,
  encodePublish,
  serverDecoders,
  type ConnackProperties,
  type Packet,
} from '@umqtt/codec/v5';
import { FakeClock, ScriptedBroker, hex, settle, type ScriptedSocket } from '@umqtt/testkit';
import type { Status } from './index.js';
import {
  BROKER_DISCONNECT,
  CONNACK_REFUSED,
  MqttClient5,
  NOT_SUPPORTED,
  RECEIVE_MAXIMUM_EXCEEDED,
  type Client5Options,
  type Message5,
} from './v5.js';

/** The packets the client wrote since the last call, as a broker decodes them. */
function written(sock: ScriptedSocket): Packet[] {
  const parser = new Parser(serverDecoders);
  parser.push(hex(sock.take()));
  const out: Packet[] = [];
  for (let p = parser.read(); p; p = parser.read()) out.push(p);
  return out;
}

async function setup(options: Partial<Client5Options> = {}, connack?: ConnackProperties, reasonCode = 0) {
  const clock = new FakeClock(1000);
  const broker = new ScriptedBroker();
  const client = new MqttClient5({ socket: broker.factory, timers: clock, host: 'broker', clientId: 'c1', ...options });
  const statuses: [number, Status, number[]?][] = [];
  const messages: Message5[] = [];
  const closes: (Error | undefined)[] = [];
  client.onStatus = (id, status, codes) => statuses.push(codes ? [id, status, codes] : [id, status]);
  client.onMessage = (m) => messages.push(m);
  client.onClose = (e) => closes.push(e);
  const done = client.connect();
  const sock = broker.socket;
  sock.open();
  await settle();
  const connect = written(sock)[0]!;
  sock.send(encodeConnack({ type: CONNACK, sessionPresent: false, reasonCode, properties: connack }));
  return { clock, client, sock, connect, done, statuses, messages, closes };
}

describe('MqttClient5 against a scripted broker', () => {
  test('CONNECT carries the properties, our Maximum Packet Size and Topic Alias Maximum, the will properties', async () => {
    const t = await setup({
      properties: { sessionExpiryInterval: 86_400, userProperties: [['k', 'v']] },
      maxPacketSize: 8192,
      topicAliasMaximum: 5,
      will: { topic: 'dev/online', payload: 'no', qos: 1, properties: { willDelayInterval: 30 } },
    });
    await t.done;
    expect(t.connect).toMatchObject({
      properties: {
        sessionExpiryInterval: 86_400,
        userProperties: [['k', 'v']],
        maximumPacketSize: 8192,
        topicAliasMaximum: 5,
      },
      will: { topic: 'dev/online', qos: 1, properties: { willDelayInterval: 30 } },
    });
  });

  test('a refused CONNACK rejects connect() with the reason code and the reason string', async () => {
    const t = await setup({}, { reasonString: 'try later' }, 0x89);
    await expect(t.done).rejects.toMatchObject({
      code: 'UMQTT_CONNACK_UNAVAILABLE',
      reasonCode: 0x89,
      place: 'connect',
    });
    const u = await setup({}, undefined, 0x9f);
    await expect(u.done).rejects.toMatchObject({ code: CONNACK_REFUSED, reasonCode: 0x9f });
  });

  test.each([
    [0x8b, 'server shutting down'],
    [0x8e, 'session taken over'],
  ])('DISCONNECT 0x%s from the broker reaches onClose as a typed error with the code', async (rc) => {
    const t = await setup();
    await t.done;
    const id = t.client.publish('t', 'x', { qos: 1 });
    await settle();
    t.sock.send(encodeDisconnect({ type: DISCONNECT, reasonCode: rc, properties: { reasonString: 'bye' } }));
    await settle();
    expect(t.closes).toEqual([expect.objectContaining({ code: BROKER_DISCONNECT, reasonCode: rc, place: 'read' })]);
    expect(t.client.disconnected).toEqual({ reasonString: 'bye' });
    expect(t.statuses).toEqual([[id, 'aborted']]);
  });

  test('switched-off wildcard, shared and identifier support, Maximum QoS 1: the calls fail at once, nothing sent', async () => {
    const t = await setup(
      {},
      {
        wildcardSubscriptionAvailable: false,
        sharedSubscriptionAvailable: false,
        subscriptionIdentifiersAvailable: false,
        maximumQoS: 1,
      },
    );
    await t.done;
    await settle();
    t.sock.take();
    const code = expect.objectContaining({ code: NOT_SUPPORTED });
    expect(() => t.client.subscribe('a/+')).toThrow(code);
    expect(() => t.client.subscribe('$share/g/a')).toThrow(code);
    expect(() => t.client.subscribe('a', 0, { subscriptionIdentifier: 1 })).toThrow(code);
    expect(() => t.client.publish('a', 'x', { qos: 2 })).toThrow(code);
    await settle();
    expect(t.sock.take()).toBe('');
    t.client.subscribe('a', 1);
    await settle();
    expect(written(t.sock)).toMatchObject([{ subscriptions: [{ topic: 'a', qos: 1 }] }]);
  });

  test("Maximum QoS 1: `downgrade` sends QoS 2 at 1; the acknowledgements' QoS, reason string and user properties reach onStatus", async () => {
    const t = await setup({}, { maximumQoS: 1 });
    await t.done;
    const acks: unknown[] = [];
    t.client.onStatus = (id, status, codes, _ref, ack) => acks.push([id, status, codes, ack]);
    await settle();
    t.sock.take();
    const id = t.client.publish('t', 'x', { qos: 2, downgrade: true });
    await settle();
    expect(written(t.sock)).toMatchObject([{ type: PUBLISH, qos: 1, id }]);
    const props = { reasonString: 'nobody listens', userProperties: [['node', 'b']] as [string, string][] };
    t.sock.send(encodeAck({ type: PUBACK, id, reasonCode: 0x10, properties: props }));
    await settle();
    expect(acks).toEqual([[id, 'delivered', undefined, { qos: 1, reasonCode: 0x10, ...props }]]);
    expect(() => t.client.publish('t', 'x', { qos: 2 })).toThrow(expect.objectContaining({ code: NOT_SUPPORTED }));
  });

  test('QoS 2: PUBREC and PUBCOMP properties reach onStatus with received and delivered', async () => {
    const t = await setup();
    await t.done;
    const acks: unknown[] = [];
    t.client.onStatus = (id, status, codes, _ref, ack) => acks.push([id, status, codes, ack]);
    const id = t.client.publish('t', 'x', { qos: 2 });
    await settle();
    t.sock.send(encodeAck({ type: PUBREC, id, reasonCode: 0, properties: { userProperties: [['a', '1']] } }));
    t.sock.send(encodeAck({ type: PUBCOMP, id, reasonCode: 0, properties: { reasonString: 'done' } }));
    await settle();
    expect(acks).toEqual([
      [id, 'received', undefined, { qos: 2, reasonCode: 0, userProperties: [['a', '1']] }],
      [id, 'delivered', undefined, { qos: 2, reasonCode: 0, reasonString: 'done' }],
    ]);
  });

  test('topic aliases towards us, and messages with their properties and subscription identifiers', async () => {
    const t = await setup({ topicAliasMaximum: 3 });
    await t.done;
    const payload = new Uint8Array([0x68, 0x69]);
    t.sock.send(
      encodePublish({
        type: PUBLISH,
        topic: 'a/long/topic',
        payload,
        qos: 0,
        properties: { topicAlias: 3, subscriptionIdentifier: [7] },
      }),
    );
    t.sock.send(encodePublish({ type: PUBLISH, topic: '', payload, qos: 0, properties: { topicAlias: 3 } }));
    await settle();
    expect(t.messages.map((m) => [m.topic, m.properties?.subscriptionIdentifier])).toEqual([
      ['a/long/topic', [7]],
      ['a/long/topic', undefined],
    ]);
    t.sock.send(encodePublish({ type: PUBLISH, topic: 'x', payload, qos: 0, properties: { topicAlias: 4 } }));
    await settle();
    expect(t.closes).toEqual([expect.objectContaining({ code: 'UMQTT_PROTOCOL_ERROR', reasonCode: 0x94 })]);
  });

  test('enhanced authentication: the AUTH hook answers the challenge before CONNACK', async () => {
    const clock = new FakeClock(1000);
    const broker = new ScriptedBroker();
    const client = new MqttClient5({
      socket: broker.factory,
      timers: clock,
      host: 'broker',
      clientId: 'c1',
      properties: { authenticationMethod: 'SCRAM-SHA-1', authenticationData: new Uint8Array([1]) },
      onAuth: (p) => ({
        authenticationMethod: 'SCRAM-SHA-1',
        authenticationData: new Uint8Array([(p.properties?.authenticationData?.[0] ?? 0) + 1]),
      }),
    });
    const done = client.connect();
    const sock = broker.socket;
    sock.open();
    await settle();
    expect(written(sock)).toMatchObject([{ properties: { authenticationMethod: 'SCRAM-SHA-1' } }]);
    sock.send(
      encodeAuth({
        type: AUTH,
        reasonCode: 0x18,
        properties: { authenticationMethod: 'SCRAM-SHA-1', authenticationData: new Uint8Array([41]) },
      }),
    );
    await settle();
    expect(written(sock)).toMatchObject([
      { type: AUTH, reasonCode: 0x18, properties: { authenticationData: new Uint8Array([42]) } },
    ]);
    sock.send(encodeConnack({ type: CONNACK, sessionPresent: false, reasonCode: 0 }));
    await expect(done).resolves.toBe(false);
  });

  const publish = (topic: string, qos: 0 | 1 | 2, id: number, properties = {}) =>
    encodePublish({ type: PUBLISH, topic, payload: new Uint8Array([0x78]), qos, id, properties });
  type Case = [
    what: string,
    options: Partial<Client5Options>,
    bytes: () => string | Uint8Array,
    rc: number,
    code: string,
  ];
  test.each<Case>([
    ['a malformed packet (PUBACK with one byte)', {}, () => '40 01 00', 0x81, 'UMQTT_MALFORMED'],
    ['a packet a client never receives (PINGREQ)', {}, () => 'c0 00', 0x82, 'UMQTT_UNEXPECTED_PACKET'],
    [
      'a topic alias above our maximum',
      { topicAliasMaximum: 2 },
      () => publish('t', 0, 0, { topicAlias: 3 }),
      0x94,
      'UMQTT_PROTOCOL_ERROR',
    ],
    [
      'a topic alias never set',
      { topicAliasMaximum: 2 },
      () => publish('', 0, 0, { topicAlias: 1 }),
      0x82,
      'UMQTT_PROTOCOL_ERROR',
    ],
    [
      'a packet over our Maximum Packet Size',
      { maxPacketSize: 64 },
      () => publish('t', 0, 0, { contentType: 'x'.repeat(80) }),
      0x95,
      'UMQTT_PACKET_TOO_LARGE',
    ],
    [
      'a payload said to be UTF-8 that is not',
      {},
      () =>
        encodePublish({
          type: PUBLISH,
          topic: 't',
          payload: new Uint8Array([0xff]),
          qos: 0,
          properties: { payloadFormatIndicator: true },
        }),
      0x99,
      'UMQTT_PROTOCOL_ERROR',
    ],
  ])(
    'a protocol error we find (%s): DISCONNECT with its reason code before the socket closes, onClose gets the typed error',
    async (_what, options, bytes, rc, code) => {
      const t = await setup(options);
      await t.done;
      await settle();
      t.sock.take();
      t.sock.send(bytes());
      await settle();
      expect(t.closes).toEqual([expect.objectContaining({ code, reasonCode: rc, place: 'read' })]);
      const sent = t.sock.take();
      expect(sent.endsWith(`e0 01 ${rc.toString(16)}`)).toBe(true);
      expect(written({ take: () => sent } as ScriptedSocket).at(-1)).toEqual({ type: DISCONNECT, reasonCode: rc });
      expect(t.sock.closed).toBe(true);
      expect(t.messages).toEqual([]);
    },
  );

  test('one more QoS 2 message than our Receive Maximum: recorded as an issue, handed over, the connection kept', async () => {
    const issues: string[] = [];
    const t = await setup({ properties: { receiveMaximum: 1 }, logger: (issue) => issues.push(issue.error.code) });
    await t.done;
    await settle();
    t.sock.take();
    t.sock.send(new Uint8Array([...publish('t', 2, 1), ...publish('t', 2, 2)]));
    await settle();
    expect(issues).toEqual([RECEIVE_MAXIMUM_EXCEEDED]);
    expect(t.messages).toHaveLength(2);
    expect(t.closes).toEqual([]);
    expect(written(t.sock)).toMatchObject([
      { type: PUBREC, id: 1 },
      { type: PUBREC, id: 2 },
    ]);
  });

  test("a broker's DISCONNECT, a lost socket, keepalive: nothing is written back", async () => {
    const t = await setup();
    await t.done;
    await settle();
    t.sock.take();
    t.sock.send(encodeDisconnect({ type: DISCONNECT, reasonCode: 0x8b }));
    await settle();
    expect([t.sock.take(), t.sock.closed]).toEqual(['', true]);
    const u = await setup();
    await u.done;
    await settle();
    u.sock.take();
    u.sock.fail();
    await settle();
    expect(u.sock.take()).toBe('');
    expect(u.closes).toEqual([expect.objectContaining({ code: 'UMQTT_CONNECTION_LOST' })]);
  });

  test('disconnect(0x04): DISCONNECT "with will message", then the socket closes', async () => {
    const t = await setup();
    await t.done;
    await settle();
    t.sock.take();
    t.client.disconnect(4);
    await settle();
    expect(written(t.sock)).toEqual([{ type: DISCONNECT, reasonCode: 4 }]);
    expect(t.client.state).toBe('closed');
    expect(t.closes).toEqual([undefined]);
  });
});
