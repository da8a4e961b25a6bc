// fast-check arbitraries for valid MQTT 3.1.1 packets (test support; excluded from the build).
import fc from 'fast-check';
import type { Packet, QoS } from './packets.js';

export const qos = fc.constantFrom<QoS>(0, 1, 2);
export const packetId = fc.integer({ min: 1, max: 65535 });

/** Any code point but U+0000 (and, for topic levels, but '/', '+', '#'). */
const codePoint = (exclude: string) =>
  fc
    .oneof(
      {
        weight: 3,
        arbitrary: fc.constantFrom(
          'a',
          'B',
          '0',
          ' ',
          '$',
          '-',
          'é',
          '€',
          '\u{1F600}',
          '\uFEFF',
          '\u007F',
          '\u0080',
          '\u07FF',
          '\u0800',
          '\uFFFF',
          '\u{10000}',
          '\u{10FFFF}',
        ),
      },
      { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
    )
    .filter((c) => c !== '\u0000' && !exclude.includes(c));

/** A valid MQTT UTF-8 string [MQTT-1.5.3]: any code points but U+0000, possibly empty. */
export const mqttString = fc.string({ unit: codePoint(''), maxLength: 12 });

const level = fc.string({ unit: codePoint('/+#'), maxLength: 6 });

/** A valid topic name: one or more levels (possibly empty), no wildcards, not empty. */
export const topicName = fc
  .array(level, { minLength: 1, maxLength: 5 })
  .map((l) => l.join('/'))
  .filter((t) => t.length > 0);

/** A valid topic filter: levels, '+' levels, and maybe a final '#'. */
export const topicFilter = fc
  .tuple(fc.array(fc.oneof(level, fc.constant('+')), { minLength: 0, maxLength: 5 }), fc.boolean())
  .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'))
  .filter((t) => t.length > 0);

export const payload = fc.uint8Array({ maxLength: 300 });

const connect = fc
  .record({
    clientId: mqttString,
    clean: fc.boolean(),
    keepAlive: fc.integer({ min: 0, max: 65535 }),
    will: fc.option(fc.record({ topic: topicName, payload, qos, retain: fc.boolean() }), { nil: undefined }),
    username: fc.option(mqttString, { nil: undefined }),
    password: fc.option(payload, { nil: undefined }),
  })
  .map((c): Packet => ({
    type: 1,
    clientId: c.clientId,
    clean: c.clean || !c.clientId, // [MQTT-3.1.3-7]
    keepAlive: c.keepAlive,
    will: c.will,
    username: c.username,
    password: c.username === undefined ? undefined : c.password, // [MQTT-3.1.2-22]
  }));

const connack = fc
  .record({ sessionPresent: fc.boolean(), returnCode: fc.integer({ min: 0, max: 5 }) })
  .map((c): Packet => ({ type: 2, sessionPresent: c.sessionPresent && !c.returnCode, returnCode: c.returnCode }));

const publish = fc
  .record({ topic: topicName, payload, qos, retain: fc.boolean(), dup: fc.boolean(), id: packetId })
  .map((p): Packet => ({
    type: 3,
    topic: p.topic,
    payload: p.payload,
    qos: p.qos,
    retain: p.retain,
    dup: p.qos ? p.dup : false,
    id: p.qos ? p.id : undefined,
  }));

const ack = fc
  .record({ type: fc.constantFrom(4, 5, 6, 7, 11) as fc.Arbitrary<4 | 5 | 6 | 7 | 11>, id: packetId })
  .map((p): Packet => p);

const subscribe = fc
  .record({
    id: packetId,
    subscriptions: fc.array(fc.record({ topic: topicFilter, qos }), { minLength: 1, maxLength: 5 }),
  })
  .map((p): Packet => ({ type: 8, ...p }));

const suback = fc
  .record({ id: packetId, granted: fc.array(fc.constantFrom(0, 1, 2, 0x80), { minLength: 1, maxLength: 8 }) })
  .map((p): Packet => ({ type: 9, ...p }));

const unsubscribe = fc
  .record({ id: packetId, topics: fc.array(topicFilter, { minLength: 1, maxLength: 5 }) })
  .map((p): Packet => ({ type: 10, ...p }));

const empty = fc.constantFrom(12, 13, 14).map((type) => ({ type }) as Packet);

export const packetByType: Record<string, fc.Arbitrary<Packet>> = {
  connect,
  connack,
  publish,
  ack,
  subscribe,
  suback,
  unsubscribe,
  empty,
};

/** Any valid packet of the 14 types. */
export const packet = fc.oneof(connect, connack, publish, ack, subscribe, suback, unsubscribe, empty);
