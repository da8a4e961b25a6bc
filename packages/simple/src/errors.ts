// Error codes of @umqtt/simple, each declared once with what it means and its place. Every
// error is a UmqttError (from @umqtt/codec) with one of these codes (or, for bad input, one of
// the codec's) and the place it happened.

// What the session core decides (refusals, protocol errors, deadlines, ids and the window).
export {
  CONNACK_CODES,
  CONNECT_TIMEOUT,
  KEEPALIVE_TIMEOUT,
  PROTOCOL_ERROR,
  NO_PACKET_ID,
  QUEUE_FULL,
  TOO_LARGE,
  UNKNOWN_ID,
} from '@umqtt/session';

/**
 * The connection closed or failed (socket error, reset, peer closed). Place `connect` (the
 * socket could not be opened, or closed before CONNACK), `read` or `write`.
 *
 * @example
 * client.onClose = (error) => { if (error?.code === CONNECTION_LOST) scheduleReconnect(); };
 */
export const CONNECTION_LOST = 'UMQTT_CONNECTION_LOST';
/**
 * The socket could not take our bytes for longer than `socketTimeout`.
 *
 * @example
 * client.onClose = (error) => { if (error?.code === WRITE_TIMEOUT) console.log('the socket stayed full'); };
 */
export const WRITE_TIMEOUT = 'UMQTT_WRITE_TIMEOUT';
/**
 * A call that needs a connection was made while not connected.
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
 * The broker keeps sending but stopped reading: more acknowledgements and pings wait to be
 * written than the client holds (64 KiB); the connection ends instead of growing memory.
 * Place `write`.
 *
 * @example
 * client.onClose = (error) => { if (error?.code === SLOW_READER) console.log('broker stopped reading'); };
 */
export const SLOW_READER = 'UMQTT_SLOW_READER';
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
 * MQTT 5: no response to `MqttClient5.request()` within its timeout, place `request`.
 *
 * @example
 * client.request('svc/time', '', { responseTopic: 'me/replies' }).catch((e) => e.code === REQUEST_TIMEOUT && retry());
 */
export const REQUEST_TIMEOUT = 'UMQTT_REQUEST_TIMEOUT';

/** A UmqttError with one of this package's codes, where it happened (the session's helper; not exported by the package). */
export { sessionError as error } from '@umqtt/session';
