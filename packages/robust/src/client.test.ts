// RobustClient on a fake clock against a byte-level scripted peer: reconnect with backoff and
// failover, persistent-session resend, message timeouts, manual mode, issues and counters.
// (Queue policies, TTL, priority and presets: policy.test.ts. Faults: *.faults.test.ts.)
import { describe, expect, test } from 'vitest';
import { CLOCK_HABITS, settle } from '@umqtt/testkit';
import { ArrayStore } from './array-store.test-support.js';
import {
  runFor,
  seeded,
  T0,
  setup,
  accept,
  packets,
  pub,
  PUBACK,
  PUBREC,
  PUBREL,
  PUBCOMP,
  type Setup,
} from './harness.test-support.js';
import { RELEASING, SENT, type FinalStatus } from './index.js';

// ---- harness --------------------------------------------------------------------------------

/** CONNECT for client id c1, clean session off (robust's default), keepalive 60. */
const CONNECT_C1 = '10 0e 00 04 4d 51 54 54 04 00 00 3c 00 02 63 31';

/** The packet id of a SUBSCRIBE, PUBACK... (bytes 2 and 3). */
const packetId = (p: string) => parseInt(p.split(' ').slice(2, 4).join(''), 16);
/** 'filter qN' for each filter of a SUBSCRIBE packet; the packet's hex otherwise. */
function subscribed(p: string): string {
  const b = p.split(' ').map((x) => parseInt(x, 16));
  if (b[0] !== 0x82) return p;
  const out: string[] = [];
  for (let i = 4; i < b.length;) {
    const n = (b[i]! << 8) | b[i + 1]!;
    out.push(`${new TextDecoder().decode(Uint8Array.from(b.slice(i + 2, i + 2 + n)))} q${b[i + 2 + n]}`);
    i += 3 + n;
  }
  return out.join(', ');
}

// ---- reconnect and backoff ---------------------------------------------------------------------

