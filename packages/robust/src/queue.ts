// The send queue: an index over the store's messages that yields queued messages by priority
// (higher first, ties in key order), finds duplicates and older retained messages, counts
// per topic, finds the next to expire, and picks overflow victims, all without scanning the
// whole queue. An index that only some policies use (duplicates, retained, per topic, expiry) is
// made when first needed: the duplicate index costs a hash per message, and an idle client or a
// plain queue carries none of them.
import { QUEUED, type Store, type StoredMessage, messageBytes } from './store.js';

interface Bucket {
  priority: number;
  keys: number[];
  head: number;
}

const NONE: Uint8Array = new Uint8Array(0);

/** A held message whose payload stays in the store: its size (messageBytes) is kept instead. */
type Lean = StoredMessage & { size?: number };

export class SendQueue {
  readonly store: Store;
  /** Payloads stay in the store only (it has payload() and no get()): held messages keep their size instead. */
  readonly #lean: boolean;
  /** Every held message by key (queued and in flight). */
  readonly held = new Map<number, StoredMessage>();
  #buckets: Bucket[] = []; // by priority, descending
  /** The queued retained message of each topic; undefined until one is queued. */
  #retained: Map<string, number> | undefined;
  /** Queued keys by signature; undefined until the first duplicateOf() (noDuplicates). */
  #same: Map<string, Set<number>> | undefined;
  /** Queued messages of each topic, oldest first; undefined until the first countFor() or oldestFor() (maxPerTopic). */
  #topics: Map<string, StoredMessage[]> | undefined;
  /** Queued messages with a time to live, soonest first (then by key); undefined until one is queued. */
  #expiry: StoredMessage[] | undefined;
  #bytes = 0;
  /** Queued (not yet sent) messages. */
  queued = 0;

  constructor(store: Store) {
    this.store = store;
    this.#lean = !!store.payload && !store.get;
    for (const m of store.messages()) this.#index(m);
  }

  /** Bytes held (topics and payloads). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Adds a message to the store and the index; returns it. Throws what the store throws. */
  add(m: Omit<StoredMessage, 'key' | 'id' | 'stage' | 'attempts'>): StoredMessage {
    const key = this.store.add(m);
    // the store's own record if it shares it (one object per message, not two); else an
    // explicit literal: a spread here was 14% of a QoS 1 publish and twice the memory
    const held: StoredMessage = this.store.get?.(key) ?? {
      key,
      topic: m.topic,
      payload: m.payload,
      qos: m.qos,
      retain: m.retain,
      priority: m.priority,
      expiresAt: m.expiresAt,
      id: 0,
      stage: QUEUED,
      attempts: 0,
    };
    this.#index(held);
    return held;
  }

