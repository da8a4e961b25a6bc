// A device: the real @umqtt/robust RobustClient (over the real @umqtt/simple and @umqtt/codec),
// with a MemoryStore or a FlashStore on store-flash's SimulatedFlash, a platform clock with its
// habits, and sockets on the simulated network. It can lose power at any instant, also in the
// middle of a flash write (the flash tears that write), and boots again from what the flash kept.
//
// Everything the application sees (publish keys, final statuses, messages, states) is recorded
// here for the checker, across boots: the record is the omniscient observer's, not the device's.
import type { QoS, Subscription, UmqttError } from '@umqtt/codec';
import {
  RobustClient,
  type FinalStatus,
  type RobustOptions,
  type QueuePolicy,
  type RobustPublishOptions,
  type RobustState,
  type Store,
} from '@umqtt/robust';
import { PROTOCOL_ERROR } from '@umqtt/simple';
import { RobustClient5 } from '@umqtt/robust/v5';
import { MemoryStore } from '@umqtt/store-memory';
import { FlashStore, PowerLoss, SimulatedFlash, type Flash } from '@umqtt/store-flash';
import { PlatformClock, type ClockHabit } from './clock.js';
import type { ConnectionFaults, DeviceHooks, LinkProfile, Network } from './network.js';
import type { Random } from './random.js';
import { msgIdOf } from './trace.js';
import type { World } from './world.js';

export interface DeviceSpec {
  /** Short name, also the first part of every payload: `d1`. */
  name: string;
  clientId: string;
  store: 'memory' | 'flash';
  clock: ClockHabit;
  /** Moddable scheduler tick, ms. */
  tick: number;
  /** A new boot starts the clock from a new origin (a process restart, a reset tick counter). */
  clockRestarts: boolean;
  link: LinkProfile;
  servers: { host: string; port?: number }[];
  keepAlive: number;
  connectTimeout: number;
  messageTimeout: number;
  socketTimeout: number;
  maxInflight: number | undefined;
  /** The reconnect settings or strategy (`RobustOptions.backoff`). */
  backoff: NonNullable<RobustOptions['backoff']>;
  policy: Partial<QueuePolicy>;
  /** Subscriptions made before start (remembered by the client). */
  subscriptions: Subscription[];
  /** Flash geometry of a flash device. */
  flashBlocks: number;
  /** Clean session (the robust client's default is a persistent one); in MQTT 5, Clean Start. */
  clean: boolean;
  /**
   * Runs on MQTT 5 (`RobustClient5` of `@umqtt/robust/v5`), with these CONNECT
   * properties: Session Expiry Interval (seconds, 0xFFFFFFFF never) and a Receive Maximum.
   */
  mqtt5: { sessionExpiry: number; receiveMaximum: number | undefined } | undefined;
}

/** One publish as the application made it, and what became of it. */
export interface PubRecord {
  serial: number;
  /** `d1/17`: the start of the payload, the message's identity everywhere. */
  msgId: string;
  kind: string;
  topic: string;
  qos: QoS;
  retain: boolean;
  ttl: number;
  priority: number;
  /** World time of the publish() call. */
  at: number;
  boot: number;
  /** What publish() returned (undefined: it never returned, the power failed inside). */
  key: number | undefined;
  statuses: { status: FinalStatus | string; reason: string | undefined; at: number }[];
  /** The power failed inside publish(): the message may or may not be on the flash. */
  inDoubt: boolean;
  /** Held by a MemoryStore when the power failed: gone (exempt, reported). */
  crashLost: boolean;
  /** Boots at which a FlashStore gave it back at mount. */
  recovered: number[];
}

/** A message the application received. */
export interface Receipt {
  msgId: string;
  topic: string;
  qos: QoS;
  dup: boolean;
  retain: boolean;
  at: number;
  boot: number;
}

/** Chance-based faults of new connections, drawn by the device's plan. */
export interface FaultPlan {
  faults(host: string, random: Random): ConnectionFaults;
}

export { msgIdOf } from './trace.js';

/** One boot of a device: the hooks the network and clock call, alive until the power fails. */
class Boot implements DeviceHooks {
  dead = false;
  /** Keys the client asked its store to remove in this boot (its decision reached the store). */
  readonly removed = new Set<number>();
  readonly clock: PlatformClock;
  /** Keys of this boot's statuses that come as 0 (refused), in publish order. */
  readonly refused: PubRecord[] = [];
  readonly byKey = new Map<number, PubRecord>();
  client!: RobustClient;
  store!: Store;
  flash: SimulatedFlash | undefined;
  gate: GatedFlash | undefined;

