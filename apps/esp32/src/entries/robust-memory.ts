// Bundle: sessions that survive the network (@umqtt/robust: reconnect with backoff, offline
// queue with policies and presets; maxPacketSize 8 KiB by default) with the in-memory store,
// and the Moddable adapters.
export { PRESETS } from '@umqtt/robust';
export { RobustClient } from '../device/defaults.js';
export { MemoryStore } from '@umqtt/store-memory';
export { tcpSocketFactory, moddableTimers } from '../device/index.js';
