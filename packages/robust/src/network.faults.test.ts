import { ArrayStore } from './array-store.test-support.js';
import { cleanupAfterEach } from './harness.test-support.js';
// @umqtt/robust under network faults, over real sockets and real time, against Eclipse Mosquitto
// (persistence on) and aedes (the testkit's embedded broker; pause()/resume() keep its sessions):
//   0. no fault: a queue longer than the in-flight window drains by itself (regression);
//   1. a stream through seeded chaos: resets at random byte offsets and directions through the
//      fault proxy, and one broker restart in the middle;
//   2. a half-open connection (blackhole), found by keepalive;
//   3. failover between two brokers;
//   4. a broker that is down for a while;
//   5. (extra) a slow network: round trips longer than messageTimeout.
//
// Replay a chaos run with UMQTT_SEED=<seed printed at its start>. The chaos is seeded; timing on
// a real network is not, so a replay repeats the same faults, not the same interleaving.
// On a failure, packet traces of the clients are written under $TMPDIR/umqtt-faults-traces.
//
// Everything lives in this one file on purpose: a helper module under src/ would be compiled by
// the package build (tsconfig.json excludes only *.test.ts), and it needs node:* modules.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  freePort,
  mosquittoOrSkip,
  mosquittoPath,
  startAedes,
  startFaultProxy,
  startMosquitto,
  waitFor,
  type AedesHandle,
  type Direction,
  type FaultProxy,
} from '@umqtt/testkit';
import { Parser, clientDecoders, serverDecoders, type Packet } from '@umqtt/codec';
import { MqttClient, type Issue, type SocketFactory } from '@umqtt/simple';
import { createTcpSocketFactory, nodeTimers } from '../../../apps/node/src/transport/index.ts';
import { RobustClient, type FinalStatus, type RobustOptions, type RobustState, type Server } from './index.js';

const skipMosquitto = mosquittoOrSkip();
const BASE_SEED =
  process.env['UMQTT_SEED'] !== undefined
    ? Number(process.env['UMQTT_SEED']) >>> 0
    : (Date.now() ^ (process.pid << 16)) >>> 0;

// ---- small things ------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const decoder = new TextDecoder();

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function prng(seed: number): { (): number; int(lo: number, hi: number): number } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Object.assign(next, { int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)) });
}

let serial = 0;
const unique = (name: string) => `${name}-${process.pid}-${++serial}`;

/** What each test started, stopped after it in reverse order. */
const cleanup = cleanupAfterEach();

/**
 * An in-memory Store, as @umqtt/store-memory's MemoryStore (which robust's tests cannot import:
 * store-memory depends on robust, and robust's typecheck runs before store-memory is built).
 */

// ---- brokers -----------------------------------------------------------------------------------

/** A broker the tests can take down and bring back on the same port, its sessions kept. */
interface TestBroker {
  kind: 'mosquitto' | 'aedes';
  host: string;
  port: number;
  /** Down, then up again at once (sessions and queued messages kept). */
  restart(): Promise<void>;
  /** Down (the port refuses connections) until start(). Sessions are kept. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Gone for good. */
  close(): Promise<void>;
  log(): string;
  /**
   * aedes only: every (topic, payload) the broker accepted from a client and published, with
   * the time. Where exactly-once is judged for aedes (see the chaos test).
   */
  published?: Map<string, { seq: number; at: number }[]>;
}

/** The testkit's Mosquitto with persistence: restart() on the same port; stop() is final. */
async function testkitMosquitto(): Promise<TestBroker> {
  const m = await startMosquitto({ persistence: true });
  cleanup(() => m.stop());
  return {
    kind: 'mosquitto',
    host: m.host,
    port: m.port,
    restart: () => m.restart(),
    stop: () => m.stop(),
    start: () => Promise.reject(new Error('the testkit Mosquitto cannot start again after stop()')),
    close: () => m.stop(),
    log: () => m.log(),
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

const liveChildren = new Set<ChildProcess>();
let exitHook = false;

/**
 * Mosquitto with persistence that can stay down for a while: the testkit's handle only has
 * restart() (stop + start at once) and a final stop() that removes its persistence dir.
 */
async function stoppableMosquitto(): Promise<TestBroker> {
  const executable = mosquittoPath();
  if (executable === undefined) throw new Error('mosquitto is not installed');
  const dir = await mkdtemp(join(tmpdir(), 'umqtt-faults-'));
  const port = await freePort();
  const config = join(dir, 'mosquitto.conf');
  const lines = [
    ...(process.getuid?.() === 0 ? ['user root'] : []),
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'log_dest stderr',
    'persistence true',
    `persistence_location ${dir}/`,
  ];
  await writeFile(config, `${lines.join('\n')}\n`);
  let child: ChildProcess | undefined;
  let log = '';
  let setpriv: string | undefined = '/usr/bin/setpriv';
  try {
    accessSync(setpriv, constants.X_OK);
  } catch {
    setpriv = undefined;
  }
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const c of liveChildren) c.kill('SIGKILL');
    });
  }
  const start = async () => {
    if (child) return;
    const argv = [...(setpriv ? [setpriv, '--pdeathsig', 'KILL', '--'] : []), executable, '-c', config];
    const c = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    liveChildren.add(c);
    let exited = false;
    c.once('exit', () => {
      exited = true;
      liveChildren.delete(c);
    });
    const append = (b: Buffer) => (log = (log + b.toString('utf8')).slice(-(1 << 20)));
    c.stdout?.on('data', append);
    c.stderr?.on('data', append);
    const deadline = performance.now() + 10_000;
    while (!exited && performance.now() < deadline) {
      if (await canConnect(port)) return;
      await sleep(20);
    }
    throw new Error(`mosquitto did not start on ${port}:\n${log}`);
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM'); // persistence is saved on SIGTERM
    const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  await start();
  const close = async () => {
    await stop();
    await rm(dir, { recursive: true, force: true });
  };
  cleanup(close);
  return {
    kind: 'mosquitto',
    host: '127.0.0.1',
    port,
    restart: async () => (await stop(), await start()),
    stop,
    start,
    close,
    log: () => log,
  };
}

