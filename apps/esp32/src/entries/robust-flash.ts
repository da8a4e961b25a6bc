// Bundle: sessions that survive the network and a reboot: @umqtt/robust with the power-cut-safe
// store on a NOR flash partition (@umqtt/store-flash), and the Moddable adapters (socket,
// timers, and `moddableFlash` for a `flash` partition).
export { RobustClient, PRESETS } from '@umqtt/robust';
export { FlashStore, moddableFlash } from '@umqtt/store-flash';
export { tcpSocketFactory, moddableTimers } from '../device/index.js';
