import { connect } from 'node:net';
import type { SocketFactory } from '@umqtt/simple';
import { adaptNodeSocket } from './adapt.js';

/** Plain TCP sockets over node:net, with Nagle off. */
export function createTcpSocketFactory(): SocketFactory {
  return (options) => adaptNodeSocket(connect({ host: options.host, port: options.port }), options, 'connect');
}
