// MQTT over WebSocket: the transport against the embedded aedes broker's WebSocket listener
// and Mosquitto's (`protocol websockets`), and against `ws` servers that record what the client
// sent or break the rules, so each rule of MQTT 3.1.1 section 6 the client enforces is seen.
import { createHash } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer, type Socket as NetSocket } from 'node:net';
import {
  CONNACK_ACCEPTED,
  connectPacket,
  freePort,
  mosquittoOrSkip,
  startAedes,
  startMosquitto,
  waitFor,
  type AedesHandle,
  type MosquittoHandle,
} from '@umqtt/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import { clientTracker } from '../clients.test-support.js';
import type { NodeClient } from '../connect.js';
import { probe } from './probe.test-support.js';
import { createWebSocketFactory } from './ws.js';

const { open, endAll } = clientTracker();
afterEach(endAll);

/** Publishes through `from` and resolves with what `to` (subscribed to the topic first) receives. */
async function roundTrip(from: NodeClient, to: NodeClient, topic: string, text: string) {
  const received = new Promise<string>((resolve) => (to.onMessage = (m) => resolve(m.payload.toString())));
  await expect(to.subscribe(topic, 1)).resolves.toEqual([1]);
  await expect(from.publish(topic, text, { qos: 1 })).resolves.toBe('delivered');
  return received;
}

interface Upgrade {
  url: string;
  headers: IncomingMessage['headers'];
}

/**
 * A `ws` server in front of an aedes broker that records each upgrade request and whether each
 * frame the client sent was binary; `drop()` ends every connection (a network outage).
 */
