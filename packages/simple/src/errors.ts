// Error codes of @umqtt/simple. Every error is a UmqttError (from @umqtt/codec) with one of
// these codes and the place it happened.
import { UmqttError } from '@umqtt/codec';

/** CONNACK refusals by return code: 1..5 [MQTT-3.2.2.3]. */
export const CONNACK_CODES = /* @__PURE__ */ Object.freeze([
  '',
  'UMQTT_CONNACK_PROTOCOL', // 1 unacceptable protocol version
  'UMQTT_CONNACK_IDENTIFIER', // 2 identifier rejected
  'UMQTT_CONNACK_UNAVAILABLE', // 3 server unavailable
  'UMQTT_CONNACK_CREDENTIALS', // 4 bad user name or password
  'UMQTT_CONNACK_NOT_AUTHORIZED', // 5 not authorized
]);

/** The connection closed or failed (socket error, reset, peer closed). */
export const CONNECTION_LOST = 'UMQTT_CONNECTION_LOST';
/** No CONNACK within `connectTimeout`. */
export const CONNECT_TIMEOUT = 'UMQTT_CONNECT_TIMEOUT';
/** Nothing received for 1.5 x keepAlive: the connection is dead (half-open). */
export const KEEPALIVE_TIMEOUT = 'UMQTT_KEEPALIVE_TIMEOUT';
/** The socket could not take our bytes for longer than `socketTimeout`. */
export const WRITE_TIMEOUT = 'UMQTT_WRITE_TIMEOUT';
/** The broker broke the protocol (a packet it must not send, an ack for an id never used...). */
export const PROTOCOL_ERROR = 'UMQTT_PROTOCOL_ERROR';
/** A call that needs a connection was made while not connected. */
export const NOT_CONNECTED = 'UMQTT_NOT_CONNECTED';
/** `connect()` while connecting or connected. */
export const ALREADY_CONNECTED = 'UMQTT_ALREADY_CONNECTED';
/** All 65535 packet identifiers are in use. */
export const NO_PACKET_ID = 'UMQTT_NO_PACKET_ID';
/** More messages wait locally than `maxQueued` allows. */
export const QUEUE_FULL = 'UMQTT_QUEUE_FULL';
/** A payload (or packet) is larger than `maxPacketSize`. */
export const TOO_LARGE = 'UMQTT_PAYLOAD_TOO_LARGE';

export function error(code: string, message: string, place: string, reasonCode?: number): UmqttError {
  return new UmqttError(code, message, undefined, reasonCode, place);
}
