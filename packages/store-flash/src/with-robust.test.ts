// FlashStore under a RobustClient against Mosquitto: a device that reboots with messages
// queued delivers them all, and a device whose power is cut in the middle of a QoS 1/QoS 2
// stream delivers, after the reboot, every message it had accepted, each QoS 2 one exactly once.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MqttClient } from '@umqtt/simple';
import { RELEASING, RobustClient, type FinalStatus, type Store } from '@umqtt/robust';
import { mosquittoOrSkip, startFaultProxy, startMosquitto, waitFor, type MosquittoHandle } from '@umqtt/testkit';
import { createTcpSocketFactory, nodeTimers } from '../../../apps/node/src/transport/index.ts';
import { FlashStore, SimulatedFlash } from './index.js';

const skip = mosquittoOrSkip();
const GEOMETRY = { blockSize: 4096, blocks: 16 };
const OPTIONS = { maxRecords: 200 };

describe.skipIf(skip)('FlashStore with RobustClient and Mosquitto', () => {
  let broker: MosquittoHandle;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(() => broker?.stop());

  /** A QoS 2 subscriber counting each payload it receives. */
  async function subscriber(topic: string) {
    const sub = new MqttClient({
      socket: createTcpSocketFactory(),
      timers: nodeTimers,
      host: broker.host,
      port: broker.port,
      clientId: `sub-${topic}`,
    });
    const got = new Map<string, number>();
    sub.onMessage = (m) => {
      const p = new TextDecoder().decode(m.payload);
      got.set(p, (got.get(p) ?? 0) + 1);
    };
    await sub.connect();
    sub.subscribe(`${topic}/#`, 2);
    await waitFor(() => sub.inflight === 0);
    await new Promise((r) => setTimeout(r, 50));
    return { sub, got };
  }

  function device(store: Store, clientId: string, port = broker.port) {
    const client = new RobustClient({
      socket: createTcpSocketFactory(),
      timers: nodeTimers,
      servers: [{ host: broker.host, port }],
      clientId,
      clean: false,
      store,
      backoff: { min: 50, max: 200 },
    });
    const statuses = new Map<number, FinalStatus>();
    client.onStatus = (key, status) => statuses.set(key, status);
    return { client, statuses };
  }

  test('messages queued on flash before a reboot are all delivered after it, QoS 2 exactly once', async () => {
    const { sub, got } = await subscriber('reboot');
    const flash = new SimulatedFlash(GEOMETRY);
    const before = device(new FlashStore(flash, OPTIONS), 'dev-reboot');
    const sent = Array.from({ length: 40 }, (_, i) => `m${i}`);
    for (const [i, p] of sent.entries())
      expect(before.client.publish(`reboot/${i % 2 ? 'q2' : 'q1'}`, p, { qos: i % 2 ? 2 : 1 })).toBeGreaterThan(0);
    expect(before.client.queued).toBe(40);
    // the device reboots before it ever connects: a new client on what the flash holds
    const after = device(new FlashStore(flash.clone(), OPTIONS), 'dev-reboot');
    expect(after.client.queued).toBe(40);
    after.client.start();
    await waitFor(() => after.statuses.size === 40 && got.size === 40, { timeout: 10_000 });
    expect([...after.statuses.values()].every((s) => s === 'delivered')).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    for (const [i, p] of sent.entries()) if (i % 2) expect(got.get(p), p).toBe(1);
    after.client.stop();
    sub.disconnect();
  });

  test('power cut in the middle of a QoS 1/QoS 2 stream: after the reboot every accepted message arrives, each QoS 2 one once', async () => {
    const { sub, got } = await subscriber('cut');
    const proxy = await startFaultProxy({ host: broker.host, port: broker.port });
    const flash = new SimulatedFlash(GEOMETRY);
    const inner = new FlashStore(flash, OPTIONS);
    let releasing = 0;
    let rebootFlash: SimulatedFlash | undefined;
    // the device dies right after its 6th QoS 2 message reached RELEASING on flash: nothing more
    // leaves it (the proxy drops every byte from then on) and its flash takes no more writes
    const store: Store = {
      add: (m) => inner.add(m),
      update(key, id, stage, attempts) {
        inner.update(key, id, stage, attempts);
        if (stage === RELEASING && ++releasing === 6) {
          rebootFlash = flash.clone();
          flash.cutPowerAfter(0);
          proxy.blackhole();
        }
      },
      remove: (key) => inner.remove(key),
      messages: () => inner.messages(),
      get count() {
        return inner.count;
      },
      get bytes() {
        return inner.bytes;
      },
      capacity: inner.capacity,
      close: () => inner.close(),
    };
    const before = device(store, 'dev-cut', proxy.port);
    const sent = Array.from({ length: 60 }, (_, i) => `c${i}`);
    for (const [i, p] of sent.entries()) before.client.publish(`cut/${i % 2 ? 'q2' : 'q1'}`, p, { qos: i % 2 ? 2 : 1 });
    before.client.start();
    await waitFor(() => rebootFlash, { timeout: 10_000 });
    before.client.stop(); // its DISCONNECT goes nowhere: the broker still holds the session
    const delivered = before.statuses.size;
    // the reboot: a new client on the flash as the power cut left it, straight to the broker
    const after = device(new FlashStore(rebootFlash!, OPTIONS), 'dev-cut');
    const held = after.client.held;
    expect(held + delivered).toBeGreaterThanOrEqual(60);
    after.client.start();
    await waitFor(() => after.statuses.size === held, { timeout: 10_000 });
    await waitFor(() => sent.every((p) => got.has(p)), { timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    expect([...after.statuses.values()].every((s) => s === 'delivered')).toBe(true);
    const q2 = sent.filter((_, i) => i % 2);
    expect(q2.map((p) => [p, got.get(p)])).toEqual(q2.map((p) => [p, 1]));
    const duplicates = sent.filter((p) => got.get(p)! > 1).length;
    console.log(
      `power cut mid-stream: ${delivered} delivered before the cut, ${held} resumed from flash after it, ${duplicates} QoS 1 duplicates, no QoS 2 duplicate`,
    );
    after.client.stop();
    sub.disconnect();
    await proxy.close();
  });
});
