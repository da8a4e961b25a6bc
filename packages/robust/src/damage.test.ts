// A store that reports damage (Store.damage): the client records one issue when it is built, and
// at its first start() gives each lost message the final status dropped ('damaged in the store')
// and lets the store forget it; the messages the store still holds are sent as usual.
import { describe, expect, test } from 'vitest';
import { settle } from '@umqtt/testkit';
import { ArrayStore } from './array-store.test-support.js';
import { accept, packets, pub, setup } from './harness.test-support.js';
import type { LostMessage, StoreDamage } from './index.js';

/** An ArrayStore opened on damaged storage: it reports `lost` and forgets each when removed. */
class DamagedStore extends ArrayStore {
  readonly removed: number[] = [];
  readonly #lost: LostMessage[];
  readonly damage: StoreDamage;
  constructor(lost: LostMessage[]) {
    super();
    this.#lost = lost;
    this.damage = { lost, places: 2, bytes: 180 };
  }
  override remove(key: number): void {
    this.removed.push(key);
    const i = this.#lost.findIndex((m) => m.key === key);
    if (i >= 0) this.#lost.splice(i, 1);
    else super.remove(key);
  }
}

describe('a store that lost messages to damage', () => {
  test('one issue when the client is built; at start(), status dropped for each lost message, then the store forgets it', async () => {
    const store = new DamagedStore([
      { key: 3, topic: 'alarm/door', qos: 2 },
      { key: 5 }, // known only by its key
    ]);
    const kept = store.add({
      topic: 'a/b',
      payload: new Uint8Array([1]),
      qos: 1,
      retain: false,
      priority: 0,
      expiresAt: 0,
    });
    const logged: string[] = [];
    const t = setup({ store, logger: (issue) => logged.push(issue.error.code) });
    expect(t.client.issues.map((i) => [i.place, i.error.code, i.error.message])).toEqual([
      ['store', 'UMQTT_STORE_DAMAGED', 'store damaged: 2 message(s) lost, 180 bytes unreadable'],
    ]);
    expect(logged).toEqual(['UMQTT_STORE_DAMAGED']);
    expect(t.statuses).toEqual([]); // nothing before start(): the application sets onStatus first
    t.client.start();
    await settle();
    expect(t.statuses).toEqual([
      [3, 'dropped', 'damaged in the store'],
      [5, 'dropped', 'damaged in the store'],
    ]);
    expect(t.client.counters.dropped).toBe(2);
    expect(store.removed).toEqual([3, 5]);
    expect(store.damage.lost).toEqual([]);
    // the message the store still holds is sent as usual
    await accept(t);
    await settle();
    expect(packets(t.broker.socket.take())).toContain(pub('a/b', '\x01', { qos: 1, id: 1 }));
    expect(t.client.held).toBe(1);
    expect(kept).toBe(1);
    // a second start() (after stop) reports nothing again
    t.client.stop();
    t.client.start();
    await settle();
    expect(t.statuses.length).toBe(2);
  });

  test('a store without damage: no issue, no status', async () => {
    const t = setup({ store: new ArrayStore() });
    t.client.start();
    await settle();
    expect([t.client.issues.length, t.statuses.length]).toEqual([0, 0]);
  });
});
