import { createServer, type Socket } from 'node:net';
import { Aedes, type AedesOptions, type Client } from 'aedes';

export interface AedesStartOptions extends Omit<AedesOptions, 'authenticate'> {
  /** Accept or refuse a CONNECT. A refusal answers CONNACK return code 4 (bad credentials). */
  authenticate?: (
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
  ) => boolean;
}

export interface AedesHandle {
  host: '127.0.0.1';
  port: number;
  url: string;
  broker: Aedes;
  /** Closes the listener, every client connection and the broker. */
  close(): Promise<void>;
}

/** An in-process aedes broker on a free loopback port. */
export async function startAedes(options: AedesStartOptions = {}): Promise<AedesHandle> {
  const { authenticate, ...rest } = options;
  const aedesOptions: AedesOptions = { ...rest };
  if (authenticate) {
    aedesOptions.authenticate = (client, username, password, done) => {
      if (authenticate(client, username, password)) done(null, true);
      else done(Object.assign(new Error('bad username or password'), { returnCode: 4 }), false);
    };
  }
  // aedes 1.x: the default export throws; the broker is created and started asynchronously.
  const broker = await Aedes.createBroker(aedesOptions);
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;

  let closing: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    port,
    url: `mqtt://127.0.0.1:${port}`,
    broker,
    close() {
      closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        await serverClosed;
      })();
      return closing;
    },
  };
}