describe('backoff', () => {
  test('an hour of outage costs at most 40 attempts with default settings (vs ~3,600 for a fixed 1 s retry); back within one max period', async () => {
    const report: string[] = [];
    for (const seed of [1, 2, 3, 42, 1234, 0xbeef, 0xc0ffee]) {
      const t = setup({ random: seeded(seed) }, seed % 2 ? 'down' : 'unavailable');
      t.client.start();
      await runFor(t.clock, 3_600_000);
      const attempts = t.client.counters.attempts;
      report.push(`seed ${seed}: ${attempts}`);
      expect(attempts).toBeLessThanOrEqual(40);
      expect(attempts).toBeGreaterThanOrEqual(10); // it does keep trying
      expect(t.client.state).toBe('offline');
      // the broker comes back: online within one maximum backoff period (10 min)
      t.peer = 'up';
      const back = t.clock.now();
      await runFor(t.clock, 600_000, () => t.client.state === 'online');
      expect(t.client.state).toBe('online');
      expect(t.clock.now() - back).toBeLessThanOrEqual(600_000);
      report[report.length - 1] +=
        ` (online ${((t.clock.now() - back) / 1000).toFixed(1)} s after the broker came back)`;
    }
    const fixed = setup({ backoff: { min: 1000, max: 1000, factor: 1 }, random: () => 1 }, 'down');
    fixed.client.start();
    await runFor(fixed.clock, 3_600_000);
    const n = fixed.client.counters.attempts;
    expect(n).toBeGreaterThanOrEqual(3500);
    expect(n).toBeLessThanOrEqual(3700);
    console.log(
      `connection attempts in one hour of outage: default backoff ${report.join('; ')}; fixed 1 s retry: ${n}`,
    );
  });

  test('delays grow by the factor from min up to max, with jitter from random() in [cap/2, cap)', async () => {
    const gaps = async (random: () => number) => {
      const t = setup({ random }, 'down');
      t.client.start();
      await runFor(t.clock, 3_600_000);
      return t.opened.slice(1, 10).map(([, at], i) => at - t.opened[i]![1]);
    };
    // caps 1 s, 10 s, 100 s, then max 600 s
    expect(await gaps(() => 0.5)).toEqual([750, 7500, 75_000, 450_000, 450_000, 450_000, 450_000, 450_000, 450_000]);
    expect(await gaps(() => 0)).toEqual([500, 5000, 50_000, 300_000, 300_000, 300_000, 300_000, 300_000, 300_000]);
    const top = await gaps(() => 0.999);
    expect(top[3]).toBeLessThan(600_000);
    expect(top[3]).toBeGreaterThan(599_000);
  });

  test('the backoff grows with failed attempts only: a healthy connection retries within min, a flapping one backs off', async () => {
    const t = setup({ random: () => 0.5, backoff: { factor: 3, max: 200_000 } }, 'down');
    t.client.start();
    await runFor(t.clock, 100_000); // attempts at +0, 0.75, 3, 9.75, 30, 90.75 s (x 0.75 of caps 1, 3, 9, 27, 81 s)
    expect(t.client.counters.attempts).toBe(6);
    t.peer = 'up';
    await runFor(t.clock, 200_000, () => t.client.state === 'online'); // the 7th attempt, at 240.75 s
    expect(t.client.counters.attempts).toBe(7);
    // accepted, then dropped after 1 s with nothing acknowledged: a failed attempt (the 7th in a
    // row: cap 200 s, x 0.75), so a broker that accepts and drops us is not hammered
    await runFor(t.clock, 1000);
    let lostAt = t.clock.now();
    t.broker.socket.fail();
    await runFor(t.clock, 400_000, () => t.client.state === 'online');
    expect(t.opened.at(-1)![1] - lostAt).toBe(150_000);
    // up for stableAfter (5 s): healthy; lost, it is back within min (x 0.75)
    await runFor(t.clock, 5000);
    lostAt = t.clock.now();
    t.broker.socket.fail();
    await runFor(t.clock, 400_000, () => t.client.state === 'online');
    expect(t.opened.at(-1)![1] - lostAt).toBe(750);
    // healthy sooner when the broker acknowledges an exchange: lost 1 s (backoff.min) after a PUBACK
    t.client.publish('a', 'x', { qos: 1 });
    await settle();
    t.broker.socket.send(PUBACK(1));
    await runFor(t.clock, 1000);
    lostAt = t.clock.now();
    t.broker.socket.fail();
    await runFor(t.clock, 400_000, () => t.client.state === 'online');
    expect(t.opened.at(-1)![1] - lostAt).toBe(750);
    expect(t.client.counters.reconnects).toBe(3);
  });

  test('a broker that answers SUBACK and drops us at once is not hammered, and maxAttempts still gives up', async () => {
    const t = setup({ random: () => 0.5, backoff: { maxAttempts: 5 } }, 'up');
    t.client.subscribe('s/#', 1);
    t.client.start();
    for (let i = 0; i < 20 && t.client.state !== 'closed'; i++) {
      await runFor(t.clock, 600_000, () => t.client.state === 'online' || t.client.state === 'closed');
      if (t.client.state !== 'online') break;
      await settle();
      const sub = packets(t.broker.socket.take()).find((p) => p.startsWith('82 '));
      if (sub) t.broker.socket.send(`90 03 ${sub.split(' ').slice(2, 4).join(' ')} 01`);
      await runFor(t.clock, 50);
      t.broker.socket.fail(); // 50 ms after CONNACK and SUBACK
    }
    expect(t.client.state).toBe('closed');
    expect(t.client.counters.attempts).toBe(5);
    expect(t.client.lastIssue?.error.code).toBe('UMQTT_GAVE_UP');
  });

  test("stop() and start() while a connect is under way: the old attempt's outcome is ignored", async () => {
    const t = setup({ random: () => 0.5 });
    t.client.start();
    t.client.stop(); // the first connect ends: its rejection must not count against the new start
    t.client.start();
    await settle();
    expect(t.states).toEqual(['connecting', 'closed', 'connecting']);
    await accept(t);
    expect(t.client.state).toBe('online');
    expect(t.client.counters.attempts).toBe(2);
  });

  test('sent means handed to the socket: a QoS 0 message resumed on CONNACK is written before a fatal packet that came with it', async () => {
    const t = setup();
    const k = t.client.publish('a', 'x', { queueQos0: true });
    t.client.start();
    const sock = t.broker.socket;
    sock.open();
    await settle();
    sock.take();
    sock.send('20 02 00 00 3f 00'); // CONNACK, then malformed bytes in the same chunk
    await settle();
    expect(packets(sock.take())).toEqual([pub('a', 'x')]);
    expect(t.statuses).toEqual([[k, 'sent', undefined]]);
  });

  test('a link that drops healthy connections every 2 s costs about a second each time, not minutes', async () => {
    const t = setup({ random: () => 0.98 }, 'up'); // delays of 0.99 x min (on a 10 ms tick: under min)
    t.client.start();
    let gaps = 0;
    for (let i = 0; i < 8; i++) {
      await runFor(t.clock, 60_000, () => t.client.state === 'online');
      t.client.publish('a', 'x', { qos: 1 });
      await settle();
      t.broker.socket.send(PUBACK(1 + i));
      await runFor(t.clock, 2000);
      const lostAt = t.clock.now();
      t.broker.socket.fail();
      await runFor(t.clock, 60_000, () => t.client.state === 'online');
      gaps = Math.max(gaps, t.opened.at(-1)![1] - lostAt);
    }
    expect(gaps).toBeLessThan(1000); // within backoff.min every time
  });

  test('an hour of outage costs at most 40 attempts, counting each try of each server', async () => {
    for (const servers of [[{ host: 'A' }], [{ host: 'A' }, { host: 'B' }, { host: 'C' }]]) {
      const random = seeded(42);
      const t = setup({ servers, random }, 'down');
      t.client.start();
      await runFor(t.clock, 3_600_000);
      expect(t.opened.length).toBe(t.client.counters.attempts);
      expect(t.client.counters.attempts).toBeLessThanOrEqual(40);
      expect(t.client.counters.attempts).toBeGreaterThan(8); // it keeps trying (caps 1 s, 10 s, 100 s, then 10 min)
      t.client.stop();
    }
  });

  test('maxAttempts: gives up with state closed and an issue UMQTT_GAVE_UP', async () => {
    const t = setup({ backoff: { maxAttempts: 3 } }, 'down');
    t.client.start();
    await runFor(t.clock, 60_000);
    expect(t.client.counters.attempts).toBe(3);
    expect(t.client.state).toBe('closed');
    expect(t.states).toEqual(['connecting', 'offline', 'connecting', 'offline', 'connecting', 'closed']);
    expect(t.client.lastIssue).toMatchObject({ place: 'reconnect', error: { code: 'UMQTT_GAVE_UP' } });
    await runFor(t.clock, 3_600_000);
    expect(t.client.counters.attempts).toBe(3); // nothing more
    // start() tries again from the beginning
    t.peer = 'up';
    t.client.start();
    await runFor(t.clock, 1000);
    expect(t.client.state).toBe('online');
  });
});

