// Sockets for the command line: the package's TCP, TLS and WebSocket transports (chosen from
// the URL), plus what a command needs around them: the raw error of the last failed socket (the
// client keeps only its text) and a way to wait until every byte was handed to the operating
// system before closing.
import { RobustClient, type RobustOptions } from '@umqtt/robust';
import { RobustClient5 } from '@umqtt/robust/v5';
import type { Issue, SocketFactory } from '@umqtt/simple';
import { mqtt5 } from '@umqtt/simple/v5';
import { socketFactoryFor } from '../connect.js';
import { drained, type NodeSocket } from '../transport/adapt.js';
import { nodeTimers } from '../transport/timers.js';
import type { ConnectionConfig } from './args.js';

export interface Connector {
  /** Opens TCP or TLS sockets as the configuration says. */
  factory: SocketFactory;
  /** What the most recent socket reported to onError (a Node error with `code`), if anything. */
  lastError(): unknown;
  /** Resolves once the current socket has no bytes waiting in Node (or after `ms`). */
  drained(ms?: number): Promise<void>;
}

export function createConnector(c: ConnectionConfig, log?: (line: string) => void): Connector {
  let current: NodeSocket | undefined;
  let last: unknown;
  const open = socketFactoryFor(
    { scheme: c.scheme, tls: c.tls, websocket: c.websocket, path: c.path },
    { ca: c.ca, cert: c.cert, key: c.key, rejectUnauthorized: c.tls ? !c.insecure : undefined },
  );
  const kind = c.websocket ? (c.tls ? 'WebSocket (TLS)' : 'WebSocket') : c.tls ? 'TLS' : 'TCP';

  const factory: SocketFactory = (options) => {
    last = undefined;
    log?.(`opening ${kind} connection to ${options.host}:${options.port}${c.websocket ? c.path : ''}`);
    const socket = open({
      ...options,
      onError(error) {
        last = error;
        if (current === socket) current = undefined;
        options.onError(error);
      },
    }) as NodeSocket;
    current = socket;
    return socket;
  };

  return {
    factory,
    lastError: () => last,
    drained: (ms) => drained(current, ms),
  };
}

/**
 * Sends DISCONNECT once every byte before it was handed to the operating system, waits (at
 * most `ms`) for the client to close and the socket to drain: the process may exit after.
 */
export async function closeGracefully(
  client: { disconnect(): void; readonly state: string },
  connector: Connector,
  ms = 5000,
): Promise<void> {
  if (client.state !== 'connected') return;
  await connector.drained(ms);
  client.disconnect();
  const deadline = Date.now() + ms;
  while (client.state === 'connected' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  await connector.drained(Math.max(0, deadline - Date.now()));
}

/** Largest packet the command line sends or accepts: the protocol's maximum. */
export const MAX_PACKET = 268_435_455 + 5;

/**
 * The client options every command shares: socket, clock, identity, session, will, logging; with
 * -V 5, MQTT 5 (its protocol, CONNECT's and the will's -D properties).
 */
export function sessionOptions(c: ConnectionConfig, connector: Connector, log?: (line: string) => void) {
  const v5 = c.version === 5;
  return {
    protocol: v5 ? mqtt5() : undefined,
    properties: v5 ? c.properties.connect : undefined,
    socket: connector.factory,
    timers: nodeTimers,
    clientId: c.clientId,
    username: c.username,
    password: c.password,
    keepAlive: c.keepAlive,
    clean: c.clean,
    will: c.will && (v5 ? { ...c.will, properties: c.properties.will } : c.will),
    maxPacketSize: MAX_PACKET,
    logger: log && ((issue: Issue) => log(`${issue.place}: ${issue.error.code}: ${issue.error.message}`)),
  };
}

/**
 * A command's reconnecting client: `RobustClient`, or with -V 5 `RobustClient5` (the broker's
 * refusals decided by its table, the session kept for CONNECT's session-expiry-interval, never
 * expiring when -D gives none, as mosquitto_sub's -c keeps it).
 */
export function robustClient(c: ConnectionConfig, options: RobustOptions): RobustClient {
  if (c.version !== 5) return new RobustClient(options);
  const { sessionExpiryInterval, ...connect } = c.properties.connect as { sessionExpiryInterval?: number };
  const { protocol: _protocol, ...rest } = options; // (RobustClient5 brings MQTT 5's own)
  return new RobustClient5({ ...rest, properties: connect, sessionExpiry: sessionExpiryInterval });
}
