// @umqtt/robust/v5: the robust client on MQTT 5.0. A 3.1.1 bundle never imports this module.
//
// RobustClient5 is RobustClient on @umqtt/simple/v5's protocol, with a session of its own
// (RobustSession5, a Session5) that adds what robust needs of MQTT 5 without a byte in the 3.1.1
// client: each message's time to live goes out as its Message Expiry Interval, and a refused
// publish is decided by one table of reason codes. A code to retry (quota exceeded) holds the
// message in the session and pauses the connection's publishing (`open` false, so the robust
// queue waits) for a backoff, then sends it again with its packet id; a final code reaches the
// robust client as a refusal with the code's name, and the message ends `rejected` with it.
// Session expiry replaces the clean flag, and a broker's DISCONNECT reaches the reconnect
// strategy, which waits longer for the reasons in DISCONNECT_ROUNDS.
/**
 * `RobustClient` on MQTT 5.0: session expiry instead of the clean flag, the broker's Receive
 * Maximum as the window, each message's time to live as its Message Expiry Interval, refusal
 * reason codes decided by a table ({@link REFUSALS}: quota exceeded is retried after backing off,
 * not authorized and the other final codes end as `rejected` with the code), and the broker's
 * DISCONNECT reasons in the reconnect delay ({@link DISCONNECT_ROUNDS}).
 *
 * ```sh
 * npm install @umqtt/robust @umqtt/store-memory
 * ```
 *
 * @example
 * ```ts
 * import { PRESETS } from '@umqtt/robust';
 * import { RobustClient5 } from '@umqtt/robust/v5';
 * import { MemoryStore } from '@umqtt/store-memory';
 *
 * const client = new RobustClient5({ socket: tcp, timers, servers: [{ host: 'broker.local' }], clientId: 'dev-1',
 *   store: new MemoryStore(), sessionExpiry: 86_400 }); // keep my session for a day
 * client.onStatus = (key, status, reason) => console.log(key, status, reason ?? ''); // 'rejected' 'Not authorized (0x87)'
 * client.start();
 * client.publish('home/door/button', 'pressed', PRESETS.button); // Message Expiry Interval 15 s
 * ```
 *
 * @module @umqtt/robust/v5
 */
import { REASON_NAMES, type ConnackProperties, type DisconnectProperties } from '@umqtt/codec/v5';
import { UmqttError } from '@umqtt/codec';
import { ISSUE_EVENT, STATUS_EVENT, type SessionWrite } from '@umqtt/session';
import { Session5, type Publish5Options, type Session5Options } from '@umqtt/session/v5';
import { BROKER_DISCONNECT, mqtt5, type Client5Options, type Will5 } from '@umqtt/simple/v5';
import { backoffDelay, exponentialBackoff, type Backoff, type ReconnectStrategy } from './backoff.js';
import { RobustClient, type RobustOptions } from './client.js';
import { REFUSED_RETRYING } from './errors.js';
import type { StoredMessage } from './store.js';

export type { Will5 };

/**
 * What a refusal reason code of a PUBACK or PUBREC does: `retry` holds the message and sends it
 * again after backing off (it is not final); `reject` ends it with the status `rejected`, the
 * code's name and value as the reason.
 *
 * @example
 * const client = new RobustClient5({ ...options, refusals: { 0x80: 'retry' } }); // a broker whose 0x80 is passing
 */
export type Refusal = 'retry' | 'reject';

/**
 * The refusal policy: what each failure reason code of a PUBACK or PUBREC does (a code not
 * listed is final: `reject`). Quota exceeded (0x97) is the broker saying "not now": retried after
 * backing off, with the same packet id (the broker refused it, so holds none of it). Packet
 * Identifier in use (0x91), Not authorized (0x87), Topic Name invalid (0x90), Payload format
 * invalid (0x99), Unspecified error (0x80) and Implementation specific error (0x83) do not change
 * by waiting (a retry goes with the same id, which the broker still holds): `rejected`. The
 * `refusals` option overrides entries.
 *
 * @example
 * const client = new RobustClient5({ ...options, refusals: { ...REFUSALS, 0x97: 'reject' } }); // no retries on quota
 */
export const REFUSALS: Readonly<Record<number, Refusal>> = /* @__PURE__ */ Object.freeze({
  0x80: 'reject',
  0x83: 'reject',
  0x87: 'reject',
  0x90: 'reject',
  0x91: 'reject',
  0x97: 'retry',
  0x99: 'reject',
});

/**
 * The backoff of refusals to retry: the pause is uniform in [cap / 2, cap) where cap =
 * min(max, min * factor^round), the round growing by one each time messages sent after the last
 * pause are refused again, and starting over once the broker acknowledges a message (and on a
 * new connection, whose quota is new). Defaults:
 * 1 s, doubling, at most 60 s (0.5-1 s, 1-2 s, 2-4 s, ... then 30-60 s).
 *
 * @example
 * const client = new RobustClient5({ ...options, retry: { min: 200, max: 10_000 } });
 */
