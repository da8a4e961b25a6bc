// Queue policy: which messages are kept while they cannot be sent, and what gives way when
// room runs out. Per client, with per-message overrides (see PublishOptions).
import type { RobustPublishOptions } from './client.js';
import type { StoredMessage } from './store.js';

/**
 * What happens when a new message does not fit the limits: `drop-oldest` drops the oldest queued
 * message of the lowest priority, `drop-newest` drops the new one, `reject` refuses it.
 *
 * @example
 * client.publish('log/line', text, { qos: 1, overflow: 'drop-newest' });
 */
export type Overflow = 'drop-oldest' | 'drop-newest' | 'reject';

/**
 * The built-in queue policy of a {@link RobustClient}: limits while messages cannot be sent, and
 * what gives way. Given per client (`policy` option, the rest from {@link DEFAULT_POLICY}); most
 * fields can be overridden per message in {@link RobustPublishOptions}.
 *
 * @example
 * const client = new RobustClient({ ...options, policy: { maxMessages: 200, maxBytes: 64 * 1024, overflow: 'drop-oldest', ttl: 3_600_000 } });
 */
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
  /** Milliseconds a message may wait before it expires; 0 = forever. Default 0. A QoS 2 message, once sent, never expires (see RobustPublishOptions.ttl). */
  ttl: number;
  /** Default priority; higher is sent first after reconnect, ties keep their order. Default 0. */
  priority: number;
}

/**
 * The queue policy used where the `policy` option says nothing.
 *
 * @example
 * const policy: QueuePolicy = { ...DEFAULT_POLICY, maxMessages: 100 };
 */
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
 *
 * @example
 * client.publish('home/kitchen/temperature', '21.5', PRESETS.temperature);
 * client.publish('home/door/button', 'pressed', PRESETS.button);
 * client.publish('home/alarm', 'smoke', PRESETS.alarm);
 */
export const PRESETS = /* @__PURE__ */ Object.freeze({
  /** Readings: QoS 0, at most 10 kept per topic while offline, no identical duplicates, lowest priority. */
  temperature: /* @__PURE__ */ Object.freeze({
    qos: 0 as const,
    maxPerTopic: 10,
    overflow: 'drop-oldest' as const,
    queueQos0: true,
    noDuplicates: true,
    priority: 0,
  }),
  /** Button presses: QoS 1, stale after 15 s, middle priority. */
  button: /* @__PURE__ */ Object.freeze({
    qos: 1 as const,
    ttl: 15_000,
    overflow: 'drop-oldest' as const,
    priority: 5,
  }),
  /** Alarms: QoS 2, never expire, highest priority, refused (status rejected) rather than displacing an older alarm. */
  alarm: /* @__PURE__ */ Object.freeze({ qos: 2 as const, ttl: 0, overflow: 'reject' as const, priority: 10 }),
});

/**
 * The decision of an admission policy for one new message.
 *
 * @example
 * const admit: AdmissionPolicy = (incoming, held) =>
 *   held.length < 50 ? { accept: true } : { accept: false, status: 'rejected', reason: 'full' };
 */
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
 * What an {@link AdmissionPolicy} gets besides the message: the per-message options given to
 * `publish()`, the client's settings of the built-in policy, and the built-in decision itself.
 *
 * @example
 * const admit: AdmissionPolicy = (incoming, held, online, ctx: AdmissionContext) =>
 *   ctx.options.qos === 2 ? { accept: true } : ctx.builtin();
 */
export interface AdmissionContext {
  /** The options given to `publish()` for this message (`maxPerTopic`, `overflow`, ...). */
  options: Readonly<RobustPublishOptions>;
  /** The client's built-in policy settings (the `policy` object, the rest from {@link DEFAULT_POLICY}). */
  policy: Readonly<QueuePolicy>;
  /** The built-in decision for this message, with its per-message options or the ones given. */
  builtin(options?: RobustPublishOptions): Admission;
}

/**
 * Decides instead of the built-in policy (umqtt.robust2's overridable add_msg_to_send): given the
 * new message, every held message (key order), whether the client is online, and an
 * {@link AdmissionContext} with the per-message options and the built-in decision to fall back
 * to ({@link builtinAdmission} is that fallback as a policy). With a store that keeps payloads out
 * of RAM (one with `payload()` and no `get()`, such as FlashStore), the held messages come without
 * their payloads (empty arrays): read one with `store.payload(key)`.
 *
 * @example
 * // Keep only the newest message per topic for topics under latest/; the built-in policy for the rest:
 * const latestOnly: AdmissionPolicy = (incoming, held, online, ctx) =>
 *   incoming.topic.startsWith('latest/')
 *     ? { accept: true, drop: held.filter((m) => m.topic === incoming.topic && m.stage === QUEUED).map((m) => m.key) }
 *     : ctx.builtin();
 * const client = new RobustClient({ ...options, policy: latestOnly });
 */
export type AdmissionPolicy = (
  incoming: Readonly<StoredMessage>,
  held: readonly Readonly<StoredMessage>[],
  online: boolean,
  context: AdmissionContext,
) => Admission;

/**
 * The built-in decision as an {@link AdmissionPolicy}: the client's {@link QueuePolicy} with the
 * per-message options. A custom policy calls it (or `context.builtin()`) for what it does not decide.
 *
 * @example
 * const policy: AdmissionPolicy = (m, held, online, ctx) =>
 *   !online && m.topic.startsWith('debug/') ? { accept: false, reason: 'debug offline' } : builtinAdmission(m, held, online, ctx);
 */
export const builtinAdmission: AdmissionPolicy = (_incoming, _held, _online, context) => context.builtin();
