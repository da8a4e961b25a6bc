// @umqtt/store-flash: a power-cut-safe, log-structured message store on NOR flash for @umqtt/robust.
/**
 * A power-cut-safe, log-structured {@link FlashStore} for `@umqtt/robust` on a NOR flash
 * partition (Moddable's `flash` module through {@link moddableFlash}), and
 * {@link SimulatedFlash}, a NOR flash in RAM that can lose power at any operation, for tests.
 *
 * ```sh
 * npm install @umqtt/store-flash
 * ```
 *
 * @example
 * ```ts
 * import Flash from 'flash'; // Moddable
 * import { RobustClient } from '@umqtt/robust';
 * import { FlashStore, moddableFlash } from '@umqtt/store-flash';
 *
 * const store = new FlashStore(moddableFlash(new Flash('storage')));
 * const client = new RobustClient({ ...options, store }); // held messages survive a reboot
 * ```
 *
 * @module @umqtt/store-flash
 */
export {
  FlashStore,
  RECORD_OVERHEAD,
  INDEX_BYTES_PER_MESSAGE,
  type FlashStoreOptions,
  type FlashStoreStats,
} from './flash-store.js';
export { STORE_FULL, STORE_CLOSED, STORE_FOREIGN, STORE_VERSION, STORE_DAMAGED, POWER_LOSS } from './errors.js';
export { moddableFlash, type Flash, type FlashSync, type ModdableFlash } from './flash.js';
export { SimulatedFlash, PowerLoss, type SimulatedFlashOptions, type Cut } from './simulated-flash.js';