export const DEFAULT_RETRY: Readonly<Pick<Backoff, 'min' | 'max' | 'factor'>> = /* @__PURE__ */ Object.freeze({
  min: 1000,
  max: 60_000,
  factor: 2,
});

/**
 * How much longer the reconnect waits after the broker ended the connection with a DISCONNECT of
 * this reason code, in rounds of the backoff (each round multiplies the cap by `backoff.factor`;
 * with the defaults, a healthy connection lost retries within 1 s, one round more within 10 s,
 * two within 100 s). Session taken over (0x8E): another client with our client identifier is
 * connected, and coming straight back would take the session from it and start a fight; the same
 * for Administrative action (0x98) and Connection rate exceeded (0x9F): 2 rounds. Server
 * shutting down (0x8B: a restart takes seconds), Server busy (0x89) and Quota exceeded (0x97):
 * 1 round. Any other reason: none (as a lost connection). The built-in strategy of
 * `RobustClient5` ({@link disconnectBackoff}) reads it; a strategy of one's own can too.
 *
 * @example
 * const strategy: ReconnectStrategy = (ctx) => ctx.error?.reasonCode === 0x8e ? Infinity : disconnectBackoff(ctx);
 */
export const DISCONNECT_ROUNDS: Readonly<Record<number, number>> = /* @__PURE__ */ Object.freeze({
  0x89: 1,
  0x8b: 1,
  0x8e: 2,
  0x97: 1,
  0x98: 2,
  0x9f: 2,
});

/**
 * The reconnect strategy of `RobustClient5` unless one is given: `exponentialBackoff`, with
 * the rounds of {@link DISCONNECT_ROUNDS} added when the broker ended the connection with a
 * DISCONNECT (`UMQTT_BROKER_DISCONNECT`) of one of its reasons. An urgent message still bounds
 * the wait by `backoff.urgentDelay`.
 *
 * @example
 * const client = new RobustClient5({ ...options, backoff: { max: 120_000, strategy: disconnectBackoff } });
 */
export const disconnectBackoff: ReconnectStrategy = (ctx) => {
  const e = ctx.error;
  const rounds = e?.code === BROKER_DISCONNECT ? (DISCONNECT_ROUNDS[e.reasonCode ?? 0] ?? 0) : 0;
  return exponentialBackoff(rounds ? { ...ctx, attempts: Math.max(ctx.attempts, 1) + rounds } : ctx);
};

/**
 * Options of {@link RobustClient5}: those of `RobustClient`, MQTT 5's of the connection, and the
 * policy of refusals.
 *
 * @example
 * const options: Robust5Options = { socket, timers, servers: [{ host: 'broker.local' }], clientId: 'dev-1',
 *   store: new MemoryStore(), sessionExpiry: 86_400, refusals: { 0x80: 'retry' } };
 */
export interface Robust5Options
  extends
    Omit<RobustOptions, 'protocol' | 'will'>,
    Pick<Client5Options, 'topicAliasMaximum' | 'sendTopicAliases' | 'ignoreReceiveMaximum' | 'onAuth'> {
  /**
   * Seconds the broker keeps the session (subscriptions, messages in flight both ways, messages
   * queued for us) after the connection ends: MQTT 5's Session Expiry Interval, instead of the
   * clean flag. Default 0xFFFFFFFF, never (what 3.1.1's clean session 0, robust's default,
   * means), or 0 with `clean: true` (the session ends with the connection, as 3.1.1's clean
   * session 1 [MQTT-3.1.2-6]); 86_400 keeps it a day. `clean` stays the CONNECT's Clean Start
   * (default false: a session the broker still has is resumed).
   */
  sessionExpiry?: number | undefined;
  /** CONNECT's other properties (receive maximum, request problem information, user properties, authentication method and data). */
  properties?: Omit<NonNullable<Client5Options['properties']>, 'sessionExpiryInterval'> | undefined;
  /** Last will, with MQTT 5's will properties (delay, message expiry, content type...). */
  will?: Will5 | undefined;
  /** Entries that override {@link REFUSALS}: what a failure reason code of a PUBACK or PUBREC does. */
  refusals?: Readonly<Record<number, Refusal>> | undefined;
  /** The backoff of refusals to retry (partial: the rest from {@link DEFAULT_RETRY}). */
  retry?: Partial<Pick<Backoff, 'min' | 'max' | 'factor'>> | undefined;
}