/**
 * The testkit's aedes: pause() stops listening and drops every connection, resume() listens
 * again on the same port; the broker instance and its in-memory sessions stay. That is the
 * aedes "restart with persistence" here (a new aedes instance would start without sessions).
 */
async function testkitAedes(): Promise<TestBroker> {
  const a: AedesHandle = await startAedes();
  cleanup(() => a.close());
  const published = new Map<string, { seq: number; at: number }[]>();
  a.broker.on('publish', (packet, client) => {
    if (!client || packet.topic.startsWith('$')) return;
    let l = published.get(packet.topic);
    if (!l) published.set(packet.topic, (l = []));
    l.push({ seq: Number(packet.payload.toString()), at: performance.now() });
  });
  return {
    kind: 'aedes',
    host: a.host,
    port: a.port,
    restart: async () => (await a.pause(), await a.resume()),
    stop: () => a.pause(),
    start: () => a.resume(),
    close: () => a.close(),
    log: () => '',
    published,
  };
}

async function proxyTo(b: { host: string; port: number }): Promise<FaultProxy> {
  const p = await startFaultProxy({ host: b.host, port: b.port });
  cleanup(() => p.close());
  return p;
}

// ---- clients -----------------------------------------------------------------------------------

/**
 * A packet trace of one client's connections (diagnostics): a TCP socket factory that parses a
 * copy of what is written and read. `<` from the broker, `>` to it; #n is the connection.
 */
class Trace {
  readonly lines: string[] = [];
  #conns = 0;
  constructor(readonly who: string) {}

  factory(): SocketFactory {
    const inner = createTcpSocketFactory();
    return (options) => {
      const conn = ++this.#conns;
      const parsers = { '<': new Parser(clientDecoders), '>': new Parser(serverDecoders) };
      const seen = (dir: '<' | '>', bytes: Uint8Array) => {
        try {
          parsers[dir].push(bytes.slice());
          for (let p = parsers[dir].read(); p; p = parsers[dir].read())
            this.lines.push(`${Math.round(performance.now())} ${this.who}#${conn} ${dir} ${show(p)}`);
        } catch (e) {
          this.lines.push(`${Math.round(performance.now())} ${this.who}#${conn} ${dir} unparsable: ${String(e)}`);
        }
      };
      const socket = inner({
        ...options,
        onError: (e) => {
          this.lines.push(`${Math.round(performance.now())} ${this.who}#${conn} closed: ${String(e)}`);
          options.onError(e);
        },
      });
      return {
        read() {
          const b = socket.read();
          if (b) seen('<', b instanceof Uint8Array ? b : new Uint8Array(b));
          return b;
        },
        write(bytes) {
          seen('>', bytes);
          return socket.write(bytes);
        },
        close: () => socket.close(),
      };
    };
  }

  /** Writes the trace to a file and returns its path. */
  async save(name: string): Promise<string> {
    const dir = join(tmpdir(), 'umqtt-faults-traces');
    await mkdir(dir, { recursive: true });
    const file = join(dir, `${name}-${process.pid}-${Date.now()}.log`);
    await writeFile(file, `${this.lines.join('\n')}\n`);
    return file;
  }
}

