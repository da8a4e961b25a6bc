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
