// @umqtt/node: umqtt for Node.js.
/**
 * umqtt for Node.js: `connect(url)` over `mqtt://`, `mqtts://`, `ws://` and `wss://`, with
 * promises that settle on each message's final status, over `@umqtt/simple` (one connection)
 * or `@umqtt/robust` (a session that reconnects and queues). Also the platform glue those
 * libraries need on Node (TCP, TLS and WebSocket sockets, timers, broker URLs), a file as a
 * flash partition for a persistent queue (`FileFlash`), an embedded broker (with the optional
 * `aedes` package), and the `umqtt` command.
 *
 * ```sh
 * npm install @umqtt/node
 * ```
 *
 * @example
 * ```js
 * import { connect } from '@umqtt/node';
 *
 * const client = connect('mqtts://user:secret@broker.example');
 * client.onMessage = ({ topic, payload }) => console.log(topic, payload.toString());
 * await client.subscribe('greetings/#', 1);
 * await client.publish('greetings/node', 'hello', { qos: 1 }); // 'delivered' at PUBACK
 * await client.end();
 * ```
 *
 * @module @umqtt/node
 */
export { connect, socketFactoryFor, type ConnectOptions, type NodeClient } from './connect.js';
export {
  SimpleNodeClient,
  RobustNodeClient,
  type NodeMessage,
  type NodePublishOptions,
  type PublishResult,
} from './client.js';
export {
  SocketClosedError,
  createTcpSocketFactory,
  createTlsSocketFactory,
  createWebSocketFactory,
  nodeTimers,
  parseBrokerUrl,
  type BrokerAddress,
  type NodeSocket,
  type TlsOptions,
  type WebSocketOptions,
} from './transport/index.js';
export { FileFlash, type FileFlashOptions, type FileFlashFs } from './flash-file.js';
export { networkUp, watchNetwork, type WatchNetworkOptions } from './network.js';
export {
  startEmbeddedBroker,
  type AedesInstance,
  type EmbeddedBroker,
  type EmbeddedBrokerOptions,
  type WebSocketListener,
} from './broker/embedded-broker.js';
export { type ClusterOptions } from './broker/cluster.js';
// The robust client's codes its promises reject with, as the robust client records them.
export { ACK_TIMEOUT, SUBSCRIBE_REFUSED } from '@umqtt/robust';
export {
  ABORTED,
  AEDES_MISSING,
  CLIENT_ENDED,
  CLUSTER_MISSING,
  DROPPED,
  EXPIRED,
  FLASH_CLOSED,
  FLASH_READ,
  FLASH_SYNC,
  INVALID_URL,
  REDIS_UNREACHABLE,
  REJECTED,
  SOCKET_CLOSED,
  WEBSOCKET_PROTOCOL,
} from './errors.js';
