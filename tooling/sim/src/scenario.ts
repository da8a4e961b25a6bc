// One seed, one world: broker nodes, devices with their workloads, a subscriber that judges, a
// schedule of faults; then calm, and the checks. Everything is drawn from the seed.
import { PRESETS, type RobustPublishOptions } from '@umqtt/robust';
import { DEFAULT_MAX_INFLIGHT } from '@umqtt/session';
import { BrokerNode, BrokerState, MAX_INFLIGHT, NO_FAULTS, type BrokerFaults } from './broker.js';
import { BrokerLedger, finalChecks, stepChecks, watchStates, type Summary } from './checker.js';
import { CLOCK_HABITS, type ClockHabit } from './clock.js';
import { Device, type DeviceSpec, type FaultPlan } from './device.js';
import { enabled } from './exclusions.js';
import { Network, type ConnectionFaults, type LinkProfile } from './network.js';
import { Random } from './random.js';
import { Trace } from './trace.js';
import { World, type Violation } from './world.js';

export interface RunResult {
  seed: number;
  ok: boolean;
  violation: Violation | undefined;
  summary: Summary | undefined;
  /** The readable trace (replays only). */
  trace: Trace | undefined;
  /** Virtual time the run covered, ms. */
  virtual: number;
  /** Some clients could run on MQTT 5 (see {@link RunOptions.mqtt5}). */
  mqtt5: boolean;
}

export interface RunOptions {
  /** Keep a trace of packets, faults and states (replays). */
  trace?: boolean;
  /**
   * Let a share of the clients run on MQTT 5 (default: unless SIM_MQTT5=0). Off, the world is the
   * 3.1.1 one a seed drew before MQTT 5 was modelled: the regression seeds of 3.1.1 bugs keep it.
   */
  mqtt5?: boolean;
}

/** Chance that a client (a device, the subscriber) runs on MQTT 5. */
const MQTT5_SHARE = 0.35;
/** Topics the brokers' ACL denies publishing to (Mosquitto's acl_file); only MQTT 5 devices publish there. */
const DENIED = ['dev/+/denied'];

const PORT = 1883;

/** How often faults come: 0 is a calm seed; 3 is a storm. */
type Chaos = number;

