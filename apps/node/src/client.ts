// The promise layer of @umqtt/node: the same calls over @umqtt/simple (one connection) and
// @umqtt/robust (a session that reconnects and queues), each promise settled by the final
// status the library reports. No protocol state is kept here: packet ids, windows, queues
// and statuses stay in the libraries; this layer only maps a status to its promise.
import {
  INVALID_ARGUMENT,
  UmqttError,
  validateTopicFilter,
  validateTopicName,
  type QoS,
  type Subscription,
} from '@umqtt/codec';
import {
  ACK_TIMEOUT,
  RobustClient,
  SUBSCRIBE_REFUSED,
  type FinalStatus,
  type RobustOptions,
  type RobustPublishOptions,
  type RobustState,
} from '@umqtt/robust';
import { RobustClient5, type Robust5Options } from '@umqtt/robust/v5';
import {
  MqttClient,
  QUEUE_FULL,
  type ClientOptions,
  type Message,
  type PublishOptions,
  type Socket,
  type SocketFactory,
  type SocketOptions,
  type Status,
} from '@umqtt/simple';
import {
  MqttClient5,
  type Ack5,
  type Client5Options,
  type Message5,
  type Publish5Options,
  type SubscribeProperties,
} from '@umqtt/simple/v5';
import type { PublishProperties, Subscription as Subscription5 } from '@umqtt/codec/v5';
import { ABORTED, CLIENT_ENDED, DROPPED, EXPIRED, REJECTED, nodeError } from './errors.js';
import { drained } from './transport/adapt.js';

/**
 * A received message, its payload a `Buffer` (a view of the received bytes, no copy).
 *
 * @example
 * client.onMessage = ({ topic, payload }: NodeMessage) => console.log(topic, payload.toString());
 */
export interface NodeMessage extends Message {
  /** The message body: a Buffer view of the received bytes, valid during the callback (copy it to keep it). */
  payload: Buffer;
  /** MQTT 5 (`protocolVersion: 5`): the PUBLISH's properties, when it had any. */
  properties?: PublishProperties | undefined;
}

/**
 * Options of a publish of {@link SimpleNodeClient}: QoS, retain, `copy`...; with
 * `protocolVersion: 5` also the PUBLISH's `properties` and `downgrade` (publish at the broker's
 * Maximum QoS instead of failing).
 *
 * @example
 * await client.publish('t', 'x', { qos: 2, downgrade: true, properties: { messageExpiryInterval: 60 } });
 */
export type NodePublishOptions = PublishOptions & Pick<Publish5Options, 'properties' | 'downgrade'>;

/**
 * What a publish promise resolves with: `delivered` (QoS 1/2, acknowledged by the broker) or
 * `sent` (QoS 0: written, no acknowledgement exists).
 *
 * @example
 * const result: PublishResult = await client.publish('a/b', 'x', { qos: 1 }); // 'delivered'
 */
export type PublishResult = 'delivered' | 'sent';

const noop = () => {};

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

/**
 * A promise and its settlers. The promise is marked handled: a caller who does not await a
 * publish still sees its outcome in `onStatus` and `issues`, and an unawaited failure does not
 * end the process as an unhandled rejection.
 */
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(noop);
  return { promise, resolve, reject };
}

/** Wraps a socket factory to remember the latest socket it opened. */
function tracked<O extends { socket: SocketFactory }>(options: O): { options: O; latest(): Socket | undefined } {
  let latest: Socket | undefined;
  const open = options.socket;
  return { options: { ...options, socket: (o: SocketOptions) => (latest = open(o)) }, latest: () => latest };
}

/** Waiters woken when what they wait for may have changed. */
class Waiters {
  #list: (() => void)[] = [];
  /** Resolves once `done()` is true, checked now and after each wake(). */
  until(done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => (done() ? resolve() : this.#list.push(check));
      this.#list.push(check);
    });
  }
  wake(): void {
    const list = this.#list;
    this.#list = [];
    for (const check of list) check();
  }
}

function toNodeMessage(m: Message): NodeMessage {
  const p = m.payload;
  const n: NodeMessage = {
    topic: m.topic,
    payload: Buffer.from(p.buffer, p.byteOffset, p.byteLength),
    qos: m.qos,
    retain: m.retain,
    dup: m.dup,
    id: m.id,
  };
  const properties = (m as Message5).properties;
  if (properties) n.properties = properties;
  return n;
}

