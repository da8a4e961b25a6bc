// The contract every Store implementation must pass (store-memory, store-flash...): one shared
// vitest suite, so that the robust client can rely on the same behaviour from all of them.
//
// testkit must not depend on @umqtt/robust (robust's tests depend on testkit, and turbo forbids
// the cycle), and without that dependency TypeScript cannot resolve '@umqtt/robust' from here
// (there is no node_modules link). So the Store shape is spelled out below, structurally the
// same as robust's store.ts; packages/robust/src/store.test.ts checks at compile time that the
// two stay identical.
import { describe, expect, test } from 'vitest';

type QoS = 0 | 1 | 2;

/** Structurally @umqtt/robust's `NewMessage`. */
export interface NewMessage {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  priority: number;
  expiresAt: number;
}

/** Structurally @umqtt/robust's `StoredMessage`. */
export interface StoredMessage extends NewMessage {
  readonly key: number;
  id: number;
  stage: number;
  attempts: number;
}

/** Structurally @umqtt/robust's `Store`: what the contract suite exercises. */
export interface Store {
  add(message: NewMessage): number;
  update(key: number, id: number, stage: number, attempts: number): void;
  remove(key: number): void;
  messages(): StoredMessage[];
  readonly count: number;
  readonly bytes: number;
  readonly capacity: number;
  close(): void;
  get?(key: number): StoredMessage | undefined;
  payload?(key: number): Uint8Array | undefined;
  readonly damage?: StoreDamage | undefined;
  incoming?(id: number, held: boolean): void;
  held?(): number[];
  readonly durable?: number;
  onDurable?: ((durable: number) => void) | undefined;
}

/** Structurally @umqtt/robust's `StoreDamage`. */
export interface StoreDamage {
  readonly lost: readonly LostMessage[];
  readonly places: number;
  readonly bytes: number;
}

/** Structurally @umqtt/robust's `LostMessage`. */
export interface LostMessage {
  readonly key: number;
  readonly topic?: string | undefined;
  readonly qos?: QoS | undefined;
}

export interface StoreContractOptions {
  /**
   * The store makes its calls durable in groups (it has `durable` and `onDurable`, and `durable`
   * may stay below the key an add returned until a later flush): the suite checks what
   * `onDurable` reports. Without it, a store that has `durable` must cover each add when it
   * returns.
   */
  grouped?: boolean | undefined;
  /**
   * For persistent stores: opens the store again after `closed` was closed (same flash, same
   * file). The reopened store must hold the same messages, with the same keys and fields.
   */
  reopen?: ((closed: Store) => Store | Promise<Store>) | undefined;
  /**
   * The store keeps incoming QoS 2 packet ids held until PUBREL (`incoming` and `held`): true by
   * default, and checked. `false` for a store without them (the robust client then cannot keep a
   * received QoS 2 message from being handed over twice across a restart).
   */
  incoming?: boolean | undefined;
}

// Stage numbers of @umqtt/robust's store.ts (QUEUED, SENT, RELEASING), repeated here because
// testkit must not import robust at run time.
const QUEUED = 0;
const SENT = 1;
const RELEASING = 2;

const KiB = 1024;

/** What the byte limits count: topic UTF-8 bytes plus payload length (robust's messageBytes). */
const size = (m: { topic: string; payload: Uint8Array }): number =>
  new TextEncoder().encode(m.topic).length + m.payload.length;

/** A small deterministic PRNG (mulberry32), so a failing interleaving can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bytes(n: number, seed = n): Uint8Array {
  const out = new Uint8Array(n);
  const r = prng(seed);
  for (let i = 0; i < n; i++) out[i] = (r() * 256) | 0;
  return out;
}

function msg(topic: string, payload: Uint8Array | string = '', over: Partial<NewMessage> = {}): NewMessage {
  return {
    topic,
    payload: typeof payload === 'string' ? new TextEncoder().encode(payload) : payload,
    qos: 1,
    retain: false,
    priority: 0,
    expiresAt: 0,
    ...over,
  };
}

/** A stored message as the contract expects to read it back. */
function stored(key: number, m: NewMessage, id = 0, stage = QUEUED, attempts = 0): StoredMessage {
  return {
    key,
    topic: m.topic,
    payload: m.payload,
    qos: m.qos,
    retain: m.retain,
    priority: m.priority,
    expiresAt: m.expiresAt,
    id,
    stage,
    attempts,
  };
}