  constructor(
    readonly device: Device,
    readonly index: number,
    origin: number,
  ) {
    const d = device;
    this.clock = new PlatformClock(d.world, d.random.fork(), {
      habit: d.spec.clock,
      origin,
      tick: d.spec.tick,
      guard: (what, fn) => this.guard(what, fn),
    });
  }

  get name(): string {
    return this.device.spec.name;
  }
  get link(): LinkProfile {
    return this.device.spec.link;
  }
  get wire() {
    return this.device.wire;
  }
  get alive(): boolean {
    return !this.dead && (this.flash?.powered ?? true);
  }

  faults(host: string): ConnectionFaults {
    return this.device.plan.faults(host, this.device.random);
  }

  /** Runs a platform callback into the device: a dead device gets none, an exception is a violation. */
  guard(what: string, fn: () => void): void {
    if (!this.alive) return;
    this.device.world.touch();
    this.clock.touch();
    try {
      fn();
    } catch (e) {
      if (!(e instanceof PowerLoss)) {
        const world = this.device.world;
        world.fail(
          'no-exception-into-platform',
          `${this.name}: ${what} callback threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`,
        );
      }
    }
    this.device.afterCallback(this);
  }
}

/** The flash as the store sees it: the device's SimulatedFlash, with the power cut counted here. */
class GatedFlash implements Flash {
  /** Write and erase operations left before the cut (Infinity: none pending). */
  budget = Infinity;
  constructor(
    readonly inner: SimulatedFlash,
    readonly seed: number,
  ) {}
  get blockSize(): number {
    return this.inner.blockSize;
  }
  get byteLength(): number {
    return this.inner.byteLength;
  }
  read(offset: number, length: number): Uint8Array {
    return this.inner.read(offset, length);
  }
  write(offset: number, bytes: Uint8Array): void {
    this.#spend();
    this.inner.write(offset, bytes);
  }
  erase(block: number): void {
    this.#spend();
    this.inner.erase(block);
  }
  #spend(): void {
    if (this.budget === Infinity) return;
    if (this.budget > 0) this.budget--;
    else {
      this.budget = Infinity;
      this.inner.cutPowerAfter(0, this.seed); // this operation is the one torn
    }
  }
}

/** The store as the client sees it: the real one, with its removals recorded for the checker. */
function recorded(store: Store, removed: Set<number>): Store {
  const wrapper: Store = {
    add: (m) => store.add(m),
    update: (key, id, stage, attempts) => store.update(key, id, stage, attempts),
    remove: (key) => {
      removed.add(key);
      store.remove(key);
    },
    messages: () => store.messages(),
    get count() {
      return store.count;
    },
    get bytes() {
      return store.bytes;
    },
    get capacity() {
      return store.capacity;
    },
    close: () => store.close(),
  };
  if (store.get) wrapper.get = (key) => store.get!(key);
  if (store.payload) wrapper.payload = (key) => store.payload!(key);
  // incoming QoS 2 ids held until PUBREL: a device that reboots between PUBREC and PUBREL must not get the message twice
  if (store.incoming) wrapper.incoming = (id, held) => store.incoming!(id, held);
  if (store.held) wrapper.held = () => store.held!();
  // what the store found damaged at mount (the client reports those messages dropped), and when
  // its calls become durable: read through, as the client would read the store itself
  Object.defineProperty(wrapper, 'damage', { get: () => store.damage, enumerable: true });
  if (store.durable !== undefined) {
    Object.defineProperty(wrapper, 'durable', { get: () => store.durable, enumerable: true });
    Object.defineProperty(wrapper, 'onDurable', {
      get: () => store.onDurable,
      set: (fn: Store['onDurable']) => ((store as { onDurable?: Store['onDurable'] }).onDurable = fn),
      enumerable: true,
    });
  }
  return wrapper;
}

