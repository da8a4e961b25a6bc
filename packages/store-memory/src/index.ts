// @umqtt/store-memory: the in-memory Store for @umqtt/robust.
/**
 * The in-memory {@link MemoryStore} for `@umqtt/robust`: fast, bounded by a byte budget, gone
 * when the process or device stops.
 *
 * ```sh
 * npm install @umqtt/store-memory
 * ```
 *
 * @example
 * ```ts
 * import { RobustClient } from '@umqtt/robust';
 * import { MemoryStore } from '@umqtt/store-memory';
 *
 * const client = new RobustClient({ ...options, store: new MemoryStore({ capacity: 256 * 1024 }) });
 * ```
 *
 * @module @umqtt/store-memory
 */
export { MemoryStore, type MemoryStoreOptions } from './memory-store.js';
