// Test support for the power-cut tests: a workload that drives a Store the way the robust client
// does (add, SENT, RELEASING, requeue, remove, and incoming QoS 2 ids held and released), a model of what must have survived, and the
// check that compares a remounted store with that model. No vitest import: a child process
// (apps/node's file flash test) runs the same workload and is killed.
import { UmqttError } from '@umqtt/codec';
import { QUEUED, RELEASING, SENT, messageBytes, type NewMessage, type Store, type StoredMessage } from '@umqtt/robust';
import { PowerLoss } from './simulated-flash.js';

function must(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}
function same(got: unknown, want: unknown, what: string): void {
  const [g, w] = [JSON.stringify(got), JSON.stringify(want)];
  if (g !== w) throw new Error(`${what}: expected ${w}, got ${g}`);
}

/**
 * mulberry32, as in the simulator and testkit's `seeded`: the same seed replays the same workload.
 * Its own copy: a child process that is killed mid-workload imports this file without vitest, and
 * testkit's entry point needs vitest.
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Expected {
  message: NewMessage;
  id: number;
  stage: number;
  attempts: number;
}

/** The store call that was running when the power failed. */
export type Pending =
  | { op: 'add'; message: NewMessage }
  | { op: 'update'; key: number; id: number; stage: number; attempts: number }
  | { op: 'remove'; key: number }
  | { op: 'incoming'; id: number; held: boolean };

/** What a check saw, for the coverage report. */
export interface Outcome {
  /** The interrupted call's effect survived (add present, update applied, message removed). */
  pendingApplied: boolean | undefined;
  /** QoS 2 messages confirmed at RELEASING, all found at RELEASING. */
  releasing: number;
}

/**
 * Drives a store like the robust client: the model holds what each call that returned made
 * durable; `pending` is the call in progress when a PowerLoss escapes.
 */
export class Workload {
  readonly model = new Map<number, Expected>();
  readonly removed = new Set<number>();
  /** Incoming QoS 2 ids held (each incoming() that returned). */
  readonly inbound = new Set<number>();
  /** Highest key add() ever returned. */
  maxKey = 0;
  pending: Pending | undefined;
  /**
   * The last call that returned was a QoS 2 message's add, or its update past QUEUED: a store
   * that groups its syncs makes those durable before they return (with everything before them).
   */
  lastDurable = false;
  /** The key the last call returned, if it was an add. */
  lastAdded = 0;
  steps = 0;
  full = 0;
  readonly #r: () => number;
  #n = 0;

  constructor(seed: number) {
    this.#r = prng(seed);
  }

