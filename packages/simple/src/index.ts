// @umqtt/simple: one MQTT 3.1.1 connection over an injected socket and clock.
export { MqttClient, type ClientOptions, type PublishOptions, type Message, type Status, type State, type Issue } from './client.js';
export * from './errors.js';
export type { Socket, SocketFactory, SocketOptions, Timers } from './platform.js';
