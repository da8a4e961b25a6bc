// The Store: where the robust client keeps every message it accepted until the message has a
// final status. The queue (not yet sent) and the in-flight state (sent, not yet acknowledged,
// and the QoS 2 stage reached) are one table: a message moves through stages in place.
import { utf8Length, type QoS } from '@umqtt/codec';

/**
 * Stage of a stored message.
 *
 * @example
 * const waiting = store.messages().filter((m) => m.stage === QUEUED).length;
 */
export const QUEUED = 0;
/**
 * Stage of a stored message: PUBLISH written with packet id `id`, no acknowledgement yet.
 *
 * @example
 * const unacknowledged = store.messages().filter((m) => m.stage === SENT);
 */
export const SENT = 1;
/**
 * Stage of a stored QoS 2 message: PUBREC arrived; only PUBREL/PUBCOMP remain.
 *
 * @example
 * const releasing = store.messages().filter((m) => m.stage === RELEASING); // resent as PUBREL, not PUBLISH
 */
export const RELEASING = 2;

/**
 * A message as the application gave it, with its policy fields.
 *
 * @example
 * const key = store.add({ topic: 't', payload: new Uint8Array([1]), qos: 1, retain: false, priority: 0, expiresAt: 0 });
 */
export interface NewMessage {
  /** Topic name. */
  topic: string;
  /** Message body. */
  payload: Uint8Array;
  /** Quality of service. */
  qos: QoS;
  /** Retain flag. */
  retain: boolean;
  /** Higher is sent first. */
  priority: number;
  /** Absolute time (the client's clock, ms) after which it must not be sent; 0 = never. */
  expiresAt: number;
}

/**
 * A message held by a store.
 *
 * @example
 * for (const m of store.messages()) console.log(m.key, m.topic, m.stage === SENT ? `sent as ${m.id}` : 'queued');
 */
export interface StoredMessage extends NewMessage {
  /** Assigned by the store, increasing in the order messages were added. */
  readonly key: number;
  /** Packet id once sent (kept for resends in a persistent session); 0 before. */
  id: number;
  /** QUEUED, SENT or RELEASING. */
  stage: number;
  /** How many times it was written. */
  attempts: number;
}

/**
 * Storage for messages. Every operation is synchronous and takes effect before it returns. A
 * store without `durable` makes each call as safe as it can before the call returns (in RAM for
 * store-memory; on flash for store-flash on a device, or on a file flushed at every call). A
 * store with `durable` (store-flash on a file with grouped flushes) makes calls durable in
 * groups, one flush to the disk for many calls, and says how far it got. Implementations must
 * pass the shared contract suite (`tooling/testkit`'s `storeContract`).
 *
 * What a crash leaves of a message, at each moment it can be in (a persistent store; a killed
 * process and a power cut alike unless said otherwise):
 * - `add()` returned, `durable` below its key: it may be lost (it may have reached the broker
 *   already: the application that publishes it again can make a duplicate). A QoS 2 message is
 *   never in this state: its add is durable when it returns.
 * - `durable` reached its key, not yet sent: it is there after a restart, and sent then.
 * - Sent (`update` to SENT), until its final status: it is there, at SENT or (if the update was
 *   not yet durable) QUEUED, and sent again: at QoS 1 the broker may get it twice, as QoS 1
 *   allows. A QoS 2 message's SENT and RELEASING are durable when they return, so it is resent
 *   with its packet id and DUP, or released (PUBREL), never published afresh: no duplicate.
 * - Final status, `remove()` returned: if the removal was not yet durable it may come back and
 *   be sent again (QoS 1: a duplicate; QoS 2: back at RELEASING, only its PUBREL again).
 * A grouped store writes its buffered changes to the file at the end of each event-loop turn, so
 * a killed process loses at most the calls of that turn; a power cut loses the calls that
 * `durable` does not yet cover. Every `update` and `remove` made before an add whose key
 * `durable` covers is covered too.
 *
 * @example
 * class ArrayStore implements Store {
 *   #next = 1;
 *   #held: StoredMessage[] = [];
 *   readonly capacity = Infinity;
 *   get count() { return this.#held.length; }
 *   get bytes() { return this.#held.reduce((n, m) => n + messageBytes(m), 0); }
 *   add(message: NewMessage) { const key = this.#next++; this.#held.push({ ...message, key, id: 0, stage: QUEUED, attempts: 0 }); return key; }
 *   update(key: number, id: number, stage: number, attempts: number) { const m = this.#held.find((x) => x.key === key); if (m) Object.assign(m, { id, stage, attempts }); }
 *   remove(key: number) { this.#held = this.#held.filter((m) => m.key !== key); }
 *   messages() { return this.#held.map((m) => ({ ...m })); }
 *   close() {}
 * }
 */
