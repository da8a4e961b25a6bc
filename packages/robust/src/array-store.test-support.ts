// Test support (not built into dist): a tiny Store for robust's own tests. Robust must not
// depend on @umqtt/store-memory (that package depends on robust), so its tests use this.
import { UmqttError } from '@umqtt/codec';
import { STORE_FULL } from './errors.js';
import type { NewMessage, Store, StoredMessage } from './store.js';

/** Messages in a Map, bounded by `capacity` bytes. */
export class ArrayStore implements Store {
  readonly capacity: number;
  #m = new Map<number, StoredMessage>();
  #next = 1;
  #bytes = 0;
  constructor(capacity = Infinity) {
    this.capacity = capacity;
  }
  get count() {
    return this.#m.size;
  }
  get bytes() {
    return this.#bytes;
  }
  add(m: NewMessage): number {
    const size = m.topic.length + m.payload.length;
    if (this.#bytes + size > this.capacity) throw new UmqttError({ code: STORE_FULL, message: 'full', place: 'store' });
    const key = this.#next++;
    this.#m.set(key, { ...m, key, id: 0, stage: 0, attempts: 0 });
    this.#bytes += size;
    return key;
  }
  update(key: number, id: number, stage: number, attempts: number): void {
    const m = this.#m.get(key);
    if (m) Object.assign(m, { id, stage, attempts });
  }
  remove(key: number): void {
    const m = this.#m.get(key);
    if (m) this.#bytes -= m.topic.length + m.payload.length;
    this.#m.delete(key);
  }
  messages(): StoredMessage[] {
    return [...this.#m.values()].map((m) => ({ ...m }));
  }
  /** Incoming QoS 2 ids held: kept with the messages, as a persistent store keeps them. */
  #incoming = new Set<number>();
  incoming(id: number, held: boolean): void {
    if (held) this.#incoming.add(id);
    else this.#incoming.delete(id);
  }
  held(): number[] {
    return [...this.#incoming];
  }
  close(): void {}
}
