// connect(url) end to end against the embedded aedes broker over TCP, and against a scripted
// TCP peer where a broker would have to misbehave (never acknowledge) for the outcome to show.
import { createServer, type Server, type Socket as NetSocket } from 'node:net';
import { freePort, startAedes, waitFor, type AedesHandle } from '@umqtt/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clientTracker } from './clients.test-support.js';
import { connect } from './connect.js';

let broker: AedesHandle;
let seq = 0;
const topic = (name: string) => `connect-test/${process.pid}/${seq++}/${name}`;
const { open, endAll } = clientTracker();

beforeAll(async () => {
  broker = await startAedes({
    authorizeSubscribe: (_client, sub, callback) => callback(null, sub.topic.startsWith('forbidden/') ? null : sub),
  });
});
afterAll(() => broker.close());
afterEach(endAll);

/** A subscriber that collects the messages of `filter`. */
async function listen(filter: string) {
  const sub = open(broker.url, { clientId: `listener-${seq++}` });
  const got: { topic: string; payload: string; qos: number }[] = [];
  sub.onMessage = (m) => got.push({ topic: m.topic, payload: m.payload.toString(), qos: m.qos });
  await sub.subscribe(filter, 2);
  return got;
}

/** A TCP peer that answers CONNECT with CONNACK and then records everything, answering nothing. */
async function silentBroker() {
  const received: Buffer[] = [];
  const sockets = new Set<NetSocket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    let connected = false;
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      if (!connected && chunk[0] === 0x10) {
        connected = true;
        socket.write(Uint8Array.of(0x20, 0x02, 0x00, 0x00));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    url: `mqtt://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    bytes: () => [...Buffer.concat(received)],
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('connect() without reconnect: one @umqtt/simple connection with promises', () => {
  it('subscribes, publishes QoS 1 and receives a Buffer payload; QoS 0 resolves "sent"', async () => {
    const t = topic('roundtrip');
    const client = open(broker.url);
    expect(client.kind).toBe('simple');
    const received: Buffer[] = [];
    client.onMessage = (m) => received.push(Buffer.from(m.payload));
    await expect(client.ready).resolves.toBe(false);
    await expect(client.subscribe(t, 1)).resolves.toEqual([1]);
    await expect(client.publish(t, Buffer.from('twenty-one'), { qos: 1 })).resolves.toBe('delivered');
    await expect(client.publish(t, 'zero')).resolves.toBe('sent');
    await waitFor(() => received.length === 2);
    expect(received.map((b) => [Buffer.isBuffer(b), b.toString()])).toEqual([
      [true, 'twenty-one'],
      [true, 'zero'],
    ]);
    await client.end();
    expect(client.client.state).toBe('closed');
  });

  it('publishes, subscribes and unsubscribes made while connecting go out in order after CONNACK', async () => {
    const t = topic('early');
    const got = await listen(`${t}/#`);
    const client = open(broker.url);
    expect(client.client.state).toBe('connecting');
    const results = [
      client.publish(`${t}/1`, 'one', { qos: 1 }),
      client.publish(`${t}/2`, new Uint8Array([0x74, 0x77, 0x6f]), { qos: 1 }),
      client.publish(`${t}/3`, 'three', { qos: 1 }),
    ];
    const granted = client.subscribe(`${t}/self`, 1);
    const gone = client.unsubscribe(`${t}/self`);
    await expect(Promise.all(results)).resolves.toEqual(['delivered', 'delivered', 'delivered']);
    await expect(granted).resolves.toEqual([1]);
    await expect(gone).resolves.toBeUndefined();
    await waitFor(() => got.length === 3);
    expect(got.map((m) => [m.topic.slice(t.length), m.payload])).toEqual([
      ['/1', 'one'],
      ['/2', 'two'],
      ['/3', 'three'],
    ]);
  });

  it('calls made while connecting reject with the connect error when the broker cannot be reached', async () => {
    const client = open(`mqtt://127.0.0.1:${await freePort()}`);
    const published = client.publish('a/b', 'x', { qos: 1 });
    await expect(client.ready).rejects.toMatchObject({ code: 'UMQTT_CONNECTION_LOST', place: 'connect' });
    await expect(published).rejects.toMatchObject({ code: 'UMQTT_CONNECTION_LOST' });
    expect(() => client.publish('a/b', 'late')).toThrow(expect.objectContaining({ code: 'UMQTT_NOT_CONNECTED' }));
  });

  it('misuse throws at once, while connecting too', () => {
    const client = open(broker.url);
    expect(() => client.publish('a/+', 'x')).toThrow(expect.objectContaining({ code: 'UMQTT_INVALID_TOPIC' }));
    expect(() => client.publish('a', 'x', { qos: 3 as 0 })).toThrow(
      expect.objectContaining({ code: 'UMQTT_INVALID_ARGUMENT' }),
    );
    expect(() => client.subscribe('a/#/b')).toThrow(expect.objectContaining({ code: 'UMQTT_INVALID_TOPIC' }));
  });

  it('a refused subscription rejects with UMQTT_SUBSCRIBE_REFUSED naming the filter', async () => {
    const client = open(broker.url);
    await expect(client.subscribe(['allowed/x', 'forbidden/y'], 1)).rejects.toMatchObject({
      code: 'UMQTT_SUBSCRIBE_REFUSED',
      reasonCode: 0x80,
      message: expect.stringContaining('forbidden/y'),
    });
    await expect(client.subscribe('allowed/z')).resolves.toEqual([0]);
  });

  it('end() waits for every QoS 1/2 message in flight, then DISCONNECT (the will is not published)', async () => {
    const t = topic('end');
    const got = await listen(`${t}/#`);
    const client = open(broker.url, {
      clientId: 'ender',
      will: { topic: `${t}/will`, payload: 'gone', qos: 1 },
      maxInflight: 4,
    });
    const results = Array.from({ length: 40 }, (_, i) => client.publish(`${t}/m`, String(i), { qos: i % 2 ? 2 : 1 }));
    const settled: string[] = [];
    for (const r of results)
      void r.then(
        (s) => settled.push(s),
        () => settled.push('failed'),
      );
    await client.end();
    expect(settled).toHaveLength(40);
    expect(new Set(settled)).toEqual(new Set(['delivered']));
    await waitFor(() => got.length >= 40);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(got.filter((m) => m.topic.endsWith('/will'))).toEqual([]);
    expect(() => client.publish(`${t}/m`, 'late')).toThrow(expect.objectContaining({ code: 'UMQTT_CLIENT_ENDED' }));
  });

  it('user name and password come from the URL, and options override them', async () => {
    const guarded = await startAedes({
      authenticate: (_client, user, pass) => user === 'al@ce' && pass?.toString() === 'p:ss',
    });
    try {
      const url = `mqtt://al%40ce:p%3Ass@127.0.0.1:${guarded.port}`;
      await expect(open(url).ready).resolves.toBe(false);
      await expect(open(url, { password: 'wrong' }).ready).rejects.toMatchObject({
        code: 'UMQTT_CONNACK_CREDENTIALS',
        reasonCode: 4,
      });
    } finally {
      await guarded.close();
    }
  });

  it('refuses a bad URL and options that do not fit the URL, at once', () => {
    expect(() => connect('http://h')).toThrow(expect.objectContaining({ code: 'UMQTT_INVALID_URL' }));
    expect(() => connect('mqtt://h', { ca: 'PEM' })).toThrow(
      expect.objectContaining({ code: 'UMQTT_INVALID_ARGUMENT', message: expect.stringMatching(/TLS options \(ca\)/) }),
    );
    expect(() => connect('mqtts://h', { headers: { a: 'b' } })).toThrow(/WebSocket options \(headers\)/);
  });
});

