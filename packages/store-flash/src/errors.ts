// Error codes of @umqtt/store-flash. Every error is a UmqttError (from @umqtt/codec) with one of
// these codes and the place 'store'.

/**
 * `add()` cannot hold the message: by count (`maxRecords`), by `capacity`, by
 * `maxMessageBytes`, or by flash. Store and flash are left as they were.
 *
 * @example
 * try { store.add(message); } catch (e) { if ((e as UmqttError).code === STORE_FULL) dropOldest(); }
 */
export const STORE_FULL = 'UMQTT_STORE_FULL';
/**
 * A change after `close()`.
 *
 * @example
 * store.close(); store.add(message); // throws UmqttError { code: STORE_CLOSED }
 */
export const STORE_CLOSED = 'UMQTT_STORE_CLOSED';
/**
 * The partition holds something that is not a umqtt queue (no block header of any format
 * version, and not erased): a zeroed or random partition, another program's data, a file that is
 * not a queue. Nothing was changed; `reset: true` erases it.
 *
 * @example
 * try { store = new FlashStore(flash); }
 * catch (e) { if ((e as UmqttError).code === STORE_FOREIGN) store = new FlashStore(flash, { reset: true }); }
 */
export const STORE_FOREIGN = 'UMQTT_STORE_FOREIGN';
/**
 * The partition holds a umqtt queue in another on-flash format version than this one reads (an
 * older one, or a newer one). Nothing was changed: read it with the version that wrote it, or
 * open it with `reset: true` (its messages are lost).
 *
 * @example
 * catch (e) { if ((e as UmqttError).code === STORE_VERSION) console.log(e.message); // names both versions }
 */
export const STORE_VERSION = 'UMQTT_STORE_VERSION';
/**
 * The partition holds a umqtt queue whose log cannot be found: no block header of the log is
 * readable, yet blocks hold records. Nothing was changed; `reset: true` starts afresh (its
 * messages are lost).
 *
 * @example
 * catch (e) { if ((e as UmqttError).code === STORE_DAMAGED) alarm('queue unreadable'); }
 */
export const STORE_DAMAGED = 'UMQTT_STORE_DAMAGED';
