// Error codes of @umqtt/node, declared once here. Every error is a UmqttError (from
// @umqtt/codec) with one of these codes (or one of @umqtt/simple's) and the place it happened.
import { UmqttError } from '@umqtt/codec';

/**
 * A broker URL that cannot be used: no or an unknown scheme, a bad port, no host.
 *
 * @example
 * try { connect('http://broker'); } catch (e) { if ((e as UmqttError).code === INVALID_URL) showUsage(); }
 */
export const INVALID_URL = 'UMQTT_INVALID_URL';
/**
 * No acknowledgement within `messageTimeout` (the publish promise of a client without
 * `reconnect` rejects with it; a late acknowledgement still reaches `onStatus` as `unknown`).
 *
 * @example
 * await client.publish('a', 'x', { qos: 1 }).catch((e) => e.code === ACK_TIMEOUT && retryLater());
 */
export const ACK_TIMEOUT = 'UMQTT_ACK_TIMEOUT';
/**
 * The connection ended before the acknowledgement: the broker may or may not have the message.
 *
 * @example
 * await client.publish('a', 'x', { qos: 1 }).catch((e) => e.code === ABORTED && console.warn('maybe not delivered'));
 */
export const ABORTED = 'UMQTT_ABORTED';
/**
 * A message of a reconnecting client reached its time to live unsent (final status `expired`).
 *
 * @example
 * await client.publish('button', 'pressed', { qos: 1, ttl: 15_000 }).catch((e) => e.code === EXPIRED && beep());
 */
export const EXPIRED = 'UMQTT_EXPIRED';
/**
 * The queue policy of a reconnecting client gave the message up (final status `dropped`: offline
 * QoS 0, a duplicate, overflow, replaced by a newer retained message, discarded).
 *
 * @example
 * await client.publish('t', 'x').catch((e) => e.code === DROPPED && console.log(e.message));
 */
export const DROPPED = 'UMQTT_DROPPED';
/**
 * The queue of a reconnecting client refused the message (final status `rejected`: too large,
 * full with the `reject` overflow rule, the store failed).
 *
 * @example
 * await client.publish('alarm', 'smoke', PRESETS.alarm).catch((e) => e.code === REJECTED && soundSiren());
 */
export const REJECTED = 'UMQTT_REJECTED';
/**
 * The broker refused a subscription (SUBACK 0x80 for at least one filter).
 *
 * @example
 * await client.subscribe('secret/#').catch((e) => e.code === SUBSCRIBE_REFUSED && console.log(e.message));
 */
export const SUBSCRIBE_REFUSED = 'UMQTT_SUBSCRIBE_REFUSED';
/**
 * The client was ended: a call after `end()`, or what a forced `end()` left unsettled.
 *
 * @example
 * await client.end(true); // pending publishes reject with CLIENT_ENDED (or DROPPED, for a memory queue)
 */
export const CLIENT_ENDED = 'UMQTT_CLIENT_ENDED';
/**
 * The embedded broker needs the optional `aedes` package, which is not installed.
 *
 * @example
 * await startEmbeddedBroker().catch((e) => e.code === AEDES_MISSING && console.log('npm install aedes'));
 */
export const AEDES_MISSING = 'UMQTT_AEDES_MISSING';
/**
 * The WebSocket peer broke MQTT over WebSocket: a text frame [MQTT-6.0.0-1], or no `mqtt`
 * subprotocol [MQTT-6.0.0-3].
 *
 * @example
 * client.onClose = (e) => e?.message.includes(WEBSOCKET_PROTOCOL) && console.log('not an MQTT WebSocket endpoint');
 */
export const WEBSOCKET_PROTOCOL = 'UMQTT_WEBSOCKET_PROTOCOL';

/** A UmqttError with one of this package's codes (internal shorthand). */
export function nodeError(code: string, message: string, place: string, clause?: string): UmqttError {
  return new UmqttError({ code, message, clause, place });
}