function subscriptions(filters: string | string[] | Subscription[], qos: QoS): Subscription[] {
  return (Array.isArray(filters) ? filters : [filters]).map((f) => (typeof f === 'string' ? { topic: f, qos } : f));
}

/** Why, in the broker's words (MQTT 5): ` (0x87): reason string`. */
const said = (code: number, ack?: Ack5) =>
  ` (0x${code.toString(16)}${ack?.reasonString ? `: ${ack.reasonString}` : ''})`;

function refused(list: Subscription[], granted: readonly number[], ack?: Ack5): UmqttError {
  // 0x80 in MQTT 3.1.1; any code of 0x80 or more in MQTT 5 (0x87 not authorized, 0x8f topic filter invalid...)
  const first = granted.findIndex((code) => code >= 0x80);
  const names = list.filter((_, i) => granted[i]! >= 0x80).map((s) => s.topic);
  const code = granted[first] ?? 0x80;
  return new UmqttError({
    code: SUBSCRIBE_REFUSED,
    message: `the broker refused the subscription to ${names.join(', ')} (SUBACK ${said(code, ack).slice(2)}`,
    reasonCode: code,
    place: 'subscribe',
  });
}

const ended = (place: string) => nodeError(CLIENT_ENDED, `${place} after end()`, place);

type Pending =
  | { kind: 'publish'; d: Deferred<PublishResult> }
  | { kind: 'subscribe'; d: Deferred<number[]>; list: Subscription[] }
  | { kind: 'unsubscribe'; d: Deferred<void> };

/**
 * One MQTT connection with promises, over `@umqtt/simple`'s `MqttClient` (`client`): what
 * {@link connect} returns without `reconnect` or `store`. Calls made while it connects wait
 * for CONNACK and go out in order (they reject with the connect error if it fails); once the
 * connection has ended, calls throw `UMQTT_NOT_CONNECTED`: a new connection is a new
 * `connect()`, or use `reconnect: true`.
 *
 * @example
 * const client = connect('mqtt://localhost');
 * client.onMessage = ({ topic, payload }) => console.log(topic, payload.toString());
 * await client.subscribe('sensors/#', 1);
 * await client.publish('sensors/t1', '21.5', { qos: 1 }); // 'delivered' at PUBACK
 * await client.end();
 */
export class SimpleNodeClient {
  /** Which client is underneath: `simple` (one connection). */
  readonly kind = 'simple';
  /**
   * The `@umqtt/simple` client underneath (its state, issues, window...); its callbacks belong to
   * this wrapper. With `protocolVersion: 5` a `MqttClient5` (`connack`, `request()`...).
   */
  readonly client: MqttClient | MqttClient5;
  /** Resolves with the broker's "session present" flag at CONNACK; rejects with the connect error. */
  readonly ready: Promise<boolean>;
  /** Called for each received message. */
  onMessage: ((message: NodeMessage) => void) | undefined;
  /**
   * Called with every status `@umqtt/simple` reports (by packet id), after the promise it
   * settles; in MQTT 5 with what the acknowledgement said besides its codes (`ack`).
   */
  onStatus: ((id: number, status: Status, granted?: number[], ack?: Ack5) => void) | undefined;
  /** Called when the connection ends after it was established: `error` says why, none after end(). */
  onClose: ((error?: UmqttError) => void) | undefined;
  /** Called when publishing may resume (see `client.writable`). */
  onWritable: (() => void) | undefined;

  #pending = new Map<number, Pending>();
  /** Calls made before CONNACK, run in order once connected. */
  #early: { run(): void; fail(error: unknown): void }[] = [];
  #waiters = new Waiters();
  #ending: Promise<void> | undefined;
  #closed: Promise<void>;
  #socket: () => Socket | undefined;