describe('connect() against a broker that never acknowledges', () => {
  let silent: Awaited<ReturnType<typeof silentBroker>>;
  beforeAll(async () => {
    silent = await silentBroker();
  });
  afterAll(() => silent.close());

  it('a publish without PUBACK rejects with UMQTT_ACK_TIMEOUT after messageTimeout; end() then disconnects', async () => {
    const client = open(silent.url, { messageTimeout: 200 });
    const published = client.publish('a', 'x', { qos: 1 });
    await expect(published).rejects.toMatchObject({ code: 'UMQTT_ACK_TIMEOUT', place: 'publish' });
    await client.end();
    await waitFor(() => silent.bytes().slice(-2).join() === '224,0'); // DISCONNECT
  });

  it('end(true) does not wait: DISCONNECT at once, what was in flight rejects with UMQTT_ABORTED', async () => {
    const client = open(silent.url, { messageTimeout: 0 });
    await client.ready;
    const published = client.publish('a', 'x', { qos: 2 });
    const start = performance.now();
    await client.end(true);
    await expect(published).rejects.toMatchObject({ code: 'UMQTT_ABORTED' });
    expect(performance.now() - start).toBeLessThan(2000);
    await waitFor(() => silent.bytes().slice(-2).join() === '224,0');
  });
});