describe('failover', () => {
  test('servers [A, B]: A fails, B is tried within backoff.min; each try of each server backs off', async () => {
    const t = setup(
      { servers: [{ host: 'A' }, { host: 'B', port: 1884 }], random: () => 0.5, backoff: { factor: 3 } },
      'down',
    );
    t.client.start();
    await runFor(t.clock, 16_000);
    expect(t.opened.map(([host, at]) => [host, at - T0])).toEqual([
      ['A', 0],
      ['B', 750],
      ['A', 3000],
      ['B', 9750],
    ]);
    expect(t.broker.sockets[1]!.options.port).toBe(1884);
    expect(t.broker.sockets[0]!.options.port).toBe(1883);
  });

  test('A refuses, B accepts: online on B within backoff.min', async () => {
    const t = setup({ servers: [{ host: 'A' }, { host: 'B' }] }, 'unavailable');
    t.client.start();
    await settle();
    await settle();
    t.peer = 'up';
    await runFor(t.clock, 1000, () => t.client.state === 'online');
    expect(t.client.state).toBe('online');
    expect(t.opened.map(([host, at]) => [host, at - T0])).toEqual([
      ['A', 0],
      ['B', 500],
    ]);
    expect(t.client.issues.map((i) => [i.place, i.error.code])).toEqual([['connect', 'UMQTT_CONNACK_UNAVAILABLE']]);
  });
});

// ---- persistent sessions -----------------------------------------------------------------------

/** Online; subscribed to s/# (id 1); QoS 1 `a` (id 2) in flight, QoS 2 `b` (id 3) past PUBREC; then the connection fails. */
async function lostWithInflight(t: Setup) {
  t.client.start();
  expect(await accept(t)).toBe(CONNECT_C1);
  const sock = t.broker.socket;
  t.client.subscribe('s/#', 1);
  const k1 = t.client.publish('a', 'x', { qos: 1 });
  const k2 = t.client.publish('b', 'y', { qos: 2 });
  await settle();
  expect(packets(sock.take())).toEqual([
    '82 08 00 01 00 03 73 2f 23 01',
    pub('a', 'x', { qos: 1, id: 2 }),
    pub('b', 'y', { qos: 2, id: 3 }),
  ]);
  sock.send('90 03 00 01 01');
  sock.send(PUBREC(3));
  await settle();
  expect(packets(sock.take())).toEqual([PUBREL(3)]);
  sock.fail();
  await settle();
  expect(t.client.state).toBe('offline');
  expect(t.statuses).toEqual([]);
  await runFor(t.clock, 500); // the first retry (round 0, random 0.5)
  expect(t.broker.sockets.length).toBe(2);
  return { k1, k2 };
}

