// The MQTT 5.0 packet model: the 3.1.1 shapes with `properties` and reason codes, and AUTH.
// Packets are plain objects discriminated by `type`, as in 3.1.1; the packet type constants are
// the same (and AUTH = 15).
import type { QoS } from '../packets.js';

export { CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, SUBACK } from '../packets.js';
export { UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, type QoS } from '../packets.js';

/** Control packet type of AUTH (MQTT 5 enhanced authentication, both directions). */
export const AUTH = 15;

/**
 * A user property: a name and a value, both UTF-8 strings [MQTT-1.5.7-1]. A packet keeps its
 * user properties in order, and a name may appear more than once.
 *
 * @example
 * const properties: PublishProperties = { userProperties: [['unit', '°C'], ['sensor', 'kitchen']] };
 */
export type UserProperty = [name: string, value: string];

/**
 * Properties of CONNECT [MQTT-3.1.2.11].
 *
 * @example
 * const properties: ConnectProperties = { sessionExpiryInterval: 3600, receiveMaximum: 20, topicAliasMaximum: 10 };
 */
export interface ConnectProperties {
  /** Seconds the broker keeps the session after the connection ends; 0xFFFFFFFF never expires. */
  sessionExpiryInterval?: number | undefined;
  /** How many QoS 1/2 PUBLISH the client takes at once (1..65535). */
  receiveMaximum?: number | undefined;
  /** Largest packet the client accepts, in bytes (1..4294967295). */
  maximumPacketSize?: number | undefined;
  /** Highest topic alias the client accepts from the broker (0: none). */
  topicAliasMaximum?: number | undefined;
  /** Asks the broker for Response Information in CONNACK. */
  requestResponseInformation?: boolean | undefined;
  /** false: the broker sends Reason Strings and User Properties only on PUBLISH, CONNACK, DISCONNECT. */
  requestProblemInformation?: boolean | undefined;
  /** Name-value pairs, in order. */
  userProperties?: UserProperty[] | undefined;
  /** Method of enhanced authentication (AUTH exchange). */
  authenticationMethod?: string | undefined;
  /** Data of enhanced authentication (needs `authenticationMethod`). */
  authenticationData?: Uint8Array | undefined;
}

/**
 * Properties of a will message [MQTT-3.1.3.2].
 *
 * @example
 * const will: Will = { topic: 'devices/1/online', payload: encodeUtf8('no'), properties: { willDelayInterval: 30 } };
 */
export interface WillProperties {
  /** Seconds the broker waits before it publishes the will. */
  willDelayInterval?: number | undefined;
  /** true: the will's payload is UTF-8 text. */
  payloadFormatIndicator?: boolean | undefined;
  /** Lifetime of the will message, in seconds. */
  messageExpiryInterval?: number | undefined;
  /** Content type of the payload (a MIME type, for instance). */
  contentType?: string | undefined;
  /** Topic a response is published to (a topic name: no wildcards). */
  responseTopic?: string | undefined;
  /** Data the requester uses to match a response to its request. */
  correlationData?: Uint8Array | undefined;
  /** Name-value pairs, in order. */
  userProperties?: UserProperty[] | undefined;
}

/**
 * Properties of CONNACK [MQTT-3.2.2.3].
 *
 * @example
 * if (connack.properties?.receiveMaximum) window = connack.properties.receiveMaximum;
 */
export interface ConnackProperties {
  /** The session expiry the broker chose, if it differs from CONNECT's. */
  sessionExpiryInterval?: number | undefined;
  /** How many QoS 1/2 PUBLISH the broker takes at once (default 65535). */
  receiveMaximum?: number | undefined;
  /** Highest QoS the broker supports (0 or 1; absent: 2). */
  maximumQoS?: number | undefined;
  /** false: the broker does not support retained messages. */
  retainAvailable?: boolean | undefined;
  /** Largest packet the broker accepts, in bytes. */
  maximumPacketSize?: number | undefined;
  /** The client identifier the broker assigned (to an empty one). */
  assignedClientIdentifier?: string | undefined;
  /** Highest topic alias the broker accepts (0: none). */
  topicAliasMaximum?: number | undefined;
  /** Human-readable diagnostics. */
  reasonString?: string | undefined;
  /** Name-value pairs, in order. */
  userProperties?: UserProperty[] | undefined;
  /** false: the broker does not support wildcard subscriptions. */
  wildcardSubscriptionAvailable?: boolean | undefined;
  /** false: the broker does not support subscription identifiers. */
  subscriptionIdentifiersAvailable?: boolean | undefined;
  /** false: the broker does not support shared subscriptions. */
  sharedSubscriptionAvailable?: boolean | undefined;
  /** Keep alive the client must use instead of its own, in seconds. */
  serverKeepAlive?: number | undefined;
  /** Basis for a response topic (after requestResponseInformation). */
  responseInformation?: string | undefined;
  /** Another server to use. */
  serverReference?: string | undefined;
  /** Method of enhanced authentication. */
  authenticationMethod?: string | undefined;
  /** Data of enhanced authentication. */
  authenticationData?: Uint8Array | undefined;
}

