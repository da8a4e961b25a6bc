// The send queue's indexes, asked directly: the next to expire, the oldest of a topic, the
// overflow victims and the byte count of messages whose payload stays in the store, each kept as
// messages come and go in any order (no answer comes from scanning what is held).
import { describe, expect, test } from 'vitest';
import { ArrayStore } from './array-store.test-support.js';
import { SendQueue } from './queue.js';
import { SENT, type NewMessage } from './store.js';

const message = (topic: string, o: Partial<NewMessage> = {}): NewMessage => ({
  topic,
  payload: new Uint8Array([1, 2, 3]),
  qos: 1,
  retain: false,
  priority: 0,
  expiresAt: 0,
  ...o,
});

describe('SendQueue', () => {
  test('expiry: soonest first whatever the order of arrival; a message sent or removed leaves the list', () => {
    const q = new SendQueue(new ArrayStore());
    const a = q.add(message('a', { expiresAt: 300 }));
    const b = q.add(message('b', { expiresAt: 100 }));
    const c = q.add(message('c', { expiresAt: 200 }));
    const d = q.add(message('d', { expiresAt: 100 }));
    q.add(message('e'));
    expect(q.nextExpiry()).toBe(100);
    expect(q.expired(99)).toEqual([]);
    expect(q.expired(200).map((m) => m.topic)).toEqual(['b', 'd', 'c']); // ties in key order
    q.sent(b, 1, SENT);
    q.remove(d);
    expect(q.expired(200).map((m) => m.topic)).toEqual(['c']);
    q.remove(c);
    expect(q.nextExpiry()).toBe(300);
    q.remove(a);
    expect(q.nextExpiry()).toBe(Infinity);
    expect(q.expired(1e9)).toEqual([]);
  });

  test('per topic: the count and the oldest follow sends out of order (priorities) and removals', () => {
    const q = new SendQueue(new ArrayStore());
    const low = q.add(message('t'));
    const high = q.add(message('t', { priority: 5 }));
    q.add(message('u'));
    const last = q.add(message('t'));
    expect([q.countFor('t'), q.oldestFor('t')?.key]).toEqual([3, low.key]);
    expect(q.peek()).toBe(high);
    q.sent(high, 1, SENT);
    expect([q.countFor('t'), q.oldestFor('t')?.key]).toEqual([2, low.key]);
    q.remove(low);
    expect([q.countFor('t'), q.oldestFor('t')?.key]).toEqual([1, last.key]);
    q.remove(last);
    expect([q.countFor('t'), q.oldestFor('t')]).toEqual([0, undefined]);
    expect(q.countFor('u')).toBe(1);
  });

  test('victims: lowest priority first, oldest first within one; none of a higher priority', () => {
    const q = new SendQueue(new ArrayStore());
    const p1 = q.add(message('a', { priority: 1 }));
    const p0 = q.add(message('b'));
    const p0b = q.add(message('c'));
    q.add(message('d', { priority: 3 }));
    q.remove(p0);
    expect([...q.victims(1, false)].map((m) => m.key)).toEqual([p0b.key]);
    expect([...q.victims(1, true)].map((m) => m.key)).toEqual([p0b.key, p1.key]);
    expect([...q.victims(0, false)]).toEqual([]);
  });

  test('a store that keeps payloads (payload(), no get()): the queue holds sizes, not payloads, and reads them back', () => {
    const store = new ArrayStore();
    const payloads = new Map<number, Uint8Array>();
    const lean = Object.assign(store, {
      payload: (key: number) => payloads.get(key),
      add: (m: NewMessage) => {
        const key = ArrayStore.prototype.add.call(store, m);
        payloads.set(key, m.payload);
        return key;
      },
    });
    const q = new SendQueue(lean);
    const m = q.add(message('topic', { payload: new Uint8Array(10) }));
    expect(m.payload.length).toBe(0); // not in RAM
    expect(q.sizeOf(m)).toBe(15);
    expect(q.bytes).toBe(15);
    expect(q.payloadOf(m)?.length).toBe(10);
    q.remove(m);
    expect(q.bytes).toBe(0);
  });
});