describe('persistent session resend', () => {
  test('session present: PUBLISH again with DUP and the same id, PUBREL (not PUBLISH) for the QoS 2, in order; no resubscribe', async () => {
    const t = setup();
    const { k1, k2 } = await lostWithInflight(t);
    expect(await accept(t, true)).toBe(CONNECT_C1);
    const sock = t.broker.socket;
    expect(packets(sock.take())).toEqual([pub('a', 'x', { qos: 1, id: 2, dup: true }), PUBREL(3)]);
    sock.send(PUBACK(2) + ' ' + PUBCOMP(3));
    await settle();
    expect(t.statuses).toEqual([
      [k1, 'delivered', undefined],
      [k2, 'delivered', undefined],
    ]);
    expect(t.client.held).toBe(0);
    expect(t.store.count).toBe(0);
  });

  test('session not present: the remembered SUBSCRIBE goes again too; QoS 2 past PUBREC is published again', async () => {
    const t = setup();
    const { k1, k2 } = await lostWithInflight(t);
    await accept(t, false);
    const written = packets(t.broker.socket.take());
    // the resends in their original order; the SUBSCRIBE (before or after them) with an id the
    // session does not use. The QoS 2 message the lost session had acknowledged with PUBREC is
    // not released on a broker that never saw it: it is published again as a new message.
    expect(written.filter((p) => !p.startsWith('82 '))).toEqual([
      pub('a', 'x', { qos: 1, id: 2, dup: true }),
      pub('b', 'y', { qos: 2, id: 4 }),
    ]);
    const subs = written.filter((p) => p.startsWith('82 '));
    expect(subs.map(subscribed)).toEqual(['s/# q1']);
    expect([2, 4]).not.toContain(packetId(subs[0]!));
    t.broker.socket.send(`${PUBACK(2)} ${PUBREC(4)}`);
    await settle();
    expect(packets(t.broker.socket.take())).toEqual([PUBREL(4)]);
    t.broker.socket.send(PUBCOMP(4));
    await settle();
    expect(t.statuses).toEqual([
      [k1, 'delivered', undefined],
      [k2, 'delivered', 'resent after the session was lost'],
    ]);
  });

  test('resubscribe: false never resends subscriptions', async () => {
    const t = setup({ resubscribe: false });
    await lostWithInflight(t);
    await accept(t, false);
    expect(packets(t.broker.socket.take())).toEqual([
      pub('a', 'x', { qos: 1, id: 2, dup: true }),
      pub('b', 'y', { qos: 2, id: 4 }),
    ]);
  });

  test('a store that throws while the session resumes (in a promise reaction): recorded, nothing escapes', async () => {
    class FailingStore extends ArrayStore {
      failing = false;
      override remove(key: number): void {
        if (this.failing) throw new Error('flash write failed');
        super.remove(key);
      }
    }
    const store = new FailingStore();
    const t = setup({ store });
    t.client.start();
    await accept(t);
    t.client.publish('a', 'x', { qos: 1, ttl: 1000 });
    await settle();
    t.broker.socket.fail(); // in flight, unacknowledged
    await runFor(t.clock, 2000); // its time runs out while offline; the retry comes
    store.failing = true;
    await accept(t, true); // the expiry on resume hits the failing store: an unhandled rejection would fail the run
    expect(t.client.issues.some((i) => /flash write failed/.test(i.error.message))).toBe(true);
  });

  test('the store carries the session over a restart: a new client resends with the same ids', async () => {
    const store = new ArrayStore();
    const first = setup({ store });
    await lostWithInflight(first);
    first.client.stop();
    expect(store.messages().map((m) => [m.topic, m.id, m.stage])).toEqual([
      ['a', 2, SENT],
      ['b', 3, RELEASING],
    ]);
    const t = setup({ store });
    t.client.start();
    await accept(t, true);
    expect(packets(t.broker.socket.take())).toEqual([pub('a', 'x', { qos: 1, id: 2, dup: true }), PUBREL(3)]);
    t.broker.socket.send(PUBACK(2) + ' ' + PUBCOMP(3));
    await settle();
    expect(t.statuses.map(([k, s]) => [k, s])).toEqual([
      [1, 'delivered'],
      [2, 'delivered'],
    ]);
  });

  // BUG (reported): #online sends subscriptions before resending the session's in-flight
  // messages, so a fresh MqttClient (after a restart) gives the SUBSCRIBE packet id 1, which a
  // stored QoS 2 message needs for its PUBREL; release(1) throws, the issue is recorded and the
  // message stays RELEASING with no status on this connection.
  test('after a restart, a subscription made before start() does not steal the id of a stored in-flight message', async () => {
    const store = new ArrayStore();
    const k = store.add({
      topic: 'b',
      payload: new Uint8Array([0x79]),
      qos: 2,
      retain: false,
      priority: 0,
      expiresAt: 0,
    });
    store.update(k, 1, RELEASING, 1);
    const t = setup({ store });
    t.client.subscribe('s/#', 1);
    t.client.start();
    await accept(t, true);
    const written = packets(t.broker.socket.take());
    expect(written).toContain(PUBREL(1));
    expect(t.client.issues.filter((i) => i.place === 'sendqueue')).toEqual([]);
  });

  // BUG (reported): a SUBSCRIBE written but not acknowledged when the connection drops is
  // forgotten: simple reports 'aborted' for its id and #onStatus only puts subscriptions back
  // on 'timeout'. With a session present nothing resubscribes, so the subscription is lost.
  test('a SUBSCRIBE lost with the connection is sent again on reconnect, even with a session present', async () => {
    const t = setup();
    t.client.start();
    await accept(t);
    t.client.subscribe('s/#', 1);
    await settle();
    expect(packets(t.broker.socket.take())).toEqual(['82 08 00 01 00 03 73 2f 23 01']);
    t.broker.socket.fail();
    await runFor(t.clock, 500);
    await accept(t, true);
    expect(packets(t.broker.socket.take()).map(subscribed)).toEqual(['s/# q1']);
  });

  // BUG (reported): subscribe() does not validate filters at once; an invalid filter is remembered,
  // and when the batch is sent simple's encodeSubscribe throws for the whole batch inside #try,
  // so the valid filters queued with it are never subscribed (and fail again on every reconnect).
  test('an invalid filter throws at once and does not take valid subscriptions down with it', async () => {
    const t = setup();
    t.client.subscribe('good/1', 1);
    expect(() => t.client.subscribe('bad/#/x', 1)).toThrow(expect.objectContaining({ code: 'UMQTT_INVALID_TOPIC' }));
    t.client.start();
    await accept(t);
    expect(packets(t.broker.socket.take()).map(subscribed)).toEqual(['good/1 q1']);
  });

  // BUG (reported): unsubscribe() while offline only forgets the filter locally. robust connects
  // with clean session off, so with a session present the broker still has the subscription and
  // keeps sending its messages: the UNSUBSCRIBE must be sent when back online.
  test('unsubscribe while offline is sent on reconnect when the broker kept the session', async () => {
    const t = setup();
    t.client.start();
    await accept(t);
    t.client.subscribe('s', 1);
    await settle();
    t.broker.socket.take();
    t.broker.socket.send('90 03 00 01 01');
    t.broker.socket.fail();
    t.client.unsubscribe('s');
    await runFor(t.clock, 500);
    await accept(t, true);
    expect(packets(t.broker.socket.take()).map((p) => p.slice(0, 2))).toEqual(['a2']);
  });

  test('subscribe while offline is sent once online; a newer subscription to a filter replaces the queued one', async () => {
    const t = setup();
    const granted: number[][] = [];
    t.client.onSubscribed = (_, g) => granted.push(g);
    t.client.subscribe('s/#', 0);
    t.client.subscribe(['s/#', 'u'], 1);
    t.client.start();
    await accept(t);
    expect(packets(t.broker.socket.take())).toEqual(['82 0c 00 01 00 03 73 2f 23 01 00 01 75 01']);
    t.broker.socket.send('90 04 00 01 01 80');
    await settle();
    expect(granted).toEqual([[1, 0x80]]);
    expect(t.client.lastIssue).toMatchObject({
      place: 'subscribe',
      error: { code: 'UMQTT_SUBSCRIBE_REFUSED', reasonCode: 0x80 },
    });
  });
});

// ---- message timeouts --------------------------------------------------------------------------

