// @umqtt/store-memory: the in-memory Store for @umqtt/robust.
export { MemoryStore, type MemoryStoreOptions } from './memory-store.js';