  /**
   * Creates the client and starts connecting. {@link connect} builds the options from a URL.
   *
   * @param options - `@umqtt/simple`'s ClientOptions (socket, timers, host...), `Client5Options` for MQTT 5
   * @param v5 - MQTT 5.0: the client is `@umqtt/simple/v5`'s `MqttClient5`
   */
  constructor(options: ClientOptions | Client5Options, v5 = false) {
    const t = tracked(options);
    this.#socket = t.latest;
    const c: MqttClient = (this.client = v5
      ? new MqttClient5(t.options as Client5Options)
      : new MqttClient(t.options as ClientOptions));
    let closed!: () => void;
    this.#closed = new Promise<void>((resolve) => (closed = resolve));
    c.onMessage = (m) => this.onMessage?.(toNodeMessage(m));
    c.onStatus = (id, status, granted, _ref, ack) => {
      this.#settle(id, status, granted, ack as Ack5 | undefined);
      this.onStatus?.(id, status, granted, ack as Ack5 | undefined);
    };
    c.onClose = (e) => {
      closed();
      this.#waiters.wake();
      this.onClose?.(e);
    };
    c.onWritable = () => this.onWritable?.();
    this.ready = c.connect().then(
      (present) => {
        for (const call of this.#early.splice(0)) call.run();
        this.#waiters.wake();
        return present;
      },
      (e: unknown) => {
        for (const call of this.#early.splice(0)) call.fail(e);
        closed();
        this.#waiters.wake();
        throw e;
      },
    );
    this.ready.catch(noop);
  }

  /**
   * Publishes; resolves with `delivered` once the broker acknowledged it (QoS 1: PUBACK, QoS 2:
   * PUBCOMP), or `sent` for QoS 0 once it is written. Rejects with `UMQTT_ACK_TIMEOUT` when no
   * acknowledgement came within `messageTimeout`, or `UMQTT_ABORTED` when the connection ended
   * first. A Buffer or Uint8Array payload is copied into the packet once (`copy: false` hands a
   * large one over without a copy: it must not change afterwards). Misuse throws at once.
   *
   * @example
   * await client.publish('sensors/42/temperature', Buffer.from('21.5'), { qos: 1, retain: true });
   */
  publish(topic: string, payload: string | Uint8Array, options?: NodePublishOptions): Promise<PublishResult> {
    if (this.#ending) throw ended('publish');
    if ((options?.properties || options?.downgrade) && !(this.client instanceof MqttClient5))
      throw nodeError(
        INVALID_ARGUMENT,
        'publish properties and downgrade need MQTT 5: connect with protocolVersion: 5',
        'publish',
      );
    return this.#publish(topic, payload, options);
  }

  #publish(topic: string, payload: string | Uint8Array, options?: NodePublishOptions): Promise<PublishResult> {
    if (this.#queueing('publish')) {
      // Checked now, so misuse throws at once; the payload is kept as it is now.
      validateTopicName(topic);
      const qos = options?.qos ?? 0;
      if (qos !== 0 && qos !== 1 && qos !== 2)
        throw nodeError(INVALID_ARGUMENT, `QoS: expected 0, 1 or 2, got ${String(qos)}`, 'publish');
      const held = typeof payload === 'string' || options?.copy === false ? payload : payload.slice();
      return this.#later(() => this.#publish(topic, held, { ...options, copy: false }));
    }
    const id = this.client.publish(topic, payload, options);
    if (!id) return Promise.resolve('sent');
    const d = deferred<PublishResult>();
    this.#pending.set(id, { kind: 'publish', d });
    return d.promise;
  }

  /**
   * Subscribes to one filter, several at one QoS, or a list of `{ topic, qos }`; resolves with
   * the QoS the broker granted to each, in order. Rejects with `UMQTT_SUBSCRIBE_REFUSED` when
   * it refused any (SUBACK 0x80; `reasonCode` 0x80), or as a publish does on timeout or a lost
   * connection.
   *
   * @example
   * const [granted] = await client.subscribe('commands/42/#', 1);
   */
  subscribe(
    filters: string | string[] | Subscription[] | Subscription5[],
    qos: QoS = 0,
    properties?: SubscribeProperties,
  ): Promise<number[]> {
    if (this.#ending) throw ended('subscribe');
    if (properties && !(this.client instanceof MqttClient5))
      throw nodeError(
        INVALID_ARGUMENT,
        'subscribe properties need MQTT 5: connect with protocolVersion: 5',
        'subscribe',
      );
    return this.#subscribe(subscriptions(filters, qos), properties);
  }

  #subscribe(list: Subscription[], properties?: SubscribeProperties): Promise<number[]> {
    if (this.#queueing('subscribe')) {
      for (const s of list) validateTopicFilter(s.topic);
      return this.#later(() => this.#subscribe(list, properties));
    }
    const c = this.client;
    const id = properties ? (c as MqttClient5).subscribe(list, 0, properties) : c.subscribe(list);
    const d = deferred<number[]>();
    this.#pending.set(id, { kind: 'subscribe', d, list });
    return d.promise;
  }

  /**
   * Unsubscribes; resolves at UNSUBACK.
   *
   * @example
   * await client.unsubscribe(['commands/42/#', 'config/42']);
   */
  unsubscribe(filters: string | string[]): Promise<void> {
    if (this.#ending) throw ended('unsubscribe');
    return this.#unsubscribe(filters);
  }

  #unsubscribe(filters: string | string[]): Promise<void> {
    if (this.#queueing('unsubscribe')) {
      for (const f of Array.isArray(filters) ? filters : [filters]) validateTopicFilter(f);
      return this.#later(() => this.#unsubscribe(filters));
    }
    const id = this.client.unsubscribe(filters);
    const d = deferred<void>();
    this.#pending.set(id, { kind: 'unsubscribe', d });
    return d.promise;
  }

  /**
   * Ends the connection: waits until every publish, subscribe and unsubscribe made so far has
   * settled (a connect still under way first), then sends DISCONNECT (the broker discards the
   * will) and resolves once the connection is closed. `end(true)` does not wait: DISCONNECT
   * goes out at once and what was in flight rejects with `UMQTT_ABORTED` (calls waiting for
   * CONNACK with `UMQTT_CLIENT_ENDED`). Calls after end() throw `UMQTT_CLIENT_ENDED`.
   *
   * @example
   * process.on('SIGINT', () => void client.end().then(() => process.exit(0)));
   */
  end(force = false): Promise<void> {
    if (this.#ending && !force) return this.#ending;
    if (force) for (const call of this.#early.splice(0)) call.fail(ended('connect'));
    const c = this.client;
    const wait = force
      ? Promise.resolve()
      : this.ready
          .then(noop, noop)
          .then(() => this.#waiters.until(() => !this.#pending.size || c.state !== 'connected'));
    this.#ending = wait.then(async () => {
      if (c.state === 'connected' || c.state === 'connecting') c.disconnect();
      await this.#closed;
      await drained(this.#socket());
    });
    return this.#ending;
  }

  /** True when a call must wait for CONNACK. */
  #queueing(place: string): boolean {
    const state = this.client.state;
    if (state !== 'idle' && state !== 'connecting' && !this.#early.length) return false;
    if (this.#early.length >= (this.client.options.maxQueued ?? 1000))
      throw nodeError(QUEUE_FULL, `${this.#early.length} calls already wait for the connection (maxQueued)`, place);
    return true;
  }

  /** Runs `call` once connected, settling the returned promise as its own. */
  #later<T>(call: () => Promise<T>): Promise<T> {
    const d = deferred<T>();
    this.#early.push({
      run() {
        try {
          call().then(d.resolve, d.reject);
        } catch (e) {
          d.reject(e);
        }
      },
      fail: d.reject,
    });
    return d.promise;
  }

  #settle(id: number, status: Status, granted: number[] | undefined, ack: Ack5 | undefined): void {
    const p = this.#pending.get(id);
    if (!p || status === 'received') return;
    this.#pending.delete(id);
    if (status === 'timeout' || status === 'aborted') {
      p.d.reject(
        status === 'timeout'
          ? nodeError(ACK_TIMEOUT, `no acknowledgement for packet id ${id} within messageTimeout`, p.kind)
          : nodeError(ABORTED, `the connection ended before packet id ${id} was acknowledged`, p.kind),
      );
    } else if (p.kind === 'subscribe')
      if (status === 'refused') p.d.reject(refused(p.list, granted ?? [], ack));
      else p.d.resolve(granted ?? []);
    else if (status === 'refused') {
      // MQTT 5: a failure reason code (a publish never counts as delivered with one)
      const code = granted?.[0] ?? 0x80;
      p.d.reject(
        new UmqttError({
          code: REJECTED,
          message: `the broker refused packet id ${id}${said(code, ack)}`,
          reasonCode: code,
          place: p.kind,
        }),
      );
    } else if (p.kind === 'publish') p.d.resolve('delivered');
    else p.d.resolve();
    this.#waiters.wake();
  }
}

const STATUS_CODES: Readonly<Record<Exclude<FinalStatus, 'delivered' | 'sent'>, string>> = Object.freeze({
  expired: EXPIRED,
  dropped: DROPPED,
  rejected: REJECTED,
});

interface Held {
  d: Deferred<PublishResult>;
  qos: number;
}

/**
 * A session that survives the network, with promises, over `@umqtt/robust`'s `RobustClient`
 * (`client`): what {@link connect} returns with `reconnect` or `store`. It reconnects with
 * backoff, keeps what is published while offline in its store by the queue policy, resends
 * after a reconnect, and resubscribes. Each publish promise settles on the message's one final
 * status: `delivered` (or `sent` at QoS 0) resolves; `expired`, `dropped` and `rejected` reject
 * with `UMQTT_EXPIRED`, `UMQTT_DROPPED` and `UMQTT_REJECTED` (the reason in the message).
 *
 * @example
 * const client = connect('mqtts://broker.example', { reconnect: true, clientId: 'gateway-7' });
 * await client.publish('alarms/7', 'smoke', { qos: 2, priority: 9 }); // waits through outages
 */
export class RobustNodeClient {
  /** Which client is underneath: `robust` (a session over many connections). */
  readonly kind = 'robust';
  /**
   * The `@umqtt/robust` client underneath (its state, counters, issues...); its callbacks belong to
   * this wrapper. With `protocolVersion: 5` a `RobustClient5` (`connack`, session expiry, refusals).
   */
  readonly client: RobustClient | RobustClient5;
  /** Resolves at the first connection; rejects if the client closes before one (`backoff.maxAttempts` reached, or end()). */
  readonly ready: Promise<void>;
  /** Called for each received message. */
  onMessage: ((message: NodeMessage) => void) | undefined;
  /** Called with every final status (by key, messages from an earlier run's store too), after the promise it settles. */
  onStatus: ((key: number, status: FinalStatus, reason?: string) => void) | undefined;
  /** Called on each state change: connecting, online, offline, closed. */
  onState: ((state: RobustState) => void) | undefined;
  /** Called with each SUBACK: the subscriptions and what was granted (0x80: refused). */
  onSubscribed: ((subscriptions: Subscription[], granted: number[]) => void) | undefined;
  /** Called when publishing may resume (see `client.writable`). */
  onWritable: (() => void) | undefined;