/**
 * Properties of PUBLISH [MQTT-3.3.2.3].
 *
 * @example
 * encodePublish({ type: PUBLISH, topic: 'a/b', payload, qos: 1, id: 1, properties: { messageExpiryInterval: 60 } });
 */
export interface PublishProperties {
  /** true: the payload is UTF-8 text. */
  payloadFormatIndicator?: boolean | undefined;
  /** Lifetime of the message, in seconds. */
  messageExpiryInterval?: number | undefined;
  /** Stands for the topic (1..the receiver's Topic Alias Maximum); with an empty topic, the topic it was set to. */
  topicAlias?: number | undefined;
  /** Topic a response is published to (a topic name: no wildcards). */
  responseTopic?: string | undefined;
  /** Data the requester uses to match a response to its request. */
  correlationData?: Uint8Array | undefined;
  /** Name-value pairs, in order. */
  userProperties?: UserProperty[] | undefined;
  /** The identifiers of the subscriptions that matched (broker to client only), each 1..268435455. */
  subscriptionIdentifier?: number[] | undefined;
  /** Content type of the payload (a MIME type, for instance). */
  contentType?: string | undefined;
}

/**
 * Properties of PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK and UNSUBACK.
 *
 * @example
 * if (ack.reasonCode >= 0x80) console.log('refused:', ack.properties?.reasonString);
 */
export interface AckProperties {
  /** Human-readable diagnostics. */
  reasonString?: string | undefined;
  /** Name-value pairs, in order. */
  userProperties?: UserProperty[] | undefined;
}

/**
 * Properties of SUBSCRIBE [MQTT-3.8.2.1].
 *
 * @example
 * encodeSubscribe({ type: SUBSCRIBE, id: 1, subscriptions: [{ topic: 'a/#', qos: 1 }], properties: { subscriptionIdentifier: 7 } });
 */
export interface SubscribeProperties {
  /** Identifier the broker puts in each PUBLISH this subscription matches (1..268435455). */
  subscriptionIdentifier?: number | undefined;
  /** Name-value pairs, in order. */
  userProperties?: UserProperty[] | undefined;
}

/**
 * Properties of UNSUBSCRIBE [MQTT-3.10.2.1].
 *
 * @example
 * encodeUnsubscribe({ type: UNSUBSCRIBE, id: 2, topics: ['a/#'], properties: { userProperties: [['k', 'v']] } });
 */
export interface UnsubscribeProperties {
  /** Name-value pairs, in order. */
  userProperties?: UserProperty[] | undefined;
}

/**
 * Properties of DISCONNECT [MQTT-3.14.2.2].
 *
 * @example
 * encodeDisconnect({ type: DISCONNECT, reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
 */
export interface DisconnectProperties {
  /** The session expiry from now on (client to broker only). */
  sessionExpiryInterval?: number | undefined;
  /** Human-readable diagnostics. */
  reasonString?: string | undefined;
  /** Name-value pairs, in order. */
  userProperties?: UserProperty[] | undefined;
  /** Another server to use (broker to client). */
  serverReference?: string | undefined;
}

/**
 * Properties of AUTH [MQTT-3.15.2.2].
 *
 * @example
 * const properties: AuthProperties = { authenticationMethod: 'SCRAM-SHA-1', authenticationData: clientFirst };
 */
export interface AuthProperties {
  /** Method of enhanced authentication (required in an AUTH with properties). */
  authenticationMethod?: string | undefined;
  /** Data of enhanced authentication. */
  authenticationData?: Uint8Array | undefined;
  /** Human-readable diagnostics. */
  reasonString?: string | undefined;
  /** Name-value pairs, in order. */
  userProperties?: UserProperty[] | undefined;
}