async function recordingFront(broker: AedesHandle, extra: ConstructorParameters<typeof WebSocketServer>[0] = {}) {
  const upgrades: Upgrade[] = [];
  const frames: boolean[] = [];
  const peers = new Set<WebSocket>();
  const http: Server = createHttpServer();
  const wss = new WebSocketServer({ server: http, ...extra });
  wss.on('connection', (peer, req) => {
    upgrades.push({ url: req.url ?? '', headers: req.headers });
    peers.add(peer);
    peer.on('message', (_data, isBinary) => frames.push(isBinary));
    broker.broker.handle(createWebSocketStream(peer));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    upgrades,
    frames,
    drop: () => peers.forEach((p) => p.terminate()),
    close() {
      peers.forEach((p) => p.terminate());
      wss.close();
      return new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

describe('WebSocket against the embedded aedes broker', () => {
  let broker: AedesHandle;
  beforeAll(async () => {
    broker = await startAedes({ ws: { port: 0 } });
  });
  afterAll(() => broker.close());

  it('publishes QoS 1 over ws:// and receives it over ws:// and over TCP', async () => {
    expect(broker.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const ws = open(broker.wsUrl!);
    const tcp = open(broker.url);
    expect(await roundTrip(tcp, ws, 'ws-test/aedes/in', 'to ws')).toBe('to ws');
    expect(await roundTrip(ws, tcp, 'ws-test/aedes/out', 'from ws')).toBe('from ws');
  });

  describe('through a recording front', () => {
    let front: Awaited<ReturnType<typeof recordingFront>>;
    beforeAll(async () => {
      front = await recordingFront(broker);
    });
    afterAll(() => front.close());

    it('asks for subprotocol mqtt at the path, with the extra headers, and sends binary frames only', async () => {
      const client = open(`ws://127.0.0.1:${front.port}/mqtt?tenant=7`, {
        headers: { Authorization: 'Bearer t0ken' },
      });
      await client.ready;
      await client.publish('ws-test/front', 'x'.repeat(5000), { qos: 1 });
      const upgrade = front.upgrades.at(-1)!;
      expect(upgrade.url).toBe('/mqtt?tenant=7');
      expect(upgrade.headers['sec-websocket-protocol']).toBe('mqtt');
      expect(upgrade.headers['authorization']).toBe('Bearer t0ken');
      expect(front.frames.length).toBeGreaterThanOrEqual(2);
      expect(front.frames.every(Boolean)).toBe(true);
    });

    it('rebuilds the URL before every connection with transformUrl (a reconnect signs afresh)', async () => {
      const dead = await freePort();
      const calls: string[] = [];
      const client = open(`ws://127.0.0.1:${dead}/mqtt`, {
        reconnect: { min: 10, max: 50 },
        clientId: 'presigned',
        transformUrl: async (url) => {
          calls.push(url);
          await new Promise((resolve) => setTimeout(resolve, 1));
          return `ws://127.0.0.1:${front.port}/mqtt?signature=${calls.length}`;
        },
      });
      await client.ready;
      expect(calls).toEqual([`ws://127.0.0.1:${dead}/mqtt`]);
      expect(front.upgrades.at(-1)!.url).toBe('/mqtt?signature=1');
      front.drop();
      await waitFor(() => front.upgrades.at(-1)!.url === '/mqtt?signature=2', { message: 'second signed URL' });
      await expect(client.publish('ws-test/presigned', 'after reconnect', { qos: 1 })).resolves.toBe('delivered');
      expect(calls).toEqual([`ws://127.0.0.1:${dead}/mqtt`, `ws://127.0.0.1:${dead}/mqtt`]);
    });

    it('a transformUrl that throws fails that connection attempt with its error', async () => {
      const client = open(`ws://127.0.0.1:${front.port}/`, {
        transformUrl: () => {
          throw new Error('no credentials to sign with');
        },
      });
      await expect(client.ready).rejects.toMatchObject({
        code: 'UMQTT_CONNECTION_LOST',
        message: expect.stringContaining('no credentials to sign with'),
      });
    });
  });
});

describe('WebSocket peers that break MQTT over WebSocket', () => {
  const servers: { close(): Promise<void> }[] = [];
  afterAll(() => Promise.all(servers.map((s) => s.close())));

  async function peer(options: ConstructorParameters<typeof WebSocketServer>[0], onPeer?: (ws: WebSocket) => void) {
    const http = createHttpServer();
    const wss = new WebSocketServer({ server: http, ...options });
    wss.on('connection', (ws) => onPeer?.(ws));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    servers.push({
      close() {
        wss.clients.forEach((c) => c.terminate());
        wss.close();
        return new Promise<void>((resolve) => http.close(() => resolve()));
      },
    });
    const address = http.address();
    return `ws://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
  }

  it('a text frame ends the connection [MQTT-6.0.0-1]', async () => {
    const url = await peer({}, (ws) => ws.on('message', () => ws.send('CONNACK as text')));
    await expect(open(url).ready).rejects.toMatchObject({
      code: 'UMQTT_CONNECTION_LOST',
      message: expect.stringMatching(/UMQTT_WEBSOCKET_PROTOCOL: the broker sent a text frame.*\[MQTT-6\.0\.0-1\]/),
    });
  });

  it('a server that picks no subprotocol is refused', async () => {
    const url = await peer({ handleProtocols: () => false });
    await expect(open(url).ready).rejects.toMatchObject({
      code: 'UMQTT_CONNECTION_LOST',
      message: expect.stringContaining('Server sent no subprotocol'),
    });
  });

  it('an HTTP refusal of the upgrade is reported with its status', async () => {
    const url = await peer({ verifyClient: (_info, done) => done(false, 401) });
    await expect(open(url).ready).rejects.toMatchObject({
      message: expect.stringContaining('Unexpected server response: 401'),
    });
  });
});

describe('WebSocket socket flow control', () => {
  it('write() says when to wait, onWritable says when to go on', async () => {
    // A WebSocket endpoint written by hand (RFC 6455 handshake) whose socket stops reading.
    let peer: NetSocket | undefined;
    let received = 0;
    const server = createNetServer((socket) => {
      peer = socket;
      socket.once('data', (request: Buffer) => {
        const key = /sec-websocket-key: *(\S+)/i.exec(request.toString())?.[1] ?? '';
        const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        socket.write(
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n`,
        );
        socket.pause();
        socket.on('data', (chunk: Buffer) => (received += chunk.length));
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const client = probe(createWebSocketFactory(), { host: '127.0.0.1', port });
    try {
      expect(client.calledInsideFactory).toBe(false);
      await client.next('writable');
      const block = new Uint8Array(256 * 1024);
      let room = 1;
      let written = 0;
      for (let i = 0; i < 256 && room > 0; i++) {
        room = client.socket.write(block);
        written += block.length;
      }
      expect(room).toBeLessThanOrEqual(0);
      const before = client.events.filter((e) => e.type === 'writable').length;
      peer!.resume();
      await waitFor(() => client.events.filter((e) => e.type === 'writable').length > before, { timeout: 10_000 });
      await waitFor(() => received >= written, { timeout: 10_000 }); // frames add a header (and a mask) each
    } finally {
      client.socket.close();
      peer?.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe.skipIf(mosquittoOrSkip() !== undefined)('WebSocket against Mosquitto (protocol websockets)', () => {
  let mosquitto: MosquittoHandle;
  beforeAll(async () => {
    mosquitto = await startMosquitto({ websockets: true });
  });
  afterAll(() => mosquitto?.stop());

  it('the raw transport exchanges CONNECT / CONNACK', async () => {
    const client = probe(createWebSocketFactory({ path: '/mqtt' }), { host: '127.0.0.1', port: mosquitto.wsPort! });
    try {
      await client.next('writable');
      client.socket.write(connectPacket());
      expect([...(await client.receivedAtLeast(4))]).toEqual(CONNACK_ACCEPTED);
    } finally {
      client.socket.close();
    }
  });

  it('publishes QoS 1 over ws:// and receives it over ws:// and over TCP', async () => {
    const ws = open(mosquitto.wsUrl!);
    const tcp = open(mosquitto.url);
    expect(await roundTrip(tcp, ws, 'ws-test/mosquitto/in', 'to ws')).toBe('to ws');
    expect(await roundTrip(ws, tcp, 'ws-test/mosquitto/out', 'from ws')).toBe('from ws');
  });

  it('a reconnecting client over ws:// streams 200 QoS 2 messages, well past the in-flight window', async () => {
    const tcp = open(mosquitto.url);
    const got: string[] = [];
    tcp.onMessage = (m) => got.push(m.payload.toString());
    await tcp.subscribe('ws-test/mosquitto/stream', 2);
    const ws = open(`${mosquitto.wsUrl}mqtt`, { reconnect: true, clientId: 'ws-stream' });
    const sent = Array.from({ length: 200 }, (_, i) => ws.publish('ws-test/mosquitto/stream', String(i), { qos: 2 }));
    await expect(Promise.all(sent)).resolves.toEqual(Array(200).fill('delivered'));
    await waitFor(() => got.length === 200);
    expect(got).toEqual(Array.from({ length: 200 }, (_, i) => String(i)));
  });
});
