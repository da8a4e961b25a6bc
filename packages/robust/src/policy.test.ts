// RobustClient's offline queue on a fake clock against a byte-level scripted peer: every
// overflow rule by count and by bytes, priorities, time to live, QoS 0 offline, duplicates,
// retained replacement, per-topic limits, the three PRESETS and a custom AdmissionPolicy.
// (The harness, shared with client.test.ts, is in harness.test-support.ts.)
import { describe, expect, test } from 'vitest';
import { settle } from '@umqtt/testkit';
import { UmqttError } from '@umqtt/codec';
import type { Timers } from '@umqtt/simple';
import { ArrayStore } from './array-store.test-support.js';
import {
  Clock,
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
import {
  PRESETS,
  QUEUED,
  RobustClient,
  type Admission,
  type AdmissionPolicy,
  type Overflow,
  type StoredMessage,
} from './index.js';

// ---- harness --------------------------------------------------------------------------------

/** Topics of the held messages, in key order. */
const heldTopics = (t: Setup) => t.store.messages().map((m) => m.topic);
const bytesOf = (n: number) => new Uint8Array(n).fill(0x2a);

// ---- overflow ----------------------------------------------------------------------------------

describe('overflow rules, limits by count and by bytes', () => {
  // four messages of 10 bytes each (topic 3 + payload 7); the limit holds three
  const limits = { count: { maxMessages: 3 }, bytes: { maxBytes: 30 } } as const;
  const cases: [Overflow, keyof typeof limits][] = [
    ['drop-oldest', 'count'],
    ['drop-oldest', 'bytes'],
    ['drop-newest', 'count'],
    ['drop-newest', 'bytes'],
    ['reject', 'count'],
    ['reject', 'bytes'],
  ];
  test.each(cases)('%s by %s', async (overflow, kind) => {
    const t = setup({ policy: { overflow, ...limits[kind] } });
    const keys = [1, 2, 3].map((i) => t.client.publish(`q/${i}`, bytesOf(7), { qos: 1 }));
    expect(keys).toEqual([1, 2, 3]);
    const k4 = t.client.publish('q/4', bytesOf(7), { qos: 1 });
    await settle();
    if (overflow === 'drop-oldest') {
      expect(k4).toBe(4);
      expect(t.statuses).toEqual([[1, 'dropped', 'overflow']]);
      expect(heldTopics(t)).toEqual(['q/2', 'q/3', 'q/4']);
    } else {
      expect(k4).toBe(0);
      expect(t.statuses).toEqual([
        [0, overflow === 'reject' ? 'rejected' : 'dropped', overflow === 'reject' ? 'full' : 'overflow'],
      ]);
      expect(heldTopics(t)).toEqual(['q/1', 'q/2', 'q/3']);
    }
    expect(t.client.counters).toMatchObject({
      dropped: overflow === 'reject' ? 0 : 1,
      rejected: overflow === 'reject' ? 1 : 0,
    });
    expect(t.client.held).toBe(3);
    // the held ones go out once online, in order
    t.client.start();
    await accept(t);
    const topics = overflow === 'drop-oldest' ? ['q/2', 'q/3', 'q/4'] : ['q/1', 'q/2', 'q/3'];
    expect(packets(t.broker.socket.take())).toEqual(topics.map((q, i) => pub(q, '*******', { qos: 1, id: i + 1 })));
  });

  test('drop-oldest by bytes drops as many of the oldest as a large newcomer needs', async () => {
    const t = setup({ policy: { maxBytes: 30 } });
    [1, 2, 3].forEach((i) => t.client.publish(`q/${i}`, bytesOf(7), { qos: 1 }));
    expect(t.client.publish('big', bytesOf(17), { qos: 1 })).toBe(4); // 20 bytes: two must go
    await settle();
    expect(t.statuses).toEqual([
      [1, 'dropped', 'overflow'],
      [2, 'dropped', 'overflow'],
    ]);
    expect(heldTopics(t)).toEqual(['q/3', 'big']);
    expect(t.store.bytes).toBe(30);
  });

  test('drop-oldest: lower priorities give way first, then the oldest of equal priority; a lower newcomer is dropped itself', async () => {
    const t = setup({ policy: { maxMessages: 3 } });
    const x = t.client.publish('x', '', { qos: 1, priority: 1 });
    const y = t.client.publish('y', '', { qos: 1, priority: 0 });
    const z = t.client.publish('z', '', { qos: 1, priority: 1 });
    const w = t.client.publish('w', '', { qos: 1, priority: 1 }); // y (priority 0) gives way, though x is older
    await settle();
    expect(t.statuses).toEqual([[y, 'dropped', 'overflow']]);
    const v = t.client.publish('v', '', { qos: 1, priority: 1 }); // now the oldest of priority 1: x
    await settle();
    expect(t.statuses.slice(1)).toEqual([[x, 'dropped', 'overflow']]);
    expect(t.client.publish('u', '', { qos: 1, priority: 0 })).toBe(0); // nothing lower to drop
    await settle();
    expect(t.statuses.slice(2)).toEqual([[0, 'dropped', 'overflow']]);
    t.client.publish('h', '', { qos: 1, priority: 2 });
    await settle();
    expect(t.statuses.slice(3)).toEqual([[z, 'dropped', 'overflow']]);
    expect(heldTopics(t)).toEqual(['w', 'v', 'h']);
    expect([w, v].every((k) => k > 0)).toBe(true);
  });

  test('drop-newest: lower priorities still give way; at equal priority the newcomer is dropped', async () => {
    const t = setup({ policy: { maxMessages: 2, overflow: 'drop-newest' } });
    const a = t.client.publish('a', '', { qos: 1 });
    const b = t.client.publish('b', '', { qos: 1 });
    t.client.publish('c', '', { qos: 1, priority: 5 }); // a gives way
    t.client.publish('d', '', { qos: 1, priority: 5 }); // b gives way
    expect(t.client.publish('e', '', { qos: 1, priority: 5 })).toBe(0); // nothing lower: e is dropped
    await settle();
    expect(t.statuses).toEqual([
      [a, 'dropped', 'overflow'],
      [b, 'dropped', 'overflow'],
      [0, 'dropped', 'overflow'],
    ]);
    expect(heldTopics(t)).toEqual(['c', 'd']);
  });

  test('reject: lower priorities give way; when only equal or higher remain the newcomer is refused', async () => {
    const t = setup({ policy: { maxMessages: 2, maxBytes: 1000 } });
    const a = t.client.publish('a', '', { qos: 1 });
    const b = t.client.publish('b', '', { qos: 1 });
    t.client.publish('c', '', { qos: 1, priority: 10, overflow: 'reject' });
    t.client.publish('d', '', { qos: 1, priority: 10, overflow: 'reject' });
    expect(t.client.publish('e', '', { qos: 1, priority: 10, overflow: 'reject' })).toBe(0);
    await settle();
    expect(t.statuses).toEqual([
      [a, 'dropped', 'overflow'],
      [b, 'dropped', 'overflow'],
      [0, 'rejected', 'full'],
    ]);
    expect(heldTopics(t)).toEqual(['c', 'd']);
    expect(t.client.counters).toMatchObject({ dropped: 2, rejected: 1 });
  });

  test('messages in flight count toward maxMessages but are never dropped for room', async () => {
    const t = setup({ policy: { maxMessages: 2 } });
    t.client.start();
    await accept(t);
    const a = t.client.publish('a', 'x', { qos: 1 });
    t.client.publish('b', 'x', { qos: 1 });
    await settle();
    expect(t.client.publish('c', 'x', { qos: 1 })).toBe(0);
    await settle();
    expect(t.statuses).toEqual([[0, 'dropped', 'overflow']]);
    t.broker.socket.send(PUBACK(1));
    await settle();
    expect(t.statuses.slice(1)).toEqual([[a, 'delivered', undefined]]);
    expect(t.client.publish('c', 'x', { qos: 1 })).toBeGreaterThan(0); // room again
  });

  test('a message larger than maxBytes (or the store capacity) is rejected', async () => {
    const t = setup({ policy: { maxBytes: 30 } });
    expect(t.client.publish('big', bytesOf(28), { qos: 1 })).toBe(0);
    await settle();
    expect(t.statuses).toEqual([[0, 'rejected', 'too large for the queue']]);
    const small = setup({ store: new ArrayStore(20) }); // default maxBytes 1 MiB, store holds 20
    expect(small.client.publish('big', bytesOf(18), { qos: 1 })).toBe(0);
    small.client.publish('a', bytesOf(9), { qos: 1 });
    small.client.publish('b', bytesOf(9), { qos: 1 });
    small.client.publish('c', bytesOf(9), { qos: 1 }); // the store's capacity is the byte limit: a gives way
    await settle();
    expect(small.statuses).toEqual([
      [0, 'rejected', 'too large for the queue'],
      [1, 'dropped', 'overflow'],
    ]);
    expect(small.store.bytes).toBe(20);
  });
});

// ---- other queue rules -------------------------------------------------------------------------

describe('queue rules', () => {
  test('queueQos0 false: QoS 0 is not queued offline (dropped, reason offline); online it goes out at once', async () => {
    const t = setup({ policy: { queueQos0: false } });
    expect(t.client.publish('a', 'x')).toBe(0);
    const k1 = t.client.publish('a', 'y', { qos: 1 });
    const k0 = t.client.publish('a', 'z', { queueQos0: true }); // per-message override
    await settle();
    expect(t.statuses).toEqual([[0, 'dropped', 'offline']]);
    expect(t.client.queued).toBe(2);
    t.client.start();
    await accept(t);
    expect(packets(t.broker.socket.take())).toEqual([pub('a', 'y', { qos: 1, id: 1 }), pub('a', 'z')]);
    expect(t.statuses.slice(1)).toEqual([[k0, 'sent', undefined]]); // QoS 0: written, never acknowledged
    // online, nothing queued: written at once, never stored, negative key
    const direct = t.client.publish('a', 'now');
    expect(direct).toBeLessThan(0);
    await settle();
    expect(packets(t.broker.socket.take())).toEqual([pub('a', 'now')]);
    expect(t.statuses.slice(2)).toEqual([[direct, 'sent', undefined]]);
    expect(k1).toBeGreaterThan(0);
  });

  test('queueQos0 per message: false drops while the client default keeps', async () => {
    const t = setup();
    expect(t.client.publish('a', 'x', { queueQos0: false })).toBe(0);
    expect(t.client.publish('a', 'x')).toBeGreaterThan(0);
    await settle();
    expect(t.statuses).toEqual([[0, 'dropped', 'offline']]);
  });

  // Blocked by BUG (reported): with the window full, robust's queue stalls after a PUBACK (see
  // 'more than maxInflight queued messages...' below).
  test('QoS 0 online behind queued messages keeps its place in the queue', async () => {
    const t = setup({ maxInflight: 1 });
    t.client.start();
    await accept(t);
    t.client.publish('a', '1', { qos: 1 });
    t.client.publish('a', '2', { qos: 1 }); // waits for the window
    const k = t.client.publish('a', '3'); // QoS 0 behind it: stored, not written at once
    expect(k).toBeGreaterThan(0);
    await settle();
    expect(packets(t.broker.socket.take())).toEqual([pub('a', '1', { qos: 1, id: 1 })]);
    t.broker.socket.send(PUBACK(1));
    await settle();
    expect(packets(t.broker.socket.take())).toEqual([pub('a', '2', { qos: 1, id: 2 })]);
    t.broker.socket.send(PUBACK(2));
    await settle();
    expect(packets(t.broker.socket.take())).toEqual([pub('a', '3')]);
    expect(t.statuses.map(([key, s]) => [key, s])).toEqual([
      [1, 'delivered'],
      [2, 'delivered'],
      [3, 'sent'],
    ]);
  });

  // BUG (reported): robust only publishes while mqtt.writable, so simple never holds a waiting
  // message and never sets #wasFull; when a PUBACK frees the window simple does not call
  // onWritable, and robust's #onStatus does not pump after 'delivered'. The rest of the queue
  // stalls until something else (a new publish, a timeout, a reconnect) pumps it.
  test('more than maxInflight queued messages all go out as acknowledgements free the window', async () => {
    const t = setup(); // default maxInflight 16
    for (let i = 0; i < 20; i++) t.client.publish('q', `${i}`, { qos: 1 });
    t.client.start();
    await accept(t);
    const sock = t.broker.socket;
    expect(packets(sock.take()).length).toBe(16);
    sock.send(Array.from({ length: 16 }, (_, i) => PUBACK(i + 1)).join(' '));
    await settle();
    expect(t.statuses.length).toBe(16);
    expect(packets(sock.take())).toEqual([16, 17, 18, 19].map((i) => pub('q', `${i}`, { qos: 1, id: i + 1 })));
  });

  // BUG (reported): the policy admits a message whose PUBLISH exceeds maxPacketSize (it only
  // checks maxBytes); #write then throws UMQTT_PAYLOAD_TOO_LARGE inside #try, #pump stops, and the
  // message stays at the head of the queue: it never gets a status and blocks everything behind it.
  test('a message over maxPacketSize gets a final status and does not block the queue', async () => {
    const t = setup({ maxPacketSize: 100 });
    t.client.start();
    await accept(t);
    const big = t.client.publish('a', 'x'.repeat(200), { qos: 1 });
    t.client.publish('b', 'y', { qos: 1 });
    await runFor(t.clock, 1000);
    expect(packets(t.broker.socket.take())).toEqual([pub('b', 'y', { qos: 1, id: 1 })]);
    expect(t.statuses.filter(([k]) => k === big || k === 0).map(([, s]) => s)).toEqual(['rejected']);
  });

  test('noDuplicates: an identical queued message is not queued twice (dropped, reason duplicate)', async () => {
    const t = setup({ policy: { noDuplicates: true } });
    const k = t.client.publish('a', 'x', { qos: 1 });
    expect(t.client.publish('a', 'x', { qos: 1 })).toBe(0);
    // not identical: other payload, QoS, retain flag, topic
    expect(t.client.publish('a', 'y', { qos: 1 })).toBeGreaterThan(0);
    expect(t.client.publish('a', 'x', { qos: 2 })).toBeGreaterThan(0);
    expect(t.client.publish('a', 'x', { qos: 1, retain: true })).toBeGreaterThan(0);
    expect(t.client.publish('b', 'x', { qos: 1 })).toBeGreaterThan(0);
    expect(t.client.publish('a', 'x', { qos: 1, noDuplicates: false })).toBeGreaterThan(0); // per message
    await settle();
    expect(t.statuses).toEqual([[0, 'dropped', 'duplicate']]);
    // once sent it is no longer queued: the same message may be queued again
    t.client.start();
    await accept(t);
    t.broker.socket.take();
    const again = setup({ policy: { noDuplicates: true } });
    again.client.publish('a', 'x', { qos: 1 });
    again.client.start();
    await accept(again);
    expect(again.client.publish('a', 'x', { qos: 1 })).toBeGreaterThan(0);
    expect(k).toBe(1);
  });

  test('noDuplicates compares payload bytes, not only their hash', async () => {
    const t = setup({ policy: { noDuplicates: true } });
    t.client.publish('a', new Uint8Array([1, 2, 3]), { qos: 1 });
    expect(t.client.publish('a', new Uint8Array([1, 2, 4]), { qos: 1 })).toBeGreaterThan(0);
    expect(t.client.publish('a', new Uint8Array([1, 2, 3]), { qos: 1 })).toBe(0);
  });

  test('noDuplicates per message: messages queued before its first use count, and leave the index when they leave the queue', async () => {
    // the duplicate index is only built on the first noDuplicates publish: it must see what was queued before
    const t = setup();
    const first = t.client.publish('a', 'x', { qos: 1 });
    t.client.publish('a', 'y', { qos: 1 });
    expect(t.client.publish('a', 'x', { qos: 1, noDuplicates: true })).toBe(0);
    expect(t.client.publish('a', 'z', { qos: 1, noDuplicates: true })).toBeGreaterThan(0);
    // added after the index exists: found too
    expect(t.client.publish('a', 'z', { qos: 1, noDuplicates: true })).toBe(0);
    // a message dropped from the queue leaves the index
    t.client.discard();
    expect(t.client.publish('a', 'x', { qos: 1, noDuplicates: true })).toBeGreaterThan(0);
    await settle();
    expect(t.statuses.filter(([k]) => k === 0)).toEqual([
      [0, 'dropped', 'duplicate'],
      [0, 'dropped', 'duplicate'],
    ]);
    expect(t.statuses).toContainEqual([first, 'dropped', 'discarded']);
  });

  test('noDuplicates on large payloads: the hash covers their ends, the comparison every byte', async () => {
    const t = setup({ policy: { noDuplicates: true } });
    const big = (middle: number) => bytesOf(64 * 1024).fill(middle, 30_000, 30_001);
    expect(t.client.publish('a', big(1), { qos: 1 })).toBeGreaterThan(0);
    expect(t.client.publish('a', big(2), { qos: 1 })).toBeGreaterThan(0); // same ends, other middle
    expect(t.client.publish('a', big(1), { qos: 1 })).toBe(0);
    expect(t.client.publish('a', big(2), { qos: 1 })).toBe(0);
    expect(t.client.queued).toBe(2);
  });

  test('latestRetained: a new retained message replaces the queued retained one for its topic (reason replaced)', async () => {
    const t = setup();
    const r1 = t.client.publish('r', 'v1', { qos: 1, retain: true });
    const plain = t.client.publish('r', 'plain', { qos: 1 });
    const other = t.client.publish('s', 'v1', { qos: 1, retain: true });
    const r2 = t.client.publish('r', 'v2', { qos: 1, retain: true });
    await settle();
    expect(t.statuses).toEqual([[r1, 'dropped', 'replaced']]);
    expect(t.store.messages().map((m) => m.key)).toEqual([plain, other, r2]);
    // latestRetained false keeps both
    const r3 = t.client.publish('r', 'v3', { qos: 1, retain: true, latestRetained: false });
    await settle();
    expect(t.statuses.length).toBe(1);
    // a retained message already sent is not replaced
    t.client.start();
    await accept(t);
    t.broker.socket.take();
    t.client.publish('r', 'v4', { qos: 1, retain: true });
    await settle();
    expect(t.statuses.length).toBe(1);
    expect(r3).toBeGreaterThan(0);
  });

  test('latestRetained off for the client keeps every retained message', async () => {
    const t = setup({ policy: { latestRetained: false } });
    t.client.publish('r', 'v1', { qos: 1, retain: true });
    t.client.publish('r', 'v2', { qos: 1, retain: true });
    await settle();
    expect(t.statuses).toEqual([]);
    expect(t.client.queuedFor('r')).toBe(2);
  });

  test('maxPerTopic: the oldest queued message of the topic gives way', async () => {
    const t = setup();
    const a = t.client.publish('t', 'a', { qos: 1, maxPerTopic: 2 });
    t.client.publish('t', 'b', { qos: 1, maxPerTopic: 2 });
    t.client.publish('u', 'c', { qos: 1, maxPerTopic: 2 });
    t.client.publish('t', 'd', { qos: 1, maxPerTopic: 2 });
    await settle();
    expect(t.statuses).toEqual([[a, 'dropped', 'overflow']]);
    expect(t.client.queuedFor('t')).toBe(2);
    expect(t.client.queuedFor('u')).toBe(1);
    expect(t.store.messages().map((m) => new TextDecoder().decode(m.payload))).toEqual(['b', 'c', 'd']);
  });
});

// ---- time to live ------------------------------------------------------------------------------

describe('time to live', () => {
  test('queued offline: expires on time (status expired, reason ttl) and is never sent', async () => {
    const t = setup();
    const k = t.client.publish('a', 'x', { qos: 1, ttl: 5000 });
    const keep = t.client.publish('a', 'y', { qos: 1 });
    await runFor(t.clock, 4999);
    expect(t.statuses).toEqual([]);
    await runFor(t.clock, 1);
    expect(t.statuses).toEqual([[k, 'expired', 'ttl']]);
    expect(t.client.counters.expired).toBe(1);
    expect(t.client.held).toBe(1);
    t.client.start();
    await accept(t);
    expect(packets(t.broker.socket.take())).toEqual([pub('a', 'y', { qos: 1, id: 1 })]);
    expect(keep).toBe(2);
  });

  test('client-wide ttl, and several expiries in time order', async () => {
    const t = setup({ policy: { ttl: 3000 } });
    const a = t.client.publish('a', '', { qos: 1 });
    const b = t.client.publish('b', '', { qos: 1, ttl: 1000 });
    const c = t.client.publish('c', '', { qos: 1, ttl: 0 }); // 0: never
    await runFor(t.clock, 60_000);
    expect(t.statuses).toEqual([
      [b, 'expired', 'ttl'],
      [a, 'expired', 'ttl'],
    ]);
    expect(heldTopics(t)).toEqual(['c']);
    expect(c).toBe(3);
  });

  test('online, waiting for the in-flight window: expires on time', async () => {
    const t = setup({ maxInflight: 1 });
    t.client.start();
    await accept(t);
    const a = t.client.publish('a', 'x', { qos: 1 });
    const b = t.client.publish('b', 'x', { qos: 1, ttl: 2000 });
    await runFor(t.clock, 2000);
    expect(t.statuses).toEqual([[b, 'expired', 'ttl']]);
    t.broker.socket.take();
    t.broker.socket.send(PUBACK(1));
    await settle();
    expect(t.broker.socket.take()).toBe('');
    expect(t.statuses.slice(1)).toEqual([[a, 'delivered', undefined]]);
  });

  test('at send time: a message past its time is not sent even if the expiry timer is late', async () => {
    const clock = new Clock(T0);
    let skew = 0;
    // a device clock that jumped (e.g. after light sleep) before the timers caught up
    const timers: Timers = {
      now: () => clock.now() + skew,
      setTimeout: (f, ms) => clock.setTimeout(f, ms),
      clearTimeout: (h) => clock.clearTimeout(h),
    };
    const t = setup({ timers });
    const k = t.client.publish('a', 'x', { qos: 1, ttl: 1000 });
    const keep = t.client.publish('b', 'y', { qos: 1 });
    skew = 5000;
    t.client.start();
    await accept(t);
    expect(packets(t.broker.socket.take())).toEqual([pub('b', 'y', { qos: 1, id: 1 })]);
    expect(t.statuses).toEqual([[k, 'expired', 'ttl']]);
    expect(keep).toBe(2);
  });

  test('in flight when the connection was lost: not resent after its time, status expired', async () => {
    const t = setup();
    t.client.start();
    await accept(t);
    const k = t.client.publish('a', 'x', { qos: 1, ttl: 10_000 });
    await settle();
    t.broker.socket.take();
    t.broker.socket.fail();
    await runFor(t.clock, 20_000);
    expect(t.statuses).toEqual([]);
    await accept(t, true);
    expect(t.broker.socket.take()).toBe('');
    expect(t.statuses).toEqual([[k, 'expired', 'ttl']]);
  });

  test('QoS 2 in flight when the connection was lost: resent with its id and DUP after its time, never expired', async () => {
    // The broker may hold its packet id awaiting PUBREL: a new message given that id would be
    // acknowledged and swallowed as a duplicate [MQTT-4.3.3-2]. So once written, it completes.
    const t = setup();
    t.client.start();
    await accept(t);
    const k = t.client.publish('a', 'x', { qos: 2, ttl: 10_000 });
    await settle();
    expect(packets(t.broker.socket.take())).toEqual([pub('a', 'x', { qos: 2, id: 1 })]);
    t.broker.socket.fail();
    await runFor(t.clock, 20_000);
    await accept(t, true);
    expect(packets(t.broker.socket.take())).toEqual([pub('a', 'x', { qos: 2, id: 1, dup: true })]);
    t.broker.socket.send(PUBREC(1));
    await settle();
    expect(packets(t.broker.socket.take())).toEqual([PUBREL(1)]);
    t.broker.socket.send(PUBCOMP(1));
    await settle();
    expect(t.statuses).toEqual([[k, 'delivered', undefined]]);
  });
});

// ---- priority ----------------------------------------------------------------------------------

describe('priority', () => {
  test('after reconnect higher priority goes first, ties keep their order (exact bytes)', async () => {
    const t = setup();
    const order: [string, number][] = [
      ['a', 0],
      ['b', 5],
      ['c', 0],
      ['d', 5],
      ['e', 10],
      ['f', -1],
      ['g', 10],
    ];
    for (const [topic, priority] of order) t.client.publish(topic, '1', { qos: 1, priority });
    t.client.start();
    await accept(t);
    expect(packets(t.broker.socket.take())).toEqual(
      ['e', 'g', 'b', 'd', 'a', 'c', 'f'].map((topic, i) => pub(topic, '1', { qos: 1, id: i + 1 })),
    );
  });

  test('the client default priority applies where a message gives none', async () => {
    const t = setup({ policy: { priority: 3 } });
    t.client.publish('low', '1', { qos: 1, priority: 1 });
    t.client.publish('default', '1', { qos: 1 });
    t.client.start();
    await accept(t);
    expect(packets(t.broker.socket.take())).toEqual([
      pub('default', '1', { qos: 1, id: 1 }),
      pub('low', '1', { qos: 1, id: 2 }),
    ]);
  });

  // Blocked by BUG (reported): the queue stalls behind a full window (see queue rules).
  test('online behind a full window: a later urgent message overtakes the waiting ones', async () => {
    const t = setup({ maxInflight: 1 });
    t.client.start();
    await accept(t);
    t.client.publish('a', '1', { qos: 1 });
    t.client.publish('b', '1', { qos: 1 });
    t.client.publish('c', '1', { qos: 1 });
    t.client.publish('urgent', '1', { qos: 1, priority: 9 });
    const sock = t.broker.socket;
    const seen: string[] = [];
    for (let id = 1; id <= 4; id++) {
      await settle();
      seen.push(...packets(sock.take()));
      sock.send(PUBACK(id));
    }
    expect(seen).toEqual([
      pub('a', '1', { qos: 1, id: 1 }),
      pub('urgent', '1', { qos: 1, id: 2 }),
      pub('b', '1', { qos: 1, id: 3 }),
      pub('c', '1', { qos: 1, id: 4 }),
    ]);
  });
});

// ---- presets -----------------------------------------------------------------------------------

describe('PRESETS (the seed README three kinds of message)', () => {
  test('temperature: QoS 0, queued offline, at most 10 per topic (oldest dropped), duplicates dropped', async () => {
    const t = setup();
    const keys = Array.from({ length: 15 }, (_, i) =>
      t.client.publish('home/temp', `${20 + i / 10}`, PRESETS.temperature),
    );
    expect(t.client.publish('home/temp', '21.4', PRESETS.temperature)).toBe(0); // same as the newest queued reading
    await settle();
    expect(t.statuses).toEqual([
      ...keys.slice(0, 5).map((k) => [k, 'dropped', 'overflow']),
      [0, 'dropped', 'duplicate'],
    ]);
    t.client.start();
    await accept(t);
    expect(packets(t.broker.socket.take())).toEqual(
      keys.slice(5).map((_, i) => pub('home/temp', `${20 + (i + 5) / 10}`)),
    );
    await settle();
    expect(t.statuses.slice(6).map(([k, s]) => [k, s])).toEqual(keys.slice(5).map((k) => [k, 'sent']));
  });

  test('temperature: the limit is per topic, so each sensor keeps its own newest readings', async () => {
    const t = setup();
    for (let i = 0; i < 50; i++)
      for (const room of ['kitchen', 'hall']) t.client.publish(`home/${room}/temp`, `${i}`, PRESETS.temperature);
    await settle();
    expect(t.client.queuedFor('home/kitchen/temp')).toBe(10);
    expect(t.client.queuedFor('home/hall/temp')).toBe(10);
    expect(t.statuses.length).toBe(80);
    expect(t.statuses.every(([, s, r]) => s === 'dropped' && r === 'overflow')).toBe(true);
    expect(
      t.store
        .messages()
        .filter((m) => m.topic === 'home/hall/temp')
        .map((m) => new TextDecoder().decode(m.payload)),
    ).toEqual(['40', '41', '42', '43', '44', '45', '46', '47', '48', '49']);
  });

  test('button: QoS 1, priority 5; delivered when back within 15 s, expired after 15 s', async () => {
    const t = setup();
    const stale = t.client.publish('home/button', 'press', PRESETS.button);
    await runFor(t.clock, 15_000);
    expect(t.statuses).toEqual([[stale, 'expired', 'ttl']]);
    const temp = t.client.publish('home/temp', '21.5', PRESETS.temperature);
    const press = t.client.publish('home/button', 'press', PRESETS.button);
    await runFor(t.clock, 10_000);
    t.client.start();
    await accept(t);
    // the press (priority 5) before the reading (priority 0), as QoS 1
    expect(packets(t.broker.socket.take())).toEqual([
      pub('home/button', 'press', { qos: 1, id: 1 }),
      pub('home/temp', '21.5'),
    ]);
    t.broker.socket.send(PUBACK(1));
    await settle();
    expect(t.statuses.slice(1).map(([k, s]) => [k, s])).toEqual([
      [temp, 'sent'],
      [press, 'delivered'],
    ]);
  });

  test('alarm: survives an hour of outage, goes first, evicts lower priorities when full, refused loudly when only alarms fill the queue', async () => {
    const t = setup({ policy: { maxMessages: 4 }, random: seeded(7) }, 'down');
    t.client.start();
    const temps = [1, 2, 3].map((i) => t.client.publish('home/temp', `${i}`, PRESETS.temperature));
    const alarm1 = t.client.publish('home/window', 'broken', PRESETS.alarm);
    const alarm2 = t.client.publish('home/door', 'open', PRESETS.alarm); // full: the oldest reading gives way
    const alarm3 = t.client.publish('home/glass', 'broken', PRESETS.alarm); // and the next
    await settle();
    expect(t.statuses).toEqual([
      [temps[0], 'dropped', 'overflow'],
      [temps[1], 'dropped', 'overflow'],
    ]);
    const button = t.client.publish('home/button', 'press', PRESETS.button); // evicts the last reading
    expect(t.client.publish('home/smoke', 'yes', PRESETS.alarm)).toBeGreaterThan(0); // evicts the button
    expect(t.client.publish('home/gas', 'yes', PRESETS.alarm)).toBe(0); // only alarms left: refused
    await settle();
    expect(t.statuses.slice(2)).toEqual([
      [temps[2], 'dropped', 'overflow'],
      [button, 'dropped', 'overflow'],
      [0, 'rejected', 'full'],
    ]);
    await runFor(t.clock, 3_600_000);
    expect(t.statuses.length).toBe(5); // nothing expired in an hour
    t.peer = 'manual';
    await runFor(
      t.clock,
      300_000,
      () => t.broker.socket.options !== undefined && t.client.state === 'connecting' && !t.broker.socket.closed,
    );
    await accept(t);
    // QoS 2: exactly once
    expect(packets(t.broker.socket.take())).toEqual([
      pub('home/window', 'broken', { qos: 2, id: 1 }),
      pub('home/door', 'open', { qos: 2, id: 2 }),
      pub('home/glass', 'broken', { qos: 2, id: 3 }),
      pub('home/smoke', 'yes', { qos: 2, id: 4 }),
    ]);
    t.broker.socket.send([1, 2, 3, 4].map(PUBREC).join(' '));
    await settle();
    expect(packets(t.broker.socket.take())).toEqual([1, 2, 3, 4].map(PUBREL));
    expect(t.statuses.length).toBe(5);
    t.broker.socket.send([1, 2, 3, 4].map(PUBCOMP).join(' '));
    await settle();
    expect(t.statuses.slice(5).map(([k, s]) => [k, s])).toEqual(
      [alarm1, alarm2, alarm3, 8].map((k) => [k, 'delivered']),
    );
  });

  test('the seed device: readings, a press and an alarm through an hour of outage', async () => {
    const t = setup({ random: seeded(1) }, 'down');
    t.client.start();
    const keys: Record<string, number> = {};
    let before = 0;
    for (let minute = 0; minute < 60; minute++) {
      keys[`t${minute}`] = t.client.publish('home/temp', `${minute}`, PRESETS.temperature);
      if (minute === 10) keys.press = t.client.publish('home/button', 'press', PRESETS.button);
      if (minute === 20) {
        before = t.client.counters.attempts;
        keys.alarm = t.client.publish('home/window', 'broken', PRESETS.alarm);
      }
      await runFor(t.clock, 60_000);
    }
    // a handful of attempts in the 20 minutes before the alarm (caps 1 s, 10 s, 100 s, then 10
    // min); one a minute (54 to 60 s apart: the broker refuses, it is down) for the 40 minutes
    // the alarm waits; at most one more that the press or the alarm brought forward
    // (backoff.urgentPerHour 0.5: the bucket holds one)
    const { attempts, urgent } = t.client.counters;
    expect(before).toBeLessThanOrEqual(8);
    expect(attempts - urgent - before).toBeGreaterThanOrEqual(40);
    expect(attempts - urgent - before).toBeLessThanOrEqual(45);
    expect(urgent).toBeLessThanOrEqual(1);
    const status = new Map(t.statuses.map(([k, s, r]) => [k, `${s}:${r}`]));
    expect(status.get(keys.press!)).toBe('expired:ttl');
    expect(status.has(keys.alarm!)).toBe(false);
    expect(t.client.held).toBe(11); // the alarm and the 10 newest readings
    t.peer = 'up'; // the broker is back: online within urgentDelay (60 s), the alarm first
    await runFor(t.clock, 60_000, () => t.client.state === 'online');
    expect(t.client.state).toBe('online');
    const written = packets(t.broker.socket.take()).slice(1); // after CONNECT
    expect(written[0]).toBe(pub('home/window', 'broken', { qos: 2, id: 1 }));
    expect(written.slice(1)).toEqual([50, 51, 52, 53, 54, 55, 56, 57, 58, 59].map((m) => pub('home/temp', `${m}`)));
  });
});

// ---- custom admission policy -------------------------------------------------------------------

describe('a custom AdmissionPolicy replaces the built-in one', () => {
  test('it decides alone: refuse, drop, make room; the built-in limits do not apply', async () => {
    const calls: [Readonly<StoredMessage>, number[], boolean][] = [];
    const policy: AdmissionPolicy = (incoming, held, online): Admission => {
      calls.push([incoming, held.map((m) => m.key), online]);
      if (incoming.topic === 'forbidden') return { accept: false, status: 'rejected', reason: 'forbidden' };
      if (incoming.topic === 'noise') return { accept: false, reason: 'noise' };
      const same = held.filter((m) => m.topic === incoming.topic && m.stage === QUEUED);
      return same.length >= 2 ? { accept: true, drop: [same[0]!.key], reason: 'mine' } : { accept: true };
    };
    const t = setup({ policy });
    const a1 = t.client.publish('a', '1', { qos: 1, retain: true, priority: 4, ttl: 500 });
    t.client.publish('a', '2', { qos: 1, retain: true }); // the built-in latestRetained would replace a1
    t.client.publish('a', '3', { qos: 1 }); // a1 dropped by the custom rule
    expect(t.client.publish('forbidden', 'x', { qos: 1 })).toBe(0);
    expect(t.client.publish('noise', 'x')).toBe(0);
    await settle();
    expect(t.statuses).toEqual([
      [a1, 'dropped', 'mine'],
      [0, 'rejected', 'forbidden'],
      [0, 'dropped', 'noise'],
    ]);
    expect(calls[0]![0]).toMatchObject({
      key: 0,
      id: 0,
      stage: QUEUED,
      attempts: 0,
      topic: 'a',
      qos: 1,
      retain: true,
      priority: 4,
      expiresAt: T0 + 500,
    });
    expect(calls.map(([, held, online]) => [held, online])).toEqual([
      [[], false],
      [[1], false],
      [[1, 2], false],
      [[2, 3], false],
      [[2, 3], false],
    ]);
    // no built-in count limit: 1,500 messages are more than the default maxMessages (1000)
    for (let i = 0; i < 1500; i++) t.client.publish(`m/${i}`, '', { qos: 1 });
    expect(t.client.held).toBe(1502);
    t.client.start();
    await accept(t);
    t.client.publish('b', 'x', { qos: 1 });
    expect(calls.at(-1)![2]).toBe(true);
  });

  test('when the store refuses what the policy accepted: rejected with the store error, recorded as an issue', async () => {
    const t = setup({ policy: () => ({ accept: true }), store: new ArrayStore(10) });
    expect(t.client.publish('a', bytesOf(8), { qos: 1 })).toBe(1);
    expect(t.client.publish('b', bytesOf(8), { qos: 1 })).toBe(0);
    await settle();
    expect(t.statuses).toEqual([[0, 'rejected', 'UMQTT_STORE_FULL']]);
    expect(t.client.lastIssue).toMatchObject({ place: 'publish', error: { code: 'UMQTT_STORE_FULL' } });
    expect(t.client.counters.rejected).toBe(1);
  });
});

describe('misuse throws at once and registers nothing', () => {
  test('bad topic, QoS, payload', () => {
    const t = setup();
    expect(() => t.client.publish('a/+', 'x')).toThrow(UmqttError);
    expect(() => t.client.publish('a', 'x', { qos: 3 as 0 })).toThrow(
      expect.objectContaining({ code: 'UMQTT_INVALID_ARGUMENT' }),
    );
    expect(() => t.client.publish('a', 42 as unknown as string)).toThrow(
      expect.objectContaining({ code: 'UMQTT_INVALID_ARGUMENT' }),
    );
    expect(t.client.held).toBe(0);
    expect(() => new RobustClient({ ...t.client.options, servers: [] })).toThrow(
      expect.objectContaining({ code: 'UMQTT_INVALID_ARGUMENT' }),
    );
  });

  test('the queued payload is a copy: changing the caller buffer later changes nothing', async () => {
    const t = setup();
    const buf = new Uint8Array([1, 2, 3]);
    t.client.publish('a', buf, { qos: 1 });
    buf[0] = 9;
    t.client.start();
    await accept(t);
    expect(packets(t.broker.socket.take())).toEqual(['32 08 00 01 61 00 01 01 02 03']);
  });
});

// ---- payload ownership -------------------------------------------------------------------------

describe('payload ownership (copy)', () => {
  test('by default a Uint8Array payload is copied: changing it after publish() changes nothing sent', async () => {
    const t = setup();
    const bytes = Uint8Array.of(0x61, 0x62, 0x63); // 'abc'
    const k = t.client.publish('t', bytes, { qos: 1 });
    bytes.fill(0x7a);
    expect(t.store.messages()[0]!.payload).not.toBe(bytes);
    t.client.start();
    await accept(t);
    expect(packets(t.broker.socket.take())).toEqual([pub('t', 'abc', { qos: 1, id: 1 })]);
    expect(k).toBe(1);
  });

  test('copy: false holds the array as it is until the final status (so it must not be changed meanwhile)', async () => {
    const t = setup();
    const bytes = Uint8Array.of(0x61, 0x62, 0x63);
    const k = t.client.publish('t', bytes, { qos: 1, copy: false });
    expect(t.store.messages()[0]!.payload).toBe(bytes); // no copy
    t.client.start();
    await accept(t);
    expect(packets(t.broker.socket.take())).toEqual([pub('t', 'abc', { qos: 1, id: 1 })]);
    t.broker.socket.send(PUBACK(1));
    await settle();
    expect(t.statuses).toEqual([[k, 'delivered', undefined]]);
  });
});

// ---- a store that keeps payloads out of RAM ----------------------------------------------------

/** Like FlashStore: no get(), payloads read back with payload(key); `lose` makes one unreadable. */
class LeanStore extends ArrayStore {
  reads = 0;
  lost = new Set<number>();
  payload(key: number): Uint8Array | undefined {
    this.reads++;
    return this.lost.has(key) ? undefined : this.messages().find((m) => m.key === key)?.payload;
  }
}

describe('a store with payload(): the client keeps no payloads in RAM', () => {
  test('held messages carry no payload; each is read back when it is written, byte for byte', async () => {
    const store = new LeanStore();
    let seen: readonly Readonly<StoredMessage>[] = [];
    const t = setup({ store, policy: (_incoming, held) => ((seen = held), { accept: true }) });
    t.client.publish('a', 'one', { qos: 1 });
    t.client.publish('b', 'two', { qos: 2 });
    t.client.publish('c', 'x');
    expect(seen.map((m) => m.payload.length)).toEqual([0, 0]); // what the client holds
    expect(store.reads).toBe(0);
    t.client.start();
    await accept(t);
    expect(packets(t.broker.socket.take())).toEqual([
      pub('a', 'one', { qos: 1, id: 1 }),
      pub('b', 'two', { qos: 2, id: 2 }),
      pub('c', 'x'),
    ]);
    expect(store.reads).toBe(3);
  });

  test('byte limits and noDuplicates still count the payloads', async () => {
    const store = new LeanStore();
    const t = setup({ store, policy: { maxBytes: 30, noDuplicates: true } });
    const k1 = t.client.publish('q/1', bytesOf(7), { qos: 1 });
    t.client.publish('q/2', bytesOf(7), { qos: 1 });
    t.client.publish('q/3', bytesOf(7), { qos: 1 });
    expect(t.client.publish('q/3', bytesOf(7), { qos: 1 })).toBe(0); // identical to a queued one
    expect(t.client.publish('q/4', bytesOf(7), { qos: 1 })).toBeGreaterThan(0); // 40 > 30 bytes: the oldest gives way
    await settle();
    expect(t.statuses).toEqual([
      [0, 'dropped', 'duplicate'],
      [k1, 'dropped', 'overflow'],
    ]);
    expect(heldTopics(t)).toEqual(['q/2', 'q/3', 'q/4']);
  });

  test('a payload the store lost ends with status dropped (reason lost by the store); the rest go out', async () => {
    const store = new LeanStore();
    const t = setup({ store });
    const k1 = t.client.publish('a', 'one', { qos: 1 });
    t.client.publish('b', 'two', { qos: 1 });
    store.lost.add(k1);
    t.client.start();
    await accept(t);
    expect(packets(t.broker.socket.take())).toEqual([pub('b', 'two', { qos: 1, id: 1 })]);
    expect(t.statuses).toEqual([[k1, 'dropped', 'lost by the store']]);
    expect(t.client.held).toBe(1);
  });
});
