// fast-check arbitraries for valid MQTT 5 packets (test support; excluded from the build). The
// properties of each packet are drawn from the spec's Table 2-4, written here by data type.
import fc from 'fast-check';
import { mqttString, packetId, payload, qos, topicFilter, topicName } from '../arbitraries.js';
import type { Packet, Subscription, UserProperty } from './packets.js';

const u16 = (min = 0) => fc.integer({ min, max: 65535 });
const u32 = (min = 0) => fc.integer({ min, max: 0xffffffff });
const vbi = fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 268_435_455 }));
const bin = fc.uint8Array({ maxLength: 20 });
export const userProperties = fc.array(fc.tuple(mqttString, mqttString), {
  minLength: 1,
  maxLength: 3,
}) as fc.Arbitrary<UserProperty[]>;

const reasonString = { reasonString: mqttString, userProperties };
/** The properties each packet may carry [MQTT-2.2.2.2, Table 2-4], by data type. */
const MODELS = {
  connect: {
    sessionExpiryInterval: u32(),
    receiveMaximum: u16(1),
    maximumPacketSize: u32(1),
    topicAliasMaximum: u16(),
    requestResponseInformation: fc.boolean(),
    requestProblemInformation: fc.boolean(),
    userProperties,
    authenticationMethod: mqttString,
    authenticationData: bin,
  },
  will: {
    willDelayInterval: u32(),
    payloadFormatIndicator: fc.boolean(),
    messageExpiryInterval: u32(),
    contentType: mqttString,
    responseTopic: topicName,
    correlationData: bin,
    userProperties,
  },
  connack: {
    sessionExpiryInterval: u32(),
    receiveMaximum: u16(1),
    maximumQoS: fc.constantFrom(0, 1),
    retainAvailable: fc.boolean(),
    maximumPacketSize: u32(1),
    assignedClientIdentifier: mqttString,
    topicAliasMaximum: u16(),
    reasonString: mqttString,
    userProperties,
    wildcardSubscriptionAvailable: fc.boolean(),
    subscriptionIdentifiersAvailable: fc.boolean(),
    sharedSubscriptionAvailable: fc.boolean(),
    serverKeepAlive: u16(),
    responseInformation: mqttString,
    serverReference: mqttString,
    authenticationMethod: mqttString,
    authenticationData: bin,
  },
  publish: {
    payloadFormatIndicator: fc.boolean(),
    messageExpiryInterval: u32(),
    topicAlias: u16(1),
    responseTopic: topicName,
    correlationData: bin,
    userProperties,
    subscriptionIdentifier: fc.array(vbi, { minLength: 1, maxLength: 3 }),
    contentType: mqttString,
  },
  ack: reasonString,
  subscribe: { subscriptionIdentifier: vbi, userProperties },
  unsubscribe: { userProperties },
  disconnect: { sessionExpiryInterval: u32(), reasonString: mqttString, userProperties, serverReference: mqttString },
  auth: { authenticationMethod: mqttString, authenticationData: bin, reasonString: mqttString, userProperties },
};

/** Properties of one kind: any subset (absent when empty, as decoders give them). */
function propertiesOf<K extends keyof typeof MODELS>(kind: K) {
  return fc
    .record(MODELS[kind] as Record<string, fc.Arbitrary<unknown>>, { requiredKeys: [] })
    .map((p: Record<string, unknown>) => {
      if (p.authenticationData !== undefined && p.authenticationMethod === undefined) delete p.authenticationData;
      return Object.keys(p).length ? p : undefined;
    });
}