const NAMES = [
  '',
  'CONNECT',
  'CONNACK',
  'PUBLISH',
  'PUBACK',
  'PUBREC',
  'PUBREL',
  'PUBCOMP',
  'SUBSCRIBE',
  'SUBACK',
  'UNSUBSCRIBE',
  'UNSUBACK',
  'PINGREQ',
  'PINGRESP',
  'DISCONNECT',
];
function show(p: Packet): string {
  const q = p as Packet & {
    id?: number;
    qos?: number;
    dup?: boolean;
    topic?: string;
    payload?: Uint8Array;
    sessionPresent?: boolean;
    returnCode?: number;
    clean?: boolean;
  };
  if (p.type === 3)
    return `PUBLISH q${q.qos ?? 0}${q.dup ? ' dup' : ''} id=${q.id ?? '-'} ${q.topic}=${decoder.decode(q.payload)}`;
  if (p.type === 2) return `CONNACK sp=${q.sessionPresent} rc=${q.returnCode}`;
  if (p.type === 1) return `CONNECT clean=${q.clean}`;
  return `${NAMES[p.type]}${q.id !== undefined ? ` id=${q.id}` : ''}`;
}

/** A plain @umqtt/simple subscriber (clean false, QoS 2) that reconnects itself when dropped. */
class Subscriber {
  readonly client: MqttClient;
  /** Every receipt, in order, per topic. */
  readonly got = new Map<string, { seq: number; qos: number; dup: boolean; at: number }[]>();
  connects = 0;
  /** Connection events with their time, for diagnostics. */
  readonly log: string[] = [];
  #stopped = false;
  #looping = false;
  #subscribed = false;
  #subId = 0;
  #subDone: ((status: string) => void) | undefined;

