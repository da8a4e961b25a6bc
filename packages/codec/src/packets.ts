// The MQTT 3.1.1 packet model. Packets are plain objects discriminated by a numeric `type`
// (the control packet type of the fixed header). An MQTT 5.0 codec can extend these shapes
// with `properties` and reason codes in its own module, so 3.1.1-only bundles never pay for it.

/** Control packet type of CONNECT (client to broker: open a session). */
export const CONNECT = 1;
/** Control packet type of CONNACK (the broker's answer to CONNECT). */
export const CONNACK = 2;
/** Control packet type of PUBLISH (an application message, both directions). */
export const PUBLISH = 3;
/** Control packet type of PUBACK (acknowledges a QoS 1 PUBLISH). */
export const PUBACK = 4;
/** Control packet type of PUBREC (first answer to a QoS 2 PUBLISH). */
export const PUBREC = 5;
/** Control packet type of PUBREL (releases a QoS 2 message after PUBREC; flags 0010). */
export const PUBREL = 6;
/** Control packet type of PUBCOMP (completes a QoS 2 exchange). */
export const PUBCOMP = 7;
/** Control packet type of SUBSCRIBE. */
export const SUBSCRIBE = 8;
/** Control packet type of SUBACK (granted QoS per requested filter). */
export const SUBACK = 9;
/** Control packet type of UNSUBSCRIBE. */
export const UNSUBSCRIBE = 10;
/** Control packet type of UNSUBACK (acknowledges an UNSUBSCRIBE). */
export const UNSUBACK = 11;
/** Control packet type of PINGREQ (keepalive, client to broker). */
export const PINGREQ = 12;
/** Control packet type of PINGRESP (the broker's answer to PINGREQ). */
export const PINGRESP = 13;
/** Control packet type of DISCONNECT (a clean end: the broker discards the will). */
export const DISCONNECT = 14;

/**
 * Quality of service: 0 at most once, 1 at least once, 2 exactly once.
 *
 * @example
 * const qos: QoS = 1;
 */
export type QoS = 0 | 1 | 2;

/**
 * Last will, published by the broker when the connection dies without DISCONNECT.
 *
 * @example
 * const will: Will = { topic: 'devices/1/online', payload: encodeUtf8('no'), qos: 1, retain: true };
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
}

/**
 * CONNECT: opens a session [MQTT-3.1].
 *
 * @example
 * const connect: ConnectPacket = { type: CONNECT, clientId: 'sensor-1', clean: true, keepAlive: 60 };
 * encodeConnect(connect);
 */
export interface ConnectPacket {
  /** Always {@link CONNECT}. */
  type: typeof CONNECT;
  /** Client identifier; '' asks the broker to assign one (needs `clean: true`). */
  clientId: string;
  /** Clean session [MQTT-3.1.2-6]. */
  clean: boolean;
  /** Seconds; 0 turns keepalive off. */
  keepAlive: number;
  /** User name, if the broker wants one. */
  username?: string | undefined;
  /** Password bytes (MQTT 3.1.1 allows it only with a user name). */
  password?: Uint8Array | undefined;
  /** Published by the broker if the connection ends without DISCONNECT. */
  will?: Will | undefined;
}

/**
 * CONNACK: the broker's answer to CONNECT [MQTT-3.2].
 *
 * @example
 * const connack = decode(bytes) as ConnackPacket; // { type: CONNACK, sessionPresent: false, returnCode: 0 }
 */
export interface ConnackPacket {
  /** Always {@link CONNACK}. */
  type: typeof CONNACK;
  /** The broker kept a session for this client id (only with `clean: false`). */
  sessionPresent: boolean;
  /** 0 accepted; 1..5 refused (protocol, identifier, unavailable, credentials, not authorized). */
  returnCode: number;
}

/**
 * PUBLISH: an application message, in either direction [MQTT-3.3].
 *
 * @example
 * const publish: PublishPacket = { type: PUBLISH, topic: 'sensors/1/temp', payload: encodeUtf8('21.5'), qos: 1, id: 10 };
 * encodePublish(publish);
 */