export class Device {
  readonly world: World;
  readonly spec: DeviceSpec;
  readonly random: Random;
  readonly net: Network;
  plan: FaultPlan;
  readonly records: PubRecord[] = [];
  readonly received: Receipt[] = [];
  readonly states: { state: RobustState; at: number }[] = [];
  /** Bytes on the wire (both directions) over all boots. */
  readonly wire = { up: 0, down: 0 };
  boot!: Boot;
  boots = 0;
  /** Every boot so far, by index (1-based). */
  readonly #history: Boot[] = [];
  /** Power cuts so far. */
  cuts = 0;
  #serial = 0;
  #flashBytes: SimulatedFlash | undefined;
  /** The last issue the client recorded since it was last online (why its connection ended). */
  lastError: UmqttError | undefined;
  /** Messages the workload's producer waiting for onWritable still means to publish. */
  owed = 0;
  /** Largest payload the workload publishes, bytes. */
  maxPayload = 200;
  /** Started by the scenario (and restarted after each boot). */
  started = false;
  /** Messages a MemoryStore held when the power failed (exempt from no-loss, reported). */
  crashLosses = 0;
  /** Messages a FlashStore reported lost to damage at a mount (each then ends `dropped`). */
  damaged = 0;
  /** The state and since when (for the connect-settles and keeps-trying checks). */
  state: RobustState = 'idle';
  stateSince = 0;
  /** Connection attempts (socket factory calls) and when the last one was made. */
  attempts = 0;
  /** What the platform last told the client of its link (`setLink`); every boot starts with it. */
  linkUp = true;
  lastAttempt = 0;
  /** Listeners of the scenario (workloads waiting for onWritable). */
  onWritable: (() => void) | undefined;
  onBoot: (() => void) | undefined;
  /** The client ended a connection with a protocol error (the scenario judges whether the broker earned it). */
  onProtocolError: ((message: string) => void) | undefined;
  #cutTimer: ReturnType<World['after']> | undefined;
  /** Set between a power cut and the boot after it: how long the power stays off. */
  #offFor: number | undefined;
  #rebootTimer: ReturnType<World['after']> | undefined;

  constructor(world: World, net: Network, spec: DeviceSpec, random: Random, plan: FaultPlan) {
    this.world = world;
    this.net = net;
    this.spec = spec;
    this.random = random;
    this.plan = plan;
    if (spec.store === 'flash')
      this.#flashBytes = new SimulatedFlash({ blockSize: 4096, blocks: spec.flashBlocks, seed: random.u32() });
    this.#boot();
  }

  get client(): RobustClient {
    return this.boot.client;
  }
  get alive(): boolean {
    return this.boot.alive;
  }

  note(text: string): void {
    this.world.trace?.note(this.world.now, this.spec.name, text);
  }

