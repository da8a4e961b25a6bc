// What a device bundle changes in the libraries' defaults.
import { RobustClient as Robust, type RobustOptions } from '@umqtt/robust';
import { MqttClient as Client, type ClientOptions } from '@umqtt/simple';

/**
 * The largest packet a device bundle's client sends or accepts unless told otherwise: 8 KiB
 * (the libraries default to 1 MiB, which a device with ~300 KB of RAM cannot hold). A received
 * packet is held whole until it is handled; one sent goes out in pieces of the socket's room.
 */
export const DEVICE_MAX_PACKET = 8192;

/** `@umqtt/simple`'s MqttClient with `maxPacketSize` 8 KiB by default. */
export class MqttClient extends Client {
  constructor(options: ClientOptions) {
    super({ ...options, maxPacketSize: options.maxPacketSize ?? DEVICE_MAX_PACKET });
  }
}

/** `@umqtt/robust`'s RobustClient with `maxPacketSize` 8 KiB by default. */
export class RobustClient extends Robust {
  constructor(options: RobustOptions) {
    super({ ...options, maxPacketSize: options.maxPacketSize ?? DEVICE_MAX_PACKET });
  }
}
