export { SocketClosedError, type NodeSocket } from './adapt.js';
export { createTcpSocketFactory } from './tcp.js';
export { createTlsSocketFactory, type TlsOptions } from './tls.js';
export { createWebSocketFactory, type WebSocketOptions } from './ws.js';
export { parseBrokerUrl, type BrokerAddress } from './url.js';
export { nodeTimers } from './timers.js';
