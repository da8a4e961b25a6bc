// Error codes of the session core: what the protocol state itself decides (a broker's refusal,
// a broken rule, a deadline passed, misuse of ids and the window). @umqtt/simple re-exports them
// beside the codes of its connection (socket, callbacks).
import { UmqttError } from '@umqtt/codec';

/**
 * CONNACK refusals by return code: 1..5 [MQTT-3.2.2.3].
 *
 * @example
 * client.connect().catch((e: UmqttError) => {
 *   if (e.code === CONNACK_CODES[4]) console.log('bad user name or password'); // 'UMQTT_CONNACK_CREDENTIALS'
 * });
 */
export const CONNACK_CODES = /* @__PURE__ */ Object.freeze([
  '',
  'UMQTT_CONNACK_PROTOCOL', // 1 unacceptable protocol version
  'UMQTT_CONNACK_IDENTIFIER', // 2 identifier rejected
  'UMQTT_CONNACK_UNAVAILABLE', // 3 server unavailable
  'UMQTT_CONNACK_CREDENTIALS', // 4 bad user name or password
  'UMQTT_CONNACK_NOT_AUTHORIZED', // 5 not authorized
]);

/**
 * No CONNACK within `connectTimeout`.
 *
 * @example
 * client.connect().catch((e) => { if (e.code === CONNECT_TIMEOUT) console.log('broker did not answer'); });
 */
export const CONNECT_TIMEOUT = 'UMQTT_CONNECT_TIMEOUT';
/**
 * Nothing received for 1.5 x keepAlive, or a PINGREQ unanswered within keepAlive: the peer is
 * gone (a half-open connection, or a peer that trickles bytes).
 *
 * @example
 * client.onClose = (error) => { if (error?.code === KEEPALIVE_TIMEOUT) console.log('broker went silent'); };
 */
export const KEEPALIVE_TIMEOUT = 'UMQTT_KEEPALIVE_TIMEOUT';
/**
 * The broker broke the protocol (a packet out of order, an acknowledgement for the wrong stage).
 *
 * @example
 * client.onClose = (error) => { if (error?.code === PROTOCOL_ERROR) console.log(error.clause); };
 */
export const PROTOCOL_ERROR = 'UMQTT_PROTOCOL_ERROR';
/**
 * All 65,535 packet ids are in use.
 *
 * @example
 * try { client.publish('t', 'x', { qos: 1 }); } catch (e) { if ((e as UmqttError).code === NO_PACKET_ID) wait(); }
 */
export const NO_PACKET_ID = 'UMQTT_NO_PACKET_ID';
/**
 * `maxQueued` messages already wait for the in-flight window.
 *
 * @example
 * try { client.publish('t', 'x', { qos: 1 }); } catch (e) { if ((e as UmqttError).code === QUEUE_FULL) slowDown(); }
 */
export const QUEUE_FULL = 'UMQTT_QUEUE_FULL';
/**
 * A payload or packet over `maxPacketSize`.
 *
 * @example
 * try { client.publish('t', big); } catch (e) { if ((e as UmqttError).code === TOO_LARGE) split(big); }
 */
export const TOO_LARGE = 'UMQTT_PAYLOAD_TOO_LARGE';
/**
 * An acknowledgement for a packet id the client does not track (a repeated PUBCOMP, an ack of
 * an earlier connection): recorded as an issue and ignored (a PUBREC is answered with PUBREL).
 *
 * @example
 * const client = new MqttClient({ ...options, logger: (issue) => issue.error.code === UNKNOWN_ID && console.log(issue.error.message) });
 */
export const UNKNOWN_ID = 'UMQTT_UNKNOWN_ID';

/**
 * MQTT 5: the broker refused the connection with a reason code this catalogue has no code of
 * its own for (`reasonCode` says which; 0x84, 0x85, 0x86/0x8C, 0x87 and 0x88/0x89 map to the
 * 3.1.1 codes above).
 *
 * @example
 * client.connect().catch((e) => { if (e.code === CONNACK_REFUSED && e.reasonCode === 0x97) later(); });
 */
export const CONNACK_REFUSED = 'UMQTT_CONNACK_REFUSED';
/**
 * MQTT 5: the broker ended the connection with DISCONNECT; `reasonCode` says why (0x8B server
 * shutting down, 0x8E session taken over, 0x97 quota exceeded...), place `read`.
 *
 * @example
 * client.onClose = (e) => { if (e?.code === BROKER_DISCONNECT && e.reasonCode === 0x8e) console.log('taken over'); };
 */
export const BROKER_DISCONNECT = 'UMQTT_BROKER_DISCONNECT';
/**
 * MQTT 5: a call the broker said in CONNACK it does not allow (a QoS above its Maximum QoS, a
 * retained message without Retain Available, a wildcard, shared or identified subscription it
 * does not support); thrown at once, nothing is sent.
 *
 * @example
 * try { client.publish('t', 'x', { qos: 2 }); } catch (e) { if (e.code === NOT_SUPPORTED) client.publish('t', 'x', { qos: 1 }); }
 */
export const NOT_SUPPORTED = 'UMQTT_NOT_SUPPORTED';
/**
 * MQTT 5: the broker left more QoS 1/2 messages unacknowledged by us than the Receive Maximum
 * we advertised [MQTT-3.3.4-9]. Recorded as an issue once per connection, not a disconnection:
 * Mosquitto 2.0.11 was measured doing it at QoS 2 in plain streams (128 unacknowledged against a
 * Receive Maximum of 2), so a client that disconnected would never keep a connection to it. What
 * bounds memory meanwhile is the client's own flow control (`maxUnacked`: it stops reading).
 *
 * @example
 * const client = new MqttClient5({ ...options, logger: (issue) => issue.error.code === RECEIVE_MAXIMUM_EXCEEDED && console.warn(issue.error.message) });
 */
export const RECEIVE_MAXIMUM_EXCEEDED = 'UMQTT_RECEIVE_MAXIMUM_EXCEEDED';
/**
 * A store is damaged, place `store`. Recorded once as an issue of the robust client built on a
 * store that reported damage (`Store.damage`): each message it lost gets the final status
 * `dropped`, reason `damaged in the store`. Thrown by a persistent store that cannot read its
 * log at all (FlashStore: no log header readable, yet blocks hold records).
 *
 * @example
 * if (client.issues.some((i) => i.error.code === STORE_DAMAGED)) alert('queue storage damaged');
 */
export const STORE_DAMAGED = 'UMQTT_STORE_DAMAGED';
/**
 * `Store.add()` cannot hold the message (by count, by bytes, by its size, by flash), place
 * `store`; the store is left as it was. The robust client gives the message the final status
 * `rejected` with this code as the reason.
 *
 * @example
 * try { store.add(message); } catch (e) { if ((e as UmqttError).code === STORE_FULL) dropOldest(); }
 */
export const STORE_FULL = 'UMQTT_STORE_FULL';
/**
 * A change to a store after its `close()`, place `store`.
 *
 * @example
 * store.close(); store.add(message); // throws UmqttError { code: STORE_CLOSED }
 */
export const STORE_CLOSED = 'UMQTT_STORE_CLOSED';

/**
 * A UmqttError from its fields in order: code, message, place, and the return code or clause
 * where one applies. The session's, and `@umqtt/simple`'s (one helper in a bundle, not one per package).
 *
 * @internal
 */
export function sessionError(
  code: string,
  message: string,
  place: string,
  reasonCode?: number,
  clause?: string,
): UmqttError {
  return new UmqttError({ code, message, clause, reasonCode, place });
}
