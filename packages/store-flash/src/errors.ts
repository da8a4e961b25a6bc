// Error codes of @umqtt/store-flash. Every error is a UmqttError (from @umqtt/codec) with one of
// these codes: the Store contract's (declared in @umqtt/session, re-exported here), this store's
// own, and the simulated flash's. Each entry says what the code means and its place.
// Misuse (options that do not fit the partition, a flash access out of range) is @umqtt/codec's
// INVALID_ARGUMENT.
export { STORE_FULL, STORE_CLOSED, STORE_DAMAGED } from '@umqtt/session';

/**
 * The partition holds something that is not a umqtt queue (no block header of any format
 * version, and not erased): a zeroed or random partition, another program's data, a file that is
 * not a queue. Thrown by the constructor, place `store`. Nothing was changed; `reset: true`
 * erases it.
 *
 * @example
 * try { store = new FlashStore(flash); }
 * catch (e) { if ((e as UmqttError).code === STORE_FOREIGN) store = new FlashStore(flash, { reset: true }); }
 */
export const STORE_FOREIGN = 'UMQTT_STORE_FOREIGN';
/**
 * The partition holds a umqtt queue in another on-flash format version than this one reads (an
 * older one, or a newer one). Thrown by the constructor, place `store`. Nothing was changed: read
 * it with the version that wrote it, or open it with `reset: true` (its messages are lost).
 *
 * @example
 * catch (e) { if ((e as UmqttError).code === STORE_VERSION) console.log(e.message); // names both versions }
 */
export const STORE_VERSION = 'UMQTT_STORE_VERSION';
/**
 * A `SimulatedFlash` lost power (a cut armed with `cutPowerAfter`): the `PowerLoss`
 * thrown from the flash operation it cut, place `flash`.
 *
 * @example
 * try { workload(store); } catch (e) { if ((e as UmqttError).code !== POWER_LOSS) throw e; }
 */
export const POWER_LOSS = 'UMQTT_POWER_LOSS';
