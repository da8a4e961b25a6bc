// One adapter from a node:net / node:tls socket to the ECMA-419 style Socket that
// @umqtt/simple consumes. tcp.ts and tls.ts only differ in how they connect.
import type { Socket as NetSocket } from 'node:net';
import type { Socket, SocketOptions } from '@umqtt/simple';
import { SOCKET_CLOSED } from '../errors.js';

/**
 * Bytes the adapter lets wait in Node before write() reports the socket full: larger than one
 * large packet, so a publisher of 16-256 KiB messages is not stopped after each one.
 */
export const WRITE_BUFFER = 256 * 1024;

/**
 * A socket of this package: the ECMA-419 style `Socket` of `@umqtt/simple`, plus how many bytes
 * it accepted that are not yet handed to the operating system (a process that exits before
 * they are loses them).
 *
 * @example
 * const socket = createTcpSocketFactory()(options) as NodeSocket;
 * if (socket.pending === 0) process.exit(0);
 */
export interface NodeSocket extends Socket {
  /** Bytes accepted by write() and still waiting in Node. */
  readonly pending: number;
}

/**
 * The error given to onError when the peer closes the connection without an error.
 *
 * @example
 * client.onClose = (e) => e?.message.includes(SOCKET_CLOSED) && console.log('the broker closed the connection');
 */
export class SocketClosedError extends Error {
  /** Always {@link SOCKET_CLOSED}. */
  readonly code = SOCKET_CLOSED;
  /** @param detail - what the transport knows about the close (a WebSocket close code) */
  constructor(detail?: string) {
    super(detail ? `connection closed by the peer (${detail})` : 'connection closed by the peer');
    this.name = 'SocketClosedError';
  }
}

/**
 * Resolves once a socket of this package has handed every byte it accepted to the operating
 * system (at most `ms`), so a process may exit without cutting its last bytes (DISCONNECT) off.
 * A socket without `pending` (not one of this package's) resolves at once.
 */
export async function drained(socket: Socket | undefined, ms = 5000): Promise<void> {
  const deadline = performance.now() + ms;
  while (socket && ((socket as Partial<NodeSocket>).pending ?? 0) > 0 && performance.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 5));
}

/** Bytes received and not yet read: `take()` hands them over as one array (no copy for one chunk). */
export class Inbox {
  #chunks: Uint8Array[] = [];
  #bytes = 0;
  /** Adds a chunk; returns the bytes now waiting. */
  push(chunk: Uint8Array): number {
    this.#chunks.push(chunk);
    return (this.#bytes += chunk.byteLength);
  }
  take(): Uint8Array | undefined {
    const chunks = this.#chunks;
    if (chunks.length === 0) return undefined;
    const bytes = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, this.#bytes);
    this.clear();
    return bytes;
  }
  clear(): void {
    this.#chunks = [];
    this.#bytes = 0;
  }
}

/**
 * Wraps an already connecting node socket. `connectedEvent` is the event that means
 * "ready to write": 'connect' for TCP, 'secureConnect' for TLS.
 */
export function adaptNodeSocket(
  socket: NetSocket,
  options: SocketOptions,
  connectedEvent: 'connect' | 'secureConnect',
): NodeSocket {
  const inbox = new Inbox();
  let done = false; // onError was called, or close() was called: no more callbacks

  // Room is counted against WRITE_BUFFER, not Node's default high-water mark (16 KiB, which
  // node:tls does not let a caller raise): one large packet must not make the socket "full".
  const limit = Math.max(WRITE_BUFFER, socket.writableHighWaterMark);
  const writable = () => limit - socket.writableLength;
  let corked = false;
  const uncork = () => {
    corked = false;
    if (!socket.destroyed) socket.uncork();
  };
  const fail = (error: unknown) => {
    if (done) return;
    done = true;
    options.onError(error);
  };

  socket.setNoDelay(true);
  socket.on(connectedEvent, () => {
    if (!done) options.onWritable(writable());
  });
  socket.on('drain', () => {
    if (!done) options.onWritable(writable());
  });
  socket.on('data', (chunk: Buffer) => {
    if (done) return;
    options.onReadable(inbox.push(chunk));
  });
  socket.on('error', fail);
  socket.on('end', () => fail(new SocketClosedError()));
  socket.on('close', () => fail(new SocketClosedError()));

  return {
    get pending() {
      return socket.destroyed ? 0 : socket.writableLength;
    },
    read: () => inbox.take(),
    write(bytes) {
      // The writes of one turn (a client's flush) leave in one writev, uncorked after it.
      if (!corked) {
        corked = true;
        socket.cork();
        queueMicrotask(uncork);
      }
      // Taken over as the Socket contract says: Node keeps a view of the caller's bytes, no copy.
      socket.write(bytes);
      return writable();
    },
    close() {
      done = true;
      inbox.clear();
      // Bytes already accepted by write() still go out (a DISCONNECT, the last publish),
      // then FIN; a peer that does not take them within 5 s gets the connection destroyed.
      if (!socket.writableLength || socket.destroyed) socket.destroy();
      else {
        socket.end();
        setTimeout(() => socket.destroy(), 5000).unref();
      }
    },
  };
}
