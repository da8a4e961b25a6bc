// MemoryStore: the shared Store contract (no reopen: memory does not survive a restart), plus
// what is particular to memory.
import { describe, expect, test } from 'vitest';
import { storeContract } from '@umqtt/testkit';
import { MemoryStore } from './index.js';

const capacity = 256 * 1024;

storeContract('MemoryStore', () => new MemoryStore({ capacity }));
storeContract('MemoryStore (default capacity)', () => new MemoryStore());

const msg = (topic: string, payload = new Uint8Array(0)) => ({
  topic,
  payload,
  qos: 1 as const,
  retain: false,
  priority: 0,
  expiresAt: 0,
});

describe('MemoryStore', () => {
  test('default capacity is 1 MiB', () => {
    expect(new MemoryStore().capacity).toBe(1 << 20);
    expect(new MemoryStore({ capacity: undefined }).capacity).toBe(1 << 20);
    expect(new MemoryStore({ capacity: 100 }).capacity).toBe(100);
  });

  test('Infinity capacity is unbounded', () => {
    const s = new MemoryStore({ capacity: Infinity });
    s.add(msg('big', new Uint8Array(4 << 20)));
    expect(s.bytes).toBe(3 + (4 << 20));
  });

  test('a closed store refuses adds (UMQTT_STORE_CLOSED) and keeps what it held', () => {
    const s = new MemoryStore({ capacity });
    const k = s.add(msg('a', new Uint8Array([1, 2])));
    s.close();
    expect(() => s.add(msg('b'))).toThrow(
      expect.objectContaining({ name: 'UmqttError', code: 'UMQTT_STORE_CLOSED', place: 'store' }),
    );
    expect(s.count).toBe(1);
    expect(s.bytes).toBe(3);
    expect(s.messages().map((m) => m.key)).toEqual([k]);
  });

  test('UMQTT_STORE_FULL says how much room there was', () => {
    const s = new MemoryStore({ capacity: 10 });
    s.add(msg('abcd', new Uint8Array(4)));
    expect(() => s.add(msg('xyz'))).toThrow(/expected room for 3 bytes, got 2 of 10 free/);
  });

  test('messages() returns copies: changing them does not change the store', () => {
    const s = new MemoryStore({ capacity });
    const k = s.add(msg('a'));
    const [m] = s.messages();
    m!.id = 99;
    m!.stage = 2;
    expect(s.messages()[0]).toMatchObject({ key: k, id: 0, stage: 0 });
  });

  test('get() returns the record itself, as messages() shows it, until it is removed', () => {
    const s = new MemoryStore({ capacity });
    const ka = s.add(msg('a', new Uint8Array([7])));
    const kb = s.add(msg('b'));
    const a = s.get(ka)!;
    expect(a).toEqual(s.messages()[0]);
    expect(s.get(ka)).toBe(a); // the record, not a copy
    s.update(ka, 5, 1, 1);
    expect(a).toMatchObject({ key: ka, id: 5, stage: 1, attempts: 1 });
    s.remove(kb);
    for (const k of [kb, ka + 1000, 0, -1]) expect(s.get(k)).toBeUndefined();
  });

  test('a fresh store after close starts empty (nothing persists)', () => {
    const s = new MemoryStore({ capacity });
    s.add(msg('a'));
    s.close();
    const again = new MemoryStore({ capacity });
    expect(again.count).toBe(0);
    expect(again.messages()).toEqual([]);
  });
});