  #held = new Map<number, Held>();
  /** Publishes the policy did not keep (key 0): their statuses come in publish order. */
  #refused: Held[] = [];
  #subscribing: { list: Subscription[]; granted: Map<string, number>; d: Deferred<number[]> }[] = [];
  #waiters = new Waiters();
  #ownStore: boolean;
  #ending: Promise<void> | undefined;
  #socket: () => Socket | undefined;

  /**
   * Creates the client and starts it. {@link connect} builds the options from a URL.
   *
   * @param options - `@umqtt/robust`'s RobustOptions
   * @param ownStore - the store was made for this client (a memory store): a forced end() drops what it holds
   * @param v5 - MQTT 5: the options are `@umqtt/robust/v5`'s Robust5Options and the client a `RobustClient5`
   */
  constructor(options: RobustOptions | Robust5Options, ownStore = false, v5 = false) {
    this.#ownStore = ownStore;
    const t = tracked(options);
    this.#socket = t.latest;
    const r = (this.client = v5 ? new RobustClient5(t.options as Robust5Options) : new RobustClient(t.options));
    const ready = deferred<void>();
    this.ready = ready.promise;
    r.onMessage = (m) => this.onMessage?.(toNodeMessage(m));
    r.onStatus = (key, status, reason) => {
      this.#settle(key, status, reason);
      this.onStatus?.(key, status, reason);
    };
    r.onState = (state) => {
      if (state === 'online') ready.resolve();
      if (state === 'closed') {
        ready.reject(r.lastIssue?.error ?? ended('connect'));
        this.#waiters.wake();
      }
      this.onState?.(state);
    };
    r.onSubscribed = (list, granted) => {
      this.#subscribed(list, granted);
      this.onSubscribed?.(list, granted);
    };
    r.onWritable = () => this.onWritable?.();
    r.start();
  }