describe('incoming QoS 2 across a reboot (the ids held until PUBREL live in the store)', () => {
  test('a message acknowledged with PUBREC before a reboot is not handed over again when the broker resends it', async () => {
    const store = new ArrayStore();
    const first = setup({ store, clean: false });
    const got: string[] = [];
    first.client.onMessage = (m) => got.push(m.topic);
    first.client.start();
    await accept(first);
    first.broker.socket.send(pub('in/once', 'x', { qos: 2, id: 9 }));
    await settle();
    expect(packets(first.broker.socket.take())).toEqual([PUBREC(9)]);
    expect(got).toEqual(['in/once']);
    expect(store.held()).toEqual([9]);
    // power cut: the client and its RAM are gone, the store is not
    first.client.stop();
    const second = setup({ store, clean: false });
    second.client.onMessage = (m) => got.push(m.topic);
    second.client.start();
    await accept(second, true);
    second.broker.socket.send(pub('in/once', 'x', { qos: 2, id: 9, dup: true })); // our PUBREC was lost
    await settle();
    expect(packets(second.broker.socket.take())).toEqual([PUBREC(9)]);
    expect(got).toEqual(['in/once']); // once
    second.broker.socket.send(PUBREL(9));
    await settle();
    expect(packets(second.broker.socket.take())).toEqual([PUBCOMP(9)]);
    expect(store.held()).toEqual([]);
  });

  test('a broker that kept no session holds nothing of ours: the held ids are let go', async () => {
    const store = new ArrayStore();
    store.incoming(4, true);
    const t = setup({ store, clean: false });
    const got: string[] = [];
    t.client.onMessage = (m) => got.push(m.topic);
    t.client.start();
    await accept(t, false);
    expect(store.held()).toEqual([]);
    t.broker.socket.send(pub('in/new', 'y', { qos: 2, id: 4 })); // id 4 is a new message now
    await settle();
    expect(got).toEqual(['in/new']);
  });
});

describe('message timeout: stays in flight, never resent on the same connection [MQTT-4.4.0-1]', () => {
  test('QoS 1: no resend on the same connection; a late PUBACK delivers it; one status', async () => {
    const t = setup({ messageTimeout: 5000 });
    t.client.start();
    await accept(t);
    const sock = t.broker.socket;
    const k = t.client.publish('a', 'x', { qos: 1 });
    await settle();
    expect(packets(sock.take())).toEqual([pub('a', 'x', { qos: 1, id: 1 })]);
    await runFor(t.clock, 5000);
    expect(sock.take()).toBe(''); // nothing resent on this connection
    expect(t.client.issues.at(-1)?.error.code).toBe('UMQTT_ACK_TIMEOUT');
    expect(t.statuses).toEqual([]);
    sock.send(PUBACK(1)); // late
    await settle();
    expect(t.statuses).toEqual([[k, 'delivered', undefined]]);
    expect(t.client.counters.delivered).toBe(1);
  });

  test('QoS 1 timed out, then the connection drops: resent once after reconnect, same id, DUP', async () => {
    const t = setup({ messageTimeout: 5000 });
    t.client.start();
    await accept(t);
    const k = t.client.publish('a', 'x', { qos: 1 });
    await settle();
    t.broker.socket.take();
    await runFor(t.clock, 5000);
    t.broker.socket.fail();
    await runFor(t.clock, 60_000, () => t.broker.sockets.length > 1);
    await accept(t, true);
    const sock = t.broker.socket;
    expect(packets(sock.take())).toEqual([pub('a', 'x', { qos: 1, id: 1, dup: true })]);
    sock.send(PUBACK(1));
    await settle();
    expect(t.statuses).toEqual([[k, 'delivered', undefined]]);
  });

  test('QoS 2: a late PUBREC gets PUBREL, PUBCOMP delivers; nothing is sent twice', async () => {
    const t = setup({ messageTimeout: 5000 });
    t.client.start();
    await accept(t);
    const sock = t.broker.socket;
    const k = t.client.publish('b', 'y', { qos: 2 });
    await settle();
    sock.take();
    await runFor(t.clock, 5000);
    expect(sock.take()).toBe('');
    sock.send(PUBREC(1));
    await settle();
    expect(packets(sock.take())).toEqual([PUBREL(1)]);
    sock.send(PUBCOMP(1));
    await settle();
    expect(t.statuses).toEqual([[k, 'delivered', undefined]]);
  });

  test('QoS 2 after PUBREC: a PUBCOMP later than messageTimeout still delivers', async () => {
    const t = setup({ messageTimeout: 5000 });
    t.client.start();
    await accept(t);
    const sock = t.broker.socket;
    const k = t.client.publish('b', 'y', { qos: 2 });
    await settle();
    sock.take();
    sock.send(PUBREC(1));
    await settle();
    expect(packets(sock.take())).toEqual([PUBREL(1)]);
    await runFor(t.clock, 5000);
    expect(sock.take()).toBe('');
    sock.send(PUBCOMP(1));
    await settle();
    expect(t.statuses).toEqual([[k, 'delivered', undefined]]);
  });
});

// ---- manual mode -------------------------------------------------------------------------------

