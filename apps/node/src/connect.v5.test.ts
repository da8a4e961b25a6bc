// connect(url, { protocolVersion: 5 }) end to end against Mosquitto 2.0 in MQTT 5 (aedes speaks
// only 3.1.1): the MQTT 5 client underneath, properties both ways, refusals rejected with the
// broker's reason code, Maximum QoS downgraded on request; misuse refused at once.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CONNACK,
  CONNECT,
  Parser,
  SUBACK,
  SUBSCRIBE,
  encodeConnack,
  encodeSuback,
  serverDecoders,
} from '@umqtt/codec/v5';
import { RobustClient5 } from '@umqtt/robust/v5';
import { MqttClient5 } from '@umqtt/simple/v5';
import { mosquittoOrSkip, startMosquitto, waitFor, type MosquittoHandle } from '@umqtt/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Ack5 } from '@umqtt/simple/v5';
import { clientTracker } from './clients.test-support.js';
import { connect } from './connect.js';
import { REJECTED } from './errors.js';
import type { NodeMessage } from './client.js';

const { open, endAll } = clientTracker();
afterEach(endAll);
let seq = 0;
const id = (name: string) => `node5-${process.pid}-${seq++}-${name}`;

it('misuse is refused at once: an unknown version, MQTT 5 options on a 3.1.1 connection', () => {
  expect(() => connect('mqtt://127.0.0.1:1', { protocolVersion: 3 as never })).toThrow(
    expect.objectContaining({ code: 'UMQTT_INVALID_ARGUMENT', place: 'connect' }),
  );
  expect(() => connect('mqtt://127.0.0.1:1', { properties: { sessionExpiryInterval: 60 } })).toThrow(
    /properties need MQTT 5: add protocolVersion: 5/,
  );
});

describe.skipIf(mosquittoOrSkip() !== undefined)('connect(url, { protocolVersion: 5 }) against Mosquitto', () => {
  let broker: MosquittoHandle;
  let dir: string;
  let url: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'umqtt-node5-'));
    const acl = join(dir, 'acl');
    await writeFile(acl, 'topic readwrite open/#\n');
    broker = await startMosquitto({ extraConfig: [`acl_file ${acl}`, 'max_qos 1'] });
    url = `mqtt://127.0.0.1:${broker.port}`;
  });
  afterAll(async () => {
    await broker?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('an MQTT 5 connection: CONNACK properties, message properties both ways, downgrade to the Maximum QoS', async () => {
    const sub = open(url, { protocolVersion: 5, clientId: id('sub'), properties: { sessionExpiryInterval: 0 } });
    expect(sub.client).toBeInstanceOf(MqttClient5);
    const got: NodeMessage[] = [];
    sub.onMessage = (m) => got.push({ ...m, payload: Buffer.from(m.payload) });
    expect(
      await sub.subscribe([{ topic: 'open/v5/#', qos: 1, noLocal: true }], 0, { subscriptionIdentifier: 4 }),
    ).toEqual([1]);
    const pub = open(url, { protocolVersion: 5, clientId: id('pub') });
    await pub.ready;
    expect((pub.client as MqttClient5).connack?.maximumQoS).toBe(1);
    const acks: (Ack5 | undefined)[] = [];
    pub.onStatus = (_id, _status, _codes, ack) => acks.push(ack);
    expect(() => pub.publish('open/v5/a', 'x', { qos: 2 })).toThrow(
      expect.objectContaining({ code: 'UMQTT_NOT_SUPPORTED' }),
    );
    await expect(
      pub.publish('open/v5/a', '21.5', {
        qos: 2,
        downgrade: true,
        properties: { contentType: 'text/plain', userProperties: [['unit', 'C']] },
      }),
    ).resolves.toBe('delivered');
    expect(acks).toEqual([expect.objectContaining({ qos: 1 })]); // went out at QoS 1
    await waitFor(() => got.length === 1);
    expect(got[0]).toMatchObject({
      topic: 'open/v5/a',
      qos: 1,
      properties: { contentType: 'text/plain', userProperties: [['unit', 'C']], subscriptionIdentifier: [4] },
    });
    expect(got[0]!.payload.toString()).toBe('21.5');
  });

  it('a refused publish rejects with the reason code (0x87 from the ACL), never "delivered"', async () => {
    const c = open(url, { protocolVersion: 5, clientId: id('acl') });
    await expect(c.publish('secret/x', 'no', { qos: 1 })).rejects.toMatchObject({
      code: REJECTED,
      reasonCode: 0x87,
      place: 'publish',
    });
    await expect(c.publish('open/x', 'yes', { qos: 1 })).resolves.toBe('delivered');
  });

  it('a reconnecting client on MQTT 5: RobustClient5, messages arrive with their properties, a refusal ends rejected', async () => {
    const r = open(url, {
      protocolVersion: 5,
      clientId: id('robust'),
      reconnect: true,
      properties: { sessionExpiryInterval: 60 },
    });
    expect(r.client).toBeInstanceOf(RobustClient5);
    expect((r.client as RobustClient5).options.sessionExpiry).toBe(60);
    // 0x87 from the ACL is final by robust's refusal table: rejected with the code named
    await expect(r.publish('secret/r', 'no', { qos: 1 })).rejects.toMatchObject({
      code: REJECTED,
      message: expect.stringContaining('0x87'),
    });
    const got: NodeMessage[] = [];
    r.onMessage = (m) => got.push(m);
    await r.subscribe('open/r', 1);
    const pub = open(url, { protocolVersion: 5, clientId: id('robust-pub') });
    await pub.publish('open/r', 'x', { qos: 1, properties: { userProperties: [['via', 'robust']] } });
    await waitFor(() => got.length === 1);
    expect(got[0]!.properties?.userProperties).toEqual([['via', 'robust']]);
  });
});

describe('against a scripted MQTT 5 peer (Mosquitto 2.0.11 grants a subscription its ACL denies: measured)', () => {
  it('a refused subscription rejects with the SUBACK reason code and the reason string', async () => {
    const server = createServer((socket) => {
      const parser = new Parser(serverDecoders);
      socket.on('error', () => {});
      socket.on('data', (chunk: Buffer) => {
        parser.push(chunk);
        for (let p = parser.read(); p; p = parser.read())
          if (p.type === CONNECT) socket.write(encodeConnack({ type: CONNACK, sessionPresent: false, reasonCode: 0 }));
          else if (p.type === SUBSCRIBE)
            socket.write(
              encodeSuback({
                type: SUBACK,
                id: p.id,
                reasonCodes: [1, 0x87],
                properties: { reasonString: 'no reading' },
              }),
            );
      });
    });
    const sockets = new Set<Socket>();
    server.on('connection', (socket) => sockets.add(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const c = open(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5 });
      await expect(c.subscribe(['ok/#', 'secret/#'], 1)).rejects.toMatchObject({
        code: 'UMQTT_SUBSCRIBE_REFUSED',
        reasonCode: 0x87,
        message: 'the broker refused the subscription to secret/# (SUBACK 0x87: no reading)',
      });
      await c.end(true);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