  constructor(
    broker: { host: string; port: number },
    readonly filter: string,
    clientId = unique('sub'),
    socket: SocketFactory = createTcpSocketFactory(),
  ) {
    this.client = new MqttClient({
      socket,
      timers: nodeTimers,
      host: broker.host,
      port: broker.port,
      clientId,
      clean: false,
      keepAlive: 5,
      connectTimeout: 2000,
    });
    this.client.onMessage = (m) => {
      let list = this.got.get(m.topic);
      if (!list) this.got.set(m.topic, (list = []));
      list.push({ seq: Number(decoder.decode(m.payload)), qos: m.qos, dup: m.dup, at: performance.now() });
    };
    this.client.onStatus = (id, status) => {
      if (id === this.#subId) this.#subDone?.(status);
    };
    this.client.onClose = (e) => {
      this.log.push(`${Math.round(performance.now())}:closed(${e?.code ?? ''})`);
      void this.#loop();
    };
    cleanup(() => this.stop());
  }

  /** Connects and subscribes; resolves once the first SUBACK arrived. */
  async start(): Promise<void> {
    await this.#loop();
    await waitFor(() => this.#subscribed, { timeout: 5000, message: 'subscriber ready' });
  }

  count(topic: string): number {
    return this.got.get(topic)?.length ?? 0;
  }

  /** Distinct sequence numbers received on `topic`. */
  distinct(topic: string): Set<number> {
    return new Set((this.got.get(topic) ?? []).map((r) => r.seq));
  }

  stop(): void {
    this.#stopped = true;
    this.client.disconnect();
  }

  async #loop(): Promise<void> {
    if (this.#looping || this.#stopped) return;
    this.#looping = true;
    try {
      while (!this.#stopped && this.client.state !== 'connected') {
        let present: boolean;
        try {
          present = await this.client.connect();
        } catch {
          await sleep(50);
          continue;
        }
        this.connects++;
        this.log.push(`${Math.round(performance.now())}:connected(present=${present})`);
        if (present && this.#subscribed) break;
        const status = await new Promise<string>((resolve) => {
          this.#subDone = resolve;
          try {
            this.#subId = this.client.subscribe(this.filter, 2);
          } catch {
            resolve('not connected');
          }
        });
        if (status === 'delivered') this.#subscribed = true;
      }
    } finally {
      this.#looping = false;
    }
    if (!this.#stopped && this.client.state !== 'connected') return this.#loop();
  }
}

interface Recorded {
  client: RobustClient;
  statuses: Map<number, { status: FinalStatus; reason: string | undefined }[]>;
  issues: { at: number; code: string; place: string; message: string }[];
  states: { at: number; state: RobustState }[];
  /** Times the client went from online to offline. */
  drops: number;
  t0: number;
}

function publisher(servers: Server[], options: Partial<RobustOptions> = {}): Recorded {
  const t0 = performance.now();
  const r: Recorded = {
    client: undefined as unknown as RobustClient,
    statuses: new Map(),
    issues: [],
    states: [],
    drops: 0,
    t0,
  };
  const client = new RobustClient({
    socket: createTcpSocketFactory(),
    timers: nodeTimers,
    servers,
    clientId: unique('pub'),
    clean: false,
    store: new ArrayStore(),
    keepAlive: 2,
    messageTimeout: 3000,
    connectTimeout: 2000,
    backoff: { min: 50, max: 500 },
    policy: { maxMessages: 20_000, maxBytes: 8 << 20 },
    logger: (issue: Issue) =>
      r.issues.push({
        at: Math.round(performance.now() - t0),
        code: issue.error.code,
        place: issue.place,
        message: issue.error.message,
      }),
    ...options,
  });
  r.client = client;
  let last: RobustState = 'idle';
  client.onState = (state) => {
    if (last === 'online' && state !== 'online') r.drops++;
    last = state;
    r.states.push({ at: Math.round(performance.now() - t0), state });
  };
  client.onStatus = (key, status, reason) => {
    let list = r.statuses.get(key);
    if (!list) r.statuses.set(key, (list = []));
    list.push({ status, reason });
  };
  cleanup(() => client.stop());
  return r;
}

/** Keys whose statuses are not exactly one 'delivered'. */
function badStatuses(r: Recorded, keys: number[]): string[] {
  const bad: string[] = [];
  for (const k of keys) {
    const s = r.statuses.get(k) ?? [];
    if (s.length !== 1 || s[0]!.status !== 'delivered')
      bad.push(`${k}:${s.map((x) => `${x.status}(${x.reason ?? ''})`).join(',') || 'none'}`);
  }
  return bad;
}

function missing(got: Set<number>, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (!got.has(i)) out.push(i);
  return out;
}

/** Every receipt of each sequence number received more than once, with its time since t0. */
function duplicates(list: { seq: number; dup: boolean; at: number }[], t0: number): string {
  const by = new Map<number, string[]>();
  list.forEach((r, i) => {
    const l = by.get(r.seq) ?? [];
    l.push(`#${i} ${Math.round(r.at - t0)}ms${r.dup ? ' dup' : ''}`);
    by.set(r.seq, l);
  });
  return [...by]
    .filter(([, l]) => l.length > 1)
    .map(([seq, l]) => `  ${seq}: ${l.join(', ')}`)
    .join('\n');
}

/** The first receipt of each sequence number, in receipt order; and where it goes backwards. */
function firstReceiptInversions(list: { seq: number }[]): string[] {
  const seen = new Set<number>();
  const out: string[] = [];
  let prev = -1;
  for (const { seq } of list) {
    if (seen.has(seq)) continue;
    seen.add(seq);
    if (seq < prev) out.push(`${seq} after ${prev}`);
    prev = Math.max(prev, seq);
  }
  return out;
}

const brokers: [string, () => Promise<TestBroker>, boolean][] = [
  ['mosquitto', testkitMosquitto, skipMosquitto !== undefined],
  ['aedes', testkitAedes, false],
];

// ---- 0. no fault at all: a queue longer than the in-flight window drains by itself ----------------
// The smallest reproduction of what stalls every scenario below: once robust's pump has filled
// the window (maxInflight, 16), nothing but a new publish() resumes it.

describe('aedes: baseline', () => {
  test('a queue longer than the in-flight window drains without further publishes', async () => {
    const broker = await testkitAedes();
    const pub = publisher([{ host: broker.host, port: broker.port }]);
    const c = pub.client;
    const keys = Array.from({ length: 40 }, (_, i) => c.publish('w/1', String(i), { qos: 1 }));
    c.start();
    try {
      await waitFor(() => pub.statuses.size === 40, { timeout: 3000, message: '40 statuses' });
    } catch (e) {
      console.log(
        `[baseline] stalled: statuses=${pub.statuses.size}/40 state=${c.state} held=${c.held} queued=${c.queued}`,
      );
      throw e;
    }
    expect(badStatuses(pub, keys)).toEqual([]);
  }, 10_000);
});

// ---- 1. a stream through chaos -----------------------------------------------------------------

const N = Number(process.env['UMQTT_CHAOS_N'] ?? 1500); // per topic
const MIN_RESETS = 10;

for (const [name, startBroker, skip] of brokers) {
  describe.skipIf(skip)(`${name}: stream through chaos`, () => {
    test(`${N} QoS 1 + ${N} QoS 2 through resets and a broker restart: QoS 1 at least once, QoS 2 exactly once, in order, one status each`, async () => {
      const seed = (BASE_SEED + (name === 'aedes' ? 1 : 0)) >>> 0;
      console.log(`[chaos ${name}] seed=${seed} (replay: UMQTT_SEED=${BASE_SEED})`);
      const rng = prng(seed);
      const broker = await startBroker();
      const proxy = await proxyTo(broker);
      const subTrace = new Trace('sub');
      const pubTrace = new Trace('pub');
      const sub = new Subscriber(broker, 't/#', unique('sub'), subTrace.factory());
      await sub.start();

      const pub = publisher([{ host: proxy.host, port: proxy.port }], {
        random: prng(seed ^ 0x5eed),
        socket: pubTrace.factory(),
      });
      const c = pub.client;
      c.start();
      await waitFor(() => c.state === 'online', { timeout: 5000, message: 'publisher online' });

      // the chaos loop: a reset at a random byte offset in a random direction, again and again
      let publishing = true;
      const resets: string[] = [];
      const chaos = (async () => {
        const deadline = performance.now() + 40_000;
        while (publishing && performance.now() < deadline) {
          await waitFor(() => c.state === 'online' || !publishing, { timeout: 10_000 }).catch(() => undefined);
          if (!publishing) break;
          await sleep(rng.int(100, 500));
          const direction: Direction = rng() < 0.5 ? 'up' : 'down';
          const offset = rng.int(0, direction === 'up' ? 1500 : 600);
          const before = pub.drops;
          resets.push(`${direction}@${offset}`);
          proxy.resetAfter(offset, direction);
          await waitFor(() => pub.drops > before || !publishing, { timeout: 2000 }).catch(() => undefined);
          // sometimes leave the fault on a while: new connections are cut at the same offset from their start
          if (rng() < 0.3) await sleep(rng.int(50, 400));
          proxy.heal();
        }
        proxy.heal();
      })();

      // the stream: bursts on both topics, paced; the broker restarts halfway
      const keys1: number[] = [];
      const keys2: number[] = [];
      let restart: Promise<void> | undefined;
      let restartedAt = -1;
      for (let seq = 0; seq < N;) {
        for (let k = 0; k < 3 && seq < N; k++, seq++) {
          keys1.push(c.publish('t/1', String(seq), { qos: 1 }));
          keys2.push(c.publish('t/2', String(seq), { qos: 2 }));
        }
        if (!restart && seq >= N / 2) {
          restartedAt = Math.round(performance.now() - pub.t0);
          restart = broker.restart();
        }
        await sleep(25);
      }
      await restart;
      const publishedAt = Math.round(performance.now() - pub.t0);
      // keep the chaos going until it did its share (bounded by its own deadline)
      await waitFor(() => pub.drops >= MIN_RESETS + 1, { timeout: 15_000 }).catch(() => undefined);
      publishing = false;
      await chaos;

      const keys = [...keys1, ...keys2];
      // Where exactly-once and order are judged. Mosquitto: at the subscriber. aedes: at the
      // broker ('publish' events: one per PUBLISH it accepted as new), because aedes's own
      // QoS 2 leg to a persistent subscriber is broken (aedes-persistence 11's outgoingUpdate
      // stores PUBREL objects without brokerId/brokerCounter, so the next PUBREC rewrites the
      // previous stored PUBREL's id: PUBREL goes to the wrong ids, some never). That leg is
      // reported below, not asserted.
      const atBroker = broker.published;
      const oracle = (t: string): { seq: number; dup: boolean; at: number }[] =>
        atBroker ? (atBroker.get(t) ?? []).map((r) => ({ ...r, dup: false })) : (sub.got.get(t) ?? []);
      const distinct = (t: string) => new Set(oracle(t).map((r) => r.seq));
      const where = atBroker ? 'broker' : 'subscriber';
      const summary = () =>
        [
          `seed=${seed} drops=${pub.drops} resets=${resets.length} [${resets.join(' ')}] restartAt=${restartedAt}ms publishedAt=${publishedAt}ms`,
          `attempts=${c.counters.attempts} reconnects=${c.counters.reconnects} counters=${JSON.stringify(c.counters)} state=${c.state} held=${c.held} queued=${c.queued}`,
          `statuses=${pub.statuses.size}/${keys.length}; at the ${where}: t/1 ${oracle('t/1').length} (${distinct('t/1').size} distinct), t/2 ${oracle('t/2').length} (${distinct('t/2').size} distinct)` +
            (atBroker
              ? `; subscriber (not asserted): t/1 ${sub.count('t/1')} (${sub.distinct('t/1').size} distinct), t/2 ${sub.count('t/2')} (${sub.distinct('t/2').size} distinct)`
              : '') +
            `; sub connects=${sub.connects}`,
          `missing at the ${where}: t/1 ${missing(distinct('t/1'), N).join(',') || 'none'}; t/2 ${missing(distinct('t/2'), N).join(',') || 'none'}`,
          `sub states (absolute ms; publisher t0=${Math.round(pub.t0)}): ${sub.log.join(' ')}`,
          `issues (last 40): ${pub.issues
            .slice(-40)
            .map((i) => `${i.at}ms ${i.place} ${i.code}: ${i.message}`)
            .join('\n  ')}`,
        ].join('\n');
      const traces = async () => `${await subTrace.save(`${name}-sub`)} ${await pubTrace.save(`${name}-pub`)}`;
      try {
        await waitFor(() => pub.statuses.size === keys.length && c.held === 0, {
          timeout: 25_000,
          message: 'a final status for every publish',
        });
        await waitFor(() => distinct('t/1').size >= N && distinct('t/2').size >= N, {
          timeout: 10_000,
          message: `every message at the ${where}`,
        });
        await sleep(200); // late duplicates, if any, show up in the counts
      } catch (e) {
        console.log(`[chaos ${name}] FAILED\n${summary()}\nbroker log tail:\n${broker.log().slice(-3000)}`);
        console.log(`[chaos ${name}] packet traces: ${await traces()}`);
        throw e;
      }
      console.log(`[chaos ${name}] ${summary().split('\n').slice(0, 3).join('\n')}`);

      expect(pub.drops, 'connections lost to the chaos').toBeGreaterThanOrEqual(MIN_RESETS);
      expect(
        keys.every((k) => k > 0),
        'every publish was held',
      ).toBe(true);
      expect(badStatuses(pub, keys), 'exactly one status, delivered').toEqual([]);
      expect(c.counters.dropped + c.counters.expired + c.counters.rejected).toBe(0);
      const t1 = oracle('t/1');
      const t2 = oracle('t/2');
      expect(missing(distinct('t/1'), N), 'QoS 1: every message at least once').toEqual([]);
      expect(missing(distinct('t/2'), N), 'QoS 2: every message').toEqual([]);
      // A QoS 2 message the broker had acknowledged with PUBREC in a session it then reported
      // gone (CONNACK session present 0: aedes reports it for a client without subscriptions)
      // is published again, at least once beats lost; its status says so. Only those may come twice.
      const resent = new Set(
        keys2.flatMap((k, seq) =>
          (pub.statuses.get(k) ?? []).some((x) => x.reason === 'resent after the session was lost') ? [seq] : [],
        ),
      );
      const twice =
        t2.filter((r) => !resent.has(r.seq)).length - [...distinct('t/2')].filter((q) => !resent.has(q)).length;
      if (resent.size) console.log(`[chaos ${name}] ${resent.size} QoS 2 message(s) resent after the session was lost`);
      if (twice) {
        console.log(
          `[chaos ${name}] QoS 2 twice at the ${where}:\n${duplicates(t2, pub.t0)}\nstates: ${pub.states.map((x) => `${x.at}:${x.state}`).join(' ')}\nrestart at ${restartedAt} ms`,
        );
        console.log(`[chaos ${name}] packet traces: ${await traces()}`);
      }
      expect(twice, 'QoS 2: no message twice').toBe(0);
      expect(firstReceiptInversions(t1), 't/1: first receipts in order').toEqual([]);
      expect(firstReceiptInversions(t2), 't/2: first receipts in order').toEqual([]);
    }, 60_000);
  });
}

// ---- 2. half-open --------------------------------------------------------------------------------

for (const [name, startBroker, skip] of brokers) {
  describe.skipIf(skip)(`${name}: half-open connection`, () => {
    test('keepalive finds a blackholed connection; after heal the messages published meanwhile are delivered', async () => {
      const broker = await startBroker();
      const proxy = await proxyTo(broker);
      const sub = new Subscriber(broker, 'h/#');
      await sub.start();
      const pub = publisher([{ host: proxy.host, port: proxy.port }], {
        keepAlive: 1,
        messageTimeout: 10_000,
        connectTimeout: 2000,
      });
      const c = pub.client;
      c.start();
      await waitFor(() => c.state === 'online', { timeout: 5000 });
      // something just received: the keepalive clock starts now
      const k0 = c.publish('h/1', '0', { qos: 1 });
      await waitFor(() => pub.statuses.has(k0), { timeout: 3000 });
      proxy.blackhole();
      const t0 = performance.now();
      const keys = [] as number[];
      for (let i = 1; i <= 20; i++) keys.push(c.publish(i % 2 ? 'h/1' : 'h/2', String(i), { qos: i % 2 ? 1 : 2 }));
      const issue = await waitFor(() => c.issues.find((i) => i.error.code === 'UMQTT_KEEPALIVE_TIMEOUT'), {
        timeout: 8000,
        message: 'keepalive timeout',
      });
      const detected = performance.now() - t0;
      expect(issue.place).toBe('keepalive');
      expect(issue.error.place).toBe('keepalive');
      await waitFor(() => c.state !== 'online', { timeout: 2000 });
      expect(pub.drops).toBe(1);
      expect(detected).toBeGreaterThanOrEqual(1000);
      expect(detected).toBeLessThanOrEqual(5000); // 1.5 s nominal; slack for a loaded CI machine
      expect(pub.statuses.size).toBe(1); // nothing reported while the fate of the 20 is unknown
      proxy.heal();
      await waitFor(() => keys.every((k) => pub.statuses.has(k)), { timeout: 10_000, message: 'statuses after heal' });
      expect(badStatuses(pub, [k0, ...keys])).toEqual([]);
      await waitFor(() => sub.distinct('h/1').size === 11 && sub.distinct('h/2').size === 10, {
        timeout: 5000,
        message: 'at the subscriber',
      });
      await sleep(100);
      expect(sub.count('h/2')).toBe(10); // QoS 2 once
      console.log(
        `[half-open ${name}] detected after ${Math.round(detected)} ms; attempts=${c.counters.attempts}; issues: ${pub.issues.map((i) => `${i.at}ms ${i.code}`).join(', ')}`,
      );
    }, 30_000);
  });
}

// ---- 3. failover -------------------------------------------------------------------------------

for (const [name, startBroker, skip] of brokers) {
  describe.skipIf(skip)(`${name}: failover`, () => {
    test('broker A stops after the client connected: the client moves to B and delivers its queue there', async () => {
      const a = await startBroker();
      const b = await startBroker();
      const pa = await proxyTo(a);
      const pb = await proxyTo(b);
      const subB = new Subscriber(b, 'f/#');
      await subB.start();
      const pub = publisher([
        { host: pa.host, port: pa.port },
        { host: pb.host, port: pb.port },
      ]);
      const c = pub.client;
      c.start();
      await waitFor(() => c.state === 'online', { timeout: 5000 });
      expect(pa.counters.connections).toBe(1);
      expect(pb.counters.connections).toBe(0);
      const k0 = c.publish('f/a', 'on A', { qos: 1 });
      await waitFor(() => pub.statuses.has(k0), { timeout: 3000 });
      await a.close();
      const keys: number[] = [];
      for (let i = 0; i < 30; i++) keys.push(c.publish(i % 2 ? 'f/1' : 'f/2', String(i), { qos: i % 2 ? 1 : 2 }));
      await waitFor(() => keys.every((k) => pub.statuses.has(k)), { timeout: 10_000, message: 'delivered on B' });
      expect(badStatuses(pub, [k0, ...keys])).toEqual([]);
      expect(pb.counters.connections).toBeGreaterThanOrEqual(1);
      expect(c.counters.reconnects).toBe(1);
      await waitFor(() => subB.distinct('f/1').size === 15 && subB.distinct('f/2').size === 15, {
        timeout: 5000,
        message: 'at the subscriber on B',
      });
      await sleep(100);
      expect(subB.count('f/2')).toBe(15);
      expect(subB.count('f/a')).toBe(0);
      console.log(
        `[failover ${name}] attempts=${c.counters.attempts} A connections=${pa.counters.connections} B connections=${pb.counters.connections}`,
      );
    }, 30_000);

    test('A refuses from the start: the first connection lands on B', async () => {
      const a = await startBroker();
      const b = await startBroker();
      const pa = await proxyTo(a);
      const pb = await proxyTo(b);
      pa.refuse();
      const subB = new Subscriber(b, 'f/#');
      await subB.start();
      const pub = publisher([
        { host: pa.host, port: pa.port },
        { host: pb.host, port: pb.port },
      ]);
      const c = pub.client;
      const keys = [1, 2, 3].map((i) => c.publish('f/1', String(i), { qos: 1 }));
      const t0 = performance.now();
      c.start();
      await waitFor(() => c.state === 'online', { timeout: 5000 });
      const took = performance.now() - t0;
      expect(pa.counters.refused).toBe(1);
      expect(pa.counters.connections).toBe(0);
      expect(pb.counters.connections).toBe(1);
      expect(c.counters.attempts).toBe(2);
      expect(c.counters.reconnects).toBe(0);
      expect(took).toBeLessThan(1000); // no backoff before trying the next server
      await waitFor(() => keys.every((k) => pub.statuses.has(k)), { timeout: 5000 });
      expect(badStatuses(pub, keys)).toEqual([]);
      await waitFor(() => subB.distinct('f/1').size === 3, { timeout: 5000 });
    }, 30_000);
  });
}

// ---- 4. broker down for a while ------------------------------------------------------------------

const stoppable: [string, () => Promise<TestBroker>, boolean][] = [
  ['mosquitto', stoppableMosquitto, skipMosquitto !== undefined],
  ['aedes', testkitAedes, false],
];

for (const [name, startBroker, skip] of stoppable) {
  describe.skipIf(skip)(`${name}: broker down for a while`, () => {
    test('QoS 1 published while the broker is down is queued, retried with backoff, and delivered when it is back', async () => {
      const broker = await startBroker();
      const sub = new Subscriber(broker, 'd/#');
      await sub.start();
      const pub = publisher([{ host: broker.host, port: broker.port }]);
      const c = pub.client;
      c.start();
      await waitFor(() => c.state === 'online', { timeout: 5000 });
      const k0 = c.publish('d/1', '0', { qos: 1 });
      await waitFor(() => pub.statuses.has(k0), { timeout: 3000 });

      await broker.stop();
      await waitFor(() => c.state === 'offline' || c.state === 'connecting', {
        timeout: 5000,
        message: 'publisher offline',
      });
      const attempts0 = c.counters.attempts;
      const keys: number[] = [];
      for (let i = 1; i <= 50; i++) {
        keys.push(c.publish('d/1', String(i), { qos: 1 }));
        if (i % 10 === 0) await sleep(300);
      }
      await sleep(1000);
      expect(c.state === 'offline' || c.state === 'connecting').toBe(true);
      expect(keys.every((k) => k > 0)).toBe(true);
      expect(c.held).toBe(50);
      expect(c.queued).toBe(50);
      expect(pub.statuses.size).toBe(1);
      const attemptsWhileDown = c.counters.attempts - attempts0;
      expect(attemptsWhileDown).toBeGreaterThanOrEqual(2);
      expect(attemptsWhileDown).toBeLessThanOrEqual(40); // backed off, not a busy loop

      await broker.start();
      await waitFor(() => keys.every((k) => pub.statuses.has(k)), {
        timeout: 10_000,
        message: 'delivered after the broker is back',
      });
      expect(badStatuses(pub, [k0, ...keys])).toEqual([]);
      expect(c.held).toBe(0);
      await waitFor(() => sub.distinct('d/1').size === 51, { timeout: 5000, message: 'at the subscriber' });
      // The order the publisher kept is judged where the broker received it. At an aedes
      // subscriber that reconnects after the publisher, aedes interleaves the messages it stored
      // for the subscriber's session with live ones (seen as '2 after 32'), which says nothing
      // about the client; Mosquitto keeps the order, so there it is judged at the subscriber.
      const order = broker.published?.get('d/1') ?? sub.got.get('d/1')!;
      expect(firstReceiptInversions(order)).toEqual([]);
      if (broker.published) {
        const atSubscriber = firstReceiptInversions(sub.got.get('d/1')!);
        if (atSubscriber.length)
          console.log(`[down ${name}] aedes reordered at the subscriber: ${atSubscriber.length}`);
      }
      console.log(`[down ${name}] attempts while down=${attemptsWhileDown}, sub connects=${sub.connects}`);
    }, 30_000);
  });
}

// ---- 5. (extra) a slow network: round trip longer than messageTimeout ----------------------------

for (const [name, startBroker, skip] of brokers) {
  describe.skipIf(skip)(`${name}: slow network`, () => {
    test('acknowledgements later than messageTimeout: resends with DUP, one delivered status each, QoS 2 once, the connection stays up', async () => {
      const broker = await startBroker();
      const proxy = await proxyTo(broker);
      const sub = new Subscriber(broker, 's/#');
      await sub.start();
      const trace = new Trace('pub');
      const pub = publisher([{ host: proxy.host, port: proxy.port }], {
        keepAlive: 10,
        messageTimeout: 500,
        connectTimeout: 5000,
        socket: trace.factory(),
      });
      const c = pub.client;
      c.start();
      await waitFor(() => c.state === 'online', { timeout: 5000 });
      proxy.delay(600); // each way: a round trip of 1.2 s, over twice messageTimeout
      const keys: number[] = [];
      for (let i = 0; i < 20; i++) keys.push(c.publish(i % 2 ? 's/1' : 's/2', String(i), { qos: i % 2 ? 1 : 2 }));
      await waitFor(() => keys.every((k) => pub.statuses.has(k)), { timeout: 20_000, message: 'a status for each' });
      await sleep(3000); // the late acknowledgements of every resend arrive
      const issues = pub.issues.map((i) => `${i.at}ms ${i.place} ${i.code}: ${i.message}`);
      console.log(
        `[slow ${name}] drops=${pub.drops} attempts=${c.counters.attempts} issues:\n  ${issues.join('\n  ')}`,
      );
      if (pub.drops)
        console.log(
          `[slow ${name}] packet trace: ${await trace.save(`slow-${name}`)}\nbroker log tail:\n${broker.log().slice(-2500)}`,
        );
      expect(badStatuses(pub, keys)).toEqual([]);
      const at = broker.published;
      const seqs = (t: string) => (at ? (at.get(t) ?? []).map((r) => r.seq) : (sub.got.get(t) ?? []).map((r) => r.seq));
      await waitFor(() => new Set(seqs('s/1')).size === 10 && new Set(seqs('s/2')).size === 10, {
        timeout: 5000,
        message: 'all arrived',
      });
      expect(seqs('s/2').length, 'QoS 2 once').toBe(10);
      expect(
        issues.filter((i) => i.includes('UMQTT_PROTOCOL_ERROR')),
        'no protocol error for a late acknowledgement',
      ).toEqual([]);
      expect(pub.drops, 'a slow connection is not a broken one').toBe(0);
    }, 40_000);
  });
}