describe('writable and onWritable: a streaming producer', () => {
  test('writable while online, nothing queued and the window open; onWritable when it opens again, queued messages first', async () => {
    const t = setup({ maxInflight: 2 });
    expect(t.client.writable).toBe(false); // not online
    const k0 = t.client.publish('a', '0', { qos: 1 }); // queued while offline
    let told = 0;
    t.client.onWritable = () => told++;
    t.client.start();
    const sock = t.broker.socket;
    await accept(t);
    expect(packets(sock.take())).toEqual([pub('a', '0', { qos: 1, id: 1 })]);
    expect(told).toBe(1); // the queue went out and there is room: go on
    expect(t.client.writable).toBe(true);
    const keys = [k0];
    while (t.client.writable && keys.length < 100) keys.push(t.client.publish('a', String(keys.length), { qos: 1 }));
    expect(keys).toHaveLength(2); // the window of 2 is full: the loop stops, nothing waits in the queue
    expect(t.client.queued).toBe(0);
    await settle();
    expect(packets(sock.take())).toEqual([pub('a', '1', { qos: 1, id: 2 })]);
    sock.send(PUBACK(1));
    await settle();
    expect(told).toBe(2);
    expect(t.client.writable).toBe(true);
    // publishing while not writable still queues, by the policy; onWritable once it has gone out
    t.client.publish('a', '2', { qos: 1 });
    t.client.publish('a', '3', { qos: 1 });
    expect(t.client.queued).toBe(1);
    expect(t.client.writable).toBe(false);
    sock.send(PUBACK(2));
    await settle();
    expect(t.client.queued).toBe(0);
    expect(told).toBe(2); // the queued message took the free slot: the window is full again
    sock.send(PUBACK(3));
    await settle();
    expect(told).toBe(3);
    expect(t.statuses.map(([, s]) => s)).toEqual(['delivered', 'delivered', 'delivered']);
  });

  test('a producer that found writable false before start() is told once online, with nothing queued', async () => {
    const t = setup();
    let told = 0;
    t.client.onWritable = () => told++;
    expect(t.client.writable).toBe(false); // checked before start(): nothing published, nothing queued
    t.client.start();
    await accept(t);
    expect(t.client.queued).toBe(0);
    expect(told).toBe(1);
    expect(t.client.writable).toBe(true);
  });
});

describe('manual mode (autoReconnect: false, as robust2)', () => {
  test('after a failed connect or a loss nothing happens until reconnect()', async () => {
    const t = setup({ autoReconnect: false }, 'down');
    t.client.start();
    await runFor(t.clock, 3_600_000);
    expect(t.client.counters.attempts).toBe(1);
    expect(t.client.state).toBe('offline');
    t.peer = 'up';
    t.client.reconnect();
    await runFor(t.clock, 0);
    expect(t.client.state).toBe('online');
    const k = t.client.publish('a', 'x', { qos: 1 });
    t.broker.socket.fail();
    await runFor(t.clock, 3_600_000);
    expect(t.broker.sockets.length).toBe(2);
    expect(t.client.state).toBe('offline');
    expect(t.client.held).toBe(1);
    t.peer = 'manual';
    t.client.reconnect();
    t.client.reconnect(); // ignored while connecting
    await accept(t, true);
    expect(t.broker.sockets.length).toBe(3);
    expect(packets(t.broker.socket.take())).toEqual([pub('a', 'x', { qos: 1, id: 1, dup: true })]);
    t.broker.socket.send(PUBACK(1));
    await settle();
    expect(t.statuses).toEqual([[k, 'delivered', undefined]]);
  });

  test('reconnect() while waiting for an automatic retry connects at once', async () => {
    const t = setup({ random: () => 0.99 }, 'down');
    t.client.start();
    await runFor(t.clock, 100_000);
    const n = t.client.counters.attempts;
    t.peer = 'up';
    t.client.reconnect();
    await runFor(t.clock, 0);
    expect(t.client.state).toBe('online');
    expect(t.client.counters.attempts).toBe(n + 1);
  });

  test('stop() closes, stops retrying and keeps held messages', async () => {
    const t = setup({}, 'down');
    t.client.publish('a', 'x', { qos: 1 });
    t.client.start();
    await runFor(t.clock, 10_000);
    const n = t.client.counters.attempts;
    t.client.stop();
    await runFor(t.clock, 3_600_000);
    expect(t.client.counters.attempts).toBe(n);
    expect(t.client.state).toBe('closed');
    expect(t.store.count).toBe(1);
    expect(t.statuses).toEqual([]);
    t.client.discard();
    await settle();
    expect(t.statuses).toEqual([[1, 'dropped', 'discarded']]);
  });
});

// ---- issues and counters -----------------------------------------------------------------------

