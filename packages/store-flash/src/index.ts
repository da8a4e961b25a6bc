// @umqtt/store-flash: a power-cut-safe, log-structured message store on NOR flash for @umqtt/robust.
export { FlashStore, RECORD_OVERHEAD, INDEX_BYTES_PER_MESSAGE, type FlashStoreOptions, type FlashStoreStats } from './flash-store.js';
export { moddableFlash, type Flash, type ModdableFlash } from './flash.js';
export { SimulatedFlash, PowerLoss, type SimulatedFlashOptions, type Cut } from './simulated-flash.js';
