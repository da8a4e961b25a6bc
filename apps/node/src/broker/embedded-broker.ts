// The embedded broker: aedes on a loopback (or chosen) address, so nobody needs to install a
// broker to try umqtt. It can stop listening and come back on the same port while keeping its
// sessions, subscriptions and retained messages in memory (an outage the demo survives).
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type AedesOptions, type Client } from 'aedes';

export interface EmbeddedBrokerOptions extends Omit<AedesOptions, 'authenticate'> {
  /** Default 127.0.0.1. */
  host?: string | undefined;
  /** Default 0: a free port. */
  port?: number | undefined;
  /** Accept or refuse a CONNECT; a refusal answers CONNACK return code 4 (bad user name or password). */
  authenticate?: ((client: Client, username: string | undefined, password: Buffer | undefined) => boolean) | undefined;
}

export interface EmbeddedBroker {
  host: string;
  port: number;
  url: string;
  broker: Aedes;
  /** Whether it accepts connections now. */
  readonly listening: boolean;
  /** Stops listening and drops every connection; sessions and retained messages stay. */
  pause(): Promise<void>;
  /** Listens again on the same port. */
  resume(): Promise<void>;
  /** Closes everything. */
  close(): Promise<void>;
}

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const { host = '127.0.0.1', port: wanted = 0, authenticate, ...rest } = options;
  const aedesOptions: AedesOptions = { ...rest };
  if (authenticate)
    aedesOptions.authenticate = (client, username, password, done) => {
      if (authenticate(client, username, password)) done(null, true);
      else done(Object.assign(new Error('bad user name or password'), { returnCode: 4 }), false);
    };
  // aedes 1.x: the default export throws; brokers are created asynchronously.
  const broker = await Aedes.createBroker(aedesOptions);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = wanted;

  async function listen(): Promise<void> {
    const s = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      broker.handle(socket);
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, host, resolve);
    });
    const address = s.address();
    port = typeof address === 'object' && address ? address.port : port;
    server = s;
  }

  async function pause(): Promise<void> {
    const s = server;
    server = undefined;
    if (!s) return;
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  }

  await listen();
  let closing: Promise<void> | undefined;
  return {
    host,
    get port() {
      return port;
    },
    get url() {
      return `mqtt://${host.includes(':') ? `[${host}]` : host}:${port}`;
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
      })();
      return closing;
    },
  };
}