/**
 * A will message, with its properties.
 *
 * @example
 * const will: Will = { topic: 'devices/1/online', payload: encodeUtf8('no'), qos: 1, retain: true, properties: { willDelayInterval: 10 } };
 */
export interface Will {
  /** Topic the will is published to (no wildcards). */
  topic: string;
  /** Message body of the will. */
  payload: Uint8Array;
  /** QoS of the will. Default 0. */
  qos?: QoS | undefined;
  /** Whether the broker retains the will. Default false. */
  retain?: boolean | undefined;
  /** Will properties. */
  properties?: WillProperties | undefined;
}

/**
 * CONNECT, protocol level 5 [MQTT-3.1].
 *
 * @example
 * encodeConnect({ type: CONNECT, clientId: 'sensor-1', clean: true, keepAlive: 60, properties: { sessionExpiryInterval: 3600 } });
 */
export interface ConnectPacket {
  /** Always {@link CONNECT}. */
  type: 1;
  /** Client identifier; '' asks the broker to assign one. */
  clientId: string;
  /** Clean Start: begin a new session [MQTT-3.1.2-4]. */
  clean: boolean;
  /** Seconds; 0 turns keepalive off. */
  keepAlive: number;
  /** User name. */
  username?: string | undefined;
  /** Password bytes (MQTT 5 allows one without a user name). */
  password?: Uint8Array | undefined;
  /** Published by the broker if the connection ends without a normal DISCONNECT. */
  will?: Will | undefined;
  /** CONNECT properties. */
  properties?: ConnectProperties | undefined;
}

/**
 * CONNACK [MQTT-3.2].
 *
 * @example
 * if (packet.type === CONNACK && packet.reasonCode >= 0x80) console.log('refused', packet.reasonCode);
 */
export interface ConnackPacket {
  /** Always {@link CONNACK}. */
  type: 2;
  /** The broker resumed a session (never with a failing reason code [MQTT-3.2.2-6]). */
  sessionPresent: boolean;
  /** 0 success; 0x80 and above refuse the connection (see {@link REASON_NAMES}). */
  reasonCode: number;
  /** CONNACK properties. */
  properties?: ConnackProperties | undefined;
}

/**
 * PUBLISH [MQTT-3.3].
 *
 * @example
 * encodePublish({ type: PUBLISH, topic: 'sensors/1/temp', payload: encodeUtf8('21.5'), qos: 1, id: 10 });
 */
export interface PublishPacket {
  /** Always {@link PUBLISH}. */
  type: 3;
  /** Topic name (no wildcards); '' with a `topicAlias` property that stands for it. */
  topic: string;
  /** Message body; received payloads are views of the parser buffer. */
  payload: Uint8Array;
  /** Quality of service. Default 0. */
  qos?: QoS | undefined;
  /** Retain flag. Default false. */
  retain?: boolean | undefined;
  /** DUP flag (a resend of a QoS 1/2 message). Default false. */
  dup?: boolean | undefined;
  /** Packet identifier, 1..65535, for QoS 1 and 2 only. */
  id?: number | undefined;
  /** PUBLISH properties. */
  properties?: PublishProperties | undefined;
}

/**
 * PUBACK, PUBREC, PUBREL and PUBCOMP: a packet identifier and a reason code.
 *
 * @example
 * encodeAck({ type: PUBACK, id: 10 }); // reason code 0: Uint8Array [0x40, 2, 0, 10]
 */
export interface AckPacket {
  /** {@link PUBACK}, {@link PUBREC}, {@link PUBREL} or {@link PUBCOMP}. */
  type: 4 | 5 | 6 | 7;
  /** Packet identifier, 1..65535, of the packet acknowledged. */
  id: number;
  /** Default (and when absent on the wire) 0, success; 0x80 and above are failures. */
  reasonCode?: number | undefined;
  /** Reason string and user properties. */
  properties?: AckProperties | undefined;
}

/**
 * One topic filter of a SUBSCRIBE, with its subscription options [MQTT-3.8.3.1].
 *
 * @example
 * const subscription: Subscription = { topic: 'home/+/temp', qos: 1, noLocal: true, retainHandling: 1 };
 */
export interface Subscription {
  /** Topic filter; may contain the wildcards '+' and '#', or be a shared one ($share/name/filter). */
  topic: string;
  /** Maximum QoS the broker should deliver with. */
  qos: QoS;
  /** Do not send this client its own messages (not on a shared subscription). Default false. */
  noLocal?: boolean | undefined;
  /** Keep the RETAIN flag of forwarded messages. Default false. */
  retainAsPublished?: boolean | undefined;
  /** Retained messages at subscribe: 0 send, 1 send if the subscription is new, 2 do not send. Default 0. */
  retainHandling?: 0 | 1 | 2 | undefined;
}

