import { createServer, type Socket as NetSocket } from 'node:net';
import {
  CONNACK_ACCEPTED,
  connectPacket,
  freePort,
  startAedes,
  startFaultProxy,
  waitFor,
  type AedesHandle,
  type FaultProxy,
} from '@umqtt/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SocketClosedError } from './adapt.js';
import { probe, type Probe } from './probe.test-support.js';
import { createTcpSocketFactory } from './tcp.js';

const factory = createTcpSocketFactory();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let probes: Probe[] = [];
const open = (target: { host: string; port: number }, options?: { autoRead?: boolean }) => {
  const opened = probe(factory, target, options);
  probes.push(opened);
  return opened;
};
afterEach(() => {
  for (const opened of probes) opened.socket.close();
  probes = [];
});

/** A plain server whose connection handler the test sets; stop() ends it and its sockets. */
async function serve(onConnection: (socket: NetSocket) => void) {
  const sockets = new Set<NetSocket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    stop() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('TCP socket against aedes', () => {
  let broker: AedesHandle;
  beforeAll(async () => {
    broker = await startAedes();
  });
  afterAll(() => broker.close());

  it('connects (first onWritable), sends CONNECT and reads CONNACK', async () => {
    const client = open(broker);
    expect(client.calledInsideFactory).toBe(false);
    const first = await client.next('writable');
    expect(client.events[0]).toBe(first);
    expect(first).toMatchObject({ type: 'writable', count: expect.any(Number) });
    expect((first as { count: number }).count).toBeGreaterThan(0);
    expect(client.socket.read()).toBeUndefined();
    expect(client.socket.write(connectPacket())).toBeGreaterThan(0);
    expect([...(await client.receivedAtLeast(4))]).toEqual(CONNACK_ACCEPTED);
  });

  it('close() ends the connection and no callback follows', async () => {
    const client = open(broker);
    await client.next('writable');
    client.socket.write(connectPacket({ clientId: 'closer' }));
    await client.receivedAtLeast(4);
    await waitFor(() => broker.broker.connectedClients === 1);
    const seen = client.events.length;
    client.socket.close();
    await waitFor(() => broker.broker.connectedClients === 0);
    await sleep(20);
    expect(client.events.length).toBe(seen);
  });

  it('delivers bytes that arrive one at a time (fault proxy fragmenting)', async () => {
    const proxy: FaultProxy = await startFaultProxy(broker);
    try {
      proxy.fragment(1);
      const client = open(proxy);
      await client.next('writable');
      client.socket.write(connectPacket());
      expect([...(await client.receivedAtLeast(4))]).toEqual(CONNACK_ACCEPTED);
      expect(client.events.filter((event) => event.type === 'readable').length).toBeGreaterThan(1);
    } finally {
      await proxy.close();
    }
  });
});

describe('TCP socket errors', () => {
  it('reports a refused connection once, through onError, never onWritable', async () => {
    const client = open({ host: '127.0.0.1', port: await freePort() });
    const { error } = (await client.next('error')) as { error: NodeJS.ErrnoException };
    expect(error.code).toBe('ECONNREFUSED');
    await sleep(20);
    expect(client.events.map((event) => event.type)).toEqual(['error']);
  });

  it('delivers the last bytes, then reports the peer closing once', async () => {
    const { stop, port } = await serve((socket) => socket.end('bye'));
    try {
      const client = open({ host: '127.0.0.1', port });
      const { error } = (await client.next('error')) as { error: SocketClosedError };
      expect(error).toBeInstanceOf(SocketClosedError);
      expect(error.code).toBe('UMQTT_SOCKET_CLOSED');
      expect(Buffer.from(client.received()).toString()).toBe('bye');
      await sleep(20);
      expect(client.events.filter((event) => event.type === 'error')).toHaveLength(1);
      expect(client.events.at(-1)?.type).toBe('error');
    } finally {
      await stop();
    }
  });
});

describe('TCP socket reading and writing', () => {
  it('read() returns everything pending as one Uint8Array, then undefined', async () => {
    const { stop, port } = await serve(async (socket) => {
      for (const part of ['ab', 'cd', 'ef']) {
        socket.write(part);
        await sleep(5);
      }
    });
    try {
      const client = open({ host: '127.0.0.1', port }, { autoRead: false });
      // onReadable reports everything pending, so it reaches 6 without reads.
      await waitFor(() => client.events.some((event) => event.type === 'readable' && event.count === 6));
      const counts = client.events.flatMap((event) => (event.type === 'readable' ? [event.count] : []));
      expect(counts.length).toBeGreaterThan(1);
      const bytes = client.socket.read();
      expect(bytes).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(bytes as Uint8Array).toString()).toBe('abcdef');
      expect(client.socket.read()).toBeUndefined();
    } finally {
      await stop();
    }
  });

  it('write() says when to wait, onWritable says when to go on; it takes the bytes over, no copy', async () => {
    let peer: NetSocket | undefined;
    const chunks: Buffer[] = [];
    const { stop, port } = await serve((socket) => {
      peer = socket;
      socket.pause();
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    });
    try {
      const client = open({ host: '127.0.0.1', port });
      await client.next('writable');
      const block = new Uint8Array(1 << 20);
      let room = 1;
      let written = 0;
      for (let i = 0; i < 64 && room > 0; i++) {
        room = client.socket.write(block);
        written += block.length;
      }
      expect(room).toBeLessThanOrEqual(0);
      // A view goes out as exactly its own bytes, and is not copied: Node keeps it queued as it
      // is. A change made before it left (never done by a caller, as write()'s contract says)
      // goes out, which shows there was no copy.
      const whole = Uint8Array.of(7, 7, 1, 2, 0, 7);
      const tail = whole.subarray(2, 5);
      client.socket.write(tail);
      tail[2] = 3;
      const writableBefore = client.events.filter((event) => event.type === 'writable').length;
      peer?.resume();
      await waitFor(() => client.events.filter((event) => event.type === 'writable').length > writableBefore);
      await waitFor(() => chunks.reduce((sum, chunk) => sum + chunk.length, 0) === written + 3, {
        timeout: 10_000,
      });
      expect([...Buffer.concat(chunks).subarray(-3)]).toEqual([1, 2, 3]);
    } finally {
      await stop();
    }
  });

  it("a packet larger than Node's 16 KiB high-water mark does not make the socket full", async () => {
    const { stop, port } = await serve((socket) => socket.resume());
    try {
      const client = open({ host: '127.0.0.1', port });
      await client.next('writable');
      // The writes of one turn wait in Node (corked) until the turn ends: room is counted
      // against 256 KiB, so a 64 KiB packet leaves room for more, and 256 KiB fill it.
      expect(client.socket.write(new Uint8Array(64 * 1024))).toBe(192 * 1024);
      expect(client.socket.write(new Uint8Array(128 * 1024))).toBe(64 * 1024);
      expect(client.socket.write(new Uint8Array(64 * 1024))).toBe(0);
      const writable = client.events.filter((event) => event.type === 'writable').length;
      await waitFor(() => client.events.filter((event) => event.type === 'writable').length > writable);
    } finally {
      await stop();
    }
  });
});