  #boot(): void {
    const spec = this.spec;
    const index = ++this.boots;
    const origin = spec.clockRestarts || index === 1 ? this.#origin() : this.boot.clock.origin;
    const boot = new Boot(this, index, origin);
    let store: Store;
    if (spec.store === 'flash') {
      const flash = index === 1 ? this.#flashBytes! : this.#flashBytes!.clone(this.random.u32());
      this.#flashBytes = flash;
      boot.flash = flash;
      boot.gate = new GatedFlash(flash, this.random.u32());
      store = new FlashStore(boot.gate);
      // what the flash gave back: the checker learns each message's key of this boot
      for (const m of store.messages()) {
        const rec = this.records.find((r) => r.msgId === msgIdOf(m.payload));
        if (!rec) {
          this.world.fail('store-integrity', `${spec.name}: the flash gave back a message never published`);
        }
        rec.recovered.push(index);
        boot.byKey.set(m.key, rec);
      }
      // what it reports lost to damage: the client gives each its status (dropped) under its old key
      for (const lost of store.damage?.lost ?? []) {
        const rec = this.#heldUnder(lost.key);
        if (!rec)
          this.world.fail('store-integrity', `${spec.name}: the flash reports lost a key ${lost.key} it never had`);
        this.damaged++;
        this.note(`the flash reports ${rec.msgId} (key ${lost.key}) lost to damage`);
        boot.byKey.set(lost.key, rec);
      }
    } else store = new MemoryStore();
    boot.store = store;
    store = recorded(store, boot.removed);
    const factory = this.net.factory(boot);
    // MQTT 5: @umqtt/robust/v5's client (session expiry, refusals by reason code, TTL as Message
    // Expiry, the broker's DISCONNECT reasons in the reconnect delay)
    const v5 = spec.mqtt5;
    const Client = v5 ? RobustClient5 : RobustClient;
    const client = new Client({
      ...(v5 && { sessionExpiry: v5.sessionExpiry, properties: { receiveMaximum: v5.receiveMaximum } }),
      socket: (o) => {
        this.attempts++;
        this.lastAttempt = this.world.now;
        if (!this.linkUp)
          this.world.fail(
            'link-down-quiet',
            `${spec.name}: a connection attempt while the client was told its link is down`,
          );
        return factory(o);
      },
      timers: boot.clock,
      servers: spec.servers,
      clientId: spec.clientId,
      store,
      keepAlive: spec.keepAlive,
      connectTimeout: spec.connectTimeout,
      messageTimeout: spec.messageTimeout,
      socketTimeout: spec.socketTimeout,
      maxInflight: spec.maxInflight,
      backoff: spec.backoff,
      policy: spec.policy,
      random: () => this.random.next(),
      clean: spec.clean,
      logger: (issue) => {
        this.note(`issue ${issue.place} ${issue.error.code}: ${issue.error.message}`);
        if (boot.alive) this.lastError = issue.error;
        if (issue.error.code === PROTOCOL_ERROR && boot.alive) this.onProtocolError?.(issue.error.message);
      },
    });
    boot.client = client;
    client.onStatus = (key, status, reason) => this.#status(boot, key, status, reason);
    client.onMessage = (m) => {
      if (!boot.alive) return;
      this.received.push({
        msgId: msgIdOf(m.payload),
        topic: m.topic,
        qos: m.qos,
        dup: m.dup,
        retain: m.retain,
        at: this.world.now,
        boot: index,
      });
    };
    client.onState = (state) => {
      if (!boot.alive) return;
      this.note(`state ${state}`);
      this.state = state;
      this.stateSince = this.world.now;
      this.states.push({ state, at: this.world.now });
    };
    client.onWritable = () => boot.alive && this.onWritable?.();
    for (const s of spec.subscriptions) client.subscribe([s]);
    if (!this.linkUp) client.setLink(false);
    this.boot = boot;
    this.#history[index] = boot;
    this.state = 'idle';
    this.stateSince = this.world.now;
    if (index > 1) this.note(`boots (${index}), ${store.count} messages held on ${spec.store}`);
    this.onBoot?.();
    if (this.started) this.#run(() => client.start());
  }

  #origin(): number {
    const r = this.random;
    switch (r.int(0, 3)) {
      case 0:
        return r.float(0, 2000); // a fresh process: performance.now() starts near 0
      case 1:
        return 864_000_000 + r.next(); // up for ten days, fractional
      case 2:
        return 4294967296 - r.float(5_000, 600_000); // a 32-bit tick counter about to wrap (the glue keeps counting)
      default:
        return r.float(0, 1e7) + r.next();
    }
  }

  /** The message the latest boot before this one held under `key`, still without a status. */
  #heldUnder(key: number): PubRecord | undefined {
    for (let i = this.#history.length - 1; i > 0; i--) {
      const rec = this.#history[i]?.byKey.get(key);
      if (rec) return rec.statuses.length ? undefined : rec;
    }
    return undefined;
  }

  /** Whether the client of boot `index` told its store to remove the message `rec`. */
  removedIn(index: number, rec: PubRecord): boolean {
    const boot = this.#history[index];
    if (!boot) return false;
    for (const [key, r] of boot.byKey) if (r === rec) return boot.removed.has(key);
    return false;
  }

  start(): void {
    this.started = true;
    this.#run(() => this.client.start());
  }

  /** The platform's link event (Wi-Fi lost or back): the glue calls `setLink`. */
  setLink(up: boolean): void {
    const was = this.linkUp;
    this.linkUp = up;
    this.note(`link ${up ? 'up' : 'down'}`);
    this.#run(() => this.client.setLink(up));
    if (up && !was && this.alive && this.started && this.client.state === 'offline')
      this.world.fail('link-up-attempt', `${this.spec.name}: told its link is up, the client made no attempt at once`);
  }

  /** Runs application code on the device (a workload's publish): power loss inside it ends the boot. */
  #run<T>(fn: () => T): T | undefined {
    const boot = this.boot;
    if (!boot.alive) return undefined;
    this.world.touch();
    try {
      return fn();
    } catch (e) {
      if (!(e instanceof PowerLoss)) throw e;
      return undefined;
    } finally {
      this.afterCallback(boot);
    }
  }

  /**
   * The application publishes. `kind` names the workload; the payload starts with the message's
   * identity (`d1/17 `) and is padded to `size` bytes.
   */
  publish(kind: string, topic: string, opts: RobustPublishOptions, size: number): PubRecord | undefined {
    const boot = this.boot;
    if (!boot.alive) return undefined;
    const serial = ++this.#serial;
    const msgId = `${this.spec.name}/${serial}`;
    const head = `${msgId} ${kind}`;
    const payload = new Uint8Array(Math.max(size, head.length + 1)).fill(46);
    for (let i = 0; i < head.length; i++) payload[i] = head.charCodeAt(i);
    const rec: PubRecord = {
      serial,
      msgId,
      kind,
      topic,
      qos: opts.qos ?? 0,
      retain: !!opts.retain,
      ttl: opts.ttl ?? 0,
      priority: opts.priority ?? 0,
      at: this.world.now,
      boot: boot.index,
      key: undefined,
      statuses: [],
      inDoubt: false,
      crashLost: false,
      recovered: [],
    };
    this.records.push(rec);
    this.world.touch();
    let key: number | undefined;
    let threw = false;
    try {
      key = boot.client.publish(topic, payload, opts);
    } catch (e) {
      threw = true;
      if (!(e instanceof PowerLoss)) throw e;
    } finally {
      this.afterCallback(boot);
    }
    if (threw || !boot.alive) {
      rec.inDoubt = true;
      this.note(`publish ${msgId} cut by the power loss`);
      return rec;
    }
    rec.key = key;
    if (this.world.trace) this.note(`publish ${msgId} ${topic} q${rec.qos} -> key ${key}`);
    if (key === 0) boot.refused.push(rec);
    else boot.byKey.set(key!, rec);
    return rec;
  }

  #status(boot: Boot, key: number, status: FinalStatus, reason: string | undefined): void {
    if (!boot.alive) return;
    const rec = key === 0 ? boot.refused.shift() : boot.byKey.get(key);
    if (!rec)
      this.world.fail(
        'one-final-status',
        `${this.spec.name}: status ${status} for key ${key}, which no publish returned`,
      );
    rec.statuses.push({ status, reason, at: this.world.now });
    this.note(`status ${rec.msgId} ${status}${reason ? ` (${reason})` : ''}`);
    if (rec.statuses.length > 1)
      this.world.fail(
        'one-final-status',
        `${rec.msgId} got a second final status: ${rec.statuses.map((s) => s.status).join(', ')}`,
      );
  }

  /** After any code ran on the device: a power failure inside it ends the boot. */
  afterCallback(boot: Boot): void {
    if (boot === this.boot && !boot.dead && !boot.alive) this.#die('inside a flash operation');
  }

  /**
   * The power fails and comes back `offFor` ms later. A flash device: the next few flash
   * operations may still run, the one after is torn (if none comes within `within` ms, the power
   * just goes). A memory device, or `within` 0: now.
   */
  powerCut(within: number, offFor: number): void {
    const boot = this.boot;
    if (!boot.alive || this.#offFor !== undefined) return;
    this.cuts++;
    this.#offFor = offFor;
    if (boot.gate && within > 0) {
      const ops = this.random.int(0, 12);
      this.note(`power fails within ${ops} flash operations or ${within.toFixed(0)} ms`);
      boot.gate.budget = ops;
      this.#cutTimer = this.world.after(within, () => boot === this.boot && boot.alive && this.#die('at an instant'));
    } else this.#die('at an instant');
  }

  /** The faults stop: no power cut pending, and a dead device boots now. */
  calm(): void {
    this.world.cancel(this.#cutTimer);
    if (this.boot.gate) this.boot.gate.budget = Infinity;
    if (this.boot.alive) this.#offFor = undefined;
    else this.#reboot();
  }

  #die(how: string): void {
    const boot = this.boot;
    boot.dead = true;
    this.world.cancel(this.#cutTimer);
    boot.clock.kill();
    this.net.vanish(boot);
    const cut = boot.flash?.cut;
    this.note(`power lost ${how}${cut ? ` (${cut.op} at ${cut.offset} kept ${cut.kept})` : ''}`);
    if (this.spec.store === 'memory') {
      // what the memory held is gone: those messages get no status (exempt, counted)
      for (const rec of new Set([...boot.byKey.values()]))
        if (!rec.statuses.length && !rec.crashLost) {
          rec.crashLost = true;
          this.crashLosses++;
        }
    }
    this.state = 'idle';
    this.stateSince = this.world.now;
    this.#rebootTimer = this.world.after(this.#offFor ?? 0, () => this.#reboot());
  }

  #reboot(): void {
    this.world.cancel(this.#rebootTimer);
    this.#offFor = undefined;
    if (!this.boot.alive) this.#boot();
  }
}