/**
 * SUBSCRIBE [MQTT-3.8].
 *
 * @example
 * encodeSubscribe({ type: SUBSCRIBE, id: 1, subscriptions: [{ topic: 'home/#', qos: 1 }] });
 */
export interface SubscribePacket {
  /** Always {@link SUBSCRIBE}. */
  type: 8;
  /** Packet identifier, 1..65535. */
  id: number;
  /** At least one filter [MQTT-3.8.3-2]. */
  subscriptions: Subscription[];
  /** SUBSCRIBE properties. */
  properties?: SubscribeProperties | undefined;
}

/**
 * SUBACK [MQTT-3.9] or UNSUBACK [MQTT-3.11]: one reason code per filter.
 *
 * @example
 * if (packet.type === SUBACK && packet.reasonCodes.some((c) => c >= 0x80)) console.log('refused');
 */
export interface SubackPacket {
  /** {@link SUBACK} or {@link UNSUBACK}. */
  type: 9 | 11;
  /** Packet identifier of the SUBSCRIBE or UNSUBSCRIBE answered. */
  id: number;
  /** One per filter, in order: SUBACK the granted QoS 0..2 or a failure; UNSUBACK 0, 0x11 or a failure. */
  reasonCodes: number[];
  /** Reason string and user properties. */
  properties?: AckProperties | undefined;
}

/**
 * UNSUBSCRIBE [MQTT-3.10].
 *
 * @example
 * encodeUnsubscribe({ type: UNSUBSCRIBE, id: 2, topics: ['home/#'] });
 */
export interface UnsubscribePacket {
  /** Always {@link UNSUBSCRIBE}. */
  type: 10;
  /** Packet identifier, 1..65535. */
  id: number;
  /** The topic filters to remove, at least one [MQTT-3.10.3-2]. */
  topics: string[];
  /** UNSUBSCRIBE properties. */
  properties?: UnsubscribeProperties | undefined;
}

/**
 * PINGREQ and PINGRESP have no content.
 *
 * @example
 * encodeEmpty({ type: PINGREQ }); // Uint8Array [0xc0, 0]
 */
export interface PingPacket {
  /** {@link PINGREQ} or {@link PINGRESP}. */
  type: 12 | 13;
}

/**
 * DISCONNECT, from either side [MQTT-3.14].
 *
 * @example
 * encodeDisconnect({ type: DISCONNECT, reasonCode: 4 }); // disconnect with will message
 */
export interface DisconnectPacket {
  /** Always {@link DISCONNECT}. */
  type: 14;
  /** Default (and when absent on the wire) 0, normal disconnection. */
  reasonCode?: number | undefined;
  /** DISCONNECT properties. */
  properties?: DisconnectProperties | undefined;
}

/**
 * AUTH, enhanced authentication [MQTT-3.15].
 *
 * @example
 * encodeAuth({ type: AUTH, reasonCode: 0x18, properties: { authenticationMethod: 'SCRAM-SHA-1', authenticationData } });
 */
export interface AuthPacket {
  /** Always {@link AUTH}. */
  type: 15;
  /** 0 success, 0x18 continue authentication, 0x19 re-authenticate. Default (and when absent on the wire) 0. */
  reasonCode?: number | undefined;
  /** AUTH properties; an AUTH with properties names its authentication method. */
  properties?: AuthProperties | undefined;
}

/**
 * Any MQTT 5 packet, discriminated by `type`.
 *
 * @example
 * function describe(packet: Packet): string {
 *   return packet.type === PUBLISH ? `PUBLISH ${packet.topic}` : `type ${packet.type}`;
 * }
 */
export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | AckPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | PingPacket
  | DisconnectPacket
  | AuthPacket;

/**
 * All properties of any packet, by name.
 *
 * @example
 * const p: Properties = packet.properties ?? {};
 */
export type Properties = ConnectProperties &
  WillProperties &
  ConnackProperties &
  Omit<PublishProperties, 'subscriptionIdentifier'> &
  DisconnectProperties &
  AuthProperties & {
    /** One subscription identifier (SUBSCRIBE) or several (PUBLISH). */
    subscriptionIdentifier?: number | number[] | undefined;
  };