/** Runs one seed and checks it. */
export async function runSeed(seed: number, options: RunOptions = {}): Promise<RunResult> {
  const world = new World(seed, options.trace ? new Trace(200000) : undefined);
  const r = world.random;
  // MQTT 5 is drawn from a stream of its own: the draws of the 3.1.1 world stay those of the seed
  const mqtt5 = options.mqtt5 ?? process.env['SIM_MQTT5'] !== '0';
  const r5 = new Random((seed ^ 0x5a5a5a5a) >>> 0);
  const ledger = new BrokerLedger(world);
  const net = new Network(world, r.fork());
  const state = new BrokerState(ledger, DENIED);
  const hosts = ['broker-a', 'broker-b', 'broker-c'].slice(0, r.pick([1, 1, 1, 2, 3]));
  const nodes = hosts.map((h) => {
    const node = new BrokerNode(world, r.fork(), h, state);
    net.listen(h, PORT, node);
    return node;
  });
  const chaos: Chaos = r.pick([0, 0.3, 1, 1, 3]);
  const faultPhase = r.pick([20_000, 60_000, 180_000, 600_000]);
  let calm = false;
  const plan: FaultPlan = { faults: (_host, rd) => (calm ? {} : connectionFaults(rd, chaos)) };
  const brokerFaults = drawBrokerFaults(r, chaos);
  // a broker that tells v5 clients why it ends a connection (takeover, shutdown), as Mosquitto 2.0.11 does not
  brokerFaults.reasons = r5.chance(0.4) ? 0.7 : 0;
  for (const n of nodes) n.faults = brokerFaults;

  const deviceCount = r.int(1, 3);
  const devices: Device[] = [];
  for (let i = 1; i <= deviceCount; i++) {
    const spec = drawSpec(r, `d${i}`, hosts);
    spec.mqtt5 = drawMqtt5(r5, mqtt5, [0xffffffff, 3600, 120, 20, 5]);
    devices.push(new Device(world, net, spec, r.fork(), plan));
  }
  const observerSpec = drawSpec(r, 'sub', hosts);
  observerSpec.store = 'memory';
  observerSpec.clean = false;
  observerSpec.subscriptions = [{ topic: 'dev/#', qos: 2 }];
  observerSpec.policy = { maxMessages: 1000 };
  // the judge's session never expires (what the broker queued for it must stay there)
  observerSpec.mqtt5 = drawMqtt5(r5, mqtt5, [0xffffffff]);
  const observer = new Device(world, net, observerSpec, r.fork(), plan);
  const everyone = [...devices, observer];
  world.steps.push(stepChecks(world, everyone));
  for (const d of everyone)
    d.onProtocolError = (message) => {
      // only a broker that broke the protocol earns one: a CONNACK with session present to a clean connect
      const lied = state.lies.get(d.spec.clientId);
      if (lied !== undefined && world.now - lied < 10_000) return;
      world.fail('no-protocol-error', `${d.spec.name} ended a connection with a protocol error: ${message}`);
    };
  for (const d of everyone) watchStates(world, d);

  // the subscriber starts first; the devices a moment later
  observer.start();
  for (const d of devices) world.after(r.float(500, 3000), () => d.start());
  for (const d of devices) scheduleWorkload(world, d, r.fork(), faultPhase, r5);
  scheduleCommands(world, observer, devices, r.fork(), faultPhase);
  scheduleFaults(world, r.fork(), chaos, faultPhase, net, nodes, devices, observer, state);
  world.every(10_000, () => net.sweep());

  // calm: every fault heals, nothing new breaks; then enough time for everything to settle
  world.at(faultPhase, () => {
    calm = true;
    world.trace?.note(world.now, 'world', 'calm: faults stop');
    for (const n of nodes) {
      n.faults = NO_FAULTS;
      n.freeze(false);
      for (const c of n.conns) if (!c.trickling) c.end.resume();
      net.setUp(n.name, true);
      net.setReachable(n.name, true);
    }
    net.healAll();
    for (const d of everyone) if (!d.linkUp) d.setLink(true);
    for (const d of devices) d.calm();
  });
  // a promise of the client rejected with nobody to catch it: an exception escaped into the platform
  const rejected = (reason: unknown) => {
    world.violation ??= {
      invariant: 'no-exception-into-platform',
      detail: `unhandled rejection: ${reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason)}`,
      time: world.now,
    };
  };
  process.on('unhandledRejection', rejected);
  let ok: boolean;
  try {
    // the faults phase, then (once calm has healed everything) the settle bound, which counts the
    // backlog left at that instant: a device that drains one message per round trip needs it
    ok = await world.run(faultPhase);
    if (ok) ok = await world.run(faultPhase + settleBound(everyone) + backlogBound(devices, observer, state));
  } finally {
    process.off('unhandledRejection', rejected);
  }
  let summary: Summary | undefined;
  if (ok) {
    try {
      summary = finalChecks(world, ledger, devices, observer, faultPhase, (to, id) => state.holds(to, id));
    } catch (e) {
      if (!world.violation) throw e;
    }
  }
  return {
    seed,
    ok: !world.violation,
    violation: world.violation,
    summary,
    trace: world.trace,
    virtual: world.now,
    mqtt5,
  };
}

/**
 * Whether a client runs on MQTT 5, and then its CONNECT's Session Expiry Interval (one of
 * `expiries`, seconds; 0xFFFFFFFF never) and, sometimes, a Receive Maximum below the broker's 20.
 */
function drawMqtt5(r5: Random, on: boolean, expiries: number[]): DeviceSpec['mqtt5'] {
  const v5 = r5.chance(MQTT5_SHARE);
  const sessionExpiry = r5.pick(expiries);
  const receiveMaximum = r5.chance(0.3) ? r5.int(1, 19) : undefined;
  return on && v5 ? { sessionExpiry, receiveMaximum } : undefined;
}

/** How long after the faults stop everything must have settled: from the clients' settings. */
export function settleBound(devices: Device[]): number {
  let worst = 0;
  for (const d of devices) {
    const s = d.spec;
    const detect = 1.5 * s.keepAlive * 1000 + s.socketTimeout; // a half-open link found
    const retry = ((typeof s.backoff === 'function' ? undefined : s.backoff.max) ?? 300_000) + s.connectTimeout;
    worst = Math.max(worst, detect + retry + 2 * s.messageTimeout);
  }
  return worst + 120_000;
}

/** Round trips of a QoS 2 exchange: PUBLISH, PUBREC, PUBREL, PUBCOMP (QoS 1 needs half). */
const TRIPS = 4;
/** Bytes of a message on the wire besides topic and payload: fixed header, packet id, the acknowledgements. */
const OVERHEAD = 64;

/**
 * How long the backlog at calm takes to drain once everyone is connected: per device, what it
 * holds, what its producers still owe and what the broker queued for it, through its window (each
 * window's worth costs the four one-way trips of a QoS 2 exchange at the link's worst latency)
 * and its link's throughput (bandwidth, or the receive window per trip when that is less); then
 * the subscriber, through which every device's messages pass, on its own link. Worst device plus
 * the subscriber: their drains overlap, so the sum is an upper bound.
 */
