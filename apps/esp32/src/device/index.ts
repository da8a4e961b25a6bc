// Device glue for Moddable XS on ESP32: adapters from the device's own socket, DNS resolver,
// timers and flash partition to what the umqtt packages expect. Every bundle in dist/ carries
// the adapters it needs, so a firmware imports one module (see main.js and manifest.json).
export { tcpSocketFactory } from './socket.js';
export { moddableTimers } from './timers.js';
export type {
  DnsOptions,
  ResolveRequest,
  Resolver,
  ResolverConstructor,
  SocketFactoryOptions,
  TCP,
  TCPConstructor,
  TCPOptions,
  TimeModule,
  TimerModule,
  TLSConstructor,
  TlsOptions,
} from './moddable.js';
