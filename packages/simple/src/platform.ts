// What a platform injects into @umqtt/simple: a socket shaped like the ECMA-419 (TC53) TCP
// socket that Moddable provides natively, and a clock with timers. Nothing else.

/** Options given to a socket factory. The callbacks follow ECMA-419's TCP socket. */
export interface SocketOptions {
  host: string;
  port: number;
  /** Bytes are waiting; call `read()` to take them. */
  onReadable(count: number): void;
  /** The socket can take `count` more bytes. The first call means "connected". */
  onWritable(count: number): void;
  /** The connection failed or ended (reset, closed by the peer, TLS failure...). Called once. */
  onError(error?: unknown): void;
}

/** An open (or opening) byte stream, ECMA-419 style. */
export interface Socket {
  /** All bytes available now, or undefined when none. The returned bytes are owned by the caller. */
  read(): ArrayBuffer | Uint8Array | undefined;
  /** Queues all of `bytes`; returns how many more bytes may be written before waiting for onWritable. */
  write(bytes: Uint8Array): number;
  /** Closes at once. No callback is called after close(). */
  close(): void;
}

/** Opens a socket. Must not call any callback synchronously from inside the factory. */
export type SocketFactory = (options: SocketOptions) => Socket;

/** Time, injected so keepalive, timeouts and backoff can be tested with a fake clock. */
export interface Timers {
  /** Milliseconds, monotonic. */
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}
