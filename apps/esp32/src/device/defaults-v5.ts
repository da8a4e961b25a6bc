// What a device bundle changes in the MQTT 5 client's defaults (a module of its own, so that the
// 3.1.1 bundles never reach @umqtt/simple/v5).
import { MqttClient5 as Client5, type Client5Options } from '@umqtt/simple/v5';
import { DEVICE_MAX_PACKET } from './defaults.js';

/** `@umqtt/simple/v5`'s MqttClient5 with `maxPacketSize` 8 KiB by default (see DEVICE_MAX_PACKET). */
export class MqttClient5 extends Client5 {
  constructor(options: Client5Options) {
    super({ ...options, maxPacketSize: options.maxPacketSize ?? DEVICE_MAX_PACKET });
  }
}