export interface Store {
  /** Holds a message; returns its key. Throws UmqttError `UMQTT_STORE_FULL` when it cannot. */
  add(message: NewMessage): number;
  /** Records progress: packet id, stage and attempts. Unknown keys are ignored. */
  update(key: number, id: number, stage: number, attempts: number): void;
  /** Forgets a message (it reached a final status). Unknown keys are ignored. */
  remove(key: number): void;
  /** Every held message, in key order (copies: changing them changes nothing in the store). */
  messages(): StoredMessage[];
  /**
   * Optional, for stores that keep messages as objects in RAM: the store's own record of a
   * held message, which the client then shares instead of keeping a second object per
   * message. The client changes only its `id`, `stage` and `attempts`, and reports each change
   * through `update()` as well.
   */
  get?(key: number): StoredMessage | undefined;
  /**
   * Optional, for stores that keep payloads out of RAM (on flash): the payload of a held
   * message, read back (undefined if the store lost it). A store that has it and no `get()`
   * spares the client's RAM: the client keeps each held message without its payload (an empty
   * array in its place) and reads the payload back when it writes the message.
   */
  payload?(key: number): Uint8Array | undefined;
  /** Messages held. */
  readonly count: number;
  /** Bytes of topics (UTF-8) and payloads held: the sum of {@link messageBytes}. */
  readonly bytes: number;
  /** Largest `bytes` the store can reach (Infinity when unbounded). */
  readonly capacity: number;
  /** Releases resources. A persistent store reloads its messages when opened again. */
  close(): void;
  /**
   * Optional, for persistent stores: what the store found damaged when it was opened (undefined
   * when nothing was). Lost messages are not in `messages()`; the robust client gives each one
   * the final status `dropped` and then calls `remove(key)` for it, after which the store no
   * longer reports it.
   */
  readonly damage?: StoreDamage | undefined;
  /**
   * Optional, for stores that keep a persistent session: records that an incoming QoS 2 packet
   * id was acknowledged with PUBREC (`held`, after its message was handed to the application)
   * or released by PUBREL. A message whose id is held is not handed over again when the broker
   * resends it, across a reboot too; {@link Store.held} gives the ids back. A persistent store
   * makes each call durable before it returns (before the PUBREC or PUBCOMP that follows leaves).
   */
  incoming?(id: number, held: boolean): void;
  /** Optional, with {@link Store.incoming}: the incoming QoS 2 ids held, as recorded. */
  held?(): number[];
  /**
   * Optional, for a store that makes its calls durable in groups instead of before each returns:
   * every message whose `add()` returned a key up to `durable` survives a power cut (until it is
   * removed), and so does every call made before that add. It only grows. Without it, each call
   * is as safe as the store can make it when it returns. When the medium fails to flush (a disk
   * error), `durable` stops where it was, for good, and the store's calls throw from then on:
   * a flush that succeeds later may not hold what the failed one lost.
   */
  readonly durable?: number;
  /**
   * Optional, with `durable`: set by the application to learn when messages become durable; the
   * store calls it with the new `durable` each time that grows, never from inside one of its
   * own calls. After `add()` returns key k, either `durable >= k` already or a call with a
   * value `>= k` follows.
   */
  onDurable?: ((durable: number) => void) | undefined;
}

/**
 * What a persistent store could not read back when it was opened ({@link Store.damage}).
 *
 * @example
 * const d = store.damage;
 * if (d) console.warn(`${d.lost.length} message(s) lost, ${d.bytes} bytes unreadable in ${d.places} place(s)`);
 */
export interface StoreDamage {
  /** Messages the store held and cannot give back, with what could still be read of each. */
  readonly lost: readonly LostMessage[];
  /** Stretches of storage that could not be read (each one or more records). */
  readonly places: number;
  /** Bytes in them. */
  readonly bytes: number;
}

/**
 * A message a store lost to damage: its key, and its topic and QoS when they could be read.
 *
 * @example
 * for (const m of store.damage?.lost ?? []) console.warn(`lost ${m.key} ${m.topic ?? '(topic unreadable)'}`);
 */
export interface LostMessage {
  /** The key `add()` returned for it. */
  readonly key: number;
  /** Its topic, if it could be read. */
  readonly topic?: string | undefined;
  /** Its QoS, if it could be read. */
  readonly qos?: QoS | undefined;
}

let lastTopic: unknown = {}; // equal to no topic until one is counted
let lastTopicBytes = 0;

/**
 * What a message counts for in byte limits: its topic's UTF-8 bytes plus its payload bytes
 * (what the topic and payload take in a PUBLISH packet and on flash).
 *
 * @example
 * messageBytes({ topic: 'a/b', payload: new Uint8Array(10) }); // 13
 * messageBytes({ topic: 'küche', payload: new Uint8Array(1) }); // 7: 'ü' is two bytes
 */
export function messageBytes(m: { topic: string; payload: Uint8Array }): number {
  // counted several times per message, and mostly for the topic counted last: remembered
  if (m.topic !== lastTopic) {
    lastTopicBytes = utf8Length(m.topic, true);
    lastTopic = m.topic;
  }
  return lastTopicBytes + m.payload.length;
}
