// Bundle: sessions that survive the network (@umqtt/robust: reconnect with backoff, offline
// queue with policies and presets) with the in-memory store, and the Moddable adapters.
export { RobustClient, PRESETS } from '@umqtt/robust';
export { MemoryStore } from '@umqtt/store-memory';
export { tcpSocketFactory, moddableTimers } from '../device/index.js';