/** The observable fields of a store's messages, in a form toEqual compares exactly. */
function view(list: readonly StoredMessage[]) {
  return list.map((m) => ({
    key: m.key,
    topic: m.topic,
    payload: Array.from(m.payload),
    qos: m.qos,
    retain: m.retain,
    priority: m.priority,
    expiresAt: m.expiresAt,
    id: m.id,
    stage: m.stage,
    attempts: m.attempts,
  }));
}

function snapshot(s: Store) {
  return { count: s.count, bytes: s.bytes, messages: view(s.messages()) };
}

/** Messages that exercise every field: non-ASCII topics, binary/empty/64 KiB payloads, every QoS... */
function variety(): NewMessage[] {
  const all = new Uint8Array(256).map((_, i) => i);
  return [
    msg('a', '', { qos: 0 }),
    msg('sensors/küche/température', all, { qos: 1, retain: true, priority: 5, expiresAt: 1_700_000_000_123 }),
    msg('日本/温度/🌡', bytes(64 * KiB, 7), { qos: 2, priority: -3, expiresAt: 1 }),
    msg('t/empty-retained', new Uint8Array(0), { qos: 1, retain: true, priority: 2 ** 31 - 1 }),
    msg('t/ends-with-nul\u0000x', new Uint8Array([0, 0, 0xff, 0xfe]), {
      qos: 2,
      retain: false,
      priority: 0,
      expiresAt: 2 ** 52,
    }),
  ];
}

/**
 * Declares the Store contract suite for one implementation.
 *
 * `open()` returns a fresh, empty store each time it is called; its capacity must be at least
 * 128 KiB (the suite stores a 64 KiB payload) and may be Infinity. Give `reopen` for persistent
 * stores: it must return the same store opened again (after `close()`).
 *
 * @example
 * storeContract('MemoryStore', () => new MemoryStore({ capacity: 256 * 1024 }));
 * storeContract('FlashStore', () => new FlashStore(new RamFlash()), { reopen: (s) => new FlashStore((s as FlashStore).flash) });
 */
