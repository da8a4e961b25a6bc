import { afterAll, beforeAll, expect, test } from 'vitest';
import { startAedes, waitFor, type AedesHandle } from '@umqtt/testkit';
import { MqttClient } from '@umqtt/simple';
import { MemoryStore } from './index.js';
import { createTcpSocketFactory, nodeTimers } from '../../../apps/node/src/transport/index.ts';
import { RobustClient, type FinalStatus } from '@umqtt/robust';

let broker: AedesHandle;
beforeAll(async () => {
  broker = await startAedes();
});
afterAll(() => broker.close());

test('queued while offline, delivered after connect, one final status each', async () => {
  const sub = new MqttClient({
    socket: createTcpSocketFactory(),
    timers: nodeTimers,
    host: broker.host,
    port: broker.port,
    clientId: 'sub',
  });
  const got: string[] = [];
  sub.onMessage = (m) => got.push(new TextDecoder().decode(m.payload));
  await sub.connect();
  sub.subscribe('t/#', 2);
  await waitFor(() => sub.inflight === 0 && sub.state === 'connected');
  await new Promise((r) => setTimeout(r, 50));
  const client = new RobustClient({
    socket: createTcpSocketFactory(),
    timers: nodeTimers,
    servers: [{ host: broker.host, port: broker.port }],
    clientId: 'pub',
    store: new MemoryStore(),
  });
  const statuses = new Map<number, FinalStatus>();
  client.onStatus = (key, status) => statuses.set(key, status);
  const keys = [0, 1, 2].flatMap((qos) =>
    [1, 2, 3].map((i) => client.publish(`t/${qos}`, `${qos}-${i}`, { qos: qos as 0 })),
  );
  expect(client.queued).toBe(9);
  client.start();
  await waitFor(() => statuses.size === 9, { timeout: 5000 });
  // QoS 0 has no acknowledgement: `sent`; QoS 1 and 2: `delivered`
  expect(keys.map((k) => statuses.get(k))).toEqual([...Array(3).fill('sent'), ...Array(6).fill('delivered')]);
  await waitFor(() => got.length === 9);
  expect(got.sort()).toEqual(['0-1', '0-2', '0-3', '1-1', '1-2', '1-3', '2-1', '2-2', '2-3']);
  client.stop();
  sub.disconnect();
});
