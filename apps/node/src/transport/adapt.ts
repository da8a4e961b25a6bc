// One adapter from a node:net / node:tls socket to the ECMA-419 style Socket that
// @umqtt/simple consumes. tcp.ts and tls.ts only differ in how they connect.
import type { Socket as NetSocket } from 'node:net';
import type { Socket, SocketOptions } from '@umqtt/simple';

/**
 * Bytes the adapter lets wait in Node before write() reports the socket full: larger than one
 * large packet, so a publisher of 16-256 KiB messages is not stopped after each one.
 */
const WRITE_BUFFER = 256 * 1024;

/** The error given to onError when the peer closes the connection without an error. */
export class SocketClosedError extends Error {
  readonly code = 'UMQTT_SOCKET_CLOSED';
  constructor() {
    super('connection closed by the peer');
    this.name = 'SocketClosedError';
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
): Socket {
  const chunks: Uint8Array[] = [];
  let pending = 0;
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
    chunks.push(chunk);
    pending += chunk.byteLength;
    options.onReadable(pending);
  });
  socket.on('error', fail);
  socket.on('end', () => fail(new SocketClosedError()));
  socket.on('close', () => fail(new SocketClosedError()));

  return {
    read() {
      if (chunks.length === 0) return undefined;
      const bytes = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, pending);
      chunks.length = 0;
      pending = 0;
      return bytes;
    },
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
      chunks.length = 0;
      pending = 0;
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