export function backlogBound(devices: Device[], observer: Device, state: BrokerState): number {
  const queuedFor = (d: Device) => {
    const s = state.sessions.get(d.spec.clientId);
    return s ? s.inflight.length + s.queued.length : 0;
  };
  const drain = (d: Device, messages: number, bytes: number, window: number) => {
    const link = d.spec.link;
    const oneWay = link.latency + link.jitter;
    const throughput = Math.min(link.bandwidth, link.window / oneWay);
    return Math.ceil(messages / window) * TRIPS * oneWay + (bytes + messages * OVERHEAD) / throughput;
  };
  const windowOf = (d: Device) => Math.min(d.spec.maxInflight ?? DEFAULT_MAX_INFLIGHT, MAX_INFLIGHT);
  let worst = 0;
  let toObserver = queuedFor(observer);
  let bytesToObserver = 0;
  for (const d of [...devices, observer]) {
    const held = d.alive ? d.client.held : 0;
    const bytes = (d.alive ? d.boot.store.bytes : 0) + d.owed * d.maxPayload;
    const down = queuedFor(d);
    const own = drain(d, held + d.owed, bytes, windowOf(d)) + drain(d, down, down * d.maxPayload, MAX_INFLIGHT);
    if (d !== observer) {
      toObserver += held + d.owed;
      bytesToObserver += bytes;
    }
    worst = Math.max(worst, own);
  }
  return worst + drain(observer, toObserver, bytesToObserver, MAX_INFLIGHT);
}

function drawBrokerFaults(r: Random, chaos: Chaos): BrokerFaults {
  const c = chaos;
  const dupPubrec = r.chance(0.3) ? 0.05 * c : 0;
  const dupPubcomp = r.chance(0.3) ? 0.05 * c : 0;
  const unknownAck = r.chance(0.2) ? 0.01 * c : 0;
  const spOnClean = r.chance(0.2) ? 0.2 * c : 0;
  const refuse = r.chance(0.3) ? 0.05 * c : 0;
  return { dupPubrec, dupPubcomp, unknownAck, sessionPresentOnClean: spOnClean, refuse, reasons: 0 };
}

function connectionFaults(r: Random, c: Chaos): ConnectionFaults {
  const f: ConnectionFaults = {};
  if (!c) return f;
  if (r.chance(0.02 * c)) f.dns = true;
  if (r.chance(0.03 * c)) f.hang = r.logUniform(2_000, 130_000);
  if (r.chance(0.12 * c)) f.resetUp = Math.floor(r.logUniform(1, 200_000));
  if (r.chance(0.12 * c)) f.resetDown = Math.floor(r.logUniform(1, 200_000));
  if (r.chance(0.04 * c)) f.halfOpen = r.logUniform(100, 120_000);
  return f;
}

function drawSpec(r: Random, name: string, hosts: string[]): DeviceSpec {
  const clock: ClockHabit = r.pick(CLOCK_HABITS);
  const latency = r.logUniform(0.2, 300);
  const link: LinkProfile = {
    latency,
    jitter: latency * r.next(),
    bandwidth: r.logUniform(10, 20_000),
    mss: r.pick([536, 1460]),
    fragment: r.float(0, 0.5),
    sendBuffer: r.pick([2048, 5744, 16384, 262144]),
    window: r.pick([2920, 5744, 65535]),
    writable: r.pick(['drain', 'sent'] as const),
  };
  const order = [...hosts];
  const shift = r.int(0, order.length - 1);
  const servers = [...order.slice(shift), ...order.slice(0, shift)].map((host) => ({ host, port: PORT }));
  return {
    name,
    clientId: name,
    store: r.chance(0.5) ? 'flash' : 'memory',
    clock,
    tick: r.pick([1, 10]),
    clockRestarts: r.chance(0.5),
    link,
    servers,
    keepAlive: r.pick([5, 10, 15, 30, 60]),
    connectTimeout: r.pick([2000, 5000, 10_000]),
    messageTimeout: r.pick([0, 3000, 10_000, 30_000]),
    socketTimeout: r.pick([3000, 10_000, 30_000]),
    maxInflight: r.pick([undefined, undefined, 1, 4, 16, 20]),
    backoff: {
      min: r.pick([100, 500, 1000]),
      max: r.pick([2000, 10_000, 60_000, 60_000, 300_000]),
      stableAfter: r.pick([5000, 60_000]),
    },
    policy: {
      maxMessages: r.pick([10, 50, 1000]),
      maxBytes: r.pick([4096, 65536, 1 << 20]),
    },
    subscriptions: [{ topic: `cmd/${name}`, qos: r.pick([1, 2] as const) }],
    flashBlocks: r.pick([8, 16, 32]),
    // a clean session loses what the broker held at every reconnect (QoS 2 past PUBREC is published again)
    clean: r.chance(0.2),
    mqtt5: undefined,
  };
}