describe('issues, state, counters', () => {
  test('each issue carries its place: connect, read, keepalive, reconnect', async () => {
    const logged: string[] = [];
    const t = setup({
      keepAlive: 10,
      random: () => 0,
      backoff: { min: 20, maxAttempts: 2, stableAfter: 1 }, // retries within 10 ms; accepted connections healthy after 1 ms
      logger: (i) => logged.push(`${i.place}:${i.error.code}`),
    });
    t.client.start();
    // connect: CONNACK 3
    t.broker.socket.open();
    t.broker.socket.send('20 02 00 03');
    await settle();
    expect(t.client.state).toBe('offline');
    expect(t.client.lastIssue).toMatchObject({
      place: 'connect',
      time: T0,
      error: { code: 'UMQTT_CONNACK_UNAVAILABLE', reasonCode: 3 },
    });
    await runFor(t.clock, 20); // the retry (random 0; on a coarse tick, the next one)
    await accept(t);
    await runFor(t.clock, 20); // healthy (stableAfter 1 ms; 20 ms for a coarse tick)
    // read: the connection is reset
    t.broker.socket.fail(new Error('ECONNRESET'));
    await settle();
    expect(t.client.lastIssue).toMatchObject({ place: 'read', error: { code: 'UMQTT_CONNECTION_LOST' } });
    expect(t.client.lastIssue!.error.message).toMatch(/ECONNRESET/);
    await runFor(t.clock, 20); // the retry (random 0; on a coarse tick, the next one)
    await accept(t);
    // keepalive: the broker goes silent; PINGREQ at 10 s, dead at 15 s
    const sock = t.broker.socket;
    await runFor(t.clock, 10_000);
    expect(sock.take()).toBe('c0 00');
    await runFor(t.clock, 5020); // dead at 15 s; the retry at once (on a coarse tick, the next one)
    expect(t.states.slice(-2)).toEqual(['offline', 'connecting']); // lost, and retried at once (random 0)
    expect(t.client.lastIssue).toMatchObject({ place: 'keepalive', error: { code: 'UMQTT_KEEPALIVE_TIMEOUT' } });
    // read: a protocol error from the broker (a second CONNACK)
    await runFor(t.clock, 1000);
    await accept(t);
    await runFor(t.clock, 20); // healthy (stableAfter 1 ms; 20 ms for a coarse tick)
    t.broker.socket.send('20 02 00 00');
    await settle();
    expect(t.client.lastIssue).toMatchObject({ place: 'read', error: { code: 'UMQTT_PROTOCOL_ERROR' } });
    // reconnect: gives up after 2 failures in a row
    t.peer = 'down';
    await runFor(t.clock, 60_000);
    expect(t.client.state).toBe('closed');
    expect(t.client.issues.slice(-3).map((i) => `${i.place}:${i.error.code}`)).toEqual([
      'connect:UMQTT_CONNECTION_LOST',
      'connect:UMQTT_CONNECTION_LOST',
      'reconnect:UMQTT_GAVE_UP',
    ]);
    // every issue logged once, history oldest first
    const history = t.client.issues.map((i) => `${i.place}:${i.error.code}`);
    expect(logged).toEqual(history);
    expect(history).toEqual([
      'connect:UMQTT_CONNACK_UNAVAILABLE',
      'read:UMQTT_CONNECTION_LOST',
      'keepalive:UMQTT_KEEPALIVE_TIMEOUT',
      'read:UMQTT_PROTOCOL_ERROR',
      'connect:UMQTT_CONNECTION_LOST',
      'connect:UMQTT_CONNECTION_LOST',
      'reconnect:UMQTT_GAVE_UP',
    ]);
    const times = t.client.issues.map((i) => i.time);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(t.states).toEqual([
      'connecting',
      'offline',
      'connecting',
      'online',
      'offline',
      'connecting',
      'online',
      'offline',
      'connecting',
      'online',
      'offline',
      'connecting',
      'offline',
      'connecting',
      'closed',
    ]);
    expect(t.client.counters).toMatchObject({ attempts: 6, reconnects: 2 });
  });

  test('the issue history keeps the last 16', async () => {
    const t = setup({ backoff: { min: 100, factor: 1 } }, 'down');
    t.client.start();
    await runFor(t.clock, 10_000);
    expect(t.client.counters.attempts).toBeGreaterThan(20);
    expect(t.client.issues.length).toBe(16);
  });

  test('a throwing callback or logger does not break the client', async () => {
    const t = setup({
      logger: () => {
        throw new Error('logger');
      },
    });
    t.client.onState = () => {
      throw new Error('state');
    };
    t.client.onStatus = () => {
      throw new Error('status');
    };
    t.client.start();
    await accept(t);
    t.client.publish('a', 'x', { qos: 1 });
    await settle();
    t.broker.socket.send(PUBACK(1));
    await settle();
    expect(t.client.counters.delivered).toBe(1);
    expect(t.client.issues.map((i) => i.error.code)).toContain('UMQTT_CALLBACK_ERROR');
    expect(t.client.state).toBe('online');
  });

  test('counters: attempts, reconnects, delivered, expired, dropped, rejected', async () => {
    const t = setup({ policy: { maxMessages: 3, overflow: 'drop-oldest' } });
    t.client.publish('a', '1', { qos: 1, ttl: 1000 }); // expires
    await runFor(t.clock, 1000);
    t.client.publish('b', '1', { qos: 1 });
    t.client.publish('b', '2', { qos: 1 });
    t.client.publish('b', '3', { qos: 1 });
    t.client.publish('b', '4', { qos: 1 }); // drops b1
    t.client.publish('c', '1', { qos: 1, overflow: 'reject' }); // rejected
    t.client.start();
    await accept(t);
    t.broker.socket.take();
    t.broker.socket.send([PUBACK(1), PUBACK(2), PUBACK(3)].join(' '));
    t.client.publish('d', 'x'); // QoS 0 written at once: sent
    t.broker.socket.fail();
    await runFor(t.clock, 500);
    await accept(t);
    await settle();
    expect(t.client.counters).toEqual({
      attempts: 2,
      urgent: 0,
      reconnects: 1,
      delivered: 3,
      sent: 1,
      expired: 1,
      dropped: 1,
      rejected: 1,
    });
    const byStatus = (s: FinalStatus) => t.statuses.filter(([, x]) => x === s).length;
    expect([
      byStatus('delivered'),
      byStatus('sent'),
      byStatus('expired'),
      byStatus('dropped'),
      byStatus('rejected'),
    ]).toEqual([3, 1, 1, 1, 1]);
  });
});

// ---- exactly one final status ------------------------------------------------------------------

