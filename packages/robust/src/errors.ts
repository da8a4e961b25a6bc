// Error codes of @umqtt/robust, each declared once: the robust client's issues, and the codes
// of the Store contract that every store throws (store-memory, store-flash and stores of one's
// own use these constants). Every error is a UmqttError (from @umqtt/codec); the codes of a
// connection (timeouts, refusals, lost connections) are @umqtt/simple's and reach the robust
// client's issues as simple reports them. Each entry says what the code means and its place.

/**
 * `backoff.maxAttempts` failed connection attempts in a row: the client stopped trying (state
 * `closed`). An issue, place `reconnect`.
 *
 * @example
 * client.onState = (s) => s === 'closed' && client.lastIssue?.error.code === GAVE_UP && alert('broker unreachable');
 */
export const GAVE_UP = 'UMQTT_GAVE_UP';
/**
 * The broker refused a subscription (SUBACK 0x80): an issue naming the filters it refused,
 * `reasonCode` 0x80, place `subscribe`.
 *
 * @example
 * for (const issue of client.issues) if (issue.error.code === SUBSCRIBE_REFUSED) console.warn(issue.error.message);
 */
export const SUBSCRIBE_REFUSED = 'UMQTT_SUBSCRIBE_REFUSED';
/**
 * No acknowledgement within `messageTimeout`: an issue, place `publish`; the message stays in
 * flight and is resent with DUP on the next connection.
 *
 * @example
 * for (const issue of client.issues) if (issue.error.code === ACK_TIMEOUT) slowBroker++;
 */
export const ACK_TIMEOUT = 'UMQTT_ACK_TIMEOUT';
/**
 * MQTT 5: the broker refused a publish with a reason code to retry (quota exceeded, 0x97, by
 * default; see `REFUSALS` of `@umqtt/robust/v5`): the message is held and sent again after a
 * pause. One issue per pause, with the code as `reasonCode` and the pause in the message, place
 * `publish`; not a final status.
 *
 * @example
 * for (const issue of client.issues) if (issue.error.code === REFUSED_RETRYING) slowDown();
 */
export const REFUSED_RETRYING = 'UMQTT_REFUSED_RETRYING';
// The Store contract's codes (STORE_DAMAGED, STORE_FULL, STORE_CLOSED) are declared in
// @umqtt/session beside the Store interface, so a store needs no robust client to throw them.
export { STORE_DAMAGED, STORE_FULL, STORE_CLOSED } from '@umqtt/session';