export function storeContract(
  name: string,
  open: () => Store | Promise<Store>,
  options: StoreContractOptions = {},
): void {
  const { reopen, grouped } = options;
  const incoming = options.incoming ?? true;

  describe(`Store contract: ${name}`, () => {
    test('a new store is empty', async () => {
      const s = await open();
      expect(s.count).toBe(0);
      expect(s.bytes).toBe(0);
      expect(s.messages()).toEqual([]);
      expect(s.capacity).toBeGreaterThanOrEqual(128 * KiB);
      expect(s.damage).toBeUndefined(); // nothing to report (a store without `damage` too)
      s.close();
    });

    test('keys increase in add order', async () => {
      const s = await open();
      const keys = Array.from({ length: 20 }, (_, i) => s.add(msg(`k/${i}`, `${i}`)));
      for (const k of keys) expect(Number.isInteger(k) && k > 0).toBe(true);
      for (let i = 1; i < keys.length; i++) expect(keys[i]!).toBeGreaterThan(keys[i - 1]!);
      // removing the newest does not let its key be given out again
      s.remove(keys[keys.length - 1]!);
      s.remove(keys[keys.length - 2]!);
      expect(s.add(msg('k/next'))).toBeGreaterThan(keys[keys.length - 1]!);
      s.close();
    });

    test('messages() returns every field round-tripped, in key order, as QUEUED with id 0 and no attempts', async () => {
      const s = await open();
      const input = variety();
      const keys = input.map((m) => s.add(m));
      expect(view(s.messages())).toEqual(view(input.map((m, i) => stored(keys[i]!, m))));
      // each field individually, so a failure names the field
      const out = s.messages();
      expect(out.map((m) => m.topic)).toEqual(input.map((m) => m.topic));
      expect(out.map((m) => m.payload.length)).toEqual([0, 256, 64 * KiB, 0, 4]);
      for (const m of out) expect(m.payload).toBeInstanceOf(Uint8Array);
      expect(out.map((m) => m.qos)).toEqual([0, 1, 2, 1, 2]);
      expect(out.map((m) => m.retain)).toEqual([false, true, false, true, false]);
      expect(out.map((m) => m.priority)).toEqual([0, 5, -3, 2 ** 31 - 1, 0]);
      expect(out.map((m) => m.expiresAt)).toEqual([0, 1_700_000_000_123, 1, 0, 2 ** 52]);
      expect(out.map((m) => [m.id, m.stage, m.attempts])).toEqual(input.map(() => [0, QUEUED, 0]));
      s.close();
    });

    test('update() sets id, stage and attempts, visible in messages()', async () => {
      const s = await open();
      const a = msg('u/a', 'a', { qos: 1 });
      const b = msg('u/b', 'b', { qos: 2 });
      const c = msg('u/c', 'c', { qos: 2 });
      const [ka, kb, kc] = [s.add(a), s.add(b), s.add(c)];
      s.update(ka, 1, SENT, 1);
      s.update(kb, 65535, SENT, 1);
      s.update(kb, 65535, RELEASING, 1); // QoS 2 reached PUBREC
      s.update(kc, 7, SENT, 3);
      s.update(kc, 7, QUEUED, 3); // requeued after a timeout: keeps its id for the resend
      expect(view(s.messages())).toEqual(
        view([stored(ka, a, 1, SENT, 1), stored(kb, b, 65535, RELEASING, 1), stored(kc, c, 7, QUEUED, 3)]),
      );
      expect(s.count).toBe(3);
      expect(s.bytes).toBe(size(a) + size(b) + size(c));
      s.close();
    });

    test('remove() forgets a message; the others keep their order', async () => {
      const s = await open();
      const input = [msg('r/1', '1'), msg('r/2', '22'), msg('r/3', '333'), msg('r/4', '4444')];
      const keys = input.map((m) => s.add(m));
      s.remove(keys[1]!);
      s.remove(keys[3]!);
      expect(view(s.messages())).toEqual(view([stored(keys[0]!, input[0]!), stored(keys[2]!, input[2]!)]));
      s.remove(keys[0]!);
      s.remove(keys[2]!);
      expect(s.messages()).toEqual([]);
      expect(s.count).toBe(0);
      expect(s.bytes).toBe(0);
      s.close();
    });

    test('update() and remove() ignore unknown and already removed keys', async () => {
      const s = await open();
      const a = msg('x/a', 'aa');
      const ka = s.add(a);
      const kb = s.add(msg('x/b', 'b'));
      s.remove(kb);
      const before = snapshot(s);
      for (const k of [kb, ka + 1000, 0, -1, 123456789]) {
        expect(() => s.update(k, 9, SENT, 9)).not.toThrow();
        expect(() => s.remove(k)).not.toThrow();
      }
      s.remove(kb); // twice
      expect(snapshot(s)).toEqual(before);
      expect(view(s.messages())).toEqual(view([stored(ka, a)]));
      s.close();
    });

    test('count and bytes (topic UTF-8 bytes + payload length) track adds and removes', async () => {
      const s = await open();
      const input = variety();
      let bytesHeld = 0;
      const keys: number[] = [];
      for (const [i, m] of input.entries()) {
        keys.push(s.add(m));
        bytesHeld += size(m);
        expect(s.count).toBe(i + 1);
        expect(s.bytes).toBe(bytesHeld);
      }
      // updates change neither
      s.update(keys[1]!, 3, SENT, 1);
      expect([s.count, s.bytes]).toEqual([input.length, bytesHeld]);
      for (const [i, k] of keys.entries()) {
        s.remove(k);
        bytesHeld -= size(input[i]!);
        expect(s.count).toBe(input.length - i - 1);
        expect(s.bytes).toBe(bytesHeld);
      }
      expect(bytesHeld).toBe(0);
      s.close();
    });

    test('capacity: an add beyond it throws UMQTT_STORE_FULL and leaves the store unchanged', async () => {
      const s = await open();
      const capacity = s.capacity;
      if (!Number.isFinite(capacity)) {
        // unbounded: a large add simply works
        s.add(msg('big', bytes(256 * KiB)));
        expect(s.count).toBe(1);
        return s.close();
      }
      // fill to exactly the capacity
      let last = 0;
      for (let i = 0; s.bytes < capacity; i++) {
        const topic = `fill/${i}`;
        const room = capacity - s.bytes;
        const payload = room > topic.length ? bytes(Math.min(room - topic.length, 32 * KiB), i) : new Uint8Array(0);
        const m = room > topic.length ? msg(topic, payload) : msg('f'.repeat(room));
        last = s.add(m);
      }
      expect(s.bytes).toBe(capacity);
      const before = snapshot(s);
      // one byte more does not fit
      expect(() => s.add(msg('x'))).toThrow(expect.objectContaining({ name: 'UmqttError', code: 'UMQTT_STORE_FULL' }));
      // nor does a larger one, nor one larger than the whole capacity
      expect(() => s.add(msg('y', bytes(100)))).toThrow(expect.objectContaining({ code: 'UMQTT_STORE_FULL' }));
      expect(() => s.add(msg('z', new Uint8Array(capacity + 1)))).toThrow(
        expect.objectContaining({ code: 'UMQTT_STORE_FULL' }),
      );
      expect(snapshot(s)).toEqual(before);
      // room made by a remove can be used again, and keys keep increasing
      const first = s.messages()[0]!;
      s.remove(first.key);
      const k = s.add(msg('again', new Uint8Array(Math.max(0, size(first) - 'again'.length))));
      expect(k).toBeGreaterThan(last);
      expect(s.bytes).toBeLessThanOrEqual(capacity);
      s.close();
    });

    test('1,000 interleaved adds, updates and removes keep key order and counts', async () => {
      const s = await open();
      const r = prng(0x5eed);
      const model = new Map<number, StoredMessage>(); // insertion order = key order
      let lastKey = 0;
      let bytesHeld = 0;
      for (let i = 0; i < 1000; i++) {
        const roll = r();
        if (roll < 0.55 || model.size === 0) {
          const m = msg(`i/${(r() * 20) | 0}`, bytes((r() * 40) | 0, i), {
            qos: ((r() * 3) | 0) as 0 | 1 | 2,
            retain: r() < 0.2,
            priority: ((r() * 5) | 0) - 2,
            expiresAt: r() < 0.5 ? 0 : (r() * 1e9) | 0,
          });
          const k = s.add(m);
          expect(k).toBeGreaterThan(lastKey);
          lastKey = k;
          model.set(k, stored(k, m));
          bytesHeld += size(m);
        } else {
          const present = [...model.keys()];
          const k = present[(r() * present.length) | 0]!;
          if (roll < 0.75) {
            const m = model.get(k)!;
            m.id = 1 + ((r() * 65535) | 0);
            m.stage = (r() * 3) | 0;
            m.attempts++;
            s.update(k, m.id, m.stage, m.attempts);
          } else {
            bytesHeld -= size(model.get(k)!);
            model.delete(k);
            s.remove(k);
          }
        }
        if (i % 100 === 99) {
          expect(view(s.messages())).toEqual(view([...model.values()]));
          expect([s.count, s.bytes]).toEqual([model.size, bytesHeld]);
        }
      }
      const keys = s.messages().map((m) => m.key);
      expect(keys).toEqual([...keys].sort((a, b) => a - b));
      s.close();
    });

    test('incoming QoS 2 ids, where the store keeps them: held until released, in the order held, each once', async () => {
      const s = await open();
      if (!incoming) return void expect(s.held).toBeUndefined(); // both or neither
      expect([typeof s.incoming, typeof s.held]).toEqual(['function', 'function']);
      if (!s.incoming || !s.held) return;
      s.incoming(7, true);
      s.incoming(65535, true);
      s.incoming(7, true);
      s.incoming(3, true);
      s.incoming(65535, false);
      s.incoming(9, false); // never held: nothing happens
      expect(s.held()).toEqual([7, 3]);
      expect(s.count).toBe(0); // not messages
    });

    test('durable, where a store has it, only grows; without grouping it covers each add when it returns', async () => {
      const s = await open();
      let last = s.durable ?? 0;
      for (let i = 0; i < 50; i++) {
        const k = s.add(msg(`d/${i}`, 'x', { qos: (i % 3) as QoS }));
        if (s.durable === undefined) continue;
        expect(s.durable).toBeGreaterThanOrEqual(last);
        last = s.durable;
        if (!grouped || i % 3 === 2)
          expect(s.durable, 'QoS 2, or not grouped: durable at once').toBeGreaterThanOrEqual(k);
        if (i % 2) s.remove(k);
      }
      s.close();
    });

    if (grouped)
      describe('grouped durability', () => {
        test('onDurable reports every add, later, never from inside a store call, with values that only grow', async () => {
          const s = await open();
          let inside = false;
          const seen: number[] = [];
          const reported = new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`onDurable reported ${seen.join(', ')}`)), 10_000);
            s.onDurable = (d) => {
              if (inside) reject(new Error('onDurable called from inside a store call'));
              seen.push(d);
              if (d >= last) {
                clearTimeout(timer);
                resolve();
              }
            };
          });
          const call = <T>(f: () => T): T => {
            inside = true;
            try {
              return f();
            } finally {
              inside = false;
            }
          };
          let last = 0;
          for (let i = 0; i < 200; i++) {
            const k = call(() => s.add(msg(`g/${i % 7}`, bytes(i % 50, i), { qos: (i % 2) as QoS })));
            if (i % 3 === 0) call(() => s.update(k, 1 + i, SENT, 1));
            if (i % 5 === 0) call(() => s.remove(k));
            last = k;
          }
          await reported;
          expect(s.durable).toBeGreaterThanOrEqual(last);
          expect(seen).toEqual([...seen].sort((a, b) => a - b));
          expect(new Set(seen).size).toBe(seen.length);
          s.close();
        });

        test('a QoS 2 add is durable when it returns, with every add before it', async () => {
          const s = await open();
          const k1 = s.add(msg('q/1', 'one', { qos: 1 }));
          const k2 = s.add(msg('q/2', 'two', { qos: 2 }));
          expect(s.durable).toBeGreaterThanOrEqual(k2);
          expect(k2).toBeGreaterThan(k1);
          s.close();
        });
      });

    if (reopen) {
      describe('persistence (close and reopen)', () => {
        test('the same messages come back with the same keys, fields and stages', async () => {
          const s = await open();
          const input = variety();
          const keys = input.map((m) => s.add(m));
          s.update(keys[1]!, 17, SENT, 1);
          s.update(keys[2]!, 18, SENT, 1);
          s.update(keys[2]!, 18, RELEASING, 1);
          s.update(keys[4]!, 19, QUEUED, 2);
          s.remove(keys[3]!);
          const before = snapshot(s);
          s.close();
          const again = await reopen(s);
          expect(snapshot(again)).toEqual(before);
          expect(again.capacity).toBe(s.capacity);
          expect(again.damage).toBeUndefined(); // a store that has `damage` reports none here
          // and a second time, after more changes on the reopened store
          again.remove(keys[0]!);
          again.update(keys[1]!, 17, RELEASING, 1);
          const k = again.add(msg('after/reopen', 'x', { qos: 2, priority: 1 }));
          const before2 = snapshot(again);
          again.close();
          const third = await reopen(again);
          expect(snapshot(third)).toEqual(before2);
          expect(third.messages().at(-1)!.key).toBe(k);
          third.close();
        });

        test('new keys continue above the old ones, after the newest was removed', async () => {
          const s = await open();
          const keys = [s.add(msg('p/1', '1')), s.add(msg('p/2', '2')), s.add(msg('p/3', '3'))];
          s.remove(keys[2]!); // the highest key is gone before the close
          s.close();
          const again = await reopen(s);
          const k = again.add(msg('p/4', '4'));
          expect(k).toBeGreaterThan(keys[1]!);
          expect(again.messages().map((m) => m.key)).toEqual([keys[0], keys[1], k]);
          again.close();
        });

        test('incoming QoS 2 ids held come back after a reopen; released ones do not', async () => {
          const s = await open();
          if (!s.incoming || !s.held) return;
          s.incoming(1, true);
          s.incoming(2, true);
          s.incoming(1, false);
          s.add(msg('a', 'b'));
          const again = await reopen(s);
          expect(again.held!()).toEqual([2]);
          again.incoming!(2, false);
          again.incoming!(4, true);
          const third = await reopen(again);
          expect(third.held!()).toEqual([4]);
          expect(third.count).toBe(1);
        });

        test('incoming QoS 2 ids held survive a long run of changes (a log-structured store compacts meanwhile) and a reopen', async () => {
          const s = await open();
          if (!s.incoming || !s.held) return;
          const want = new Set<number>();
          const keys: number[] = [];
          // about 4 MiB through the store, its capacity or more: a store on flash wraps around its
          // partition several times, so records of held ids are copied forward, or lost if not
          for (let i = 0; i < 1000; i++) {
            keys.push(s.add(msg(`churn/${i}`, bytes(4 * KiB, i), { qos: ((i % 2) + 1) as QoS })));
            if (s.count > 8) s.remove(keys.shift()!);
            if (i % 7 === 0) {
              const id = 1 + ((i * 7919) % 65535);
              s.incoming(id, true);
              want.add(id);
            }
            if (i % 11 === 0 && want.size > 3) {
              const id = [...want][(i >> 1) % want.size]!;
              s.incoming(id, false);
              want.delete(id);
            }
          }
          const sorted = (ids: number[]) => [...ids].sort((a, b) => a - b);
          expect(s.held(), 'while open: in the order held').toEqual([...want]);
          const again = await reopen(s);
          expect(sorted(again.held!()), 'after a reopen: the same ids').toEqual(sorted([...want]));
          expect(again.messages().map((m) => m.key)).toEqual(keys);
          again.close();
        });

        test('an empty store reopens empty', async () => {
          const s = await open();
          const k = s.add(msg('e', 'e'));
          s.remove(k);
          s.close();
          const again = await reopen(s);
          expect([again.count, again.bytes, again.messages().length]).toEqual([0, 0, 0]);
          expect(again.add(msg('e2'))).toBeGreaterThan(0);
          again.close();
        });
      });
    }
  });
}
