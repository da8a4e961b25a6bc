// Bundle: sessions that survive the network and a reboot: @umqtt/robust (maxPacketSize 8 KiB by
// default) with the power-cut-safe store on a NOR flash partition (@umqtt/store-flash), and the
// Moddable adapters (socket, timers, and `moddableFlash` for a `flash` partition).
export { PRESETS } from '@umqtt/robust';
export { RobustClient } from '../device/defaults.js';
export { FlashStore, moddableFlash } from '@umqtt/store-flash';
export { tcpSocketFactory, moddableTimers } from '../device/index.js';