  #message(): NewMessage {
    const r = this.#r;
    const n = this.#n++;
    const big = r() < 0.15;
    const len = big ? 150 + ((r() * 240) | 0) : (r() * 60) | 0;
    const payload = new Uint8Array(len);
    for (let i = 0; i < len; i++) payload[i] = (r() * 256) | 0;
    return {
      topic: r() < 0.2 ? `t/ü/${n}` : `t/${n}`,
      payload,
      qos: ((r() * 3) | 0) as 0 | 1 | 2,
      retain: r() < 0.2,
      priority: r() < 0.3 ? ((r() * 10) | 0) - 3 : 0,
      expiresAt: r() < 0.3 ? 1_700_000_000_000 + ((r() * 1e6) | 0) : 0,
    };
  }

  /** One call on the store, chosen like the robust client would make it. */
  step(store: Store): void {
    const r = this.#r;
    this.steps++;
    this.lastDurable = false;
    this.lastAdded = 0;
    if (store.incoming && r() < 0.1) {
      // an incoming QoS 2 id held (PUBREC) or released (PUBREL): a few held at a time
      const ids = [...this.inbound];
      const release = ids.length > 0 && (ids.length > 5 || r() < 0.5);
      const id = release ? ids[(r() * ids.length) | 0]! : 1 + ((r() * 65535) | 0);
      this.pending = { op: 'incoming', id, held: !release };
      try {
        store.incoming(id, !release);
      } catch (e) {
        if (!(e instanceof UmqttError) || e.code !== 'UMQTT_STORE_FULL') throw e;
        this.full++;
        this.pending = undefined;
        return;
      }
      if (release) this.inbound.delete(id);
      else this.inbound.add(id);
      this.pending = undefined;
      this.lastDurable = true; // on the medium before the PUBREC or PUBCOMP that follows leaves
      return;
    }
    const live = [...this.model.keys()];
    if (!live.length || r() < 0.4) {
      const message = this.#message();
      this.pending = { op: 'add', message };
      const before = [store.count, store.bytes];
      let key: number;
      try {
        key = store.add(message);
      } catch (e) {
        if (!(e instanceof UmqttError) || e.code !== 'UMQTT_STORE_FULL') throw e;
        same([store.count, store.bytes], before, 'a full store changed'); // full: nothing changed
        this.full++;
        this.pending = undefined;
        return;
      }
      must(key > this.maxKey, `key ${key} after ${this.maxKey}`);
      this.maxKey = key;
      this.model.set(key, { message, id: 0, stage: QUEUED, attempts: 0 });
      this.pending = undefined;
      this.lastDurable = message.qos === 2;
      this.lastAdded = key;
      return;
    }
    const key = live[(r() * live.length) | 0]!;
    const e = this.model.get(key)!;
    let next: [number, number, number] | undefined;
    if (e.stage === QUEUED) next = e.message.qos ? [1 + ((r() * 65535) | 0), SENT, e.attempts + 1] : undefined;
    else if (e.stage === SENT)
      next = e.message.qos === 2 ? [e.id, RELEASING, e.attempts] : r() < 0.3 ? [e.id, QUEUED, e.attempts] : undefined;
    if (next) {
      const [id, stage, attempts] = next;
      this.pending = { op: 'update', key, id, stage, attempts };
      store.update(key, id, stage, attempts);
      Object.assign(e, { id, stage, attempts });
      this.lastDurable = e.message.qos === 2 && stage !== QUEUED;
    } else {
      this.pending = { op: 'remove', key };
      store.remove(key);
      this.model.delete(key);
      this.removed.add(key);
    }
    this.pending = undefined;
  }

  /** Runs `n` steps; returns the PowerLoss that stopped it, if one did. */
  run(store: Store, n: number): PowerLoss | undefined {
    try {
      for (let i = 0; i < n; i++) this.step(store);
    } catch (e) {
      if (e instanceof PowerLoss) return e;
      throw e;
    }
    return undefined;
  }

  /**
   * Checks a (remounted) store against the model:
   * - every message whose add() returned is there, unless its remove() returned, or its remove()
   *   was the call cut (then it may be there or not);
   * - its topic, payload and flags are exactly what was added (nothing torn or corrupt);
   * - its id, stage and attempts are those of the last update() that returned, or, if an
   *   update() of it was the call cut, those of that update;
   * - so a QoS 2 message whose RELEASING update returned is never back at SENT or QUEUED;
   * - nothing else is there, except the message of an add() that was cut, whole, as QUEUED,
   *   with a key above every key returned;
   * - removed messages do not come back; count and bytes agree with messages();
   * - the incoming QoS 2 ids held are those the calls that returned left held, each once (the id
   *   of an incoming() that was cut, either way);
   * - a power cut is not damage: the store reports no message lost (`damage`), and with
   *   `strict` (a flash that writes in order) no damage at all.
   * Then adopts what the cut call did, so the workload can go on from here.
   */
  check(store: Store, strict = false): Outcome {
    const got = store.messages();
    const pending = this.pending;
    const outcome: Outcome = { pendingApplied: undefined, releasing: 0 };
    const seen = new Set<number>();
    const content = (m: StoredMessage, want: NewMessage) => {
      const text = (x: NewMessage) => [x.topic, Array.from(x.payload).join(), x.qos, x.retain, x.priority, x.expiresAt];
      same(text(m), text(want), `content of message ${m.key}`);
    };
    let extra: StoredMessage | undefined;
    for (const [i, m] of got.entries()) {
      must(!i || m.key > got[i - 1]!.key, 'messages() out of key order');
      seen.add(m.key);
      must(!this.removed.has(m.key), `removed message ${m.key} came back`);
      const e = this.model.get(m.key);
      if (!e) {
        // only the add that was cut may appear, once, whole
        must(pending?.op === 'add' && !extra && m.key > this.maxKey, `message ${m.key} was never added`);
        content(m, (pending as { message: NewMessage }).message);
        same([m.id, m.stage, m.attempts], [0, QUEUED, 0], `state of the interrupted add ${m.key}`);
        extra = m;
        continue;
      }
      content(m, e.message);
      const state = [m.id, m.stage, m.attempts];
      if (pending?.op === 'update' && pending.key === m.key && state.join() !== [e.id, e.stage, e.attempts].join()) {
        same(state, [pending.id, pending.stage, pending.attempts], `state of message ${m.key} (update interrupted)`);
        outcome.pendingApplied = true;
      } else same(state, [e.id, e.stage, e.attempts], `state of message ${m.key}`);
      if (e.stage === RELEASING) {
        must(m.stage === RELEASING, `QoS 2 message ${m.key} went back from RELEASING to ${m.stage}`);
        outcome.releasing++;
      }
    }
    for (const key of this.model.keys())
      if (!seen.has(key)) must(pending?.op === 'remove' && pending.key === key, `message ${key} was lost`);
    same([store.count, store.bytes], [got.length, got.reduce((n, m) => n + messageBytes(m), 0)], 'count and bytes');
    const incoming = this.checkIncoming(store);
    const damage = store.damage;
    must(!(strict ? damage : damage?.lost.length), `a power cut reported as damage: ${JSON.stringify(damage)}`);
    // adopt what the cut call did
    if (pending?.op === 'add') {
      outcome.pendingApplied = !!extra;
      if (extra) {
        this.model.set(extra.key, { message: pending.message, id: 0, stage: QUEUED, attempts: 0 });
        this.maxKey = extra.key;
      }
    } else if (pending?.op === 'update') {
      const m = got.find((x) => x.key === pending.key);
      if (m) Object.assign(this.model.get(m.key)!, { id: m.id, stage: m.stage, attempts: m.attempts });
      outcome.pendingApplied ??= false;
    } else if (pending?.op === 'incoming') {
      outcome.pendingApplied = incoming;
    } else if (pending?.op === 'remove') {
      outcome.pendingApplied = !seen.has(pending.key);
      if (outcome.pendingApplied) {
        this.model.delete(pending.key);
        this.removed.add(pending.key);
      }
    }
    this.pending = undefined;
    return outcome;
  }

  /**
   * Checks the incoming QoS 2 ids a (remounted) store holds: those the calls that returned left
   * held (each is on the medium when it returns), each once, and the id of an incoming() that was
   * cut either way; adopts what that one did. Returns whether it was applied (undefined: none was cut).
   */
  checkIncoming(store: Store): boolean | undefined {
    const list = store.held?.() ?? [];
    const held = new Set(list);
    must(held.size === list.length, `an incoming id held twice: ${list.join()}`);
    const p = this.pending?.op === 'incoming' ? this.pending : undefined;
    for (const id of this.inbound) must(held.has(id) || id === p?.id, `incoming id ${id}, held, was lost`);
    for (const id of held)
      must(this.inbound.has(id) || id === p?.id, `incoming id ${id} held, but released or never held`);
    if (!p) return undefined;
    if (held.has(p.id)) this.inbound.add(p.id);
    else this.inbound.delete(p.id);
    return held.has(p.id) === p.held;
  }
}