/** Session Expiry Interval 0xFFFFFFFF: the session does not expire [MQTT-3.1.2.11.2]. */
const NEVER = 0xffffffff;
/** The reason of a refused message that waited for a retry and whose time to live ran out meanwhile. */
const STALE = 'its time to live ran out while it waited to be sent again';

/** What the session of a RobustClient5 is told by its client. */
interface Policy {
  refusals: Readonly<Record<number, Refusal>>;
  retry: Pick<Backoff, 'min' | 'max' | 'factor'>;
  random: () => number;
}

/**
 * The MQTT 5 session of a {@link RobustClient5}: Session5 with each held message's time to live
 * as its Message Expiry Interval, and refusals decided by the policy. A publish's `ref` is the
 * robust client's held message (`StoredMessage`).
 */
class RobustSession5 extends Session5 {
  readonly #policy: Policy;
  /** QoS 1/2 publishes of this connection not yet acknowledged, by packet id: what a retry sends again. */
  #sent: Map<number, [topic: string, data: Uint8Array, opts: Publish5Options]> | undefined;
  /** Ids refused with a code to retry (and the code), sent again when the pause ends; undefined: no pause. */
  #retries: [id: number, code: number][] | undefined;
  #pauseEnd = 0;
  /** Pauses in a row without an acknowledgement: the backoff's round. */
  #round = 0;

  constructor(options: Session5Options, write: SessionWrite, policy: Policy) {
    super(options, write);
    this.#policy = policy;
  }

  /** A connection starts: what was held for a retry is the robust client's to resend (with DUP, from the store). */
  override begin(now: number): void {
    this.#sent = this.#retries = undefined;
    this.#round = 0;
    super.begin(now);
  }

  /** Closed while a pause lasts: the robust client's queue waits. */
  override get open(): boolean {
    return !this.#retries && super.open;
  }

