// The in-memory Store: fast, bounded by a byte budget, gone when the process or device stops.
import { UmqttError } from '@umqtt/codec';
import {
  STORE_CLOSED,
  STORE_FULL,
  messageBytes,
  type NewMessage,
  type Store,
  type StoredMessage,
} from '@umqtt/session';

/**
 * Options of {@link MemoryStore}.
 *
 * @example
 * const store = new MemoryStore({ capacity: 64 * 1024 }); // 64 KiB of topics and payloads
 */
export interface MemoryStoreOptions {
  /** Topic + payload bytes held at most. Default 1 MiB. */
  capacity?: number | undefined;
}

/**
 * Keeps messages in a Map, in key order.
 *
 * @example
 * const client = new RobustClient({ ..., store: new MemoryStore({ capacity: 64 * 1024 }) });
 */
export class MemoryStore implements Store {
  readonly capacity: number;
  #messages = new Map<number, StoredMessage>();
  #next = 1;
  #bytes = 0;
  #closed = false;
  /** Incoming QoS 2 ids held until PUBREL, in the order held. */
  #incoming = new Set<number>();

  /**
   * @param options - {@link MemoryStoreOptions}; the capacity defaults to 1 MiB
   */
  constructor(options?: MemoryStoreOptions) {
    this.capacity = options?.capacity ?? 1 << 20;
  }

  get count(): number {
    return this.#messages.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  add(message: NewMessage): number {
    if (this.#closed) throw new UmqttError({ code: STORE_CLOSED, message: 'the store is closed', place: 'store' });
    const size = messageBytes(message);
    if (this.#bytes + size > this.capacity)
      throw new UmqttError({
        code: STORE_FULL,
        message: `store: expected room for ${size} bytes, got ${this.capacity - this.#bytes} of ${this.capacity} free`,
        place: 'store',
      });
    const key = this.#next++;
    const { topic, payload, qos, retain, priority, expiresAt } = message;
    this.#messages.set(key, { key, topic, payload, qos, retain, priority, expiresAt, id: 0, stage: 0, attempts: 0 });
    this.#bytes += size;
    return key;
  }

  update(key: number, id: number, stage: number, attempts: number): void {
    const m = this.#messages.get(key);
    if (!m) return;
    m.id = id;
    m.stage = stage;
    m.attempts = attempts;
  }

  remove(key: number): void {
    const m = this.#messages.get(key);
    if (!m) return;
    this.#messages.delete(key);
    this.#bytes -= messageBytes(m);
  }

  incoming(id: number, held: boolean): void {
    if (held) this.#incoming.add(id);
    else this.#incoming.delete(id);
  }

  held(): number[] {
    return [...this.#incoming];
  }

  /** The record itself (shared with the client: one object per message). */
  get(key: number): StoredMessage | undefined {
    return this.#messages.get(key);
  }

  messages(): StoredMessage[] {
    return [...this.#messages.values()].map((m) => ({ ...m }));
  }

  close(): void {
    this.#closed = true;
  }
}
