// Sessions that survive the network: many connections of one @umqtt/simple client, with an
// offline queue in a Store, per-message policies, reconnect with backoff and failover, and
// exactly one final status for every publish.
import {
  INVALID_ARGUMENT,
  UmqttError,
  validateTopicName,
  validateTopicFilter,
  type QoS,
  type Subscription,
} from '@umqtt/codec';
import {
  CALLBACK_ERROR,
  MqttClient,
  TOO_LARGE,
  payloadBytes,
  type ClientOptions,
  type Issue,
  type Message,
  type SocketFactory,
  type Status as SimpleStatus,
  type Timers,
} from '@umqtt/simple';
import {
  DEFAULT_BACKOFF,
  exponentialBackoff,
  type Backoff,
  type ReconnectContext,
  type ReconnectStrategy,
} from './backoff.js';
import { DEFAULT_POLICY, type Admission, type AdmissionPolicy, type Overflow, type QueuePolicy } from './policy.js';
import { ACK_TIMEOUT, GAVE_UP, STORE_DAMAGED, SUBSCRIBE_REFUSED } from './errors.js';
import { SendQueue } from './queue.js';
import { QUEUED, RELEASING, SENT, messageBytes, type Store, type StoredMessage } from './store.js';

/**
 * The final status of a publish: exactly one per accepted or refused message.
 *
 * @example
 * client.onStatus = (key: number, status: FinalStatus, reason?: string) => {
 *   if (status !== 'delivered') console.warn(`message ${key} ${status}`, reason ?? '');
 * };
 */
export type FinalStatus = 'delivered' | 'sent' | 'expired' | 'dropped' | 'rejected';

/**
 * State of a {@link RobustClient}: `idle` before `start()`, `connecting`, `online`, `offline`
 * (waiting to retry), `closed` after `stop()` or when `maxAttempts` gave up.
 *
 * @example
 * client.onState = (state: RobustState) => led.set(state === 'online');
 */
export type RobustState = 'idle' | 'connecting' | 'online' | 'offline' | 'closed';

/**
 * A broker to connect to; `servers` lists them in order of preference.
 *
 * @example
 * const servers: Server[] = [{ host: 'broker-a.local' }, { host: 'broker-b.local', port: 1884 }];
 */
export interface Server {
  /** Host name or address, as the socket factory understands it. */
  host: string;
  /** Port. Default 1883. */
  port?: number | undefined;
}

/**
 * What a {@link CredentialsHook} may change for the next connection attempt; a field left out
 * keeps its value.
 *
 * @example
 * const fresh: Credentials = { username: 'dev-1', password: signToken(Date.now() + 3_600_000) };
 */
export interface Credentials {
  /** User name sent in CONNECT from now on. */
  username?: string | undefined;
  /** Password sent in CONNECT from now on (a token). */
  password?: string | Uint8Array | undefined;
  /** The broker of this attempt, instead of the next one of `servers`. */
  server?: Server | undefined;
}

/**
 * Called before every connection attempt (the first and each reconnect), so an expiring token
 * (a JWT, a SAS token) is fresh each time: returns the {@link Credentials} to use, or nothing to
 * keep them, or a promise of either (the attempt waits for it). What it throws or rejects with
 * is recorded as an issue (place `connect`) and counts as a failed attempt.
 *
 * @example
 * const client = new RobustClient({ ...options, credentials: () => ({ password: sasToken(3600) }) });
 */
export type CredentialsHook = (attempt: {
  /** The server this attempt goes to unless the hook says otherwise. */
  server: Server;
  /** Failed attempts in a row before this one. */
  attempts: number;
  /** Why the last attempt failed, if it did (a refusal of the credentials: `UMQTT_CONNACK_CREDENTIALS`). */
  error: UmqttError | undefined;
}) => Credentials | undefined | void | PromiseLike<Credentials | undefined | void>;

/**
 * Options of {@link RobustClient}: those of `@umqtt/simple`'s `ClientOptions` (client id,
 * credentials, keepalive, clean session, will, timeouts, window) except `host`/`port` (see
 * `servers`) and `maxQueued` (see `policy`), plus the robust ones.
 *
 * @example
 * const options: RobustOptions = {
 *   socket: createTcpSocketFactory(),
 *   timers: nodeTimers,
 *   servers: [{ host: 'broker-a.local' }, { host: 'broker-b.local' }],
 *   clientId: 'gateway-7',
 *   clean: false,
 *   store: new MemoryStore(),
 *   policy: { maxMessages: 500 },
 *   backoff: { max: 60_000 },
 * };
 */
export interface RobustOptions extends Omit<
  ClientOptions,
  'socket' | 'timers' | 'host' | 'port' | 'logger' | 'maxQueued'
> {
  /** Opens the socket of each connection (see `@umqtt/simple`). */
  socket: SocketFactory;
  /** Clock and timers (see `@umqtt/simple`). */
  timers: Timers;
  /** Brokers in order of preference; on failure the next one is tried (failover). */
  servers: Server[];
  /** Where accepted messages live until their final status. */
  store: Store;
  /**
   * Another protocol version's session, parser and CONNECT (see `@umqtt/simple`). For MQTT 5 use
   * `RobustClient5` of `@umqtt/robust/v5`, which passes its own: a `RobustClient` given MQTT 5's
   * protocol has none of its refusal table, session expiry or message expiry.
   */
  protocol?: ClientOptions['protocol'];
  /**
   * The built-in queue policy (partial: the rest from DEFAULT_POLICY), or a function that decides
   * instead (it can fall back to the built-in decision, see {@link AdmissionPolicy}); `admit` in
   * the object gives both: the function, and the settings of the built-in decision it may use.
   */
  policy?:
    | (Partial<QueuePolicy> & {
        /** A function that decides instead of the built-in policy (which these settings configure, for its fallback). */
        admit?: AdmissionPolicy | undefined;
      })
    | AdmissionPolicy
    | undefined;
  /**
   * Reconnect settings (partial: the rest from {@link DEFAULT_BACKOFF}), with `strategy` to choose
   * the delays; or just a {@link ReconnectStrategy} function. Default: {@link exponentialBackoff}.
   */
  backoff?:
    | (Partial<Backoff> & {
        /** Chooses each delay. Default {@link exponentialBackoff}, which these settings configure. */
        strategy?: ReconnectStrategy | undefined;
      })
    | ReconnectStrategy
    | undefined;
  /** Called before every connection attempt: fresh credentials (or another server) for it. */
  credentials?: CredentialsHook | undefined;
  /** Reconnect by itself (default). When false the application calls reconnect(), as in robust2. */
  autoReconnect?: boolean | undefined;
  /** Resend remembered subscriptions when the broker has no session. Default true. */
  resubscribe?: boolean | undefined;
  /** Uniform random in [0, 1) for jitter. Default Math.random. */
  random?: (() => number) | undefined;
  /** Receives every issue as it is recorded (robust2's DEBUG). */
  logger?: ((issue: Issue) => void) | undefined;
}

