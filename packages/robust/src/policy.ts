// Queue policy: which messages are kept while they cannot be sent, and what gives way when
// room runs out. Per client, with per-message overrides (see PublishOptions).
import type { StoredMessage } from './store.js';

/** What happens when a new message does not fit the limits. */
export type Overflow = 'drop-oldest' | 'drop-newest' | 'reject';

export interface QueuePolicy {
  /** Messages held at most, queued plus in flight (robust2's MSG_QUEUE_MAX). Default 1000. */
  maxMessages: number;
  /** Topic + payload bytes held at most. Default 1 MiB (and never more than the store holds). */
  maxBytes: number;
  /**
   * When full: `drop-oldest` drops the oldest queued message of the lowest priority to make
   * room; `drop-newest` drops the new message; `reject` refuses it (publish returns 0).
   * Default `drop-oldest`.
   */
  overflow: Overflow;
  /** Keep QoS 0 messages while offline (robust2's KEEP_QOS0). Default true. */
  queueQos0: boolean;
  /** Never queue a message identical (topic, payload, QoS, retain) to a queued one (NO_QUEUE_DUPS). Default false. */
  noDuplicates: boolean;
  /** A new retained message replaces a queued retained message for the same topic. Default true. */
  latestRetained: boolean;
  /** Milliseconds a message may wait before it expires; 0 = forever. Default 0. */
  ttl: number;
  /** Default priority; higher is sent first after reconnect, ties keep their order. Default 0. */
  priority: number;
}

export const DEFAULT_POLICY: Readonly<QueuePolicy> = /* @__PURE__ */ Object.freeze({
  maxMessages: 1000,
  maxBytes: 1 << 20,
  overflow: 'drop-oldest',
  queueQos0: true,
  noDuplicates: false,
  latestRetained: true,
  ttl: 0,
  priority: 0,
});

/**
 * Ready-made per-message policies for the seed's three kinds of message (umqtt.robust2's
 * README), to pass as publish options:
 * - `temperature`: a reading every minute; losing some is fine, the newest matter most, and
 *   retrying must not drain the battery. QoS 0, at most 10 readings kept per topic while
 *   offline (the oldest give way), identical readings not queued twice, lowest priority.
 * - `button`: a press matters for 15 seconds, then it is stale. QoS 1, expires after 15 s.
 * - `alarm`: must arrive no matter what, and once. QoS 2, highest priority (lower priorities
 *   give way when the queue is full); when the queue is full of alarms a new one is refused
 *   loudly (status rejected) rather than an older alarm being lost.
 */
export const PRESETS = /* @__PURE__ */ Object.freeze({
  temperature: /* @__PURE__ */ Object.freeze({ qos: 0 as const, maxPerTopic: 10, overflow: 'drop-oldest' as const, queueQos0: true, noDuplicates: true, priority: 0 }),
  button: /* @__PURE__ */ Object.freeze({ qos: 1 as const, ttl: 15_000, overflow: 'drop-oldest' as const, priority: 5 }),
  alarm: /* @__PURE__ */ Object.freeze({ qos: 2 as const, ttl: 0, overflow: 'reject' as const, priority: 10 }),
});

/** The decision of an admission policy for one new message. */
export interface Admission {
  /** Keep the new message? */
  accept: boolean;
  /** Why it was not kept (becomes the status reason). */
  reason?: string | undefined;
  /** When not kept: `rejected` (refused, publish returns 0) or `dropped`. Default dropped. */
  status?: 'dropped' | 'rejected' | undefined;
  /** Keys of queued messages to drop to make room (they get status dropped). */
  drop?: number[] | undefined;
}

/**
 * Replaces the built-in policy entirely (umqtt.robust2's overridable add_msg_to_send):
 * given the new message and every held message (key order), decide.
 */
export type AdmissionPolicy = (incoming: Readonly<StoredMessage>, held: readonly Readonly<StoredMessage>[], online: boolean) => Admission;
