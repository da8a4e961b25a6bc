// @umqtt/simple: one MQTT 3.1.1 connection over an injected socket and clock.
/**
 * One MQTT 3.1.1 connection for a device (ESP32 on Moddable's XS) or Node.js: CONNECT to
 * DISCONNECT, QoS 0/1/2 both ways, keepalive with half-open detection, a bounded in-flight
 * window and a delivery status per packet id. It touches no platform API: give it a socket
 * shaped like ECMA-419's TCP socket ({@link SocketFactory}) and a clock ({@link Timers}).
 *
 * ```sh
 * npm install @umqtt/simple
 * ```
 *
 * @example
 * ```ts
 * import { MqttClient } from '@umqtt/simple';
 *
 * const client = new MqttClient({ socket: tcp, timers, host: 'localhost', clientId: 'sensor-42' });
 * client.onMessage = ({ topic, payload }) => console.log(topic, new TextDecoder().decode(payload));
 * client.onStatus = (id, status) => console.log('packet', id, status);
 * await client.connect();
 * client.subscribe('commands/42/#', 1);
 * client.publish('sensors/42/temperature', '21.5', { qos: 1 });
 * ```
 *
 * @module @umqtt/simple
 */
export {
  MqttClient,
  payloadBytes,
  type ClientOptions,
  type Protocol,
  type PublishOptions,
  type Message,
  type Status,
  type State,
  type Issue,
} from './client.js';
export {
  CONNACK_CODES,
  CONNECT_TIMEOUT,
  KEEPALIVE_TIMEOUT,
  PROTOCOL_ERROR,
  NO_PACKET_ID,
  QUEUE_FULL,
  TOO_LARGE,
  UNKNOWN_ID,
  CONNECTION_LOST,
  WRITE_TIMEOUT,
  NOT_CONNECTED,
  ALREADY_CONNECTED,
  SLOW_READER,
  CALLBACK_ERROR,
  INTERNAL,
} from './errors.js';
export type { Socket, SocketFactory, SocketOptions, Timers } from './platform.js';