/**
 * Per-message options of {@link RobustClient.publish}: the QoS and retain flag, and overrides of
 * the client's {@link QueuePolicy}. {@link PRESETS} holds three ready-made ones.
 *
 * @example
 * client.publish('sensors/1/temp', '21.5', { qos: 1, ttl: 60_000, priority: 1, maxPerTopic: 5 });
 */
export interface RobustPublishOptions {
  /** Quality of service. Default 0. */
  qos?: QoS | undefined;
  /** Retain flag. Default false. */
  retain?: boolean | undefined;
  /** Milliseconds before it expires unsent; 0 = never. A QoS 1 message sent but unacknowledged when a connection ends also expires then; a QoS 2 message once sent always completes. */
  ttl?: number | undefined;
  /** Higher is sent first after a reconnect, and gives way last. Default: the policy's. */
  priority?: number | undefined;
  /** What gives way when the queue is full. Default: the policy's. */
  overflow?: Overflow | undefined;
  /** Keep this QoS 0 message while offline. Default: the policy's. */
  queueQos0?: boolean | undefined;
  /** Do not queue it if an identical message is queued. Default: the policy's. */
  noDuplicates?: boolean | undefined;
  /** A retained message replaces a queued retained message of the same topic. Default: the policy's. */
  latestRetained?: boolean | undefined;
  /** At most this many queued messages for this topic; the oldest gives way. 0 = no limit. */
  maxPerTopic?: number | undefined;
  /**
   * Default true: a Uint8Array payload is copied, so the array may be changed as soon as
   * `publish()` returns. `false` hands the array over: the client holds it as it is until the
   * message's final status (and writes a large one after its header without a copy, see
   * `@umqtt/simple`), so it must not be changed meanwhile.
   */
  copy?: boolean | undefined;
}

/**
 * What a {@link RobustClient} has done so far (`client.counters`).
 *
 * @example
 * const { delivered, dropped, reconnects } = client.counters;
 * console.log(`${delivered} delivered, ${dropped} dropped, ${reconnects} reconnects`);
 */
export interface Counters {
  /** Connection attempts made. */
  attempts: number;
  /** Of those, attempts that urgent messages brought forward (within `backoff.urgentPerHour`). */
  urgent: number;
  /** Successful connections after the first. */
  reconnects: number;
  /** Messages with final status `delivered` (the broker acknowledged them). */
  delivered: number;
  /** QoS 0 messages with final status `sent` (handed to the socket; QoS 0 has no acknowledgement). */
  sent: number;
  /** Messages with final status `expired`. */
  expired: number;
  /** Messages with final status `dropped`. */
  dropped: number;
  /** Messages with final status `rejected`. */
  rejected: number;
}

const HISTORY = 16;
const NO_ISSUES: readonly Issue[] = [];
/** The reason of a `delivered` for a message published again because the broker lost its session past PUBREC. */
const RESENT_AFTER_SESSION_LOSS = 'resent after the session was lost';
/**
 * A flag on a held message's stage (SENT or RELEASING): published again as a new message because
 * the broker lost the session that had it past PUBREC. Kept in the Store with the stage, so the
 * final `delivered` says so after a reboot too.
 */
const AGAIN = 4;
type TimerName = 'retry' | 'expiry';
const HOUR = 3_600_000;
const ACCEPT: Admission = { accept: true }; // never changed: shared by every decision that keeps a message as is

/**
 * A session that survives the network.
 *
 * @example
 * const client = new RobustClient({ socket, timers, servers: [{ host: 'broker' }], clientId: 'dev-1',
 *   store: new MemoryStore() });
 * client.onStatus = (key, status, reason) => console.log(key, status, reason);
 * client.start();
 * client.publish('alarm/window', 'broken', PRESETS.alarm); // queued while offline, sent when back
 */
export class RobustClient {
  /** Received messages. */
  onMessage: ((message: Message) => void) | undefined;
  /** The one final status of each publish, by the key publish() returned. */
  onStatus: ((key: number, status: FinalStatus, reason?: string) => void) | undefined;
  /** Connection state changes. */
  onState: ((state: RobustState) => void) | undefined;
  /**
   * SUBACK results: filters refused by the broker have 0x80 (MQTT 5, `RobustClient5`: each
   * filter's reason code, 0x80 or more when refused; UNSUBACK's codes too, with `qos` -1).
   */
  onSubscribed: ((subscriptions: Subscription[], granted: number[]) => void) | undefined;
  /** Called when `writable` turns true again after it was false (read false, or left false by a publish): a producer goes on. */
  onWritable: (() => void) | undefined;
  /** Called when {@link RobustClient.idle} turns true: nothing left to do, the device may sleep. */
  onIdle: (() => void) | undefined;

