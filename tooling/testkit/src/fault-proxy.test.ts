import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { once, waitFor } from './wait.js';

/** A target that records every chunk it receives, and echoes it when `echo` is on. */
let target: Server;
let targetPort = 0;
let received: Buffer[] = [];
let targetErrors: string[] = [];
let echo = true;
const targetSockets = new Set<Socket>();

let proxy: FaultProxy;
const clients: Socket[] = [];

async function dial(): Promise<{ socket: Socket; data: () => Buffer; closed: Promise<string> }> {
  const socket = connect({ host: proxy.host, port: proxy.port });
  clients.push(socket);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const closed = new Promise<string>((resolve) => {
    let code = 'closed';
    socket.on('error', (error: NodeJS.ErrnoException) => (code = error.code ?? error.message));
    socket.on('close', () => resolve(code));
  });
  await once((cb) => socket.once('connect', cb));
  return { socket, data: () => Buffer.concat(chunks), closed };
}

const bytes = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => i % 256));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  target = createServer((socket) => {
    targetSockets.add(socket);
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      if (echo) socket.write(chunk);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => targetErrors.push(error.code ?? ''));
    socket.on('close', () => targetSockets.delete(socket));
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  const address = target.address();
  targetPort = typeof address === 'object' && address ? address.port : 0;
});

afterAll(async () => {
  for (const socket of targetSockets) socket.destroy();
  await new Promise((resolve) => target.close(resolve));
});

beforeEach(async () => {
  received = [];
  targetErrors = [];
  echo = true;
  proxy = await startFaultProxy({ host: '127.0.0.1', port: targetPort });
});

afterEach(async () => {
  for (const socket of clients.splice(0)) socket.destroy();
  await proxy.close();
});

describe('fault proxy', () => {
  it('passes bytes both ways and counts them', async () => {
    const client = await dial();
    client.socket.write(bytes(1000));
    await waitFor(() => client.data().length === 1000);
    expect(client.data()).toEqual(bytes(1000));
    expect(proxy.counters).toMatchObject({ connections: 1, active: 1, bytesUp: 1000, bytesDown: 1000 });
  });

  it('passes a FIN on, and counts the connection as closed', async () => {
    const client = await dial();
    client.socket.end(bytes(3));
    expect(await client.closed).toBe('closed');
    expect(Buffer.concat(received)).toEqual(bytes(3));
    await waitFor(() => proxy.counters.active === 0);
  });

  it('fragments: every write is at most `size` bytes, content intact', async () => {
    const client = await dial();
    client.socket.write(bytes(1)); // the target has accepted once the echo is back
    await waitFor(() => client.data().length === 1);
    received = [];
    proxy.fragment(3);
    client.socket.write(bytes(20));
    await waitFor(() => client.data().length === 21);
    expect(client.data()).toEqual(Buffer.concat([bytes(1), bytes(20)]));
    // The target (same process) reads between two writes, so it sees each piece alone.
    expect(Math.max(...received.map((chunk) => chunk.length))).toBeLessThanOrEqual(3);
    expect(received.length).toBe(7);
  });

  it('resets both sides once N bytes went up', async () => {
    echo = false;
    proxy.resetAfter(5, 'up');
    const client = await dial();
    client.socket.write(bytes(12));
    expect(await client.closed).toBe('ECONNRESET');
    await waitFor(() => targetErrors.includes('ECONNRESET'));
    expect(Buffer.concat(received)).toEqual(bytes(5));
    expect(proxy.counters.bytesUp).toBe(5);
  });

  it('resets at an offset counted across chunks, in the down direction', async () => {
    const client = await dial();
    client.socket.write(bytes(4));
    await waitFor(() => client.data().length === 4);
    proxy.resetAfter(6, 'down'); // 6 more bytes from now on
    client.socket.write(bytes(4));
    await waitFor(() => client.data().length === 8);
    client.socket.write(bytes(4));
    expect(await client.closed).toBe('ECONNRESET');
    expect(client.data()).toEqual(Buffer.concat([bytes(4), bytes(4), bytes(2)]));
  });

  it('applies a reset to new connections too, until healed', async () => {
    proxy.resetAfter(0, 'up');
    const first = await dial();
    first.socket.write(bytes(1));
    expect(await first.closed).toBe('ECONNRESET');
    proxy.heal();
    const second = await dial();
    second.socket.write(bytes(2));
    await waitFor(() => second.data().length === 2);
    expect(received.map((chunk) => chunk.length)).toEqual([2]);
  });

  it('blackholes: the connection stays open, nothing passes, heal restores', async () => {
    const client = await dial();
    proxy.blackhole();
    client.socket.write(bytes(10));
    await sleep(100);
    expect(received).toEqual([]);
    expect(client.data().length).toBe(0);
    expect(client.socket.destroyed).toBe(false);
    expect(proxy.counters).toMatchObject({ active: 1, bytesUp: 0 });
    proxy.heal();
    client.socket.write(bytes(3));
    await waitFor(() => client.data().length === 3);
    expect(client.data()).toEqual(bytes(3));
  });

  it('delays each chunk', async () => {
    proxy.delay(80);
    const client = await dial();
    const start = performance.now();
    client.socket.write(bytes(1));
    await waitFor(() => client.data().length === 1);
    // Delayed up and down: at least 2 x 80 ms, minus timer slack.
    expect(performance.now() - start).toBeGreaterThanOrEqual(150);
  });

  it('refuses new connections and keeps live ones', async () => {
    const live = await dial();
    proxy.refuse();
    const refused = connect({ host: proxy.host, port: proxy.port });
    clients.push(refused);
    refused.on('error', () => {});
    await once((cb) => refused.on('close', cb));
    expect(proxy.counters).toMatchObject({ connections: 1, refused: 1 });
    live.socket.write(bytes(2));
    await waitFor(() => live.data().length === 2);
  });

  it('drops every live connection', async () => {
    const a = await dial();
    const b = await dial();
    proxy.dropAll();
    await Promise.all([a.closed, b.closed]);
    await waitFor(() => proxy.counters.active === 0 && targetSockets.size === 0);
  });

  it('stops listening on close', async () => {
    await proxy.close();
    const socket = connect({ host: proxy.host, port: proxy.port });
    clients.push(socket);
    const error = await once<NodeJS.ErrnoException>((cb) => socket.on('error', cb));
    expect(error.code).toBe('ECONNREFUSED');
  });
});