/** How a chain of cuts treats its flash: make one, arm a cut, the flash after the cut, mount a store on it. */
export interface ChainFlash<F> {
  make(chain: number): F;
  cut(flash: F, after: number, seed: number): void;
  reboot(flash: F, seed: number): F;
  mount(flash: F): Store;
  /** Check with `strict` (see Workload.check). */
  strict?: boolean;
}

/**
 * Chains of cuts: for 100 seeded chains (seeds base + 1 ..), 20 times: cut the power after up
 * to `most` flash operations of a 200-call run, reboot, mount, check against the model, go on.
 * Returns the cuts that happened and the fewest calls any chain made.
 */
export function chainsOfCuts<F>(base: number, most: number, f: ChainFlash<F>): { cuts: number; fewest: number } {
  let cuts = 0;
  let fewest = Infinity;
  for (let chain = 1; chain <= 100; chain++) {
    const r = prng(base + chain);
    const w = new Workload(base + chain);
    let flash = f.make(chain);
    let store = f.mount(flash);
    for (let link = 0; link < 20; link++) {
      f.cut(flash, (r() * most) | 0, chain * 100 + link);
      const loss = w.run(store, 200);
      try {
        if (loss) cuts++;
        flash = f.reboot(flash, chain * 100 + link);
        store = f.mount(flash);
        w.check(store, f.strict);
      } catch (e) {
        throw new Error(`chain seed ${base + chain}, link ${link}: ${(e as Error).message}`);
      }
    }
    fewest = Math.min(fewest, w.steps);
  }
  return { cuts, fewest };
}