describe('exactly one final status per publish', () => {
  // BUG (reported): discard() gives in-flight messages 'dropped' but leaves them in #byId; the
  // PUBACK that follows reports 'delivered' for the same key: two final statuses.
  test('discard() while a message is in flight, then its PUBACK: still one status', async () => {
    const t = setup();
    t.client.start();
    await accept(t);
    const k = t.client.publish('a', 'x', { qos: 1 });
    await settle();
    t.client.discard();
    t.broker.socket.send(PUBACK(1));
    await settle();
    expect(t.statuses.filter(([key]) => key === k)).toEqual([[k, 'dropped', 'discarded']]);
  });

  // BUG (reported): a status is reported after publish() returns only when #final runs inside
  // publish's own decision (#later). A publish() made from inside a callback while the queue is
  // being pumped stores the message and re-enters #pump, which writes it and reports
  // 'delivered' synchronously: the application sees the status of a key it has not yet been given.
  test('a status never arrives before publish() has returned its key, even when publishing from onStatus', async () => {
    const t = setup();
    for (let i = 0; i < 3; i++) t.client.publish('q', `${i}`);
    const early: number[] = [];
    let returned: number | undefined;
    let once = false;
    t.client.onStatus = (key) => {
      if (key > 3 && returned === undefined) early.push(key);
      if (!once) {
        once = true;
        returned = t.client.publish('x', 'y');
      }
    };
    t.client.start();
    await accept(t);
    await settle();
    expect(returned).toBe(4);
    expect(early).toEqual([]);
  });

  // The last seeds run on timers with real platforms' habits (early, late, coarse, fractional):
  // jittered backoff delays then meet fractional deadlines, where a deadline checked otherwise than
  // it was armed re-arms at one instant forever.
  test.each([
    [1, 'exact'],
    [2, 'exact'],
    [3, 'exact'],
    [4, 'exact'],
    [5, 'exact'],
    [6, 'node'],
    [7, 'moddable'],
    [8, 'fractional'],
    [9, 'node'],
  ] as const)(
    'seeded scenario %i (%s timers): every key gets exactly one status, every 0 return one dropped/rejected',
    async (seed, habits) => {
      const r = seeded(seed);
      const t = setup(
        { messageTimeout: 3000.5, keepAlive: 0, policy: { maxMessages: 8, maxBytes: 200 }, random: r },
        'manual',
        { ...CLOCK_HABITS[habits], seed },
      );
      const start = t.clock.now();
      const returned: number[] = [];
      let ackProbability = 0.7;
      /** The peer: answers what the client wrote (or not, at random). */
      const answer = () => {
        for (const s of t.broker.sockets) {
          if (s.closed) continue;
          for (const p of packets(s.take())) {
            const b = p.split(' ').map((x) => parseInt(x, 16));
            const type = b[0]! >> 4;
            if (type === 1) continue; // CONNECT: answered below
            const idAt = (tl: number) => (b[tl]! << 8) | b[tl + 1]!;
            let reply: string | undefined;
            if (type === 3 && b[0]! & 6) {
              const tl = (b[2]! << 8) | b[3]!;
              const id = idAt(4 + tl);
              reply = (b[0]! & 6) === 2 ? PUBACK(id) : PUBREC(id);
            } else if (type === 6) reply = PUBCOMP(idAt(2));
            else if (type === 8) reply = `90 03 ${p.split(' ').slice(2, 4).join(' ')} 01`;
            if (reply && r() < ackProbability) s.send(reply);
          }
        }
      };
      t.client.start();
      for (let step = 0; step < 300; step++) {
        const x = r();
        if (x < 0.5) {
          const qos = ((r() * 3) | 0) as 0 | 1 | 2;
          returned.push(
            t.client.publish(`t/${(r() * 4) | 0}`, 'p'.repeat((r() * 30) | 0), {
              qos,
              retain: r() < 0.2,
              ttl: r() < 0.3 ? 1000 + ((r() * 5000) | 0) : 0,
              priority: (r() * 3) | 0,
              overflow: (['drop-oldest', 'drop-newest', 'reject'] as const)[(r() * 3) | 0],
              noDuplicates: r() < 0.3,
              queueQos0: r() < 0.7,
              maxPerTopic: r() < 0.2 ? 2 : 0,
            }),
          );
        } else if (x < 0.6) {
          const s = t.broker.sockets.at(-1)!;
          if (!s.closed) {
            // a fresh socket is accepted (with or without session), an open one may fail
            if (t.client.state === 'connecting') {
              s.open();
              s.send(r() < 0.7 ? '20 02 01 00' : '20 02 00 00');
            } else if (r() < 0.3) s.fail();
          }
        } else if (x < 0.62) t.client.subscribe(`s/${(r() * 3) | 0}`, 1);
        await runFor(t.clock, (r() * 2000) | 0);
        answer();
        await settle();
      }
      // the end: the broker answers everything, then whatever is left is discarded
      ackProbability = 1;
      for (let i = 0; i < 50 && t.client.held; i++) {
        const s = t.broker.sockets.at(-1)!;
        if (t.client.state === 'connecting' && !s.closed) {
          s.open();
          s.send('20 02 01 00');
        }
        await runFor(t.clock, 1000);
        answer();
        await settle();
      }
      t.client.discard();
      await settle();
      const counts = new Map<number, number>();
      for (const [k] of t.statuses) counts.set(k, (counts.get(k) ?? 0) + 1);
      for (const k of returned.filter((k) => k !== 0)) expect(counts.get(k), `key ${k}`).toBe(1);
      const zeros = returned.filter((k) => k === 0).length;
      expect(counts.get(0) ?? 0).toBe(zeros);
      for (const [k, s] of t.statuses) if (k === 0) expect(['dropped', 'rejected']).toContain(s);
      for (const [k, s] of t.statuses) if (k < 0) expect(s).toBe('sent'); // QoS 0 written at once
      expect(t.statuses.length).toBe(returned.length); // nothing reported that publish did not return
      const c = t.client.counters;
      expect(c.delivered + c.sent + c.expired + c.dropped + c.rejected).toBe(returned.length);
      expect(t.client.held).toBe(0);
      // no timer storm: a handful of timers per virtual second, not millions at one instant
      expect(t.clock.fired / ((t.clock.now() - start) / 1000)).toBeLessThan(20);
      console.log(
        `seed ${seed}: ${returned.length} publishes, counters ${JSON.stringify(c)}, ${t.broker.sockets.length} connections`,
      );
    },
  );
});