  /**
   * Publishes through the queue (while offline too, as the policy allows); resolves with
   * `delivered` (`sent` at QoS 0: written, no acknowledgement exists) at the message's final status, rejects with
   * `UMQTT_EXPIRED`, `UMQTT_DROPPED` or `UMQTT_REJECTED`. The options are those of
   * `@umqtt/robust`'s publish: QoS, retain, ttl, priority and the policy's overrides.
   *
   * @example
   * await client.publish('button/1', 'pressed', { qos: 1, ttl: 15_000 });
   */
  publish(topic: string, payload: string | Uint8Array, options?: RobustPublishOptions): Promise<PublishResult> {
    if (this.#ending) throw ended('publish');
    const key = this.client.publish(topic, payload, options);
    const held: Held = { d: deferred<PublishResult>(), qos: options?.qos ?? 0 };
    if (key) this.#held.set(key, held);
    else this.#refused.push(held);
    return held.d.promise;
  }

  /**
   * Subscribes (now if online, else at the next connection; remembered and resent when the
   * broker kept no session); resolves with the granted QoS of each filter at the SUBACK, or
   * rejects with `UMQTT_SUBSCRIBE_REFUSED` when the broker refused any (0x80).
   *
   * @example
   * const granted = await client.subscribe(['a/#', 'b/+'], 1); // [1, 1]
   */
  subscribe(filters: string | string[] | Subscription[], qos: QoS = 0): Promise<number[]> {
    if (this.#ending) throw ended('subscribe');
    const list = subscriptions(filters, qos);
    this.client.subscribe(list);
    const d = deferred<number[]>();
    this.#subscribing.push({ list, granted: new Map(), d });
    return d.promise;
  }

  /**
   * Unsubscribes (now if online, else at the next connection). `@umqtt/robust` reports no
   * UNSUBACK, so this resolves once the request is written or remembered, not at UNSUBACK.
   *
   * @example
   * await client.unsubscribe('b/+');
   */
  unsubscribe(filters: string | string[]): Promise<void> {
    if (this.#ending) throw ended('unsubscribe');
    this.client.unsubscribe(filters);
    return Promise.resolve();
  }

  /**
   * Ends the session: waits until every held message (those of an earlier run's store too) has
   * its final status, through outages, then sends DISCONNECT and stops reconnecting.
   * `end(true)` does not wait: a memory store's messages end `dropped` (reason `discarded`),
   * a persistent store keeps its messages for the next run (their promises reject with
   * `UMQTT_CLIENT_ENDED`). Subscriptions still unacknowledged reject with `UMQTT_CLIENT_ENDED`.
   *
   * @example
   * await client.end(); // every message delivered, expired, dropped or rejected: nothing left
   */
  end(force = false): Promise<void> {
    if (this.#ending && !force) return this.#ending;
    const r = this.client;
    const wait = force ? Promise.resolve() : this.#waiters.until(() => !r.held || r.state === 'closed');
    this.#ending = wait.then(() => {
      r.stop();
      if (force && this.#ownStore) r.discard();
      const why = ended('end');
      for (const held of [...this.#held.values(), ...this.#refused.splice(0)]) held.d.reject(why);
      for (const s of this.#subscribing.splice(0)) s.d.reject(why);
      this.#held.clear();
      return drained(this.#socket());
    });
    return this.#ending;
  }

  #settle(key: number, status: FinalStatus, reason: string | undefined): void {
    const held = key ? this.#held.get(key) : this.#refused.shift();
    this.#held.delete(key);
    if (held) {
      if (status === 'delivered' || status === 'sent') held.d.resolve(held.qos ? 'delivered' : 'sent');
      else
        held.d.reject(nodeError(STATUS_CODES[status], `message ${status}${reason ? ` (${reason})` : ''}`, 'publish'));
    }
    this.#waiters.wake();
  }

  #subscribed(list: Subscription[], granted: number[]): void {
    this.#subscribing = this.#subscribing.filter((s) => {
      list.forEach(
        (sub, i) => s.list.some((w) => w.topic === sub.topic) && s.granted.set(sub.topic, granted[i] ?? 0x80),
      );
      if (s.granted.size < new Set(s.list.map((w) => w.topic)).size) return true;
      const mine = s.list.map((w) => s.granted.get(w.topic)!);
      if (mine.includes(0x80)) s.d.reject(refused(s.list, mine));
      else s.d.resolve(mine);
      return false;
    });
  }
}
