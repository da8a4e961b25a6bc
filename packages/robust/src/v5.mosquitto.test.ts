// RobustClient5 against Eclipse Mosquitto 2.0 in MQTT 5 (a child process on a free loopback port,
// real sockets, real time): session expiry across a client restart with a persistent store (the
// same Store object given to a new client, as a flash or file store is after a reboot), messages
// in flight across such a restart,
// quota exceeded (0x97) past Receive Maximum with every message finally delivered, not authorized
// (0x87) through an ACL file, message expiry honoured by the broker for a queued message, and a
// stream of thousands of QoS 1/2 messages through a default Mosquitto with connections cut by the
// fault proxy. Subscribers are @umqtt/simple's MqttClient5 on direct connections.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  mosquittoOrSkip,
  startFaultProxy,
  startMosquitto,
  waitFor,
  type MosquittoHandle,
  type MosquittoOptions,
} from '@umqtt/testkit';
import type { QoS } from '@umqtt/codec';
import { MqttClient5, type Client5Options } from '@umqtt/simple/v5';
import { createTcpSocketFactory, nodeTimers } from '../../../apps/node/src/transport/index.ts';
import { ArrayStore } from './array-store.test-support.js';
import { cleanupAfterEach } from './harness.test-support.js';
import { REFUSED_RETRYING, SENT, type FinalStatus, type Store } from './index.js';
import { RobustClient5, type Robust5Options } from './v5.js';

const skipMosquitto = mosquittoOrSkip();
const T = 30_000;
const decoder = new TextDecoder();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let serial = 0;
const unique = (name: string) => `r5-${name}-${process.pid}-${++serial}`;

/** What each test started, stopped after it in reverse order. */
const cleanup = cleanupAfterEach();

async function broker(options: MosquittoOptions = {}): Promise<MosquittoHandle> {
  const m = await startMosquitto(options);
  cleanup(() => m.stop());
  return m;
}

interface Robust {
  client: RobustClient5;
  /** Final statuses by key, in order. */
  statuses: Map<number, [FinalStatus, string | undefined][]>;
  received: string[];
}

/** A RobustClient5 on Node's TCP and timers to `at`, its statuses and messages recorded. */
function robust(at: { host: string; port: number }, options: Partial<Robust5Options> = {}, store?: Store): Robust {
  const client = new RobustClient5({
    socket: createTcpSocketFactory(),
    timers: nodeTimers,
    servers: [{ host: at.host, port: at.port }],
    clientId: unique('robust'),
    store: store ?? new ArrayStore(),
    backoff: { min: 100, max: 1000 },
    ...options,
  });
  const r: Robust = { client, statuses: new Map(), received: [] };
  client.onStatus = (key, status, reason) => r.statuses.set(key, [...(r.statuses.get(key) ?? []), [status, reason]]);
  client.onMessage = (m) => r.received.push(decoder.decode(m.payload));
  cleanup(() => client.stop());
  return r;
}

async function online(r: Robust): Promise<void> {
  r.client.start();
  await waitFor(() => r.client.state === 'online', { timeout: 5000, message: 'robust client online' });
}

/** The final status of each key (the one reported), or undefined while none. */
const finalOf = (r: Robust, key: number) => r.statuses.get(key)?.[0];

/** A subscriber: @umqtt/simple's MqttClient5, its payloads decoded as they arrive. */
async function subscriber(
  at: { host: string; port: number },
  filter: string,
  qos: QoS,
  options: Partial<Client5Options> = {},
): Promise<{ client: MqttClient5; got: string[]; topics: string[] }> {
  const client = new MqttClient5({
    socket: createTcpSocketFactory(),
    timers: nodeTimers,
    host: at.host,
    port: at.port,
    clientId: unique('sub'),
    ...options,
  });
  const got: string[] = [];
  const topics: string[] = [];
  client.onMessage = (m) => {
    got.push(decoder.decode(m.payload));
    topics.push(m.topic);
  };
  cleanup(() => client.close());
  await client.connect();
  let acked = false;
  client.onStatus = () => (acked = true);
  client.subscribe(filter, qos);
  await waitFor(() => acked, { timeout: 5000, message: 'SUBACK' });
  return { client, got, topics };
}