  /** The end of a pause, while it can still be acted on (not once DISCONNECT was sent: tick() then does nothing). */
  get #pause(): number {
    return this.#retries && this.usable ? this.#pauseEnd : Infinity;
  }

  override due(): number {
    return Math.min(super.due(), this.#pause);
  }

  override dueBy(now: number): number {
    return Math.min(super.dueBy(now), this.#pause);
  }

  /** The deadlines, and the end of a pause: the refused messages go again, each with its packet id. */
  override tick(now: number): void {
    super.tick(now);
    const retries = this.#retries;
    if (!retries || now < this.#pauseEnd || !this.usable) return;
    this.#retries = undefined;
    for (const [id, code] of retries) {
      const [topic, data, opts] = this.#sent!.get(id)!;
      this.#sent!.delete(id);
      const m = opts.ref as StoredMessage;
      // the broker refused it, so holds no id of it: a time to live that ran out ends it, at QoS 2 too
      const stale = m.expiresAt && m.expiresAt <= now;
      try {
        if (!stale) this.publish(now, topic, data, { ...opts, id });
      } catch {
        // its id given to another packet meanwhile (65,535 ids in one pause): refused as it was
      }
      if (stale || !this.#sent?.has(id))
        this.events.push({ type: STATUS_EVENT, id, status: 'refused', granted: [refused(code, stale)], ref: m });
    }
  }

  /** Publishes with the held message's remaining time to live as its Message Expiry Interval (whole seconds, rounded up). */
  override publish(now: number, topic: string, data: Uint8Array, opts?: Publish5Options): number {
    const m = opts?.ref as StoredMessage | undefined;
    const id = super.publish(
      now,
      topic,
      data,
      m?.expiresAt
        ? {
            ...opts,
            properties: {
              ...opts!.properties,
              messageExpiryInterval: Math.max(1, Math.ceil((m.expiresAt - now) / 1000)),
            },
          }
        : opts,
    );
    if (id && opts?.ref) (this.#sent ??= new Map()).set(id, [topic, data, opts]);
    return id;
  }

  /** Handles a packet; then decides each refusal by the policy: held for a retry, or refused with the code's name. */
  override received(packet: Parameters<Session5['received']>[0], now: number): void {
    const from = this.events.length;
    super.received(packet, now);
    const events = this.events;
    const p = this.#policy;
    for (let i = from; i < events.length; i++) {
      const e = events[i]!;
      // a publish's status (its ref the held message; a SUBSCRIBE's or UNSUBSCRIBE's ref is its list of filters)
      if (
        e.type !== STATUS_EVENT ||
        !e.ref ||
        Array.isArray(e.ref) ||
        e.status === 'received' ||
        e.status === 'timeout'
      )
        continue;
      const code = e.granted?.[0];
      if (code === undefined) {
        // acknowledged: the broker has room again
        this.#sent?.delete(e.id);
        this.#round = 0;
      } else if ((p.refusals[code] ?? 'reject') === 'retry' && this.#sent?.has(e.id)) {
        events.splice(i--, 1); // not final: the robust client does not hear of it
        if (!this.#retries) {
          // the first refusal of a burst starts the pause; the others of the burst wait in it
          this.#retries = [];
          const pause = backoffDelay(this.#round++, p.retry, p.random);
          this.#pauseEnd = now + pause;
          events.splice(++i, 0, {
            type: ISSUE_EVENT,
            error: new UmqttError({
              code: REFUSED_RETRYING,
              message: `${refused(code) as unknown as string}: held, publishing paused for ${Math.round(pause)} ms`,
              reasonCode: code,
              place: 'publish',
            }),
          });
        }
        this.#retries.push([e.id, code]);
      } else {
        this.#sent?.delete(e.id);
        e.granted = [refused(code)]; // the robust client's reason: the code, named
      }
    }
  }
}

/**
 * A refused publish's `granted` for the robust client, which makes it the reason of the status
 * `rejected`: the code named (and why it was not sent again, when its time to live ran out).
 */
const refused = (code: number, stale?: unknown): number =>
  `${REASON_NAMES[code] ?? 'Refused'} (0x${code.toString(16)})${stale ? `, and ${STALE}` : ''}` as unknown as number;

/**
 * The robust client on MQTT 5.0 (see `RobustClient`): the same queue, policies, statuses,
 * reconnects and store, over an MQTT 5 connection. What MQTT 5 changes:
 * - `sessionExpiry` (seconds) says how long the broker keeps the session; resumption after a
 *   reconnect is as in 3.1.1 (held messages resent with their packet ids and DUP when CONNACK says
 *   session present), within the broker's Receive Maximum, which caps the in-flight window.
 * - A message's time to live goes out as its Message Expiry Interval (what remains of it, in whole
 *   seconds rounded up, when it is resent), so the broker drops it too once it is stale.
 * - A PUBACK or PUBREC with a failure reason code is never `delivered`: {@link REFUSALS} decides.
 *   A code to retry (quota exceeded) holds the message and pauses publishing on the connection
 *   for a backoff ({@link DEFAULT_RETRY}), then sends it again with its packet id; a final code
 *   ends it `rejected`, the reason naming the code (`Not authorized (0x87)`). A message
 *   whose time to live runs out during the pause ends `rejected` too (reason: it ran out while it
 *   waited to be sent again).
 * - SUBACK's reason codes reach `onSubscribed` per filter (and UNSUBACK's, with `qos` -1 for
 *   each filter unsubscribed); a filter refused is also an issue `UMQTT_SUBSCRIBE_REFUSED` with
 *   its code.
 * - A DISCONNECT from the broker ends the connection with `UMQTT_BROKER_DISCONNECT` and its reason
 *   code, which the reconnect strategy reads: {@link disconnectBackoff} waits longer for the
 *   reasons of {@link DISCONNECT_ROUNDS} (session taken over: 50-100 s with the default backoff).
 *
 * @example
 * const client = new RobustClient5({ socket, timers, servers: [{ host: 'broker' }], clientId: 'dev-1',
 *   store: new MemoryStore(), sessionExpiry: 86_400 });
 * client.onStatus = (key, status, reason) => console.log(key, status, reason);
 * client.start();
 * client.publish('home/alarm', 'smoke', PRESETS.alarm);
 */
export class RobustClient5 extends RobustClient {
  /** The options given to the constructor. */
  declare readonly options: Readonly<Robust5Options>;
  readonly #session: RobustSession5;

  /**
   * Creates an idle client; nothing is sent until `start()`. Throws if `servers` is empty.
   *
   * @param options - {@link Robust5Options}
   */
  constructor(options: Robust5Options) {
    let session: RobustSession5 | undefined;
    const b = options.backoff;
    const policy: Policy = {
      refusals: { ...REFUSALS, ...options.refusals },
      retry: { ...DEFAULT_RETRY, ...options.retry },
      random: options.random ?? Math.random,
    };
    super({
      ...options,
      properties: {
        ...options.properties,
        sessionExpiryInterval: options.sessionExpiry ?? (options.clean ? 0 : NEVER),
      },
      backoff: typeof b === 'function' ? b : { ...b, strategy: b?.strategy ?? disconnectBackoff },
      protocol: {
        ...mqtt5(),
        session: (o, write) => (session = new RobustSession5(o as Session5Options, write, policy)),
      },
    } as RobustOptions);
    this.#session = session!;
  }

  /** The broker's CONNACK properties on the current (or last) connection: its limits (Receive Maximum...), assigned client identifier, reason string, user properties. */
  get connack(): ConnackProperties | undefined {
    return this.#session.connack;
  }

  /** The properties of the broker's DISCONNECT, when it ended the last connection with one (reason string, server reference). */
  get disconnected(): DisconnectProperties | undefined {
    return this.#session.disconnected;
  }
}