  /** The options given to the constructor. */
  readonly options: Readonly<RobustOptions>;
  /** Running totals: attempts, reconnects and final statuses. */
  readonly counters: Counters = {
    attempts: 0,
    urgent: 0,
    reconnects: 0,
    delivered: 0,
    sent: 0,
    expired: 0,
    dropped: 0,
    rejected: 0,
  };
  readonly #mqtt: MqttClient;
  readonly #t: Timers;
  readonly #queue: SendQueue;
  readonly #policy: QueuePolicy;
  readonly #admit: AdmissionPolicy | undefined;
  readonly #backoff: Backoff;
  readonly #strategy: ReconnectStrategy;
  /** The options of the simple client: the credentials hook changes username and password here. */
  readonly #connectOptions: ClientOptions;
  #state: RobustState = 'idle';
  /** What the application said of the link (setLink); attempts only while it is up. */
  #link = true;
  /** Since when the client is offline (start(), or the loss of its last connection). */
  #offlineSince = 0;
  /** Why the last attempt failed or the last connection ended. */
  #lastError: UmqttError | undefined;
  /** The strategy's time for the next attempt, and the time urgent messages want one (Infinity: none). */
  #baseAt = Infinity;
  #wantAt = Infinity;
  /** The pending retry was brought forward by urgent messages; the attempt about to start is one. */
  #urgent = false;
  #extra = false;
  /** Attempts urgent messages may still bring forward (a bucket of backoff.urgentPerHour), as of #tokensAt. */
  #tokens: number;
  #tokensAt = 0;
  /** Something was queued or asked since the client was last idle: onIdle is owed. */
  #busy = false;
  #server = 0;
  /** Failed attempts in a row: they set the backoff delay. */
  #failures = 0;
  /** When the current connection came up, and whether the broker has acknowledged anything on it. */
  #onlineAt = 0;
  #acked = false;
  /** Counts connection attempts: the outcome of an attempt that is no longer current is ignored. */
  #attemptSeq = 0;
  #connectedOnce = false;
  /** Pending timers: the next connection attempt, the backoff reset, the next expiry. */
  #timers: { [name in TimerName]?: unknown } | undefined;
  #expiryAt = Infinity;
  // The collections below are made when first needed: a gateway holds thousands of clients.
  /** Remembered subscriptions (a newer one for a filter replaces the older). */
  #subs: Map<string, QoS> | undefined;
  /**
   * What to send on this connection or the next, by filter, in order: the QoS to subscribe with,
   * or -1 to unsubscribe (a newer call for a filter replaces the older and goes last).
   */
  #pending: Map<string, number> | undefined;
  /**
   * SUBSCRIBE and UNSUBSCRIBE packets sent on the current connection and not yet answered (for
   * `idle`). Each carries its filters with the QoS asked (-1: unsubscribed) as its `ref`, which
   * the session hands back with its statuses: no registry of packet ids here.
   */
  #subAcks = 0;
  #issues: Issue[] | undefined;
  /** What the application is told after the current call has returned (final statuses, onIdle), in order. */
  #outbox: (() => void)[] | undefined;
  /** Keys of QoS 0 messages written at once without being stored: -1, -2, ... */
  #direct = 0;
  /** `writable` was read false, or a publish left it false: onWritable is owed. */
  #wasFull = false;