describe.skipIf(skipMosquitto)(
  `RobustClient5 against mosquitto${skipMosquitto ? ` (skipped: ${skipMosquitto})` : ''}`,
  () => {
    test(
      'session expiry across a client restart with a persistent store: the broker kept the session a day, what came meanwhile and what the store held are delivered',
      { timeout: T },
      async () => {
        const at = await broker();
        const clientId = unique('device');
        const store = new ArrayStore(); // outlives the client: a persistent store across a restart
        const first = robust(at, { clientId, sessionExpiry: 86_400 }, store);
        first.client.subscribe('r5/cmd', 1);
        await online(first);
        await waitFor(() => first.client.idle, { timeout: 5000, message: 'SUBACK' });
        first.client.stop(); // DISCONNECT: the broker keeps the session for a day
        // while the device is away: commands for it, queued by the broker in its session...
        const sub = await subscriber(at, 'r5/report', 1);
        const pub = new MqttClient5({
          socket: createTcpSocketFactory(),
          timers: nodeTimers,
          ...at,
          clientId: unique('p'),
        });
        cleanup(() => pub.close());
        await pub.connect();
        let acks = 0;
        pub.onStatus = () => acks++;
        for (const c of ['on', 'off']) pub.publish('r5/cmd', c, { qos: 1 });
        await waitFor(() => acks === 2);
        // ...and reports published on the stopped client: held in its store
        const keys = ['r1', 'r2', 'r3'].map((p) => first.client.publish('r5/report', p, { qos: 1 }));
        expect(store.count).toBe(3);
        // the process restarts: a new client on the same store and client id
        const second = robust(at, { clientId, sessionExpiry: 86_400 }, store);
        await online(second);
        expect(second.client.counters.reconnects).toBe(0); // a new process: its first connection
        await waitFor(() => second.received.length === 2, {
          timeout: 5000,
          message: 'the commands kept in the session',
        });
        expect(second.received).toEqual(['on', 'off']); // no subscribe() on this client: the session had it
        await waitFor(() => sub.got.length === 3, { timeout: 5000, message: 'the held reports' });
        expect(sub.got).toEqual(['r1', 'r2', 'r3']);
        await waitFor(() => store.count === 0, { timeout: 5000 });
        expect(keys.map((k) => finalOf(second, k))).toEqual(Array(3).fill(['delivered', undefined]));
        // a short session expiry is honoured: after it, the broker has forgotten the session
        second.client.stop();
        const brief = robust(at, { clientId, sessionExpiry: 1 }, store);
        await online(brief);
        brief.client.stop(); // this session lives 1 s after the connection
        await sleep(2100);
        pub.publish('r5/cmd', 'lost', { qos: 1 });
        await waitFor(() => acks === 3);
        const after = robust(at, { clientId, sessionExpiry: 1 }, store);
        await online(after);
        await sleep(300);
        expect(after.received).toEqual([]); // the subscription went with the expired session
      },
    );

    test(
      'a restart with messages in flight: a new client on the same store resends them after CONNACK, each delivered, QoS 2 once',
      { timeout: T },
      async () => {
        const at = await broker();
        const proxy = await startFaultProxy(at);
        cleanup(() => proxy.close());
        const sub = await subscriber(at, 'r5/inflight/#', 2);
        const clientId = unique('device');
        const store = new ArrayStore();
        const first = robust({ host: proxy.host, port: proxy.port }, { clientId, sessionExpiry: 3600 }, store);
        await online(first);
        proxy.blackhole(); // the PUBLISHes never reach the broker, no acknowledgement comes back
        const k1 = first.client.publish('r5/inflight/1', 'a', { qos: 1 });
        const k2 = first.client.publish('r5/inflight/2', 'b', { qos: 2 });
        await waitFor(() => store.messages().filter((m) => m.stage === SENT && m.id > 0).length === 2, {
          timeout: 5000,
          message: 'both in flight in the store',
        });
        first.client.stop(); // the process ends with both in flight
        const second = robust(at, { clientId, sessionExpiry: 3600 }, store);
        await online(second);
        await waitFor(() => second.statuses.size === 2, { timeout: 5000, message: 'both final' });
        expect([finalOf(second, k1), finalOf(second, k2)]).toEqual([
          ['delivered', undefined],
          ['delivered', undefined],
        ]);
        await waitFor(() => sub.got.length >= 2, { timeout: 5000 });
        await sleep(200);
        expect([...sub.got].sort()).toEqual(['a', 'b']);
        expect(store.count).toBe(0);
      },
    );

    test(
      'quota exceeded: past Receive Maximum (the test-only switch) Mosquitto refuses with 0x97; held, retried after backing off, every message finally delivered once',
      { timeout: 60_000 },
      async () => {
        const at = await broker({ extraConfig: ['max_inflight_messages 5'] });
        const sub = await subscriber(at, 'r5/quota', 2);
        const r = robust(at, { maxInflight: 40, ignoreReceiveMaximum: true, retry: { min: 50, max: 400 } });
        await online(r);
        expect(r.client.connack?.receiveMaximum).toBe(5);
        const n = 300;
        const keys = Array.from({ length: n }, (_, i) => r.client.publish('r5/quota', String(i), { qos: 2 }));
        await waitFor(() => r.statuses.size === n, { timeout: 45_000, message: 'a final status for every message' });
        expect(keys.map((k) => finalOf(r, k)?.[0])).toEqual(Array(n).fill('delivered'));
        const paused = r.client.issues.filter((i) => i.error.code === REFUSED_RETRYING);
        expect(paused.length, 'Mosquitto refused some with 0x97').toBeGreaterThan(0);
        expect(paused.every((i) => i.error.reasonCode === 0x97)).toBe(true);
        await waitFor(() => sub.got.length >= n, { timeout: 10_000, message: 'every message at the subscriber' });
        await sleep(200);
        expect(sub.got.length).toBe(n); // QoS 2: once each
        expect(new Set(sub.got).size).toBe(n);
        expect(r.client.held).toBe(0);
      },
    );

    test(
      'not authorized through an ACL file: QoS 1 and 2 end rejected, the reason naming 0x87; an allowed topic is delivered',
      { timeout: T },
      async () => {
        const dir = await mkdtemp(join(tmpdir(), 'umqtt-acl-r5-'));
        cleanup(() => rm(dir, { recursive: true, force: true }));
        const acl = join(dir, 'acl');
        await writeFile(acl, 'topic readwrite open/#\n');
        const at = await broker({ extraConfig: [`acl_file ${acl}`] });
        const r = robust(at);
        await online(r);
        const denied1 = r.client.publish('secret/x', 'no', { qos: 1 });
        const denied2 = r.client.publish('secret/y', 'no', { qos: 2 });
        const allowed = r.client.publish('open/x', 'yes', { qos: 1 });
        await waitFor(() => r.statuses.size === 3, { timeout: 5000, message: 'three final statuses' });
        expect([finalOf(r, denied1), finalOf(r, denied2), finalOf(r, allowed)]).toEqual([
          ['rejected', 'Not authorized (0x87)'],
          ['rejected', 'Not authorized (0x87)'],
          ['delivered', undefined],
        ]);
        expect(r.client.counters).toMatchObject({ rejected: 2, delivered: 1 });
      },
    );

    test(
      'message expiry honoured by the broker: a queued message whose time to live ran out is not delivered to a returning session',
      { timeout: T },
      async () => {
        const at = await broker();
        const sessionOf = { clean: false, properties: { sessionExpiryInterval: 300 } };
        const clientId = unique('sleeper');
        const away = await subscriber(at, 'r5/press', 1, { clientId, ...sessionOf });
        away.client.disconnect(); // its session keeps what arrives for it
        const r = robust(at);
        await online(r);
        const stale = r.client.publish('r5/press', 'stale', { qos: 1, ttl: 1000 }); // Message Expiry Interval 1
        const fresh = r.client.publish('r5/press', 'fresh', { qos: 1, ttl: 300_000 });
        await waitFor(() => r.statuses.size === 2, { timeout: 5000 });
        expect([finalOf(r, stale), finalOf(r, fresh)]).toEqual([
          ['delivered', undefined],
          ['delivered', undefined],
        ]);
        await sleep(2100);
        const back = new MqttClient5({
          socket: createTcpSocketFactory(),
          timers: nodeTimers,
          ...at,
          clientId,
          ...sessionOf,
        });
        const got: { text: string; expiry: number | undefined }[] = [];
        back.onMessage = (m) =>
          got.push({ text: decoder.decode(m.payload), expiry: m.properties?.messageExpiryInterval });
        cleanup(() => back.close());
        expect(await back.connect()).toBe(true);
        await waitFor(() => got.length === 1, { timeout: 5000 });
        await sleep(200);
        expect(got.map((m) => m.text)).toEqual(['fresh']); // the broker dropped the stale press
        expect(got[0]!.expiry).toBeGreaterThan(290); // and told what remains of the fresh one
        expect(got[0]!.expiry).toBeLessThanOrEqual(300);
      },
    );

    test(
      'a stream of 2,000 QoS 1 + 2,000 QoS 2 through a default Mosquitto with connections cut: nothing lost, QoS 2 once, one delivered status each',
      { timeout: 90_000 },
      async () => {
        const at = await broker(); // default configuration: Receive Maximum 20
        const proxy = await startFaultProxy(at);
        cleanup(() => proxy.close());
        const sub = await subscriber(at, 'r5/stream/#', 2);
        const r = robust({ host: proxy.host, port: proxy.port }, { maxInflight: 100 });
        let drops = 0;
        r.client.onState = (s) => s === 'offline' && drops++;
        await online(r);
        expect(r.client.connack?.receiveMaximum).toBe(20);
        const n = 2000;
        const keys: number[] = [];
        // streamed at the connection's pace; cut four times on the way (client to broker and back)
        const cuts = [
          [400, 'up'],
          [900, 'down'],
          [1500, 'up'],
          [2500, 'down'],
        ] as const;
        // a cut lasts until it has dropped a connection (the proxy cuts every new one meanwhile), then heals
        let cutting = -1;
        const heal = () => {
          if (cutting >= 0 && drops > cutting) {
            proxy.heal();
            cutting = -1;
          }
          return cutting < 0;
        };
        for (let i = 0, cut = 0; i < 2 * n;) {
          heal();
          if (cutting < 0 && cut < cuts.length && i >= cuts[cut]![0]) {
            cutting = drops;
            proxy.resetAfter(137 + cut * 61, cuts[cut]![1]);
            cut++;
          }
          if (!r.client.writable) {
            await sleep(1);
            continue;
          }
          const seq = i >> 1;
          keys.push(r.client.publish(`r5/stream/${(i & 1) + 1}`, String(seq), { qos: ((i & 1) + 1) as 1 | 2 }));
          i++;
          if (i % 50 === 0) await sleep(0);
        }
        await waitFor(heal, { timeout: 10_000, message: 'the last cut' });
        await waitFor(() => r.statuses.size === keys.length, {
          timeout: 60_000,
          message: `a final status for every message (${r.statuses.size} of ${keys.length})`,
        });
        expect(drops, 'connections cut by the proxy').toBe(cuts.length);
        expect([...r.statuses.values()].every((s) => s.length === 1 && s[0]![0] === 'delivered')).toBe(true);
        const on = (topic: string) => sub.got.filter((_, i) => sub.topics[i] === topic);
        await waitFor(() => new Set(on('r5/stream/1')).size === n && on('r5/stream/2').length >= n, {
          timeout: 20_000,
          message: 'every message at the subscriber',
        });
        await sleep(300); // late duplicates, if any, show up
        const all = Array.from({ length: n }, (_, seq) => String(seq));
        expect([...new Set(on('r5/stream/1'))].sort(), 'QoS 1: each at least once').toEqual([...all].sort());
        expect(on('r5/stream/2').sort(), 'QoS 2: each exactly once').toEqual([...all].sort());
        expect(r.client.held).toBe(0);
      },
    );
  },
);