interface Kind {
  name: string;
  topic: (d: Device) => string;
  opts: RobustPublishOptions;
}

/** A kind only MQTT 5 devices publish: a topic the ACL denies (0x87 not authorized, never delivered). */
const DENIED_KIND: Kind = { name: 'denied', topic: (d) => `dev/${d.spec.name}/denied`, opts: { qos: 1, priority: 0 } };

const KINDS: Kind[] = [
  { name: 'temperature', topic: (d) => `dev/${d.spec.name}/temp`, opts: PRESETS.temperature },
  { name: 'button', topic: (d) => `dev/${d.spec.name}/button`, opts: PRESETS.button },
  { name: 'alarm', topic: (d) => `dev/${d.spec.name}/alarm`, opts: PRESETS.alarm },
  { name: 'q1', topic: (d) => `dev/${d.spec.name}/q1`, opts: { qos: 1, priority: 3 } },
  { name: 'q2', topic: (d) => `dev/${d.spec.name}/q2`, opts: { qos: 2, priority: 4 } },
  { name: 'state', topic: (d) => `dev/${d.spec.name}/state`, opts: { qos: 1, retain: true, priority: 2 } },
  { name: 'ttl', topic: (d) => `dev/${d.spec.name}/ttl`, opts: { qos: 1, ttl: 5000, priority: 1 } },
];

/** The device's application: a few kinds of messages at their own pace, some in bursts. */
function scheduleWorkload(world: World, d: Device, r: Random, until: number, r5: Random): void {
  const kinds = KINDS.filter(() => r.chance(0.5));
  if (!kinds.length) kinds.push(r.pick(KINDS));
  const bigPayloads = d.spec.store === 'memory' && r.chance(0.2);
  const size = () => (bigPayloads && r.chance(0.1) ? r.int(4096, 6000) : r.int(8, 200));
  if (bigPayloads) d.maxPayload = 6000;
  for (const kind of kinds) scheduleKind(world, d, kind, r, until, size);
  // an MQTT 5 device sometimes publishes where the ACL says no: the refusal must end non-delivered
  // (on a stream of its own: the other kinds' draws do not depend on it)
  const rd = r5.fork();
  const denied = rd.chance(0.4)
    ? { ...DENIED_KIND, opts: { ...DENIED_KIND.opts, qos: rd.pick([1, 2] as const) } }
    : undefined;
  if (d.spec.mqtt5 && denied) scheduleKind(world, d, denied, rd, until, () => rd.int(8, 200));
}

/** One kind of message of a device's application, at its own pace, some in bursts. */
function scheduleKind(world: World, d: Device, kind: Kind, r: Random, until: number, size: () => number): void {
  {
    const mean = until / r.int(3, 60);
    const burst = r.chance(0.3) ? r.int(2, 40) : 1;
    const streaming = burst > 1 && r.chance(0.5);
    let t = r.float(1000, mean);
    while (t < until) {
      const n = r.chance(0.2) ? burst : 1;
      world.at(t, () => {
        if (!d.alive) return;
        const topic = kind.topic(d);
        if (!streaming) {
          for (let i = 0; i < n; i++) d.publish(kind.name, topic, kind.opts, size());
          return;
        }
        // a producer that publishes while the client is writable and goes on in onWritable
        let left = n;
        const go = () => {
          while (left > 0 && d.alive && d.client.writable) {
            left--;
            d.publish(kind.name, topic, kind.opts, size());
          }
          if (left > 0 && d.alive && d.state !== 'online') {
            // offline: queue the rest by the policy, as an application that cannot wait would
            for (; left > 0; left--) d.publish(kind.name, topic, kind.opts, size());
          }
          // (the one producer waiting is the latest: one that started since abandoned this one)
          d.onWritable = left > 0 ? go : undefined;
          d.owed = left;
        };
        go();
      });
      t += r.float(0, 2 * mean);
    }
  }
}

/** The subscriber sends commands to the devices now and then. */
function scheduleCommands(world: World, observer: Device, devices: Device[], r: Random, until: number): void {
  if (r.chance(0.3)) return;
  const mean = r.logUniform(2000, 60_000);
  for (let t = r.float(2000, mean); t < until; t += r.float(0, 2 * mean)) {
    const d = r.pick(devices);
    const qos = r.pick([1, 2] as const);
    world.at(t, () => observer.publish('command', `cmd/${d.spec.name}`, { qos }, r.int(8, 100)));
  }
}

