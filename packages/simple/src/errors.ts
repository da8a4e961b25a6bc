// Error codes of @umqtt/simple, each declared once with what it means and its place. Every
// error is a UmqttError (from @umqtt/codec) with one of these codes (or, for bad input, one of
// the codec's) and the place it happened.
import { UmqttError } from '@umqtt/codec';

/**
 * CONNACK refusals by return code: 1..5 [MQTT-3.2.2.3]; `connect()` rejects with one, place
 * `connect`, `reasonCode` the return code.
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
 * The connection closed or failed (socket error, reset, peer closed). Place `connect` (the
 * socket could not be opened, or closed before CONNACK), `read` or `write`.
 *
 * @example
 * client.onClose = (error) => { if (error?.code === CONNECTION_LOST) scheduleReconnect(); };
 */
export const CONNECTION_LOST = 'UMQTT_CONNECTION_LOST';
/**
 * No CONNACK within `connectTimeout`. Place `connect`.
 *
 * @example
 * try { await client.connect(); } catch (e) { if ((e as UmqttError).code === CONNECT_TIMEOUT) tryNextBroker(); }
 */
export const CONNECT_TIMEOUT = 'UMQTT_CONNECT_TIMEOUT';
/**
 * Nothing received for 1.5 x keepAlive: the connection is dead (half-open); or no PINGRESP
 * within keepAlive of PINGREQ. Place `keepalive`.
 *
 * @example
 * client.onClose = (error) => { if (error?.code === KEEPALIVE_TIMEOUT) console.log('half-open connection detected'); };
 */
export const KEEPALIVE_TIMEOUT = 'UMQTT_KEEPALIVE_TIMEOUT';
/**
 * The socket could not take our bytes for longer than `socketTimeout`. Place `write`.
 *
 * @example
 * client.onClose = (error) => { if (error?.code === WRITE_TIMEOUT) console.log('the socket stayed full'); };
 */
export const WRITE_TIMEOUT = 'UMQTT_WRITE_TIMEOUT';
/**
 * The broker broke the protocol (a packet it must not send, an ack of the wrong kind...). Place
 * `read` (`connect` while connecting; `subscribe` for a SUBACK that does not fit its SUBSCRIBE).
 *
 * @example
 * client.onClose = (error) => { if (error?.code === PROTOCOL_ERROR) console.log('broker broke MQTT at', error.place); };
 */
export const PROTOCOL_ERROR = 'UMQTT_PROTOCOL_ERROR';
/**
 * A call that needs a connection was made while not connected: thrown at once, place the
 * call (`publish`, `subscribe`, `unsubscribe`).
 *
 * @example
 * if (client.state !== 'connected') console.log('publish() would throw', NOT_CONNECTED);
 */
export const NOT_CONNECTED = 'UMQTT_NOT_CONNECTED';
/**
 * `connect()` while connecting or connected: it rejects, place `connect`.
 *
 * @example
 * client.connect().catch((e: UmqttError) => e.code === ALREADY_CONNECTED && console.log('already connecting'));
 */
export const ALREADY_CONNECTED = 'UMQTT_ALREADY_CONNECTED';
/**
 * All 65535 packet identifiers are in use: thrown at once, place the call.
 *
 * @example
 * try { client.publish('t', 'x', { qos: 1 }); } catch (e) { if ((e as UmqttError).code === NO_PACKET_ID) waitForAcks(); }
 */
export const NO_PACKET_ID = 'UMQTT_NO_PACKET_ID';
/**
 * More messages wait locally than `maxQueued` allows: thrown at once, place `publish`.
 *
 * @example
 * try { client.publish('log', line, { qos: 1 }); } catch (e) { if ((e as UmqttError).code === QUEUE_FULL) dropped++; }
 */
export const QUEUE_FULL = 'UMQTT_QUEUE_FULL';
/**
 * A payload (or packet) is larger than `maxPacketSize`: thrown at once, place `publish`.
 *
 * @example
 * try { client.publish('img', hugeBytes); } catch (e) { (e as UmqttError).code === TOO_LARGE; } // over maxPacketSize
 */
export const TOO_LARGE = 'UMQTT_PAYLOAD_TOO_LARGE';
/**
 * The broker keeps sending but stopped reading: more acknowledgements and pings wait to be
 * written than the client holds (64 KiB); the connection ends instead of growing memory.
 * Place `write`.
 *
 * @example
 * client.onClose = (error) => { if (error?.code === SLOW_READER) console.log('broker stopped reading'); };
 */
export const SLOW_READER = 'UMQTT_SLOW_READER';
/**
 * An acknowledgement for a packet id the client does not track (a repeated PUBCOMP, an ack of
 * an earlier connection): recorded as an issue and ignored (a PUBREC is answered with PUBREL).
 * Place `read`.
 *
 * @example
 * const client = new MqttClient({ ...options, logger: (issue) => issue.error.code === UNKNOWN_ID && console.log(issue.error.message) });
 */
export const UNKNOWN_ID = 'UMQTT_UNKNOWN_ID';
/**
 * An application callback (onMessage, onStatus, onClose...) threw: recorded as an issue, never
 * thrown into the protocol. Place: the callback's name.
 *
 * @example
 * for (const issue of client.issues) if (issue.error.code === CALLBACK_ERROR) console.error(issue.error.message);
 */
export const CALLBACK_ERROR = 'UMQTT_CALLBACK_ERROR';
/**
 * Something the client did not expect was thrown inside it (a platform call that failed in an
 * unforeseen way): the connection ends with this code instead of the exception escaping.
 * Place: where it was caught (`read`, `write`, `keepalive`...).
 *
 * @example
 * client.onClose = (error) => { if (error?.code === INTERNAL) report(error.message); };
 */
export const INTERNAL = 'UMQTT_INTERNAL';

/**
 * Makes a {@link UmqttError} with one of this package's codes: `code`, message, the `place`
 * (connect, publish, read...) and, for a CONNACK refusal, the broker's return code. The
 * client uses it for its own errors; code built on top of it can too.
 *
 * @example
 * throw error(NOT_CONNECTED, 'publish while not connected', 'publish');
 */
export function error(code: string, message: string, place: string, reasonCode?: number, clause?: string): UmqttError {
  return new UmqttError({ code, message, clause, reasonCode, place });
}
