// A second topology: two Mosquitto brokers bridged to each other (Mosquitto's own bridge), each
// independent, keeping its sessions to itself. A robust publisher and a robust subscriber with
// both as `servers` stream QoS 1 and QoS 2 messages (publisher on B, subscriber on A: every
// message crosses the bridge) while A is killed, then brought back and B killed. Sessions do not
// move: on the other broker CONNACK says no session, and the robust client does what it can
// about it: it subscribes again, resends what was in flight, and publishes again a QoS 2 message
// the lost broker had acknowledged with PUBREC. What the lost broker held is gone with it.
import { freePort, mosquittoOrSkip, seeded, startMosquitto, waitFor, type MosquittoHandle } from '@umqtt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailoverWorkload } from './failover.test-support.js';

const TOTAL = 2000;
const RATE = 500;

describe.skipIf(mosquittoOrSkip() !== undefined)('two Mosquitto brokers joined by a bridge', () => {
  let a: MosquittoHandle;
  let b: MosquittoHandle;

  beforeAll(async () => {
    a = await startMosquitto();
    // B bridges every failover/# message both ways with A, retrying its link every second.
    b = await startMosquitto({
      extraConfig: [
        'connection b-to-a',
        `address 127.0.0.1:${a.port}`,
        'topic failover/# both 2',
        `remote_clientid b-to-a-${await freePort()}`,
        'cleansession false',
        'restart_timeout 1',
      ],
    });
    await waitFor(() => / as b-to-a-/.test(a.log()), { message: 'the bridge connects to A' });
  }, 30_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('fails over both ways: no session on the other broker, so the client subscribes again and resends', async () => {
    const seed = Number(process.env['UMQTT_BRIDGE_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
    console.log(
      `bridge failover seed=${seed} (replay the schedule: UMQTT_BRIDGE_SEED=${seed} npx vitest run --project node src/broker/bridge.e2e.test.ts)`,
    );
    const random = seeded(seed);
    const w = new FailoverWorkload(TOTAL, [b.port, a.port], [a.port, b.port], RATE);
    const name = (port: number) => (port === a.port ? 'A' : 'B');
    const streamMs = (1000 * TOTAL) / RATE;
    const at = (share: number) =>
      new Promise((resolve) => setTimeout(resolve, Math.max(0, t0 + share * streamMs - performance.now())));
    const kills: { broker: string; at: number }[] = [];
    let t0 = 0;
    try {
      await w.start();
      t0 = performance.now();
      // A dies with the subscriber on it (and every message on its way from the bridge to it)
      await at(0.2 + random() * 0.1);
      kills.push({ broker: 'A', at: performance.now() });
      await a.kill();
      await waitFor(() => w.subacks.length === 2, { timeout: 10_000, message: 'the subscriber subscribed again on B' });
      // A comes back empty; B dies with the publisher on it
      await at(0.45 + random() * 0.05);
      await a.start();
      await at(0.55 + random() * 0.1);
      kills.push({ broker: 'B', at: performance.now() });
      await b.kill();
      await waitFor(() => w.settled === TOTAL, { timeout: 30_000, message: 'every message settled' });
      for (let last = -1; w.copies !== last;) {
        last = w.copies;
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    } finally {
      w.stop();
      await b.start(); // for afterAll's stop
    }
    const p = w.published;
    const q1 = w.tally(1);
    const q2 = w.tally(2);
    const resent = p.reason.filter((r) => r === 'resent after the session was lost').length;
    // Outside the failovers every message arrives: from the subscriber's resubscription (or
    // the start) until shortly before the next kill, published and acknowledged in between.
    const GRACE_MS = 500; // a message acknowledged by B may still be on its way over the bridge
    const windows: [number, number][] = [];
    let from = w.subacks[0]!;
    for (const k of kills) {
      windows.push([from, k.at - GRACE_MS]);
      from = Math.max(...w.subacks.filter((s) => s > k.at), ...w.pub.connacks.map((c) => c.at).filter((c) => c > k.at));
    }
    windows.push([from, Infinity]);
    const steady = (n: number) => windows.some(([s, e]) => p.publishedAt[n]! >= s && p.ackedAt[n]! <= e);
    const lostInSteadyState = [...q1.missing, ...q2.missing].filter(steady);
    const summary = {
      seed,
      kills: kills.map((k) => `${k.broker}@${Math.round(k.at - t0)}ms`),
      publisher: w.pub.connacks.map((c) => `${name(c.port)}${c.sessionPresent ? '+session' : ''}`),
      subscriber: w.sub.connacks.map((c) => `${name(c.port)}${c.sessionPresent ? '+session' : ''}`),
      subscriptions: w.subacks.length,
      qos2ResentAfterSessionLoss: resent,
      qos1: { sent: q1.sent, lost: q1.missing.length, duplicated: q1.duplicated.length },
      qos2: { sent: q2.sent, lost: q2.missing.length, duplicated: q2.duplicated.length },
      lostInSteadyState: lostInSteadyState.length,
    };
    console.log(`bridge failover: ${JSON.stringify(summary)}`);
    // every publish has one final status, delivered: the publisher resent what the lost broker had
    expect(p.statuses.every((c) => c === 1)).toBe(true);
    expect(p.status.every((s) => s === 'delivered')).toBe(true);
    // sessions do not move: each failover finds no session, and the subscriber subscribes again
    expect(w.sub.connacks.map((c) => [name(c.port), c.sessionPresent])).toEqual([
      ['A', false],
      ['B', false],
      ['A', false],
    ]);
    expect(w.pub.connacks.map((c) => [name(c.port), c.sessionPresent])).toEqual([
      ['B', false],
      ['A', false],
    ]);
    expect(w.subacks).toHaveLength(3);
    // what was lost was lost at a failover, never in between
    expect(lostInSteadyState).toEqual([]);
    // and from the last resubscription on, QoS 2 arrives exactly once
    const last = w.subacks.at(-1)!;
    const late = q2.duplicated.filter((n) => p.publishedAt[n]! > last + GRACE_MS);
    expect(late).toEqual([]);
  }, 60_000);
});
