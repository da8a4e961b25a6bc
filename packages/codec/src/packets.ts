// The MQTT 3.1.1 packet model. Packets are plain objects discriminated by a numeric `type`
// (the control packet type of the fixed header). An MQTT 5.0 codec can extend these shapes
// with `properties` and reason codes in its own module, so 3.1.1-only bundles never pay for it.

export const CONNECT = 1;
export const CONNACK = 2;
export const PUBLISH = 3;
export const PUBACK = 4;
export const PUBREC = 5;
export const PUBREL = 6;
export const PUBCOMP = 7;
export const SUBSCRIBE = 8;
export const SUBACK = 9;
export const UNSUBSCRIBE = 10;
export const UNSUBACK = 11;
export const PINGREQ = 12;
export const PINGRESP = 13;
export const DISCONNECT = 14;

export type QoS = 0 | 1 | 2;

/** Last will, published by the broker when the connection dies without DISCONNECT. */
export interface Will {
  topic: string;
  payload: Uint8Array;
  qos?: QoS | undefined;
  retain?: boolean | undefined;
}

export interface ConnectPacket {
  type: typeof CONNECT;
  clientId: string;
  /** Clean session [MQTT-3.1.2-6]. */
  clean: boolean;
  /** Seconds; 0 turns keepalive off. */
  keepAlive: number;
  username?: string | undefined;
  password?: Uint8Array | undefined;
  will?: Will | undefined;
}

export interface ConnackPacket {
  type: typeof CONNACK;
  sessionPresent: boolean;
  /** 0 accepted; 1..5 refused (protocol, identifier, unavailable, credentials, not authorized). */
  returnCode: number;
}

export interface PublishPacket {
  type: typeof PUBLISH;
  topic: string;
  payload: Uint8Array;
  qos?: QoS | undefined;
  retain?: boolean | undefined;
  dup?: boolean | undefined;
  /** Packet identifier, 1..65535, for QoS 1 and 2 only. */
  id?: number | undefined;
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP and UNSUBACK carry only a packet identifier. */
export interface AckPacket {
  type: typeof PUBACK | typeof PUBREC | typeof PUBREL | typeof PUBCOMP | typeof UNSUBACK;
  id: number;
}

export interface Subscription {
  topic: string;
  qos: QoS;
}

export interface SubscribePacket {
  type: typeof SUBSCRIBE;
  id: number;
  subscriptions: Subscription[];
}

export interface SubackPacket {
  type: typeof SUBACK;
  id: number;
  /** One per requested filter: the granted QoS 0..2, or 0x80 for a refused filter. */
  granted: number[];
}

export interface UnsubscribePacket {
  type: typeof UNSUBSCRIBE;
  id: number;
  topics: string[];
}

/** PINGREQ, PINGRESP and DISCONNECT have no content. */
export interface EmptyPacket {
  type: typeof PINGREQ | typeof PINGRESP | typeof DISCONNECT;
}

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
