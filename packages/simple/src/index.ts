export type { Socket, SocketFactory, SocketOptions, Timers } from './platform.js';