  /**
   * Creates an idle client; nothing is sent until {@link RobustClient.start}. Throws if `servers`
   * is empty.
   *
   * @param options - {@link RobustOptions}
   */
  constructor(options: RobustOptions) {
    if (!options.servers.length)
      throw new UmqttError({
        code: INVALID_ARGUMENT,
        message: 'servers: expected at least one broker, got none',
        place: 'connect',
      });
    this.options = options;
    this.#t = options.timers;
    const p = options.policy;
    const { admit, ...pol } = typeof p === 'function' ? { admit: p } : (p ?? {});
    this.#admit = admit;
    this.#policy = { ...DEFAULT_POLICY, ...pol };
    const b = options.backoff;
    const { strategy, ...backoff } = typeof b === 'function' ? { strategy: b } : (b ?? {});
    this.#strategy = strategy ?? exponentialBackoff;
    this.#backoff = { ...DEFAULT_BACKOFF, ...backoff };
    this.#tokens = Math.max(1, this.#backoff.urgentPerHour);
    this.#queue = new SendQueue(options.store);
    this.#busy = this.#queue.held.size > 0;
    const mqtt = (this.#mqtt = new MqttClient(
      (this.#connectOptions = {
        ...options,
        host: options.servers[0]!.host,
        port: options.servers[0]!.port,
        clean: options.clean ?? false,
        maxQueued: 65535,
        logger: (issue) => this.#record(issue),
      }),
    ));
    mqtt.onMessage = (m) => this.onMessage?.(m);
    // A status carries what its packet was given as `ref`: a publish's held message, a
    // SUBSCRIBE's or UNSUBSCRIBE's filters. No registry of packet ids here.
    mqtt.onStatus = (id, status, granted, ref) =>
      this.#onStatus(id, status, granted, ref as StoredMessage | Subscription[] | undefined);
    // Incoming QoS 2 ids held until PUBREL live in the store too: a device that reboots between
    // PUBREC and PUBREL does not hand the application the same message again.
    const store = options.store;
    mqtt.onIncoming = (id, held) => this.#try('store', () => store.incoming?.(id, held));
    if (store.held) mqtt.restore({ incoming: store.held() });
    mqtt.onWritable = () => this.#pump();
    mqtt.onClose = (e) => this.#closed(e);
    this.#armExpiry();
    const d = store.damage;
    if (d)
      this.#issue(
        STORE_DAMAGED,
        `store damaged: ${d.lost.length} message(s) lost, ${d.bytes} bytes unreadable`,
        'store',
      );
  }

  /**
   * Whether a publish now would be written at once instead of waiting in the queue: online,
   * nothing queued, and the connection takes more (its in-flight window and socket have room).
   * A producer that streams publishes while it is true and goes on in `onWritable`; publishing
   * while it is false is allowed and queues by the policy (and, at QoS 0, stores the message).
   */
  get writable(): boolean {
    const w = this.#writable();
    if (!w) this.#wasFull = true; // whoever saw it false is told when it turns true
    return w;
  }

  #writable(): boolean {
    return this.#state === 'online' && !this.#queue.queued && this.#mqtt.writable;
  }

  /** The session state: idle, connecting, online, offline or closed. */
  get state(): RobustState {
    return this.#state;
  }
  /** Messages held: queued plus in flight. */
  get held(): number {
    return this.#queue.held.size;
  }
  /** Messages waiting to be sent. */
  get queued(): number {
    return this.#queue.queued;
  }
  /** Recent issues, oldest first (at most 16): each with its place, as robust2's conn_issue. */
  get issues(): readonly Issue[] {
    return this.#issues ?? NO_ISSUES;
  }
  /**
   * The most recent issue, if any; once the connection is healthy again (see `backoff.stableAfter`),
   * none from before it came up (they stay in `issues`).
   */
  get lastIssue(): Issue | undefined {
    const last = this.#issues?.at(-1);
    return last && this.#state === 'online' && last.time < this.#onlineAt && this.#healthy() ? undefined : last;
  }
  /**
   * Nothing left to do (robust2's `things_to_do() == 0`): no message queued or in flight, no
   * subscription or unsubscription waiting to be sent or acknowledged. `onIdle` says when it
   * turns true: a device may sleep then. (Not the state `'idle'`, which means not started.)
   */
  get idle(): boolean {
    return !this.#queue.held.size && !this.#pending?.size && !this.#subAcks;
  }
  /** What the application last said of the link with {@link RobustClient.setLink} (true until then). */
  get linkUp(): boolean {
    return this.#link;
  }
  /** Queued messages per topic. */
  queuedFor(topic: string): number {
    return this.#queue.countFor(topic);
  }

  /** Starts connecting (and reconnecting, unless autoReconnect is false). Never throws for the network. */
  start(): void {
    if (this.#state !== 'idle' && this.#state !== 'closed') return;
    this.#failures = 0;
    this.#offlineSince = this.#t.now();
    // messages the store lost to damage: their final status, then the store forgets them
    const store = this.options.store;
    for (const m of [...(store.damage?.lost ?? [])]) {
      this.counters.dropped++;
      this.#report(m.key, 'dropped', 'damaged in the store');
      try {
        store.remove(m.key);
      } catch {
        // then the store reports it again when it is opened next
      }
    }
    if (this.#link) this.#attempt();
    else this.#set('offline'); // until the link comes up
  }

  /**
   * Connects now (robust2's reconnect()): cancels a pending retry and tries the current server.
   * The automatic retries and the link coming up call it too, so a subclass may override it
   * (robust2's way) and decide; while the link is down it does nothing.
   */
  reconnect(): void {
    if (this.#state === 'online' || this.#state === 'connecting' || !this.#link) return;
    this.#clear('retry');
    this.#attempt();
  }

  /**
   * Tells the client whether the network link is up (Wi-Fi associated with an address, a network
   * interface up): the platform glue or the application calls it. Down: no connection attempt
   * at all until it is up again, and the connection or attempt under way ends now (nothing can
   * pass; keepalive would take 1.5 x keepAlive to find out). Up: an attempt at once, the backoff
   * starting over. Without calls the link counts as up.
   */
  setLink(up: boolean): void {
    if (this.#link === up) return;
    this.#link = up;
    if (up) {
      this.#failures = 0;
      if (this.#state === 'offline' && this.options.autoReconnect !== false) this.reconnect();
      return;
    }
    this.#clear('retry');
    const s = this.#state;
    if (s !== 'online' && s !== 'connecting') return;
    this.#attemptSeq++; // the outcome of the attempt under way no longer counts
    if (s === 'online') this.#offlineSince = this.#t.now();
    this.#set('offline');
    this.#mqtt.close();
  }

  /** Disconnects and stops reconnecting. Held messages stay in the store (a persistent store resends them after a restart). */
  stop(): void {
    this.#attemptSeq++; // the outcome of a connect still under way no longer counts
    this.#clear('retry');
    this.#set('closed');
    this.#mqtt.disconnect();
  }

  /** Drops every held message with status dropped (reason `discarded`), e.g. before exiting with a memory store; the statuses are reported before it returns. */
  discard(): void {
    for (const m of [...this.#queue.held.values()]) this.#final(m, 'dropped', 'discarded');
    this.#idle();
    this.#flush(); // its statuses (and any still owed) before it returns: the caller is about to let go
  }

  /**
   * Publishes through the queue. Returns the key that its final status will carry: positive
   * for a message held in the store, negative for a QoS 0 message written at once (online,
   * nothing queued), 0 when the policy did not keep it (status dropped or rejected follows).
   * Throws only on misuse (bad topic, QoS).
   */
  publish(topic: string, payload: string | Uint8Array, opts: RobustPublishOptions = {}): number {
    validateTopicName(topic);
    const qos = opts.qos ?? 0;
    if (qos !== 0 && qos !== 1 && qos !== 2)
      throw new UmqttError({
        code: INVALID_ARGUMENT,
        message: `QoS: expected 0, 1 or 2, got ${String(qos)}`,
        clause: 'MQTT-3.3.1-4',
        place: 'publish',
      });
    const data = payloadBytes(payload);
    const retain = opts.retain ?? false;
    const pol = this.#policy;
    const online = this.#state === 'online';
    // Fast path: QoS 0 while online with nothing queued goes straight out, never stored.
    const copy = opts.copy !== false;
    if (!qos && online && !this.#queue.queued && this.#mqtt.writable) {
      this.#mqtt.publish(topic, data, { retain, copy });
      this.counters.sent++;
      if (!this.#mqtt.writable) this.#wasFull = true;
      return this.#report(--this.#direct, 'sent');
    }
    const ttl = opts.ttl ?? pol.ttl;
    const incoming = {
      topic,
      payload: data === payload && copy ? data.slice() : data, // held for later: our own copy, unless handed over
      qos,
      retain,
      priority: opts.priority ?? pol.priority,
      expiresAt: ttl ? this.#t.now() + ttl : 0,
    };
    const decision = this.#decide(incoming, opts, online);
    if (!decision.accept) {
      const status = decision.status ?? 'dropped';
      this.counters[status]++;
      return this.#report(0, status, decision.reason);
    }
    if (decision.drop)
      for (const key of decision.drop) {
        const m = this.#queue.held.get(key);
        const reason = key === decision.replaced ? 'replaced' : (decision.reason ?? 'overflow');
        if (m && m.stage === QUEUED) this.#final(m, 'dropped', reason);
      }
    let m: StoredMessage;
    try {
      m = this.#queue.add(incoming);
    } catch (e) {
      this.counters.rejected++;
      this.#fault(e as UmqttError, 'publish');
      return this.#report(0, 'rejected', (e as UmqttError).code ?? 'store');
    }
    this.#busy = true;
    if (m.expiresAt) this.#armExpiry(m.expiresAt);
    if (this.#state === 'offline') this.#hurry(m);
    if (online) this.#pump(); // statuses reached here are reported after publish() has returned the key
    if (!this.#writable()) this.#wasFull = true;
    return m.key;
  }

  /** Subscribes now if online, else when connected; remembered for resubscription. */
  subscribe(filters: string | string[] | Subscription[], qos: QoS = 0): void {
    const list: Subscription[] = (Array.isArray(filters) ? filters : [filters]).map((f) =>
      typeof f === 'string' ? { topic: f, qos } : f,
    );
    for (const s of list) validateTopicFilter(s.topic);
    this.#want(list);
  }

  /** Unsubscribes now if online, else on the next connection (the broker's session may still hold it). */
  unsubscribe(filters: string | string[]): void {
    this.#want((Array.isArray(filters) ? filters : [filters]).map((topic) => ({ topic, qos: -1 })));
  }

  /**
   * Remembers filters to subscribe with their QoS (or, -1, to unsubscribe) and sends them: now
   * if online, else on the next connection.
   */
  #want(list: { topic: string; qos: number }[]): void {
    const pending = (this.#pending ??= new Map());
    for (const { topic, qos } of list) {
      if (qos < 0) this.#subs?.delete(topic);
      else (this.#subs ??= new Map()).set(topic, qos as QoS);
      pending.delete(topic); // a newer call replaces a queued one, and goes last
      pending.set(topic, qos);
    }
    this.#busy = true;
    if (this.#state === 'online') this.#sendPending();
  }

  // ---- policy ----------------------------------------------------------------------------

  #decide(
    incoming: Omit<StoredMessage, 'key' | 'id' | 'stage' | 'attempts'>,
    opts: RobustPublishOptions,
    online: boolean,
  ): Admission & { replaced?: number | undefined } {
    const q = this.#queue;
    if (this.#admit)
      return this.#admit({ ...incoming, key: 0, id: 0, stage: QUEUED, attempts: 0 }, [...q.held.values()], online, {
        options: opts,
        policy: this.#policy,
        builtin: (o = opts) => this.#builtin(incoming, o, online),
      });
    return this.#builtin(incoming, opts, online);
  }

  /** The built-in decision: the client's QueuePolicy with the per-message options `opts`. */
  #builtin(
    incoming: Omit<StoredMessage, 'key' | 'id' | 'stage' | 'attempts'>,
    opts: RobustPublishOptions,
    online: boolean,
  ): Admission & { replaced?: number | undefined } {
    const q = this.#queue;
    const pol = this.#policy;
    if (!incoming.qos && !online && !(opts.queueQos0 ?? pol.queueQos0)) return { accept: false, reason: 'offline' };
    if ((opts.noDuplicates ?? pol.noDuplicates) && q.duplicateOf(incoming))
      return { accept: false, reason: 'duplicate' };
    const size = messageBytes(incoming);
    const maxBytes = Math.min(pol.maxBytes, this.options.store.capacity);
    if (size > maxBytes) return { accept: false, status: 'rejected', reason: 'too large for the queue' };
    const replaced =
      incoming.retain && (opts.latestRetained ?? pol.latestRetained) ? q.retainedFor(incoming.topic) : undefined;
    const perTopic = opts.maxPerTopic ?? 0;
    const topicFull = perTopic > 0 && q.countFor(incoming.topic) >= perTopic;
    // the common case allocates nothing: room for it, nothing it replaces
    if (!replaced && !topicFull && q.held.size < pol.maxMessages && q.bytes + size <= maxBytes) return ACCEPT;
    const drop: number[] = [];
    if (topicFull) {
      const oldest = q.oldestFor(incoming.topic);
      if (oldest) drop.push(oldest.key);
    }
    // make room: first from lower priorities, then by the overflow rule
    const overflow = opts.overflow ?? pol.overflow;
    if (replaced && drop[0] !== replaced.key) drop.push(replaced.key);
    let count = q.held.size - drop.length;
    let bytes = q.bytes - drop.reduce((a, k) => a + q.sizeOf(q.held.get(k)!), 0);
    const victims = q.victims(incoming.priority, overflow === 'drop-oldest');
    while (count + 1 > pol.maxMessages || bytes + size > maxBytes) {
      let v = victims.next().value;
      while (v && drop.includes(v.key)) v = victims.next().value; // chosen above already
      if (!v)
        return overflow === 'reject'
          ? { accept: false, status: 'rejected', reason: 'full' }
          : { accept: false, reason: 'overflow' };
      drop.push(v.key);
      count--;
      bytes -= q.sizeOf(v);
    }
    return { accept: true, drop, reason: 'overflow', replaced: replaced?.key };
  }

  // ---- connection ------------------------------------------------------------------------

  #attempt(): void {
    this.#set('connecting');
    this.counters.attempts++;
    let server = this.options.servers[this.#server]!;
    // A promise reaction is the platform's: what throws inside (a store that fails while the
    // session resumes) is recorded, never left as an unhandled rejection.
    const attempt = ++this.#attemptSeq; // stop(), start() and the link going down meanwhile make it stale
    const extra = this.#extra;
    this.#extra = false;
    const failed = (e: unknown) =>
      attempt === this.#attemptSeq &&
      this.#try('connect', () =>
        this.#failed(
          e instanceof UmqttError ? e : this.#error(CALLBACK_ERROR, `credentials: ${String(e)}`, 'connect'),
          'connect',
          extra,
        ),
      );
    const connect = (c: Credentials | undefined | void) => {
      if (attempt !== this.#attemptSeq) return;
      if (c) {
        // simple reads its options at each connect(): the next CONNECT carries these
        const o = this.#connectOptions;
        if ('username' in c) o.username = c.username;
        if ('password' in c) o.password = c.password;
        server = c.server ?? server;
      }
      this.#mqtt
        .connect(server)
        .then(
          (sessionPresent) => attempt === this.#attemptSeq && this.#try('connect', () => this.#online(sessionPresent)),
          failed,
        );
    };
    const hook = this.options.credentials;
    if (!hook) return connect();
    try {
      const c = hook({ server, attempts: this.#failures, error: this.#lastError });
      if (c && 'then' in c) c.then(connect, failed);
      else connect(c);
    } catch (e) {
      failed(e);
    }
  }

  /**
   * A connection attempt failed (refused, timed out) or a connection ended before it was healthy.
   * An attempt urgent messages added (`extra`) leaves the strategy's schedule as it was.
   */
  #failed(e: UmqttError | undefined, place = 'connect', extra = false): void {
    if (this.#state === 'closed') return;
    if (e) this.#fault(e, e.place ?? place);
    this.#lastError = e;
    // Every try of every server counts: the next one goes to the next server, after the delay.
    this.#server = (this.#server + 1) % this.options.servers.length;
    if (extra) {
      this.#set('offline');
      this.#wantAt = this.#wanted();
      return this.#arm();
    }
    this.#failures++;
    const max = this.#backoff.maxAttempts;
    if (max && this.#failures >= max) {
      this.#issue(GAVE_UP, `gave up after ${this.#failures} failed attempts`, 'reconnect');
      return this.#set('closed');
    }
    this.#offline();
  }

  /**
   * Offline: tries again later (unless autoReconnect is off or the link is down). The strategy
   * decides when; the built-in one grows the delay with the failed attempts in a row, never with
   * connections that were healthy: after losing a healthy one the first retry comes within
   * `backoff.min`.
   */
  #offline(): void {
    this.#set('offline');
    if (this.options.autoReconnect !== false && this.#link) this.#plan();
  }

  /** Asks the strategy when to try next (not sooner than `floor`), and arms the retry. */
  #plan(floor = 0, before = Infinity): void {
    const now = this.#t.now();
    const q = this.#queue;
    const priority = this.#top();
    const ctx: ReconnectContext = {
      attempts: this.#failures,
      offline: now - this.#offlineSince,
      error: this.#lastError,
      queued: q.queued,
      held: q.held.size,
      deadline: q.nextExpiry(),
      priority,
      now,
      backoff: this.#backoff,
      random: this.options.random ?? Math.random,
    };
    let delay: number;
    try {
      delay = this.#strategy(ctx);
      if (!(delay >= 0)) throw `returned ${String(delay)}`;
    } catch (e) {
      this.#issue(CALLBACK_ERROR, `reconnect strategy: ${String(e)}`, 'reconnect'); // the built-in decides
      delay = exponentialBackoff(ctx);
    }
    this.#baseAt = Math.min(before, now + Math.max(delay, floor));
    this.#wantAt = this.#wanted(priority);
    this.#arm();
  }

  /** When urgent messages want the next attempt after one that just failed: within urgentDelay while one of urgentPriority waits. */
  #wanted(priority = this.#top()): number {
    const b = this.#backoff;
    return priority >= b.urgentPriority ? this.#t.now() + b.urgentDelay : Infinity;
  }

  /** The highest priority among held messages (-Infinity: none). */
  #top(): number {
    let p = -Infinity;
    for (const m of this.#queue.held.values()) if (m.priority > p) p = m.priority;
    return p;
  }

  /** A message queued while offline: urgent, it may bring the next attempt forward. */
  #hurry(m: StoredMessage): void {
    const b = this.#backoff;
    if (this.options.autoReconnect === false || !this.#link) return;
    const now = this.#t.now();
    const urgent = m.priority >= b.urgentPriority;
    const want = urgent
      ? this.#wantAt === Infinity
        ? now
        : this.#wantAt
      : m.expiresAt && m.expiresAt < this.#baseAt && this.#ready(now) < m.expiresAt
        ? now // its deadline comes before the next attempt, and an attempt now can still meet it
        : Infinity;
    if (urgent && this.#wantAt === Infinity) this.#plan(0, this.#baseAt); // the first urgent one: the strategy is asked again, never for later
    if (want >= this.#wantAt) return;
    this.#wantAt = want;
    this.#arm();
  }

  /** When the bucket of urgent attempts next has one (it refills at urgentPerHour, holding as many). */
  #ready(now: number): number {
    const per = this.#backoff.urgentPerHour;
    if (!(per > 0)) return Infinity;
    this.#tokens = Math.min(Math.max(1, per), this.#tokens + ((now - this.#tokensAt) * per) / HOUR);
    this.#tokensAt = now;
    return now + Math.max(0, ((1 - this.#tokens) * HOUR) / per);
  }

  /** Arms the retry at the strategy's time, or sooner where urgent messages want it and the bucket allows. */
  #arm(): void {
    const now = this.#t.now();
    const want = Math.max(this.#wantAt, this.#ready(now));
    this.#urgent = want < this.#baseAt;
    const at = Math.min(want, this.#baseAt);
    if (at === Infinity) return this.#clear('retry');
    this.#timer('retry', at - now, () => {
      if (this.#state !== 'offline') return;
      const urgent = (this.#extra = this.#urgent);
      const n = this.counters.attempts;
      this.reconnect(); // overridable: a subclass may decide (robust2's way)
      this.#extra = false;
      if (this.counters.attempts === n) return this.#state === 'offline' && this.#plan(this.#backoff.min);
      if (urgent) {
        this.counters.urgent++;
        this.#tokens--;
      }
    });
  }

  /**
   * Whether the current connection is healthy: it lasted `stableAfter`, or the broker
   * acknowledged an exchange on it and it lasted `backoff.min` (or `stableAfter`, if smaller), so
   * a broker that answers and drops us at once still counts as failing.
   */
  #healthy(): boolean {
    const b = this.#backoff;
    return this.#t.now() - this.#onlineAt >= (this.#acked ? Math.min(b.stableAfter, b.min) : b.stableAfter);
  }

  #online(sessionPresent: boolean): void {
    if (this.#state === 'closed') return this.#mqtt.disconnect();
    if (this.#connectedOnce) this.counters.reconnects++;
    this.#connectedOnce = true;
    this.#acked = false;
    const now = (this.#onlineAt = this.#t.now());
    this.#set('online');
    // Subscriptions: resent when the broker kept no session.
    if (!sessionPresent && this.#subs && this.options.resubscribe !== false)
      for (const [topic, qos] of this.#subs) (this.#pending ??= new Map()).set(topic, qos);
    // Messages in flight in the last connection: the same id with DUP, in their original order;
    // a QoS 2 message past PUBREC is released, not resent. A QoS 1 message past its time
    // expires; a QoS 2 one is resent all the same: the broker may hold its id awaiting PUBREL,
    // and would swallow a new message given that id as a duplicate [MQTT-4.3.3-2].
    // When the broker says it has no session, what it acknowledged with PUBREC went with it: such
    // a message is published again as a new one (at least once beats lost), and its final
    // `delivered` carries the reason (the mark is kept in the store with the stage).
    for (const m of [...this.#queue.held.values()]) {
      if (this.#state !== 'online') return;
      const stage = m.stage & ~AGAIN;
      if (stage === RELEASING) {
        if (sessionPresent) this.#try('sendqueue', () => this.#mqtt.release(m.id, m));
        else {
          m.stage |= AGAIN; // recorded with SENT by #write
          this.#try('sendqueue', () => this.#write(m, false));
        }
      } else if (stage === SENT) {
        if (m.qos < 2 && m.expiresAt && m.expiresAt <= now) this.#final(m, 'expired', 'ttl');
        else this.#try('sendqueue', () => this.#write(m, true));
      }
    }
    this.#sendPending(); // unsubscriptions too: the broker's session may still have them
    this.#pump();
  }

  #closed(e: UmqttError | undefined): void {
    this.#subAcks = 0; // each reported aborted already
    if (this.#state === 'closed' || !this.#link) return; // stopped, or the link went down: nothing to plan
    this.#offlineSince = this.#t.now();
    // A connection that was not yet healthy (a broker that accepts and drops us) counts as a
    // failed attempt, so a flapping broker is not hammered; a healthy one retries soon.
    if (!this.#healthy()) return this.#failed(e, 'read');
    if (e) this.#fault(e, e.place ?? 'read');
    this.#lastError = e;
    this.#failures = 0;
    this.#offline();
  }

  /** Sends the pending subscriptions in one SUBSCRIBE and the pending unsubscriptions in one UNSUBSCRIBE. */
  #sendPending(): void {
    const subs: Subscription[] = [];
    const unsubs: Subscription[] = [];
    for (const [topic, qos] of this.#pending ?? []) (qos < 0 ? unsubs : subs).push({ topic, qos: qos as QoS });
    this.#pending = undefined;
    // each list goes as the packet's ref: its statuses bring it back (#onStatus)
    if (subs.length)
      this.#try('subscribe', () => {
        this.#mqtt.subscribe(subs, 0, subs);
        this.#subAcks++;
      });
    if (unsubs.length)
      this.#try('unsubscribe', () => {
        this.#mqtt.unsubscribe(
          unsubs.map((s) => s.topic),
          unsubs,
        );
        this.#subAcks++;
      });
  }

  // ---- sending ---------------------------------------------------------------------------

  /** Sends queued messages while the connection takes them; then owes onWritable, if it does. */
  #pump(): void {
    this.#send();
    if (this.#wasFull && this.#writable()) {
      this.#wasFull = false;
      this.#defer(() => this.onWritable?.());
    }
  }

  #send(): void {
    const q = this.#queue;
    const mqtt = this.#mqtt;
    const now = this.#t.now();
    while (this.#state === 'online' && mqtt.writable) {
      const m = q.peek();
      if (!m) return;
      if (m.expiresAt && m.expiresAt <= now) {
        this.#final(m, 'expired', 'ttl');
        continue;
      }
      try {
        this.#write(m, m.attempts > 0);
      } catch (e) {
        this.#fault(e as UmqttError, 'sendqueue');
        if ((e as UmqttError).code !== TOO_LARGE) return;
        this.#final(m, 'rejected', TOO_LARGE); // it can never be sent: do not block the queue
      }
    }
  }

  /** Writes a held message: QoS 0 is done once written; QoS 1/2 await their acknowledgement. */
  #write(m: StoredMessage, resend: boolean): void {
    const mqtt = this.#mqtt;
    const dup = resend && m.id > 0; // only QoS 1/2 get an id
    const payload = this.#queue.payloadOf(m);
    if (!payload) return this.#final(m, 'dropped', 'lost by the store');
    let id: number;
    try {
      // copy: false, a large payload is written as it is: the held copy is ours and never changes
      id = mqtt.publish(m.topic, payload, {
        qos: m.qos,
        retain: m.retain,
        dup,
        id: dup ? m.id : undefined,
        copy: false,
        ref: m,
      });
    } catch (e) {
      // Its old id went to another message of this connection: send it afresh.
      if (!dup || (e as UmqttError).code !== INVALID_ARGUMENT) throw e;
      id = mqtt.publish(m.topic, payload, { qos: m.qos, retain: m.retain, copy: false, ref: m });
    }
    if (!m.qos) return this.#final(m, 'sent');
    this.#queue.sent(m, id, SENT | (m.stage & AGAIN));
  }

  /**
   * The status of a packet id, as the session reports it. Each status stands on its own: the
   * final acknowledgement (`delivered`, or `unknown` when it came after a timeout) ends a
   * message, so does a refusal (`rejected`), PUBREC moves it to RELEASING, a timeout is recorded, and an aborted message stays in
   * flight in the store, resent after the next CONNACK.
   */
  #onStatus(id: number, status: SimpleStatus, granted?: number[], ref?: StoredMessage | Subscription[]): void {
    const lost = status === 'timeout' || status === 'aborted';
    if (!lost) this.#acked = true; // the broker answered
    if (Array.isArray(ref)) {
      // A SUBSCRIBE's or UNSUBSCRIBE's filters. A late `unknown` after its `timeout` was
      // accounted for then (the filters went back to #pending): nothing more to do.
      if (status === 'unknown') return;
      const list = ref;
      this.#subAcks--;
      if (lost) {
        // robust2: back to sub_to_send, as the filter stands now (unless asked for again meanwhile)
        for (const s of list) {
          const want = this.#subs?.get(s.topic) ?? -1;
          if (want < 0 === s.qos < 0 && !this.#pending?.has(s.topic)) (this.#pending ??= new Map()).set(s.topic, want);
        }
      } else if (granted) {
        this.#call(() => this.onSubscribed?.(list, granted));
        if (status === 'refused')
          this.#issue(
            SUBSCRIBE_REFUSED,
            `broker refused ${list
              .filter((_, i) => granted[i]! >= 0x80)
              .map((s) => s.topic)
              .join(', ')}`,
            'subscribe',
            granted.find((g) => g >= 0x80), // 0x80 in MQTT 3.1.1; MQTT 5 says why
          );
      }
      return this.#idle();
    }
    const m = ref;
    if (!m) return;
    if (status === 'received') this.#queue.stage(m, RELEASING | (m.stage & AGAIN));
    else if (status === 'timeout')
      // robust2 sends an unconfirmed message again at once. Resending on the same connection
      // is what breaks brokers (Mosquitto drops a client that sends one QoS 2 id a third time
      // before PUBREL), and MQTT requires resends only on reconnect [MQTT-4.4.0-1]. So the
      // message stays in flight with its id: a late acknowledgement still delivers it, and if
      // the connection ends first the reconnect resends it with its id and DUP. The timeout is
      // recorded; the message keeps its place in the session's window (the broker still counts it).
      this.#issue(
        ACK_TIMEOUT,
        `no acknowledgement for packet id ${id} within messageTimeout: still waiting; resent on reconnect`,
        'publish',
      );
    else if (!lost) {
      // The final acknowledgement (`delivered`, `unknown` after a timeout), or a refusal: the
      // status then carries `granted` (MQTT 5: a PUBACK or PUBREC with a reason code of 0x80 or
      // more), never delivered, rejected with the code as its reason (RobustClient5's session
      // puts the code's name in its place).
      this.#final(m, granted ? 'rejected' : 'delivered', granted && granted + '');
      this.#pump();
    }
  }

  /** Gives a message its one final status and forgets it. */
  #final(m: StoredMessage, status: FinalStatus, reason?: string): void {
    if (!this.#queue.held.has(m.key)) return;
    this.#queue.remove(m);
    this.counters[status]++;
    this.#report(m.key, status, status === 'delivered' && m.stage & AGAIN ? RESENT_AFTER_SESSION_LOSS : reason);
    this.#idle();
  }

  /** onIdle, once `idle` turns true (after the statuses that made it so have been reported). */
  #idle(): void {
    if (this.#busy && this.idle)
      this.#defer(() => {
        if (this.#busy && this.idle) {
          this.#busy = false;
          this.onIdle?.();
        }
      });
  }

  /** Reports a final status once the current call has returned (publish() returns the key first); returns the key. */
  #report(key: number, status: FinalStatus, reason?: string): number {
    this.#defer(() => this.onStatus?.(key, status, reason));
    return key;
  }

  /**
   * Runs an application callback once the current call has returned, after those already
   * waiting: no application code runs inside publish() or while the session hands over its
   * events, and the order is kept.
   */
  #defer(fn: () => void): void {
    if (!this.#outbox) {
      this.#outbox = [];
      void Promise.resolve().then(() => this.#flush());
    }
    this.#outbox.push(fn);
  }

  /** Runs what #defer holds, in order (what it adds meanwhile too). */
  #flush(): void {
    const list = this.#outbox;
    this.#outbox = undefined;
    for (const f of list ?? []) this.#call(f);
  }

  // ---- expiry ----------------------------------------------------------------------------

  #armExpiry(at = this.#queue.nextExpiry()): void {
    if (at >= this.#expiryAt) return;
    this.#clear('expiry');
    this.#expiryAt = at;
    if (at === Infinity) return;
    this.#timer('expiry', Math.max(0, at - this.#t.now()), () => {
      this.#expiryAt = Infinity;
      for (const m of this.#queue.expired(this.#t.now())) this.#final(m, 'expired', 'ttl');
      this.#armExpiry();
    });
  }

  // ---- plumbing --------------------------------------------------------------------------

  #try(place: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.#fault(e as UmqttError, place);
    }
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.#issue(CALLBACK_ERROR, `a callback threw: ${String(e)}`, 'callback');
    }
  }

  #error(code: string, message: string, place: string, reasonCode?: number): UmqttError {
    return new UmqttError({ code, message, reasonCode, place });
  }

  /** Records a new issue of the robust layer. */
  #issue(code: string, message: string, place: string, reasonCode?: number): void {
    this.#fault(this.#error(code, message, place, reasonCode), place);
  }

  /** Records an error as an issue of `place`. */
  #fault(error: UmqttError, place: string): void {
    this.#record({ time: this.#t.now(), place, error });
  }

  #record(issue: Issue): void {
    const issues = (this.#issues ??= []);
    if (issues.at(-1)?.error === issue.error) return; // simple's logger and our own path saw the same error
    if (issues.push(issue) > HISTORY) issues.shift();
    try {
      this.options.logger?.(issue);
    } catch {
      // a failing logger must not break the client
    }
  }

  #set(state: RobustState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#call(() => this.onState?.(state));
  }

  #timer(name: TimerName, ms: number, fn: () => void): void {
    this.#clear(name);
    (this.#timers ??= {})[name] = this.#t.setTimeout(() => {
      this.#timers![name] = undefined;
      fn();
    }, ms);
  }

  #clear(name: TimerName): void {
    const handle = this.#timers?.[name];
    if (handle !== undefined) {
      this.#t.clearTimeout(handle);
      this.#timers![name] = undefined;
    }
  }
}
