// The embedded broker: aedes on a loopback (or chosen) address, so nobody needs to install a
// broker to try umqtt, over TCP and, if asked, over WebSocket. It can stop listening and come
// back on the same ports while keeping its sessions, subscriptions and retained messages in
// memory (an outage the demo survives). aedes is an optional peer dependency of @umqtt/node,
// loaded only when a broker starts, so a client-only install does not carry it. In cluster mode
// (cluster.ts) several such brokers, in as many processes or machines, share one Redis.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import { AEDES_MISSING, nodeError } from '../errors.js';
import { clusterParts, type ClusterOptions, type ClusterParts } from './cluster.js';

/**
 * Options of {@link startEmbeddedBroker}.
 *
 * @example
 * const options: EmbeddedBrokerOptions = {
 *   port: 1883,
 *   ws: { port: 8080, path: '/mqtt' },
 *   authenticate: (client, username, password) => username === 'admin' && password?.toString() === 'secret',
 * };
 */
export interface EmbeddedBrokerOptions {
  /** Address to listen on. Default 127.0.0.1 (this machine only). */
  host?: string | undefined;
  /** TCP port. Default 0: a free port (read it from `port` afterwards). */
  port?: number | undefined;
  /** Also accept MQTT over WebSocket. */
  ws?: WebSocketListener | undefined;
  /** Every session is clean: a client asking to keep its session gets a fresh one, gone when it disconnects. */
  cleanSessionsOnly?: boolean | undefined;
  /** Accept or refuse a CONNECT; a refusal answers CONNACK return code 4 (bad user name or password). */
  authenticate?:
    ((client: { id: string }, username: string | undefined, password: Buffer | undefined) => boolean) | undefined;
  /**
   * Cluster mode: this broker is one node of several sharing a Redis (needs the packages
   * `mqemitter-redis` and `aedes-persistence-redis`). Messages published on any node reach
   * subscribers on every node; sessions, subscriptions, retained and in-flight QoS 1/2
   * messages live in Redis, so a client whose node is lost resumes its session on another.
   * What this does and does not promise: the package README, "A broker cluster".
   */
  cluster?: ClusterOptions | undefined;
  /** Further aedes options passed as they are (`authorizePublish`, `authorizeSubscribe`, `persistence`, ...). */
  aedes?: Record<string, unknown> | undefined;
}

/**
 * Where {@link startEmbeddedBroker} accepts MQTT over WebSocket.
 *
 * @example
 * const broker = await startEmbeddedBroker({ ws: { port: 8080, path: '/mqtt' } }); // ws://127.0.0.1:8080/mqtt
 */
export interface WebSocketListener {
  /** Port (on the broker's host). Default 0: a free one (read it from `wsPort` afterwards). */
  port?: number | undefined;
  /** The only path accepted, e.g. `/mqtt`. Default: any path. */
  path?: string | undefined;
}

/**
 * The running aedes instance, typed by what this package relies on (cast it to aedes' own
 * `Aedes` type for the rest).
 *
 * @example
 * broker.broker.on('client', (client: { id: string }) => console.log('connected:', client.id));
 */
export interface AedesInstance {
  /** The broker id (in cluster mode `NODE-<start time, base 36>`). */
  readonly id: string;
  /** Clients connected now. */
  readonly connectedClients: number;
  /** aedes' events: `client` and `clientDisconnect` (client), `clientError` (client, error), `publish` (packet, client)... */
  on(event: string, listener: (...args: never[]) => void): unknown;
}

/**
 * A broker started by {@link startEmbeddedBroker}.
 *
 * @example
 * const broker: EmbeddedBroker = await startEmbeddedBroker();
 * await broker.pause(); // an outage: clients lose their connection, sessions stay
 * await broker.resume();
 * await broker.close();
 */
export interface EmbeddedBroker {
  /** The address it listens on. */
  host: string;
  /** The TCP port. */
  readonly port: number;
  /** `mqtt://host:port`. */
  readonly url: string;
  /** The WebSocket port, when `ws` was given. */
  readonly wsPort: number | undefined;
  /** `ws://host:port/path`, when `ws` was given. */
  readonly wsUrl: string | undefined;
  /** The aedes instance. */
  broker: AedesInstance;
  /** Whether it accepts connections now. */
  readonly listening: boolean;
  /** Stops listening and drops every connection; sessions and retained messages stay. */
  pause(): Promise<void>;
  /** Listens again on the same ports. */
  resume(): Promise<void>;
  /** Closes everything. */
  close(): Promise<void>;
}

interface Aedes extends AedesInstance {
  handle(stream: Duplex): unknown;
  close(callback: () => void): void;
}

