// Error codes of @umqtt/robust, each declared once. Every error is a UmqttError (from
// @umqtt/codec); the codes of a connection (timeouts, refusals, lost connections) are
// @umqtt/simple's and reach the robust client's issues as simple reports them.

/**
 * `backoff.maxAttempts` failed connection attempts in a row: the client stopped trying (state `closed`).
 *
 * @example
 * client.onState = (s) => s === 'closed' && client.lastIssue?.error.code === GAVE_UP && alert('broker unreachable');
 */
export const GAVE_UP = 'UMQTT_GAVE_UP';
/**
 * The broker refused a subscription (SUBACK 0x80): recorded with the filters it refused.
 *
 * @example
 * for (const issue of client.issues) if (issue.error.code === SUBSCRIBE_REFUSED) console.warn(issue.error.message);
 */
export const SUBSCRIBE_REFUSED = 'UMQTT_SUBSCRIBE_REFUSED';
/**
 * No acknowledgement within `messageTimeout`: recorded; the message stays in flight and is
 * resent with DUP on the next connection.
 *
 * @example
 * for (const issue of client.issues) if (issue.error.code === ACK_TIMEOUT) slowBroker++;
 */
export const ACK_TIMEOUT = 'UMQTT_ACK_TIMEOUT';
/**
 * The store reported damage when the client was built (`Store.damage`): recorded once, place
 * `store`; each message it lost gets the final status `dropped`, reason `damaged in the store`.
 *
 * @example
 * if (client.issues.some((i) => i.error.code === STORE_DAMAGED)) alert('queue storage damaged');
 */
export const STORE_DAMAGED = 'UMQTT_STORE_DAMAGED';
