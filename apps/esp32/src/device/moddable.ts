// The shapes of the Moddable SDK objects the device glue adapts, as far as it uses them.
// Types only: nothing here is imported at run time, so the glue runs on any engine that is
// handed objects of these shapes (the device, or the test bridge in src/bridge/).

/** Options of Moddable's ECMA-419 TCP socket (`import TCP from "embedded:io/socket/tcp"`). */
export interface TCPOptions {
  /** An IP address literal: the socket does no name lookup (see `Resolver`). */
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
   * Sends `buffer`; throws when it is larger than the free send buffer ("would block") or
   * before the socket is connected ("not ready"). Returns the free send buffer after it.
   */
  write(buffer: ArrayBuffer): number | undefined;
  /** Closes; no callback is called after. */
  close(): void;
}

export type TCPConstructor = new (options: TCPOptions) => TCP;

/**
 * An ECMA-419 DNS resolver (`import Resolver from "embedded:network/dns/resolver/udp"`,
 * `new Resolver({ servers: [...], socket: { io: UDP } })`).
 */
export interface Resolver {
  resolve(request: {
    host: string;
    onResolved(host: string, address: string): void;
    onError(host: string): void;
  }): void;
}

/** Moddable's `timer` module (`import Timer from "timer"`). */
export interface TimerModule {
  set(callback: () => void, delay: number): unknown;
  clear(id: unknown): void;
}

/** Moddable's `time` module (`import Time from "time"`): `ticks` are milliseconds since boot. */
export interface TimeModule {
  readonly ticks: number;
}