/** Reason codes of each packet's table [MQTT-2.4]. */
const REASONS = {
  connack: [
    0, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b,
  ].concat([0x9c, 0x9d, 0x9f]),
  puback: [0, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
  pubrel: [0, 0x92],
  suback: [0, 1, 2, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2],
  unsuback: [0, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91],
  disconnect: [0, 4, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96].concat([
    0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
  ]),
  auth: [0, 0x18, 0x19],
};

const connect = fc
  .record({
    clientId: mqttString,
    clean: fc.boolean(),
    keepAlive: u16(),
    will: fc.option(
      fc.record({ topic: topicName, payload, qos, retain: fc.boolean(), properties: propertiesOf('will') }),
      { nil: undefined },
    ),
    username: fc.option(mqttString, { nil: undefined }),
    password: fc.option(payload, { nil: undefined }),
    properties: propertiesOf('connect'),
  })
  .map((c): Packet => ({ type: 1, ...c }));

const connack = fc
  .record({
    sessionPresent: fc.boolean(),
    reasonCode: fc.constantFrom(...REASONS.connack),
    properties: propertiesOf('connack'),
  })
  .map((c): Packet => ({ type: 2, ...c, sessionPresent: c.sessionPresent && !c.reasonCode })); // [MQTT-3.2.2-6]

const publish = fc
  .record({
    topic: topicName,
    payload,
    qos,
    retain: fc.boolean(),
    dup: fc.boolean(),
    id: packetId,
    properties: propertiesOf('publish'),
    aliasOnly: fc.boolean(),
  })
  .map((p): Packet => ({
    type: 3,
    topic: p.aliasOnly && p.properties?.topicAlias ? '' : p.topic, // '' stands for the alias's topic
    payload: p.payload,
    qos: p.qos,
    retain: p.retain,
    dup: p.qos ? p.dup : false,
    id: p.qos ? p.id : undefined,
    properties: p.properties,
  }));

const ack = fc
  .record({
    type: fc.constantFrom(4, 5, 6, 7) as fc.Arbitrary<4 | 5 | 6 | 7>,
    id: packetId,
    k: fc.nat(),
    properties: propertiesOf('ack'),
  })
  .map((a): Packet => {
    const codes = a.type < 6 ? REASONS.puback : REASONS.pubrel;
    return { type: a.type, id: a.id, reasonCode: codes[a.k % codes.length]!, properties: a.properties };
  });

const subscription = fc
  .record({
    topic: topicFilter,
    qos,
    noLocal: fc.boolean(),
    retainAsPublished: fc.boolean(),
    retainHandling: fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2>,
    share: fc.option(fc.stringMatching(/^[a-z0-9_-]{1,6}$/), { nil: undefined }),
  })
  .map((s): Subscription => ({
    topic: s.share ? `$share/${s.share}/${s.topic}` : s.topic,
    qos: s.qos,
    noLocal: s.share ? false : s.noLocal, // [MQTT-3.8.3-4]
    retainAsPublished: s.retainAsPublished,
    retainHandling: s.retainHandling,
  }));

const subscribe = fc
  .record({
    id: packetId,
    subscriptions: fc.array(subscription, { minLength: 1, maxLength: 4 }),
    properties: propertiesOf('subscribe'),
  })
  .map((p): Packet => ({ type: 8, ...p }));

const suback = fc
  .record({
    type: fc.constantFrom(9, 11) as fc.Arbitrary<9 | 11>,
    id: packetId,
    ks: fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
    properties: propertiesOf('ack'),
  })
  .map((p): Packet => {
    const codes = p.type === 9 ? REASONS.suback : REASONS.unsuback;
    return { type: p.type, id: p.id, reasonCodes: p.ks.map((k) => codes[k % codes.length]!), properties: p.properties };
  });

const unsubscribe = fc
  .record({
    id: packetId,
    topics: fc.array(topicFilter, { minLength: 1, maxLength: 4 }),
    properties: propertiesOf('unsubscribe'),
  })
  .map((p): Packet => ({ type: 10, ...p }));

const ping = fc.constantFrom(12, 13).map((type) => ({ type }) as Packet);

const disconnect = fc
  .record({ reasonCode: fc.constantFrom(...REASONS.disconnect), properties: propertiesOf('disconnect') })
  .map((p): Packet => ({ type: 14, ...p }));

const auth = fc
  .record({ reasonCode: fc.constantFrom(...REASONS.auth), properties: propertiesOf('auth'), method: mqttString })
  .map((p): Packet => {
    // Any AUTH but the two-byte one names its method [MQTT-3.15.2.2].
    const properties =
      p.reasonCode || p.properties
        ? { ...p.properties, authenticationMethod: p.properties?.authenticationMethod ?? p.method }
        : undefined;
    return { type: 15, reasonCode: p.reasonCode, properties: properties as never };
  });

export const packetByType5: Record<string, fc.Arbitrary<Packet>> = {
  connect,
  connack,
  publish,
  ack,
  subscribe,
  suback,
  unsubscribe,
  ping,
  disconnect,
  auth,
};

/** Any valid MQTT 5 packet of the 15 types. */
export const packet5 = fc.oneof(connect, connack, publish, ack, subscribe, suback, unsubscribe, ping, disconnect, auth);