  #index(m: StoredMessage): void {
    this.held.set(m.key, m);
    this.#bytes += messageBytes(m);
    if (m.stage === QUEUED) this.#enqueue(m);
    if (this.#lean) {
      // read back when sent; one property of the message instead of a Map entry (XS: 1 slot, not 2 and a table)
      (m as Lean).size = messageBytes(m);
      m.payload = NONE;
    }
  }

  /** What a held message counts for in byte limits. */
  sizeOf(m: StoredMessage): number {
    return (m as Lean).size ?? messageBytes(m);
  }

  /** A held message's payload: in RAM, or read back from the store (undefined: the store lost it). */
  payloadOf(m: StoredMessage): Uint8Array | undefined {
    return m.payload === NONE ? this.store.payload!(m.key) : m.payload;
  }

  #enqueue(m: StoredMessage): void {
    this.queued++;
    let i = 0;
    const b = this.#buckets;
    while (i < b.length && b[i]!.priority > m.priority) i++;
    let bucket = b[i];
    if (!bucket || bucket.priority !== m.priority)
      b.splice(i, 0, (bucket = { priority: m.priority, keys: [], head: 0 }));
    const keys = bucket.keys;
    if (!keys.length || keys[keys.length - 1]! < m.key) keys.push(m.key);
    else {
      // back into its place by key (messages reloaded from a store in any order)
      let lo = bucket.head;
      let hi = keys.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (keys[mid]! < m.key) lo = mid + 1;
        else hi = mid;
      }
      keys.splice(lo, 0, m.key);
    }
    if (m.retain) (this.#retained ??= new Map()).set(m.topic, m.key);
    this.#dup(m, true);
    if (this.#topics) this.#topic(m, true);
    if (m.expiresAt) (this.#expiry ??= []).splice(this.#at(m), 0, m);
  }

  /** Takes a message off the queue index (it was sent, or is leaving). */
  #dequeued(m: StoredMessage): void {
    this.queued--;
    if (m.retain && this.#retained?.get(m.topic) === m.key) this.#retained.delete(m.topic);
    this.#dup(m, false);
    if (this.#topics) this.#topic(m, false);
    if (m.expiresAt) this.#expiry!.splice(this.#at(m), 1);
  }

  /** Adds a queued message to its topic's list, or takes it out (once the lists exist). */
  #topic(m: StoredMessage, add: boolean): void {
    const topics = this.#topics!;
    const list = topics.get(m.topic) ?? [];
    if (add) {
      topics.set(m.topic, list);
      list.push(m);
    } else {
      list.splice(list.indexOf(m) >>> 0, 1); // one topic's messages: as many as maxPerTopic allows
      if (!list.length) topics.delete(m.topic);
    }
  }

  /** The lists by topic, made on first use from the queued messages (in key order). */
  #byTopic(): Map<string, StoredMessage[]> {
    if (!this.#topics) {
      this.#topics = new Map();
      for (const m of this.held.values()) if (m.stage === QUEUED) this.#topic(m, true);
    }
    return this.#topics;
  }

  /** Where a message is, or goes, in the expiry list (binary search: soonest first, then by key). */
  #at(m: StoredMessage): number {
    const a = this.#expiry!;
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((a[mid]!.expiresAt - m.expiresAt || a[mid]!.key - m.key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The next queued message to send (highest priority, oldest), without taking it. */
  peek(): StoredMessage | undefined {
    for (const bucket of this.#buckets) {
      const { keys } = bucket;
      if (bucket.head >= 1024 && bucket.head * 2 >= keys.length) {
        keys.splice(0, bucket.head); // drop the consumed front, so memory stays flat
        bucket.head = 0;
      }
      while (bucket.head < keys.length) {
        const m = this.held.get(keys[bucket.head]!);
        if (m && m.stage === QUEUED) return m;
        bucket.head++; // lazily skip messages that left the queue
      }
      keys.length = bucket.head = 0;
    }
    this.#buckets = this.#buckets.filter((b) => b.keys.length);
    return undefined;
  }

  /** Marks a queued message as written with packet id `id`. */
  sent(m: StoredMessage, id: number, stage: number): void {
    if (m.stage === QUEUED) this.#dequeued(m);
    m.id = id;
    m.stage = stage;
    m.attempts++;
    this.store.update(m.key, id, stage, m.attempts);
  }

  /** Records a new stage of a message in flight. */
  stage(m: StoredMessage, stage: number): void {
    m.stage = stage;
    this.store.update(m.key, m.id, stage, m.attempts);
  }

  /** Forgets a message for good. */
  remove(m: StoredMessage): void {
    if (!this.held.delete(m.key)) return;
    if (m.stage === QUEUED) this.#dequeued(m);
    this.#bytes -= this.sizeOf(m);
    this.store.remove(m.key);
  }

  /** A queued message identical to `m` (topic, payload, QoS, retain), if any. */
  duplicateOf(m: Omit<StoredMessage, 'key' | 'id' | 'stage' | 'attempts'>): StoredMessage | undefined {
    if (!this.#same) {
      this.#same = new Map();
      for (const h of this.held.values()) if (h.stage === QUEUED) this.#dup(h, true);
    }
    for (const key of this.#same.get(signature(m, m.payload)) ?? []) {
      const other = this.held.get(key)!;
      if (sameBytes(this.payloadOf(other) ?? NONE, m.payload)) return other;
    }
    return undefined;
  }

  /** Adds a queued message to the duplicate index, or takes it out (once the index exists). */
  #dup(m: StoredMessage, add: boolean): void {
    const same = this.#same;
    if (!same) return;
    const sig = signature(m, this.payloadOf(m));
    const keys = same.get(sig) ?? new Set<number>();
    if (add) same.set(sig, keys.add(m.key));
    else if (keys.delete(m.key) && !keys.size) same.delete(sig);
  }

  /** The queued retained message for `topic`, if any. */
  retainedFor(topic: string): StoredMessage | undefined {
    return this.held.get(this.#retained?.get(topic) ?? 0); // keys start at 1
  }

  /** Queued messages for `topic`. */
  countFor(topic: string): number {
    return this.#byTopic().get(topic)?.length ?? 0;
  }

  /** The oldest queued message for `topic`. */
  oldestFor(topic: string): StoredMessage | undefined {
    return this.#byTopic().get(topic)?.[0];
  }

  /**
   * The overflow victims for a newcomer of priority `p`, in the order they give way: the queued
   * messages of priorities below `p` (and, with `samePriority`, of `p` itself), lowest priority
   * first, oldest first within one.
   */
  *victims(p: number, samePriority: boolean): Generator<StoredMessage, undefined> {
    for (let i = this.#buckets.length; i--;) {
      const bucket = this.#buckets[i]!;
      if (bucket.priority > p || (bucket.priority === p && !samePriority)) return;
      for (let k = bucket.head; k < bucket.keys.length; k++) {
        const m = this.held.get(bucket.keys[k]!);
        if (m && m.stage === QUEUED) yield m;
      }
    }
  }

  /** Queued messages whose time to live ran out by `now`, soonest first. */
  expired(now: number): StoredMessage[] {
    const a = this.#expiry ?? [];
    let n = 0;
    while (n < a.length && a[n]!.expiresAt <= now) n++;
    return a.slice(0, n);
  }

  /** The earliest expiry among queued messages (Infinity when none). */
  nextExpiry(): number {
    return this.#expiry?.[0]?.expiresAt ?? Infinity;
  }
}

function signature(m: { topic: string; qos: number; retain: boolean }, p: Uint8Array = NONE): string {
  // FNV-1a of at most the first and last 32 payload bytes: equal signatures are confirmed
  // byte by byte, so the hash only has to spread, and large payloads cost no more than small
  let h = 0x811c9dc5;
  const n = p.length;
  for (let i = 0; i < n; i = i === 31 && n > 64 ? n - 32 : i + 1) h = Math.imul(h ^ p[i]!, 0x01000193);
  return `${m.qos}${m.retain ? 1 : 0}${p.length}:${h >>> 0}:${m.topic}`;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
