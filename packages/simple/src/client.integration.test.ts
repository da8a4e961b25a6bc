// @umqtt/simple over real sockets (apps/node's TCP and TLS transport, real time) against two
// independent brokers: aedes in-process and Eclipse Mosquitto as a child process. Loopback
// only, free ports, every broker stopped and every client closed after its test.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import {
  freePort,
  generateCertificates,
  mosquittoOrSkip,
  startAedes,
  startFaultProxy,
  startMosquitto,
  waitFor,
  type AedesHandle,
  type AedesStartOptions,
  type Certificates,
  type MosquittoHandle,
  type MosquittoOptions,
} from '@umqtt/testkit';
import type { UmqttError } from '@umqtt/codec';
// Test-only: the Node adapters live in apps/node; the package itself never depends on them.
import { createTlsSocketFactory } from '../../../apps/node/src/transport/index.ts';
import { MqttClient, type ClientOptions, type Status } from './index.js';
import { peerMaker, type Address, type Peer as PeerOf } from './peers.test-support.js';

const skipMosquitto = mosquittoOrSkip();
const T = 10_000; // every test and hook is bounded by this

// ---- helpers ---------------------------------------------------------------------------------

type Peer = PeerOf<MqttClient>;
/** The one way these tests build a client: Node TCP (or the given socket), Node timers. */
const { unique, peer, connected, closeAll } = peerMaker<MqttClient, ClientOptions>((o) => new MqttClient(o), 'umqtt');

/** Statuses reported for one packet id, in order. */
const statusesOf = (p: Peer, id: number) => p.statuses.filter((s) => s.id === id).map((s) => s.status);

async function final(p: Peer, id: number, status: Status = 'delivered', timeout = 5000) {
  await waitFor(() => statusesOf(p, id).includes(status), { timeout, message: `status ${status} for id ${id}` });
  return p.statuses.find((s) => s.id === id && s.status === status)!;
}