export interface PublishPacket {
  /** Always {@link PUBLISH}. */
  type: typeof PUBLISH;
  /** Topic name (no wildcards). */
  topic: string;
  /** Message body; received payloads are views of the parser buffer. */
  payload: Uint8Array;
  /** Quality of service. Default 0. */
  qos?: QoS | undefined;
  /** Retain flag: the broker keeps the last retained message per topic. Default false. */
  retain?: boolean | undefined;
  /** DUP flag: a resend of a QoS 1/2 message the broker may have seen. Default false. */
  dup?: boolean | undefined;
  /** Packet identifier, 1..65535, for QoS 1 and 2 only. */
  id?: number | undefined;
}

/**
 * PUBACK, PUBREC, PUBREL, PUBCOMP and UNSUBACK carry only a packet identifier.
 *
 * @example
 * const ack: AckPacket = { type: PUBACK, id: 10 };
 * encodeAck(ack);
 */
export interface AckPacket {
  /** {@link PUBACK}, {@link PUBREC}, {@link PUBREL}, {@link PUBCOMP} or {@link UNSUBACK}. */
  type: typeof PUBACK | typeof PUBREC | typeof PUBREL | typeof PUBCOMP | typeof UNSUBACK;
  /** Packet identifier, 1..65535, of the packet acknowledged. */
  id: number;
}

/**
 * One topic filter of a SUBSCRIBE, with the maximum QoS asked for.
 *
 * @example
 * const subscription: Subscription = { topic: 'home/+/temp', qos: 1 };
 */
export interface Subscription {
  /** Topic filter; may contain the wildcards '+' and '#'. */
  topic: string;
  /** Maximum QoS the broker should deliver with. */
  qos: QoS;
}

/**
 * SUBSCRIBE: one or more topic filters [MQTT-3.8].
 *
 * @example
 * encodeSubscribe({ type: SUBSCRIBE, id: 1, subscriptions: [{ topic: 'home/#', qos: 1 }] });
 */
export interface SubscribePacket {
  /** Always {@link SUBSCRIBE}. */
  type: typeof SUBSCRIBE;
  /** Packet identifier, 1..65535. */
  id: number;
  /** At least one filter [MQTT-3.8.3-3]. */
  subscriptions: Subscription[];
}

/**
 * SUBACK: the broker's answer to SUBSCRIBE [MQTT-3.9].
 *
 * @example
 * encodeSuback({ type: SUBACK, id: 1, granted: [1, SUBACK_FAILURE] });
 */
export interface SubackPacket {
  /** Always {@link SUBACK}. */
  type: typeof SUBACK;
  /** Packet identifier of the SUBSCRIBE answered. */
  id: number;
  /** One per requested filter: the granted QoS 0..2, or 0x80 for a refused filter. */
  granted: number[];
}

/**
 * UNSUBSCRIBE: removes subscriptions [MQTT-3.10].
 *
 * @example
 * encodeUnsubscribe({ type: UNSUBSCRIBE, id: 2, topics: ['home/#'] });
 */
export interface UnsubscribePacket {
  /** Always {@link UNSUBSCRIBE}. */
  type: typeof UNSUBSCRIBE;
  /** Packet identifier, 1..65535. */
  id: number;
  /** The topic filters to remove, exactly as subscribed. */
  topics: string[];
}

/**
 * PINGREQ, PINGRESP and DISCONNECT have no content.
 *
 * @example
 * const ping: EmptyPacket = { type: PINGREQ };
 * encodeEmpty(ping); // Uint8Array [0xc0, 0]
 */
export interface EmptyPacket {
  /** {@link PINGREQ}, {@link PINGRESP} or {@link DISCONNECT}. */
  type: typeof PINGREQ | typeof PINGRESP | typeof DISCONNECT;
}

/**
 * Any MQTT 3.1.1 packet, discriminated by `type`.
 *
 * @example
 * function describe(packet: Packet): string {
 *   switch (packet.type) {
 *     case PUBLISH: return `PUBLISH ${packet.topic}`;
 *     case PUBACK: return `PUBACK ${packet.id}`;
 *     default: return `type ${packet.type}`;
 *   }
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
  | EmptyPacket;

/** SUBACK return code of a refused filter. */
export const SUBACK_FAILURE = 0x80;