/** Faults over the fault phase, from the seed. */
function scheduleFaults(
  world: World,
  r: Random,
  chaos: Chaos,
  until: number,
  net: Network,
  nodes: BrokerNode[],
  devices: Device[],
  observer: Device,
  state: BrokerState,
): void {
  if (!chaos) return;
  const everyone = [...devices, observer];
  const poisson = (perMinute: number, fn: (r: Random) => void) => {
    const rate = (perMinute * chaos) / 60_000;
    if (rate <= 0) return;
    for (let t = -Math.log(1 - r.next()) / rate; t < until; t += -Math.log(1 - r.next()) / rate) {
      const rr = r.fork();
      world.at(t, () => fn(rr));
    }
  };
  const note = (text: string) => world.trace?.note(world.now, 'fault', text);
  // partitions between a client and one broker (or all)
  poisson(1, (rr) => {
    const d = rr.pick(everyone);
    const host = rr.chance(0.5) ? '*' : rr.pick(nodes).name;
    const ms = rr.logUniform(200, 90_000);
    // cut from everything is the device's own link down: half the time its platform says so (setLink)
    const signal = host === '*' && rr.chance(0.5);
    note(`partition ${d.spec.name} from ${host} for ${ms.toFixed(0)} ms${signal ? ', the client told' : ''}`);
    net.partition(d.spec.name, host, true);
    if (signal) d.setLink(false);
    world.after(ms, () => {
      net.partition(d.spec.name, host, false);
      if (signal) d.setLink(true);
    });
  });
  // a broker process stops and starts again, keeping its state (persistence, clean shutdown)
  poisson(0.3, (rr) => {
    const n = rr.pick(nodes);
    const ms = rr.logUniform(300, 30_000);
    note(`${n.name} stops for ${ms.toFixed(0)} ms (state kept)`);
    const told = n.shuttingDown(); // a broker with the `reasons` habit says so to its v5 clients (0x8B)
    net.setUp(n.name, false, told);
    n.stop();
    world.after(ms, () => net.setUp(n.name, true));
  });
  // the broker crashes and comes back without its state
  poisson(0.1, (rr) => {
    const ms = rr.logUniform(300, 30_000);
    note(`the brokers crash for ${ms.toFixed(0)} ms (state lost)`);
    for (const n of nodes) {
      net.setUp(n.name, false);
      n.stop();
    }
    state.lose();
    world.after(ms, () => {
      for (const n of nodes) net.setUp(n.name, true);
    });
  });
  // a broker machine becomes unreachable (packets wait, connects hang)
  poisson(0.3, (rr) => {
    const n = rr.pick(nodes);
    const ms = rr.logUniform(500, 60_000);
    note(`${n.name} unreachable for ${ms.toFixed(0)} ms`);
    net.setReachable(n.name, false);
    world.after(ms, () => net.setReachable(n.name, true));
  });
  // power cuts of devices (not the subscriber: incoming QoS 2 across a reboot is issue 16)
  poisson(0.5, (rr) => {
    const d = rr.pick(devices);
    const within = rr.chance(0.7) ? rr.logUniform(1, 5000) : 0;
    const off = rr.logUniform(50, 20_000);
    if (!d.alive) return;
    // a memory device forgets the QoS 2 messages the broker holds for its session (found #3, excluded)
    const held = state.sessions.get(d.spec.clientId)?.incoming.size ?? 0;
    if (d.spec.store === 'memory' && held && !enabled('memory-reboot-qos2')) return;
    note(`power cut of ${d.spec.name}`);
    d.powerCut(within, off);
  });
  // a broker that freezes, or stops reading one connection (slow reader)
  poisson(0.2, (rr) => {
    const n = rr.pick(nodes);
    const ms = rr.logUniform(500, 40_000);
    const frozen = rr.chance(0.5);
    const conns = [...n.conns];
    const c = conns.length ? rr.pick(conns) : undefined;
    if (frozen) {
      note(`${n.name} freezes for ${ms.toFixed(0)} ms`);
      n.freeze(true);
      world.after(ms, () => n.freeze(false));
    } else if (c) {
      note(`${n.name} stops reading ${c.clientId} for ${ms.toFixed(0)} ms`);
      c.end.pause();
      world.after(ms, () => c.end.resume());
    }
  });
  // a hostile peer trickling bytes on one connection
  poisson(0.05, (rr) => {
    rr.pick(nodes).trickle();
  });
}