async function subscribed(p: Peer, filter: string, qos: 0 | 1 | 2 = 1) {
  const id = p.client.subscribe(filter, qos);
  const s = await final(p, id);
  expect(s.granted).toEqual([qos]);
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

afterEach(closeAll);

/** What the shared suite needs from a broker. */
interface Broker extends Address {
  name: string;
  /** Whether the broker has let go of a client's connection (so its will decision is made). */
  hasLetGo(clientId: string): boolean;
}

function aedesBroker(handle: AedesHandle): Broker {
  // aedes keeps its connected clients by id in `clients` (not in its type declarations).
  const clients = () => (handle.broker as unknown as { clients: Record<string, unknown> }).clients;
  return { name: 'aedes', host: handle.host, port: handle.port, hasLetGo: (id) => !(id in clients()) };
}

function mosquittoBroker(handle: MosquittoHandle): Broker {
  return {
    name: 'mosquitto',
    host: handle.host,
    port: handle.port,
    // Mosquitto 2.0 logs "Client <id> disconnected." after DISCONNECT and
    // "Client <id> closed its connection." when the socket just ends.
    hasLetGo: (id) => new RegExp(`Client ${id} (disconnected|closed its connection)`).test(handle.log()),
  };
}

// ---- the suite both brokers pass -------------------------------------------------------------

function sharedSuite(get: () => Broker) {
  let b: Broker;
  beforeAll(() => {
    b = get();
  });
  const topic = (name: string) => `umqtt/${b.name}/${unique(name)}`;

  test(
    'connect resolves false on a clean session, states move idle → connecting → connected → closed, disconnect reports onClose(undefined)',
    { timeout: T },
    async () => {
      const p = peer(b);
      expect(p.client.state).toBe('idle');
      const done = p.client.connect();
      expect(p.client.state).toBe('connecting');
      await expect(done).resolves.toBe(false);
      expect(p.client.state).toBe('connected');
      p.client.ping();
      p.client.disconnect();
      expect(p.client.state).toBe('closed');
      expect(p.closes).toEqual([undefined]);
      expect(p.client.issues).toEqual([]);
    },
  );

  test.each([0, 1, 2] as const)(
    'round trip at QoS %i: granted QoS, statuses, exact bytes (UTF-8 topic, empty, 100 KiB binary)',
    { timeout: T },
    async (qos) => {
      const t = `${topic('rt')}/température/東京/🚀`;
      const sub = await connected(b);
      await subscribed(sub, t, qos);
      const pub = await connected(b);
      const big = new Uint8Array(randomBytes(100 * 1024));
      const payloads = [new TextEncoder().encode(`grüße QoS ${qos}`), new Uint8Array(0), big];
      const ids = payloads.map((payload) => pub.client.publish(t, payload, { qos }));
      if (qos === 0) expect(ids).toEqual([0, 0, 0]);
      else {
        for (const id of ids) await final(pub, id);
        for (const id of ids)
          expect(statusesOf(pub, id)).toEqual(qos === 2 ? ['received', 'delivered'] : ['delivered']);
      }
      await waitFor(() => sub.messages.length === 3, { message: '3 messages' });
      expect(sub.messages.map((m) => [m.topic, m.qos, m.retain, m.dup, m.payload.length])).toEqual(
        payloads.map((x) => [t, qos, false, false, x.length]),
      );
      sub.messages.forEach((m, i) => expect(Buffer.compare(m.payload, payloads[i]!)).toBe(0));
      expect(pub.client.inflight).toBe(0);
    },
  );

  test('a retained message reaches a later subscriber with retain=true', { timeout: T }, async () => {
    const t = topic('retained');
    const pub = await connected(b);
    await final(pub, pub.client.publish(t, 'kept', { qos: 1, retain: true }));
    const sub = await connected(b);
    await subscribed(sub, t, 1);
    await waitFor(() => sub.messages.length === 1);
    expect(sub.messages[0]).toMatchObject({ topic: t, qos: 1, retain: true });
    expect(text(sub.messages[0]!.payload)).toBe('kept');
    await final(pub, pub.client.publish(t, '', { qos: 1, retain: true })); // clear it
  });

  describe('last will', () => {
    async function withWill(at: Address) {
      const t = topic('will');
      const watcher = await connected(b);
      await subscribed(watcher, t, 1);
      const clientId = unique('will');
      const dying = await connected(at, {
        clientId,
        will: { topic: t, payload: `${clientId} is gone`, qos: 1 },
        maxPacketSize: 16 << 20,
      });
      return { t, watcher, clientId, dying };
    }

    test('is published when the client closes its socket without DISCONNECT (close())', { timeout: T }, async () => {
      const { t, watcher, clientId, dying } = await withWill(b);
      dying.client.close();
      expect(dying.closes).toEqual([undefined]);
      await waitFor(() => watcher.messages.length === 1, { message: 'the will' });
      expect(watcher.messages[0]).toMatchObject({ topic: t, qos: 1 });
      expect(text(watcher.messages[0]!.payload)).toBe(`${clientId} is gone`);
    });

    test('is published when the connection dies in the network (fault proxy dropAll)', { timeout: T }, async () => {
      const proxy = await startFaultProxy(b);
      try {
        const { watcher, clientId, dying } = await withWill(proxy);
        proxy.dropAll();
        await waitFor(() => watcher.messages.length === 1, { message: 'the will' });
        expect(text(watcher.messages[0]!.payload)).toBe(`${clientId} is gone`);
        await waitFor(() => dying.closes.length === 1, { message: 'onClose' });
        expect(dying.closes[0]).toMatchObject({ code: 'UMQTT_CONNECTION_LOST', place: 'read' });
        expect(dying.client.state).toBe('closed');
      } finally {
        await proxy.close();
      }
    });

    test('is NOT published after disconnect()', { timeout: T }, async () => {
      const { t, watcher, clientId, dying } = await withWill(b);
      dying.client.disconnect();
      await waitFor(() => b.hasLetGo(clientId), { message: 'the broker to drop the client' });
      // Anything the broker published at that moment is queued to the watcher before this marker.
      const other = await connected(b);
      other.client.publish(t, 'marker', { qos: 1 });
      await waitFor(() => watcher.messages.length > 0);
      expect(watcher.messages.map((m) => text(m.payload))).toEqual(['marker']);
    });

    test(
      'is NOT published after disconnect() called while the socket is full (a large publish just before)',
      { timeout: T },
      async () => {
        // A device publishing a reading and then disconnecting: here the reading is 8 MiB so that
        // Node's socket buffer (and the kernel's) is full when disconnect() runs.
        const { t, watcher, clientId, dying } = await withWill(b);
        const big = new Uint8Array(8 << 20);
        dying.client.publish(`${t}/data`, big);
        dying.client.disconnect();
        await waitFor(() => b.hasLetGo(clientId), { message: 'the broker to drop the client' });
        const other = await connected(b);
        other.client.publish(t, 'marker', { qos: 1 });
        await waitFor(() => watcher.messages.length > 0);
        expect(watcher.messages.map((m) => text(m.payload))).toEqual(['marker']);
      },
    );
  });

  test('unsubscribe: UNSUBACK reports delivered, and messages stop', { timeout: T }, async () => {
    const t = topic('unsub');
    const sub = await connected(b);
    await subscribed(sub, t, 1);
    await final(sub, sub.client.unsubscribe(t));
    const pub = await connected(b);
    await final(pub, pub.client.publish(t, 'after unsubscribe', { qos: 1 }));
    await subscribed(sub, `${t}/marker`, 1);
    await final(pub, pub.client.publish(`${t}/marker`, 'marker', { qos: 1 }));
    await waitFor(() => sub.messages.length > 0);
    expect(sub.messages.map((m) => text(m.payload))).toEqual(['marker']);
  });

  test(
    'the same client object connects again after disconnect() and after a lost connection',
    { timeout: T },
    async () => {
      const proxy = await startFaultProxy(b);
      try {
        const t = topic('again');
        const sub = await connected(b);
        await subscribed(sub, t, 1);
        const p = await connected(proxy);
        await final(p, p.client.publish(t, '1', { qos: 1 }));
        p.client.disconnect();
        await expect(p.client.connect()).resolves.toBe(false);
        await final(p, p.client.publish(t, '2', { qos: 1 }));
        proxy.dropAll();
        await waitFor(() => p.closes.length === 2, { message: 'onClose after dropAll' });
        expect(p.closes[1]).toMatchObject({ code: 'UMQTT_CONNECTION_LOST' });
        await expect(p.client.connect()).resolves.toBe(false);
        const id = p.client.publish(t, '3', { qos: 2 });
        await final(p, id);
        await waitFor(() => sub.messages.length === 3);
        expect(sub.messages.map((m) => text(m.payload))).toEqual(['1', '2', '3']);
      } finally {
        await proxy.close();
      }
    },
  );

  test('an empty client id with a clean session: the broker assigns one', { timeout: T }, async () => {
    const p = peer(b, { clientId: '' });
    await expect(p.client.connect()).resolves.toBe(false);
    await subscribed(p, topic('anon'), 0);
  });

  test(
    'an incoming message over maxPacketSize closes the connection: onClose(UMQTT_PACKET_TOO_LARGE, read)',
    { timeout: T },
    async () => {
      const t = topic('big');
      const small = await connected(b, { maxPacketSize: 1024 });
      await subscribed(small, t, 0);
      const pub = await connected(b);
      pub.client.publish(t, new Uint8Array(2000));
      await waitFor(() => small.closes.length === 1, { message: 'onClose' });
      expect(small.closes[0]).toMatchObject({ place: 'read', code: expect.stringMatching(/TOO_LARGE/) });
      expect(small.messages).toEqual([]);
    },
  );

  test(
    'a message timeout, then the late acknowledgement: statuses timeout then unknown (QoS 1 and 2), connection kept',
    { timeout: T },
    async () => {
      const proxy = await startFaultProxy(b);
      try {
        const t = topic('late');
        const sub = await connected(b);
        await subscribed(sub, t, 2);
        const p = await connected(proxy, { messageTimeout: 150, keepAlive: 0 });
        proxy.delay(300); // each way: acknowledgements come back after ~600 ms
        const one = p.client.publish(t, 'one', { qos: 1 });
        const two = p.client.publish(t, 'two', { qos: 2 });
        await final(p, one, 'unknown', 3000);
        await final(p, two, 'unknown', 3000);
        expect(statusesOf(p, one)).toEqual(['timeout', 'unknown']);
        expect(statusesOf(p, two)).toEqual(['timeout', 'received', 'unknown']);
        await waitFor(() => sub.messages.length === 2);
        proxy.heal();
        // The late PUBCOMP of `two` must be taken quietly; the connection still works.
        await new Promise((r) => setTimeout(r, 700));
        expect(p.closes).toEqual([]);
        const three = p.client.publish(t, 'three', { qos: 2 });
        await final(p, three);
        expect([one, two].includes(three)).toBe(false);
        // (aedes may forward the QoS 2 message before the QoS 1 one: order holds per QoS only)
        expect(sub.messages.map((m) => text(m.payload)).sort()).toEqual(['one', 'three', 'two']);
      } finally {
        await proxy.close();
      }
    },
  );

  test(
    'persistent session: a QoS 1 message sent while away is delivered on return, without resubscribing',
    { timeout: T },
    async () => {
      const t = topic('session');
      const clientId = unique('persistent');
      const first = peer(b, { clientId, clean: false });
      expect(await first.client.connect()).toBe(false);
      await subscribed(first, t, 1);
      first.client.disconnect();
      await waitFor(() => b.hasLetGo(clientId));
      const pub = await connected(b);
      await final(pub, pub.client.publish(t, 'while you were away', { qos: 1 }));
      const back = peer(b, { clientId, clean: false });
      expect(await back.client.connect()).toBe(true); // session present
      await waitFor(() => back.messages.length === 1, { message: 'the queued message' });
      expect(back.messages[0]).toMatchObject({ topic: t, qos: 1 });
      expect(text(back.messages[0]!.payload)).toBe('while you were away');
      // and the subscription itself is still there
      await final(pub, pub.client.publish(t, 'again', { qos: 1 }));
      await waitFor(() => back.messages.length === 2);
      back.client.disconnect();
      await connected(b, { clientId, clean: true }); // leave no session behind
    },
  );

  test(
    'keepalive: a broker that stops answering (proxy blackhole) is detected after 1.5 x keepAlive',
    { timeout: T },
    async () => {
      const proxy = await startFaultProxy(b);
      try {
        const p = await connected(proxy, { keepAlive: 1 });
        const since = performance.now();
        proxy.blackhole();
        const id = p.client.publish(topic('void'), 'into the void', { qos: 1 });
        await waitFor(() => p.closes.length === 1, { timeout: 4000, message: 'onClose' });
        const elapsed = performance.now() - since;
        expect(p.closes[0]).toMatchObject({ code: 'UMQTT_KEEPALIVE_TIMEOUT', place: 'keepalive' });
        // CONNACK was the last byte received, just before the blackhole: death at 1.5 s after it.
        expect(elapsed).toBeGreaterThan(1400);
        expect(elapsed).toBeLessThan(2500);
        expect(p.client.issues.at(-1)?.error.code).toBe('UMQTT_KEEPALIVE_TIMEOUT');
        expect(statusesOf(p, id)).toEqual(['aborted']);
      } finally {
        await proxy.close();
      }
    },
  );

  test(
    'keepalive: a quiet but healthy connection stays up past 1.5 x keepAlive (PINGREQ/PINGRESP)',
    { timeout: T },
    async () => {
      const p = await connected(b, { keepAlive: 1 });
      await new Promise((r) => setTimeout(r, 2600));
      expect(p.closes).toEqual([]);
      expect(p.client.state).toBe('connected');
    },
  );
}

// ---- aedes -----------------------------------------------------------------------------------

describe('aedes (in-process)', () => {
  let aedes: AedesHandle;
  beforeAll(async () => {
    aedes = await startAedes();
  }, T);
  afterAll(() => aedes?.close(), T);

  sharedSuite(() => aedesBroker(aedes));

  describe('with hooks', () => {
    let special: AedesHandle | undefined;
    afterEach(async () => {
      await special?.close();
      special = undefined;
    }, T);
    const start = async (options: AedesStartOptions) => (special = await startAedes(options));

    test(
      'refused credentials: authenticate() false → CONNACK 4 → UMQTT_CONNACK_CREDENTIALS; accepted ones connect',
      { timeout: T },
      async () => {
        const at = await start({ authenticate: (_c, user, pass) => user === 'alice' && pass?.toString() === 'secret' });
        const bad = peer(at, { username: 'alice', password: 'wrong' });
        await expect(bad.client.connect()).rejects.toMatchObject({
          code: 'UMQTT_CONNACK_CREDENTIALS',
          reasonCode: 4,
          place: 'connect',
        });
        expect(bad.client.state).toBe('closed');
        expect(bad.closes).toEqual([]); // one reporting path: the promise
        const good = peer(at, { username: 'alice', password: new TextEncoder().encode('secret') });
        await expect(good.client.connect()).resolves.toBe(false);
      },
    );

    test(
      'a refused subscription: authorizeSubscribe denies → SUBACK 0x80 → onStatus(id, "refused", [1, 0x80])',
      { timeout: T },
      async () => {
        const at = await start({
          authorizeSubscribe: (_c, sub, done) => done(null, sub.topic.startsWith('secret/') ? null : sub),
        });
        const p = await connected(at);
        const id = p.client.subscribe([
          { topic: 'open/x', qos: 1 },
          { topic: 'secret/x', qos: 1 },
        ]);
        const s = await final(p, id, 'refused');
        expect(s.granted).toEqual([1, 0x80]);
        expect(statusesOf(p, id)).toEqual(['refused']);
        expect(p.client.state).toBe('connected'); // a refusal is not a connection failure
      },
    );
  });
});

// ---- Mosquitto -------------------------------------------------------------------------------

describe.skipIf(skipMosquitto)(`mosquitto${skipMosquitto ? ` (skipped: ${skipMosquitto})` : ''}`, () => {
  let mosquitto: MosquittoHandle; // default configuration: max_inflight_messages 20
  beforeAll(async () => {
    mosquitto = await startMosquitto();
  }, T);
  afterAll(() => mosquitto?.stop(), T);

  sharedSuite(() => mosquittoBroker(mosquitto));

  describe('with a special configuration', () => {
    let special: MosquittoHandle | undefined;
    afterEach(async () => {
      await special?.stop();
      special = undefined;
    }, T);
    const start = async (options: MosquittoOptions) => (special = await startMosquitto(options));

    test(
      'persistent session survives a broker restart (persistence true): session present, queued message delivered',
      { timeout: T },
      async () => {
        const at = await start({ persistence: true });
        const t = 'umqtt/restart/session';
        const clientId = unique('persistent');
        const first = peer(at, { clientId, clean: false });
        expect(await first.client.connect()).toBe(false);
        await subscribed(first, t, 1);
        first.client.disconnect();
        await at.restart(); // the session (subscription) must survive
        const pub = await connected(at);
        await final(pub, pub.client.publish(t, 'queued before the restart', { qos: 1 }));
        pub.client.disconnect();
        await at.restart(); // the queued message must survive too
        const back = peer(at, { clientId, clean: false });
        expect(await back.client.connect()).toBe(true);
        await waitFor(() => back.messages.length === 1, { message: 'the queued message' });
        expect(back.messages[0]).toMatchObject({ topic: t, qos: 1 });
        expect(text(back.messages[0]!.payload)).toBe('queued before the restart');
      },
    );

    test(
      'credentials: a wrong password is refused with CONNACK 5 (not 4) → UMQTT_CONNACK_NOT_AUTHORIZED; the right one connects',
      { timeout: T },
      async () => {
        // Mosquitto 2.0 answers a 3.1.1 client with a bad password (or an unknown user, or
        // anonymous when allow_anonymous is false) with return code 5 "not authorized"; it never
        // sends 4 "bad user name or password". The client maps the code it gets, as it should.
        const at = await start({ users: { alice: 'secret' }, allowAnonymous: false });
        for (const creds of [
          { username: 'alice', password: 'wrong' },
          { username: 'mallory', password: 'secret' },
          {},
        ]) {
          const bad = peer(at, creds);
          await expect(bad.client.connect()).rejects.toMatchObject({
            code: 'UMQTT_CONNACK_NOT_AUTHORIZED',
            reasonCode: 5,
            place: 'connect',
          });
          expect(bad.client.state).toBe('closed');
        }
        const good = peer(at, { username: 'alice', password: 'secret' });
        await expect(good.client.connect()).resolves.toBe(false);
        await subscribed(good, 'x', 1);
      },
    );

    test(
      'an ACL-denied subscription: Mosquitto 2.0 grants it in SUBACK (no 0x80) and filters at delivery instead',
      { timeout: T },
      async () => {
        // Measured with Mosquitto 2.0.11 and MQTT 3.1.1: neither a missing read grant nor an
        // explicit "topic deny" makes SUBACK return 0x80; the filter is granted and matching
        // messages are simply not delivered. The 0x80 → 'refused' path is shown with aedes above.
        const dir = await mkdtemp(join(tmpdir(), 'umqtt-acl-'));
        try {
          const acl = join(dir, 'acl');
          await writeFile(acl, 'topic readwrite open/#\ntopic write secret/#\n'); // anonymous: may write secret/#, not read it
          const at = await start({ extraConfig: [`acl_file ${acl}`] });
          const sub = await connected(at);
          const id = sub.client.subscribe([
            { topic: 'open/x', qos: 1 },
            { topic: 'secret/x', qos: 2 },
          ]);
          expect(await final(sub, id)).toMatchObject({ status: 'delivered', granted: [1, 2] });
          const pub = await connected(at);
          await final(pub, pub.client.publish('secret/x', 'hidden', { qos: 1 }));
          await final(pub, pub.client.publish('open/x', 'marker', { qos: 1 }));
          await waitFor(() => sub.messages.length > 0);
          expect(sub.messages.map((m) => [m.topic, text(m.payload)])).toEqual([['open/x', 'marker']]);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      },
    );
  });

  describe('flow control against a default Mosquitto (max_inflight_messages 20)', () => {
    const N = 2000; // per QoS

    /**
     * Streams N QoS 1 and N QoS 2 messages, interleaved, on two topics. `writable`: publish while
     * `client.writable`, continue in `onWritable` (the documented way); `queue`: publish
     * everything at once and let the client's local queue feed the window.
     */
    async function stream(options: Partial<ClientOptions>, pace: 'writable' | 'queue', wait = 8000) {
      const prefix = `umqtt/flow/${unique('f')}`;
      const sub = await connected(mosquitto, { maxInflight: 20 });
      await subscribed(sub, `${prefix}/#`, 2);
      const pub = await connected(mosquitto, options);
      let next = 0;
      let delivered = 0;
      let most = 0;
      const other: string[] = [];
      pub.client.onStatus = (id, status) => {
        if (status === 'delivered') delivered++;
        else if (status !== 'received') other.push(`${id}:${status}`);
      };
      const send = () => {
        while (next < 2 * N && (pace === 'queue' || pub.client.writable)) {
          const qos = ((next % 2) + 1) as 1 | 2;
          pub.client.publish(`${prefix}/q${qos}`, String(next >> 1), { qos });
          next++;
          most = Math.max(most, pub.client.inflight);
        }
      };
      pub.client.onWritable = send;
      send();
      const progress = () =>
        `published ${next}/${2 * N}, delivered ${delivered}, inflight ${pub.client.inflight}, queued ${pub.client.queued}, ` +
        `writable ${pub.client.writable}, received ${sub.messages.length}, other statuses ${other.slice(0, 5).join(' ')}`;
      // Done, a status other than delivered, or a stall: no acknowledgement for 1 s.
      let seen = -1;
      let since = performance.now();
      const stalled = () => {
        if (delivered !== seen) [seen, since] = [delivered, performance.now()];
        return performance.now() - since > 1000;
      };
      await waitFor(() => delivered === 2 * N || other.length > 0 || stalled(), {
        timeout: wait,
        message: 'every publish acknowledged',
      }).catch((e: Error) => {
        throw new Error(`${e.message}: ${progress()}`);
      });
      if (delivered < 2 * N && !other.length) throw new Error(`stalled for 1 s: ${progress()}`);
      // Everything acknowledged by the broker; give its deliveries to the subscriber a moment.
      await waitFor(() => sub.messages.length >= 2 * N, { timeout: 1000 }).catch(() => undefined);
      const seq = (qos: number) =>
        sub.messages.filter((m) => m.topic === `${prefix}/q${qos}`).map((m) => Number(text(m.payload)));
      return { sub, pub, delivered, most, other, progress, q1: seq(1), q2: seq(2) };
    }
    const all = Array.from({ length: N }, (_, i) => i);

    test(
      'publishing while writable and resuming in onWritable: every message delivered, QoS 2 exactly once and in order',
      { timeout: T },
      async () => {
        const r = await stream({}, 'writable');
        expect(r.other).toEqual([]);
        expect(r.delivered).toBe(2 * N);
        expect(r.most).toBeLessThanOrEqual(16); // the default window
        expect(r.q2).toEqual(all);
        expect(r.q1).toEqual(all);
      },
    );

    test(
      'publishing everything at once through the local queue (maxQueued 4000): every message delivered, in order',
      { timeout: T },
      async () => {
        const r = await stream({ maxQueued: 2 * N }, 'queue');
        expect(r.other).toEqual([]);
        expect(r.delivered).toBe(2 * N);
        expect(r.most).toBeLessThanOrEqual(16);
        expect(r.q2).toEqual(all);
        expect(r.q1).toEqual(all);
      },
    );

    test(
      'why the window matters: without one (maxInflight 500) Mosquitto acknowledges QoS 2 messages it then drops',
      { timeout: T },
      async () => {
        // The design's claim, measured with Mosquitto 2.0.11: past its in-flight cap (20) it
        // answers a 3.1.1 client's QoS 2 PUBLISH with a plain PUBREC (the "quota exceeded" reason
        // code cannot be sent in 3.1.1), completes PUBREL/PUBCOMP, and never forwards the message.
        // 500 messages stay below the subscriber's queue limit (max_queued_messages 1000), so
        // every loss here is the publisher side's.
        const M = 500;
        const t = `umqtt/flood/${unique('f')}`;
        const sub = await connected(mosquitto);
        await subscribed(sub, t, 2);
        const pub = await connected(mosquitto, { maxInflight: M, maxQueued: M });
        let delivered = 0;
        pub.client.onStatus = (_id, status) => void (status === 'delivered' && delivered++);
        for (let i = 0; i < M; i++) pub.client.publish(t, String(i), { qos: 2 });
        expect(pub.client.inflight).toBe(M);
        await waitFor(() => delivered === M, { timeout: 5000, message: 'every PUBCOMP' });
        await new Promise((r) => setTimeout(r, 300)); // let the broker forward what it kept
        const got = sub.messages.map((m) => Number(text(m.payload)));
        // Measured: 20 of 500 arrive (the first 20); QoS 1 sent the same way arrives in full.
        expect(got.length).toBeLessThan(M / 2); // "delivered" to the client, lost for the subscriber
        expect(got).toEqual([...got].sort((x, y) => x - y)); // what did arrive came once, in order
        expect(new Set(got).size).toBe(got.length);
      },
    );
  });

  describe('TLS', () => {
    let certs: Certificates;
    let tls: MosquittoHandle;
    beforeAll(async () => {
      certs = await generateCertificates();
      tls = await startMosquitto({ tls: { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile } });
    }, T);
    afterAll(async () => {
      await tls?.stop();
      await certs?.remove();
    }, T);

    test('a client trusting the CA connects and round-trips a QoS 1 message', { timeout: T }, async () => {
      const socket = createTlsSocketFactory({ ca: certs.caCert });
      const sub = await connected(tls, { socket });
      await subscribed(sub, 'tls/t', 1);
      const pub = await connected(tls, { socket });
      const payload = new Uint8Array(randomBytes(5000));
      await final(pub, pub.client.publish('tls/t', payload, { qos: 1 }));
      await waitFor(() => sub.messages.length === 1);
      expect(Buffer.compare(sub.messages[0]!.payload, payload)).toBe(0);
    });

    test(
      'disconnect() over TLS sends DISCONNECT before closing: the will is not published',
      { timeout: T },
      async () => {
        const socket = createTlsSocketFactory({ ca: certs.caCert });
        const broker = mosquittoBroker(tls);
        const watcher = await connected(tls, { socket });
        await subscribed(watcher, 'tls/will', 1);
        const clientId = unique('tls-will');
        const dying = await connected(tls, { socket, clientId, will: { topic: 'tls/will', payload: 'gone', qos: 1 } });
        dying.client.publish('tls/data', 'last reading', { qos: 0 });
        dying.client.disconnect();
        await waitFor(() => broker.hasLetGo(clientId));
        expect(tls.log()).toContain(`Client ${clientId} disconnected.`); // DISCONNECT seen, not just a closed socket
        const other = await connected(tls, { socket });
        other.client.publish('tls/will', 'marker', { qos: 1 });
        await waitFor(() => watcher.messages.length > 0);
        expect(watcher.messages.map((m) => text(m.payload))).toEqual(['marker']);
      },
    );

    test(
      'a client trusting another CA is refused: UMQTT_CONNECTION_LOST naming the verification error',
      { timeout: T },
      async () => {
        const socket = createTlsSocketFactory({ ca: await readFile(certs.otherCaFile, 'utf8') });
        const p = peer(tls, { socket });
        const e = await p.client.connect().then(
          () => undefined,
          (x: UmqttError) => x,
        );
        expect(e).toMatchObject({ code: 'UMQTT_CONNECTION_LOST', place: 'connect' });
        // Mosquitto sends only its leaf certificate, so Node cannot build a chain to the other CA.
        expect(e?.message).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
        expect(p.closes).toEqual([]);
      },
    );
  });
});

// ---- nothing listening -------------------------------------------------------------------------

describe('no broker', () => {
  test(
    'connection refused: connect() rejects with UMQTT_CONNECTION_LOST mentioning ECONNREFUSED',
    { timeout: T },
    async () => {
      const port = await freePort();
      const p = peer({ host: '127.0.0.1', port });
      await expect(p.client.connect()).rejects.toMatchObject({
        code: 'UMQTT_CONNECTION_LOST',
        place: 'connect',
        message: expect.stringMatching(/ECONNREFUSED/),
      });
      expect(p.client.state).toBe('closed');
      expect(p.closes).toEqual([]);
    },
  );
});