describe('connect() with reconnect: a @umqtt/robust session with promises', () => {
  it('publishes while the broker is down; the promise resolves once it is back and acknowledged', async () => {
    const outage = await startAedes();
    try {
      const t = topic('outage');
      await outage.pause();
      const client = open(outage.url, { reconnect: { min: 20, max: 100 }, clientId: 'robust-1' });
      expect(client.kind).toBe('robust');
      const states: string[] = [];
      client.onState = (s) => states.push(s);
      const published = client.publish(t, 'kept', { qos: 1 });
      await waitFor(() => states.includes('offline'));
      let settled = false;
      void published.then(() => (settled = true));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(settled).toBe(false);
      await outage.resume();
      await expect(client.ready).resolves.toBeUndefined();
      await expect(published).resolves.toBe('delivered');
      await expect(client.subscribe(t, 1)).resolves.toEqual([1]);
      await client.end();
      expect(client.client.state).toBe('closed');
    } finally {
      await outage.close();
    }
  });

  it('a publish the queue policy gives up rejects with its status and reason', async () => {
    const down = `mqtt://127.0.0.1:${await freePort()}`;
    const client = open(down, { reconnect: { min: 1000 }, policy: { queueQos0: false, maxMessages: 1 } });
    await expect(client.publish('a', 'qos0 while offline')).rejects.toMatchObject({
      code: 'UMQTT_DROPPED',
      message: expect.stringContaining('offline'),
    });
    const first = client.publish('a', 'first', { qos: 1, overflow: 'reject' });
    await expect(client.publish('a', 'second', { qos: 1, overflow: 'reject' })).rejects.toMatchObject({
      code: 'UMQTT_REJECTED',
      message: expect.stringContaining('full'),
    });
    // A forced end drops what the client's own memory store holds: each promise settles.
    await client.end(true);
    await expect(first).rejects.toMatchObject({ code: 'UMQTT_DROPPED', message: expect.stringContaining('discarded') });
  });

  it('a strategy function as reconnect, and the credentials hook: the broker gets a fresh password at each attempt', async () => {
    const passwords: string[] = [];
    const guarded = await startAedes({
      authenticate: (_client, _user, password) => {
        passwords.push(String(password));
        return passwords.length > 1; // the first token is refused
      },
    });
    try {
      let n = 0;
      const client = open(guarded.url, {
        clientId: 'robust-token',
        username: 'dev',
        reconnect: () => 10,
        credentials: () => ({ password: `token-${++n}` }),
      });
      await expect(client.ready).resolves.toBeUndefined();
      expect(passwords).toEqual(['token-1', 'token-2']);
      expect(client.client.issues[0]?.error.code).toBe('UMQTT_CONNACK_CREDENTIALS');
    } finally {
      await guarded.close();
    }
  });

  it('ready rejects when backoff.maxAttempts gives up', async () => {
    const client = open(`mqtt://127.0.0.1:${await freePort()}`, { reconnect: { min: 10, max: 20, maxAttempts: 2 } });
    await expect(client.ready).rejects.toMatchObject({ code: 'UMQTT_GAVE_UP' });
  });

  it('end() waits until every held message has its final status', async () => {
    const t = topic('drain');
    const got = await listen(`${t}/#`);
    const client = open(broker.url, { store: new (await import('@umqtt/store-memory')).MemoryStore() });
    expect(client.kind).toBe('robust');
    const results = Array.from({ length: 30 }, (_, i) => client.publish(`${t}/m`, String(i), { qos: 1 }));
    await client.end();
    await expect(Promise.all(results)).resolves.toEqual(Array(30).fill('delivered'));
    await waitFor(() => got.length === 30);
  });
});
