// MQTT over WebSocket (MQTT 3.1.1 section 6) on the `ws` package, adapted to the ECMA-419
// style Socket of @umqtt/simple: subprotocol `mqtt`, binary frames only, the endpoint's path,
// extra upgrade headers, and a hook that may rebuild the URL before every connection.
import type { SocketFactory } from '@umqtt/simple';
import { WebSocket } from 'ws';
import { WEBSOCKET_PROTOCOL, nodeError } from '../errors.js';
import { Inbox, SocketClosedError, WRITE_BUFFER, type NodeSocket } from './adapt.js';
import { tlsConnectionOptions, type TlsOptions } from './tls.js';

/**
 * Settings of MQTT over WebSocket (ws:// and wss://). The TLS settings apply to wss://.
 *
 * @example
 * const options: WebSocketOptions = {
 *   secure: true,
 *   path: '/mqtt',
 *   headers: { Authorization: `Bearer ${token}` },
 *   transformUrl: async (url) => presign(url), // signed afresh before every (re)connect
 * };
 */
export interface WebSocketOptions extends TlsOptions {
  /** wss:// (TLS) instead of ws://. Default false. */
  secure?: boolean | undefined;
  /** Path and query of the endpoint, e.g. `/mqtt`. Default `/`. */
  path?: string | undefined;
  /** Extra HTTP headers of the upgrade request (Authorization, Cookie, ...). */
  headers?: Record<string, string> | undefined;
  /**
   * Called before each connection (the first and every reconnect) with the URL about to be
   * opened; returns, or resolves to, the URL to open instead. A presigned URL (AWS SigV4 style)
   * that expires is signed afresh for every connection this way. A throw or rejection fails
   * that connection attempt.
   */
  transformUrl?: ((url: string) => string | Promise<string>) | undefined;
}

/** WebSocket close codes: 1000 normal closure. */
const NORMAL_CLOSURE = 1000;

/**
 * MQTT over WebSocket for `@umqtt/simple` and `@umqtt/robust`: each connection opens
 * `ws[s]://host:port/path` with the subprotocol `mqtt` and carries the MQTT bytes in binary
 * frames. A broker that picks no subprotocol, or sends a text frame, fails the connection
 * ({@link WEBSOCKET_PROTOCOL}); an HTTP refusal of the upgrade reaches onError as `ws` reports it
 * (`Unexpected server response: 401`).
 *
 * @example
 * const client = new MqttClient({ socket: createWebSocketFactory({ path: '/mqtt' }), timers: nodeTimers, host: 'localhost', port: 8080 });
 */
export function createWebSocketFactory(wsOptions: WebSocketOptions = {}): SocketFactory {
  const { secure = false, path = '/', headers, transformUrl } = wsOptions;
  const tls = secure ? tlsConnectionOptions(wsOptions) : {};
  const scheme = secure ? 'wss' : 'ws';
  return (options): NodeSocket => {
    const inbox = new Inbox();
    let ws: WebSocket | undefined;
    let done = false; // onError was called, or close() was called: no more callbacks
    let full = false; // a write left no room: onWritable is owed once sends complete
    const room = () => WRITE_BUFFER - (ws?.bufferedAmount ?? 0);
    const fail = (error: unknown) => {
      if (done) return;
      done = true;
      options.onError(error);
    };
    const sent = () => {
      if (full && !done && room() > 0) {
        full = false;
        options.onWritable(room());
      }
    };
    const open = (url: string) => {
      if (done) return;
      const socket = (ws = new WebSocket(url, 'mqtt', { ...tls, headers, perMessageDeflate: false }));
      socket.binaryType = 'nodebuffer';
      socket.on('open', () => {
        if (done) return;
        if (socket.protocol !== 'mqtt') {
          fail(
            nodeError(
              WEBSOCKET_PROTOCOL,
              `${url} did not accept the WebSocket subprotocol "mqtt" (got "${socket.protocol}")`,
              'connect',
              'MQTT-6.0.0-3',
            ),
          );
          socket.terminate();
          return;
        }
        options.onWritable(room());
      });
      socket.on('message', (data: Buffer, isBinary: boolean) => {
        if (done) return;
        if (!isBinary) {
          fail(
            nodeError(
              WEBSOCKET_PROTOCOL,
              'the broker sent a text frame; MQTT travels in binary frames',
              'read',
              'MQTT-6.0.0-1',
            ),
          );
          socket.terminate();
          return;
        }
        options.onReadable(inbox.push(data));
      });
      socket.on('error', fail);
      socket.on('close', (code: number, reason: Buffer) =>
        fail(new SocketClosedError(`WebSocket close ${code}${reason.length ? ` ${reason.toString()}` : ''}`)),
      );
    };
    const base = `${scheme}://${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}${path}`;
    // Never a callback inside the factory: the URL (and any error opening it) comes a microtask later.
    Promise.resolve()
      .then(() => (transformUrl ? transformUrl(base) : base))
      .then(open)
      .catch(fail);
    return {
      get pending() {
        return ws?.bufferedAmount ?? 0;
      },
      read: () => inbox.take(),
      write(bytes) {
        // Taken over as the Socket contract says: `ws` frames a view of the bytes, no copy here.
        ws!.send(bytes, { binary: true }, sent);
        const left = room();
        if (left <= 0) full = true;
        return left;
      },
      close() {
        done = true;
        inbox.clear();
        const socket = ws;
        if (!socket || socket.readyState === WebSocket.CLOSED) return;
        if (socket.readyState === WebSocket.CONNECTING) return socket.terminate();
        // What write() accepted still goes out, then the closing handshake; a peer that does
        // not finish it within 5 s gets the connection dropped.
        socket.close(NORMAL_CLOSURE);
        setTimeout(() => socket.terminate(), 5000).unref();
      },
    };
  };
}
