// What a platform injects into @umqtt/simple: a socket shaped like the ECMA-419 (TC53) TCP
// socket that Moddable provides natively, and a clock with timers. Nothing else.

/**
 * Options given to a socket factory. The callbacks follow ECMA-419's TCP socket.
 *
 * @example
 * const factory: SocketFactory = (options: SocketOptions) => openTcp(options.host, options.port, {
 *   onData: (count) => options.onReadable(count),
 *   onDrain: (room) => options.onWritable(room),
 *   onFail: (e) => options.onError(e),
 * });
 */
export interface SocketOptions {
  /** Broker host, as given in the client options. */
  host: string;
  /** Broker port. */
  port: number;
  /** Bytes are waiting; call `read()` to take them. */
  onReadable(count: number): void;
  /** The socket can take `count` more bytes. The first call means "connected". */
  onWritable(count: number): void;
  /** The connection failed or ended (reset, closed by the peer, TLS failure...). Called once. */
  onError(error?: unknown): void;
}

/**
 * An open (or opening) byte stream, ECMA-419 style.
 *
 * @example
 * const socket: Socket = {
 *   read: () => takeBufferedBytes(), // Uint8Array or undefined
 *   write: (bytes) => { tcp.write(bytes); return room(); },
 *   close: () => tcp.close(),
 * };
 */
export interface Socket {
  /** All bytes available now, or undefined when none. The returned bytes are owned by the caller. */
  read(): ArrayBuffer | Uint8Array | undefined;
  /**
   * Queues all of `bytes`; returns how many more bytes may be written before waiting for onWritable.
   * Takes `bytes` over: the socket may keep a reference until they are sent instead of copying
   * them (Node's does), and the caller never changes them afterwards. @umqtt/simple writes only
   * arrays it encoded for that write, or a payload the application handed over with
   * `copy: false`, and never reuses their memory.
   */
  write(bytes: Uint8Array): number;
  /** Closes at once. No callback is called after close(). */
  close(): void;
}

/**
 * Opens a socket. Must not call any callback synchronously from inside the factory.
 *
 * @example
 * import { connect } from 'node:net';
 * const tcp: SocketFactory = (options) => {
 *   const s = connect({ host: options.host, port: options.port });
 *   const chunks: Uint8Array[] = [];
 *   s.on('connect', () => options.onWritable(s.writableHighWaterMark));
 *   s.on('data', (c) => { chunks.push(c); options.onReadable(c.length); });
 *   s.on('drain', () => options.onWritable(s.writableHighWaterMark - s.writableLength));
 *   let failed = false; // onError is called once: with the cause when there is one
 *   s.on('error', (e) => { failed = true; options.onError(e); }); // a refused port, a reset
 *   s.on('close', () => failed || options.onError());
 *   return {
 *     read: () => (chunks.length ? Buffer.concat(chunks.splice(0)) : undefined),
 *     write: (bytes) => (s.write(bytes), s.writableHighWaterMark - s.writableLength),
 *     close: () => s.destroy(),
 *   };
 * };
 */
export type SocketFactory = (options: SocketOptions) => Socket;

/**
 * Time, injected so keepalive, timeouts and backoff can be tested with a fake clock.
 *
 * @example
 * const nodeTimers: Timers = {
 *   now: () => performance.now(),
 *   setTimeout: (callback, ms) => setTimeout(callback, ms),
 *   clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
 * };
 */
export interface Timers {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Calls `callback` once after `ms` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels a timer made by `setTimeout` (a handle already fired or cleared is ignored). */
  clearTimeout(handle: unknown): void;
}