/** aedes, loaded on first use: an optional peer dependency. */
async function createAedes(options: Record<string, unknown>): Promise<Aedes> {
  let module: { Aedes: { createBroker(options: Record<string, unknown>): Promise<Aedes> } };
  try {
    module = (await import('aedes')) as unknown as typeof module;
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    throw nodeError(
      AEDES_MISSING,
      'the embedded broker needs the aedes package, an optional dependency of @umqtt/node: npm install aedes',
      'broker',
    );
  }
  // aedes 1.x: the default export throws; brokers are created asynchronously.
  return module.Aedes.createBroker(options);
}

/**
 * Starts an MQTT 3.1.1 broker (aedes, which must be installed: `npm install aedes`) in this
 * process: on `host:port` over TCP, and over WebSocket too when `ws` is given. Everything it
 * keeps (sessions, retained messages) is in memory, or in Redis with `cluster`. Rejects with
 * {@link AEDES_MISSING} without aedes, in cluster mode with `CLUSTER_MISSING` without the Redis
 * packages, `UMQTT_INVALID_URL` for a bad Redis URL or `REDIS_UNREACHABLE`, or with the listen
 * error (`EADDRINUSE`...).
 *
 * @example
 * const broker = await startEmbeddedBroker({ port: 0, ws: { port: 0 } });
 * const client = connect(broker.wsUrl!);
 */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const { host = '127.0.0.1', port: wanted = 0, authenticate, cleanSessionsOnly, ws } = options;
  const aedesOptions: Record<string, unknown> = { ...options.aedes };
  if (authenticate)
    aedesOptions['authenticate'] = (
      client: { id: string },
      username: string | undefined,
      password: Buffer | undefined,
      done: (error: Error | null, success: boolean) => void,
    ) => {
      if (authenticate(client, username, password)) done(null, true);
      else done(Object.assign(new Error('bad user name or password'), { returnCode: 4 }), false);
    };
  if (cleanSessionsOnly)
    aedesOptions['preConnect'] = (
      _client: unknown,
      packet: { clean: boolean },
      callback: (error: Error | null, success: boolean) => void,
    ) => {
      packet.clean = true;
      callback(null, true);
    };
  let cluster: ClusterParts | undefined;
  if (options.cluster) {
    cluster = await clusterParts(options.cluster);
    Object.assign(aedesOptions, cluster.aedes);
  }
  let broker: Aedes;
  try {
    broker = await createAedes(aedesOptions);
  } catch (e) {
    await cluster?.destroy();
    throw e;
  }
  const sockets = new Set<Socket>();
  const peers = new Set<WebSocket>();
  let server: Server | undefined;
  let http: HttpServer | undefined;
  let wss: WebSocketServer | undefined;
  let port = wanted;
  let wsPort = ws?.port ?? 0;
  const bracketed = host.includes(':') ? `[${host}]` : host;

  const listening = (s: Server | HttpServer, at: number) =>
    new Promise<number>((resolve, reject) => {
      s.once('error', reject);
      s.listen(at, host, () => {
        s.off('error', reject);
        const address = s.address();
        resolve(typeof address === 'object' && address ? address.port : at);
      });
    });

  async function listen(): Promise<void> {
    const s = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      broker.handle(socket);
    });
    port = await listening(s, port);
    server = s;
    if (!ws) return;
    const h = createHttpServer();
    wss = new WebSocketServer({ server: h, path: ws.path });
    wss.on('connection', (peer) => {
      peers.add(peer);
      peer.on('close', () => peers.delete(peer));
      broker.handle(createWebSocketStream(peer));
    });
    try {
      wsPort = await listening(h, wsPort);
    } catch (e) {
      await pause();
      throw e;
    }
    http = h;
  }

  async function pause(): Promise<void> {
    const s = server;
    const h = http;
    server = http = undefined;
    wss?.close();
    wss = undefined;
    const closed = [s, h].map((x) => x && new Promise<void>((resolve) => x.close(() => resolve())));
    for (const socket of sockets) socket.destroy();
    for (const peer of peers) peer.terminate();
    await Promise.all(closed);
  }

  try {
    await listen();
  } catch (e) {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await cluster?.destroy();
    throw e;
  }
  let closing: Promise<void> | undefined;
  return {
    host,
    get port() {
      return port;
    },
    get url() {
      return `mqtt://${bracketed}:${port}`;
    },
    get wsPort() {
      return ws ? wsPort : undefined;
    },
    get wsUrl() {
      return ws ? `ws://${bracketed}:${wsPort}${ws.path ?? ''}` : undefined;
    },
    broker,
    get listening() {
      return server !== undefined;
    },
    pause,
    resume: () => (server ? Promise.resolve() : listen()),
    close() {
      closing ??= (async () => {
        await pause();
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        await cluster?.destroy();
      })();
      return closing;
    },
  };
}
