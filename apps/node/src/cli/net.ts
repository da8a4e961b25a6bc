// Sockets for the command line: the transport's node:net / node:tls adapter, plus what a
// command needs around it: the raw error of the last failed socket (the client keeps only its
// text) and a way to wait until every byte was handed to the operating system before closing.
import { connect as netConnect, type Socket as NetSocket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { Issue, SocketFactory } from '@umqtt/simple';
import { nodeTimers } from '../transport/timers.js';
import { adaptNodeSocket } from '../transport/adapt.js';
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
  let current: NetSocket | undefined;
  let last: unknown;
  const tlsBase: ConnectionOptions = { rejectUnauthorized: !c.insecure };
  if (c.ca) tlsBase.ca = c.ca;
  if (c.cert) tlsBase.cert = c.cert;
  if (c.key) tlsBase.key = c.key;

  const factory: SocketFactory = (options) => {
    last = undefined;
    log?.(`opening ${c.tls ? 'TLS' : 'TCP'} connection to ${options.host}:${options.port}`);
    const socket = c.tls
      ? tlsConnect({ ...tlsBase, host: options.host, port: options.port })
      : netConnect({ host: options.host, port: options.port });
    current = socket;
    return adaptNodeSocket(
      socket,
      {
        ...options,
        onError(error) {
          last = error;
          if (current === socket) current = undefined;
          options.onError(error);
        },
      },
      c.tls ? 'secureConnect' : 'connect',
    );
  };

  return {
    factory,
    lastError: () => last,
    drained(ms = 5000) {
      const socket = current;
      if (!socket || socket.destroyed || socket.writableLength === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        const poll = setInterval(() => (socket.destroyed || socket.writableLength === 0) && done(), 5);
        function done() {
          clearTimeout(timer);
          clearInterval(poll);
          resolve();
        }
      });
    },
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

/** The client options every command shares: socket, clock, identity, session, will, logging. */
export function sessionOptions(c: ConnectionConfig, connector: Connector, log?: (line: string) => void) {
  return {
    socket: connector.factory,
    timers: nodeTimers,
    clientId: c.clientId,
    username: c.username,
    password: c.password,
    keepAlive: c.keepAlive,
    clean: c.clean,
    will: c.will,
    maxPacketSize: MAX_PACKET,
    logger: log && ((issue: Issue) => log(`${issue.place}: ${issue.error.code}: ${issue.error.message}`)),
  };
}
