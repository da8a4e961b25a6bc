import { connect } from 'node:net';
import type { SocketFactory } from '@umqtt/simple';
import { adaptNodeSocket, type NodeSocket } from './adapt.js';

/**
 * Plain TCP sockets over node:net (Nagle off) for `@umqtt/simple` and `@umqtt/robust`.
 *
 * @example
 * const client = new MqttClient({ socket: createTcpSocketFactory(), timers: nodeTimers, host: 'localhost' });
 */
export function createTcpSocketFactory(): SocketFactory {
  return (options): NodeSocket =>
    adaptNodeSocket(connect({ host: options.host, port: options.port }), options, 'connect');
}
