// The shapes of the Moddable SDK objects the device glue adapts, as far as it uses them.
// Types only: nothing here is imported at run time, so the glue runs on any engine that is
// handed objects of these shapes (the device, or the test bridge in src/bridge/).
//
// What each one does is read from the SDK's sources (Moddable-OpenSource/moddable, 5.0.0 to
// 8.2.3); src/bridge/natives.ts cites the file and version of every behaviour the tests model.

/** Options of Moddable's ECMA-419 TCP socket (`import TCP from "embedded:io/socket/tcp"`). */
export interface TCPOptions {
  /** An IP address literal: the socket does no name lookup (see `DnsOptions`). */
  address: string;
  port: number;
  /** Turns Nagle's algorithm off (small MQTT packets go out at once). */
  nodelay?: boolean;
  /** `count` bytes are waiting; `read()` takes them. */
  onReadable(this: TCP, count: number): void;
  /** The socket takes `count` bytes now (the free send buffer). The first call means "connected". */
  onWritable(this: TCP, count: number): void;
  /** The connection failed or ended; called after the received bytes were read. */
  onError(this: TCP): void;
}

/** An ECMA-419 TCP socket in "buffer" format. */
export interface TCP {
  /** All bytes received, or undefined when none. */
  read(): ArrayBuffer | undefined;
  /**
   * Sends `buffer` (an ArrayBuffer, a Uint8Array or a DataView); throws when it is larger than
   * the free send buffer ("would block") or before the socket is connected ("not ready").
   * Returns the free send buffer after it since SDK 5.3.1; undefined before, and always when the
   * socket has failed (onError follows).
   */
  write(buffer: ArrayBuffer | ArrayBufferView): number | undefined;
  /** Closes; no callback is called after. */
  close(): void;
}

export type TCPConstructor = new (options: TCPOptions) => TCP;

/** A lookup of Moddable's ECMA-419 DNS resolver. */
export interface ResolveRequest {
  host: string;
  onResolved(host: string, address: string): void;
  onError(host: string): void;
}

/** Moddable's ECMA-419 DNS resolver (`import Resolver from "embedded:network/dns/resolver/udp"`). */
export interface Resolver {
  resolve(request: ResolveRequest): void;
  /** Stops the lookups in progress: no callback follows. */
  close(): void;
}

export type ResolverConstructor = new (options: { servers: readonly string[]; socket: { io: unknown } }) => Resolver;

/**
 * How the glue looks up a host name: Moddable's resolver class, its UDP socket, and the DNS
 * servers, asked for at each lookup (`() => Net.get("DNS")`: DHCP may change them when the
 * device joins a network again; `() => ["1.1.1.1"]` for servers of your own).
 */
export interface DnsOptions {
  io: ResolverConstructor;
  socket: { io: unknown };
  servers: () => readonly string[];
}

/**
 * Moddable's ECMA-419 TLS socket (`import TLSSocket from "embedded:io/socket/tcp/tls"`, from
 * `$MODDABLE/examples/io/tcp/tlssocket`): the TCP socket's shape, over a TCP socket it opens
 * itself from `TCP.io`.
 */
export type TLSConstructor = new (
  options: TCPOptions & { host: string; secure?: object | undefined; TCP: { io: TCPConstructor } },
) => TCP;

/** TLS for the glue: the socket class and the options of its session. */
export interface TlsOptions {
  io: TLSConstructor;
  /**
   * The session's options (Moddable's `ssl/session`): `certificate` (the broker's CA, DER, in an
   * ArrayBuffer: `new Resource("ca.der")`), `serverName` (default: the broker host: SNI and the
   * name the certificate must carry), `verify` (default true), `clientCertificates` /
   * `clientKey`.
   */
  secure?: object | undefined;
}

/** Options of `tcpSocketFactory`. */
export interface SocketFactoryOptions {
  /** Host names are looked up with this; without it the broker must be an IP address. */
  dns?: DnsOptions | undefined;
  /** Connections go through TLS. */
  tls?: TlsOptions | undefined;
}

/** Moddable's `timer` module (`import Timer from "timer"`). */
export interface TimerModule {
  set(callback: () => void, delay: number): unknown;
  clear(id: unknown): void;
}

/**
 * Moddable's `time` module (`import Time from "time"`): `ticks` are milliseconds since boot, a
 * signed 32-bit integer on ESP32 (it wraps to negative after 24.8 days).
 */
export interface TimeModule {
  readonly ticks: number;
}
