// The proof on real engines, written once and run by xs.test.ts and quickjs.test.ts: each device
// bundle from dist/ runs inside the engine, on its own device glue, over the bridge, against an
// aedes broker on loopback.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatedFlash } from '@umqtt/store-flash';
import {
  generateCertificates,
  mosquittoOrSkip,
  startAedes,
  startMosquitto,
  waitFor,
  type AedesHandle,
  type Certificates,
  type MosquittoHandle,
} from '@umqtt/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { buildBundles } from '../scripts/build.mjs';
import { buildHarness, buildMainHarness } from './bridge/harness.js';
import { BridgeHost, type BridgeHostOptions, type EngineDriver } from './bridge/host.js';

/** A message that arrived: acknowledged (`delivered`, QoS 1/2) or handed to the socket (`sent`, QoS 0). */
const FINAL_OK = ['delivered', 'sent'];

export type StartEngine = (host: BridgeHost, harnessFile: string) => Promise<EngineDriver>;

export const BUNDLES = ['simple-client', 'robust-memory', 'robust-flash'] as const;
export type BundleName = (typeof BUNDLES)[number];
/** The MQTT 5 bundle (run against Mosquitto: aedes speaks 3.1.1 only). */
export const BUNDLE_V5 = 'simple-client-v5' as const;
type AnyBundle = BundleName | typeof BUNDLE_V5;

/** Fast reconnects for tests (the defaults wait up to seconds). */
const BACKOFF = { min: 100, max: 400 };
const WAIT = { timeout: 15_000, interval: 10 };

/** Builds dist-equivalent bundles into a temporary directory and one harness per bundle. */
const mainFile = new URL('./device/main.js', import.meta.url).pathname;

export async function prepareHarnesses(): Promise<{ dir: string; harness: Record<AnyBundle, string> }> {
  const dir = mkdtempSync(join(tmpdir(), 'umqtt-esp32-'));
  await buildBundles({ outdir: dir });
  const harness = {} as Record<AnyBundle, string>;
  for (const name of [...BUNDLES, BUNDLE_V5])
    harness[name] = await buildHarness(join(dir, `${name}.js`), join(dir, `${name}.harness.js`));
  return { dir, harness };
}

/** One engine running one bundle, with its host. */
export interface Running {
  host: BridgeHost;
  driver: EngineDriver;
  stop(): Promise<void>;
}

export async function run(start: StartEngine, harnessFile: string, options: BridgeHostOptions = {}): Promise<Running> {
  const host = new BridgeHost({ verbose: !!process.env.UMQTT_ENGINE_DEBUG, ...options });
  const driver = await start(host, harnessFile);
  return {
    host,
    driver,
    async stop() {
      host.close();
      await driver.close();
    },
  };
}

const messages = (host: BridgeHost, prefix: string) => host.find('message', (r) => String(r.topic).startsWith(prefix));
const statusOf = (host: BridgeHost, key: number) => host.find('status', (r) => r.key === key);

function noErrors(host: BridgeHost): void {
  expect(host.find('error'), 'exceptions inside the engine').toEqual([]);
  expect(host.find('crash'), 'the engine crashed').toEqual([]);
}

async function waitState(host: BridgeHost, state: string, after = 0): Promise<void> {
  await waitFor(() => host.reports.slice(after).some((r) => r.type === 'state' && r.state === state), {
    ...WAIT,
    message: `state ${state}`,
  });
}

/** Connects (or starts the robust client), subscribes at QoS 2, publishes at QoS 0, 1 and 2, and checks what comes back. */
export async function pubSubRoundTrip(
  r: Running,
  broker: AedesHandle,
  clientId: string,
  robust: boolean,
): Promise<void> {
  const { host } = r;
  const topic = `dev/${clientId}`;
  await host.call('open', { host: broker.host, port: broker.port, clientId, backoff: BACKOFF });
  await waitState(host, 'online');
  const subId = await host.call<number | null>('subscribe', { topic: `${topic}/#`, qos: 2 });
  if (robust) await waitFor(() => host.find('subscribed').length, { ...WAIT, message: 'SUBACK' });
  else
    await waitFor(() => statusOf(host, subId!).some((s) => s.status === 'delivered'), { ...WAIT, message: 'SUBACK' });
  const keys: number[] = [];
  for (const qos of [0, 1, 2])
    keys.push(await host.call<number>('publish', { topic: `${topic}/q${qos}`, payload: `hello ${qos} ✓`, qos }));
  await waitFor(() => messages(host, topic).length >= 3, { ...WAIT, message: 'own messages' });
  const got = messages(host, topic).map((m) => [m.topic, m.payload, m.qos]);
  expect(got.sort()).toEqual([0, 1, 2].map((q) => [`${topic}/q${q}`, `hello ${q} ✓`, q]));
  // QoS 1 and 2 reach their final acknowledgement (QoS 2 through PUBREC first).
  await waitFor(() => keys.slice(1).every((k) => statusOf(host, k).some((s) => s.status === 'delivered')), {
    ...WAIT,
    message: 'statuses',
  });
  // QoS 0 has no acknowledgement: its final status is `sent`
  if (robust) await waitFor(() => statusOf(host, keys[0]!).some((s) => s.status === 'sent'), WAIT);
  else {
    expect(keys[0]).toBe(0);
    expect(statusOf(host, keys[2]!).map((s) => s.status)).toEqual(['received', 'delivered']);
  }
  noErrors(host);
}

/** The CA certificate of a PEM file, DER bytes: what a device embeds as a resource. */
function derOf(pemFile: string): number[] {
  const b64 = readFileSync(pemFile, 'utf8').replace(/-----[^-]+-----|\s/g, '');
  return [...Buffer.from(b64, 'base64')];
}

export interface SuiteOptions {
  /** The Moddable SDK the stand-ins behave as (see natives.ts). Default 'current'. */
  sdk?: 'current' | 'oldest';
  /** Called at the end of each scenario (QuickJS reads its runtime's peak memory use there). */
  peaks?: (label: string, r: Running) => void;
}

/** The whole suite for one engine, with the stand-ins of one SDK. */
export function engineSuite(engine: string, start: StartEngine, suite: SuiteOptions = {}): void {
  const sdk = suite.sdk ?? 'current';
  const peaks = suite.peaks;
  engine = sdk === 'current' ? engine : `${engine}-${sdk}`;
  describe(`${engine}: the device bundles against a real broker (stand-ins of SDK ${sdk === 'current' ? '8.2.3' : '5.0.0'})`, () => {
    let dir = '';
    let harness: Record<AnyBundle, string>;
    let broker: AedesHandle;
    const running: Running[] = [];
    const launch = async (bundle: AnyBundle, options: BridgeHostOptions = {}, file = harness[bundle]) => {
      const r = await run(start, file, { sdk, ...options });
      running.push(r);
      return r;
    };

    beforeAll(async () => {
      ({ dir, harness } = await prepareHarnesses());
      broker = await startAedes();
    });
    afterEach(async () => {
      for (const r of running.splice(0)) await r.stop();
      if (!broker.listening) await broker.resume();
    });
    afterAll(async () => {
      await broker?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test('simple-client: connects, subscribes, publishes at QoS 0, 1 and 2 and receives its own messages', async () => {
      const r = await launch('simple-client');
      expect(await r.host.call('exports')).toEqual(['MqttClient', 'moddableTimers', 'tcpSocketFactory']);
      await pubSubRoundTrip(r, broker, `${engine}-simple`, false);
      await r.host.call('stop');
      await waitFor(() => r.host.find('closed').length, WAIT);
      expect(r.host.find('closed')[0]!.code).toBeUndefined(); // a clean DISCONNECT
      peaks?.('simple-client: QoS 0/1/2 round trip', r);
    });

    test('simple-client: resolves a host name through the DNS resolver, writes through a tiny send buffer', async () => {
      // 'localhost' is not an IP address: the glue asks the resolver first. A 16-byte send
      // buffer makes every packet wait in the glue and go out in pieces on onWritable.
      // The tick counter starts 3 s before it wraps at 2^32: the glue's clock keeps counting.
      // (50 ms was too little on a loaded machine: the client could start after the wrap, and a
      // clock first read after it has nothing to count from.)
      const r = await launch('simple-client', { sendBuffer: 16, ticksStart: 2 ** 32 - 3000 });
      await pubSubRoundTrip(r, { ...broker, host: 'localhost' } as AedesHandle, `${engine}-dns`, false);
      expect(r.host.requests.get(7 /* RESOLVE */)).toBe(1);
      expect(r.host.written.largest).toBe(16); // CONNECT alone is 20 bytes: packets went out in pieces
      await waitFor(async () => (await r.host.call<{ before: number }>('clock')).before < 2 ** 31, WAIT);
      const { before, now, after } = await r.host.call<{ before: number; now: number; after: number }>('clock');
      expect(now - 2 ** 32).toBeGreaterThanOrEqual(before);
      expect(now - 2 ** 32).toBeLessThanOrEqual(after);
    });

    for (const bundle of ['robust-memory', 'robust-flash'] as const) {
      test(`${bundle}: QoS 0/1/2 round trip, then survives a broker restart and delivers what was queued while it was down`, async () => {
        const flash = bundle === 'robust-flash' ? new SimulatedFlash({ blockSize: 4096, blocks: 16 }) : undefined;
        const r = await launch(bundle, { flash, sendBuffer: 256 });
        const { host } = r;
        const id = `${engine}-${bundle}`;
        await pubSubRoundTrip(r, broker, id, true);

        const before = host.reports.length;
        await broker.pause();
        await waitState(host, 'offline', before);
        const keys: number[] = [];
        for (const qos of [0, 1, 2])
          keys.push(
            await host.call<number>('publish', { topic: `dev/${id}/down/q${qos}`, payload: `queued ${qos}`, qos }),
          );
        // at least one reconnect attempt is refused while the broker is down
        await waitFor(
          () => host.reports.slice(before).filter((x) => x.type === 'state' && x.state === 'offline').length >= 2,
          { ...WAIT, message: 'a refused attempt' },
        );
        expect(keys.every((k) => k > 0)).toBe(true); // held in the store, not sent
        const info = await host.call<{ held: number; stored: number }>('info');
        expect(info.held).toBe(3);
        expect(info.stored).toBe(3);

        await broker.resume();
        await waitState(host, 'online', before);
        await waitFor(() => messages(host, `dev/${id}/down/`).length >= 3, {
          ...WAIT,
          message: 'queued messages after reconnect',
        });
        await waitFor(() => keys.every((k) => statusOf(host, k).some((s) => FINAL_OK.includes(String(s.status)))), {
          ...WAIT,
          message: 'final statuses',
        });
        expect(
          messages(host, `dev/${id}/down/`)
            .map((m) => m.payload)
            .sort(),
        ).toEqual(['queued 0', 'queued 1', 'queued 2']);
        expect((await host.call<{ held: number }>('info')).held).toBe(0);
        for (const k of keys) expect(statusOf(host, k)).toHaveLength(1); // exactly one final status each
        noErrors(host);
        peaks?.(`${bundle}: round trip + broker restart`, r);
      });
    }

    test('device/main.js, the firmware example, runs on robust-flash.js: connects, its QoS 2 alarm comes back, delivered', async () => {
      const topic = `umqtt/${engine}-main`;
      const config = {
        broker: broker.host,
        port: broker.port,
        clientId: `${engine}-main`,
        topic,
        partition: 'storage',
      };
      const file = await buildMainHarness(join(dir, 'robust-flash.js'), mainFile, join(dir, 'main.harness.js'), config);
      const r = await launch('robust-flash', { flash: new SimulatedFlash({ blockSize: 4096, blocks: 16 }) }, file);
      const traces = () => r.host.find('trace').map((t) => String(t.text));
      await waitFor(() => traces().some((t) => t.startsWith(`${topic}/alarm (QoS 2): boot at `)), {
        ...WAIT,
        message: 'the alarm round trip',
      });
      await waitFor(() => traces().includes('message 1: delivered\n'), { ...WAIT, message: 'the alarm delivered' });
      expect(traces().slice(0, 3)).toEqual([
        'umqtt: 0 message(s) kept in flash from before the restart\n',
        'mqtt: connecting\n',
        'mqtt: online\n',
      ]);
      noErrors(r.host);
      peaks?.('device/main.js on robust-flash: boot, alarm round trip', r);
    });

    test('robust-flash: keeps its queue across a restart of the engine (the flash outlives it) and sends it after', async () => {
      const flash = new SimulatedFlash({ blockSize: 4096, blocks: 16 });
      const id = `${engine}-reboot`;
      const topic = `dev/${id}`;
      const first = await launch('robust-flash', { flash });
      await first.host.call('open', { host: broker.host, port: broker.port, clientId: id, backoff: BACKOFF });
      await waitState(first.host, 'online');
      await first.host.call('subscribe', { topic: `${topic}/#`, qos: 2 }); // the broker keeps this session
      await waitFor(() => first.host.find('subscribed').length, WAIT);

      await broker.pause();
      await waitState(first.host, 'offline');
      const keys: number[] = [];
      for (const qos of [0, 1, 2])
        keys.push(await first.host.call<number>('publish', { topic: `${topic}/q${qos}`, payload: `kept ${qos}`, qos }));
      expect((await first.host.call<{ stored: number }>('info')).stored).toBe(3);
      noErrors(first.host);
      await first.stop(); // power off: the engine is gone, the flash stays
      running.splice(running.indexOf(first), 1);

      await broker.resume();
      const second = await launch('robust-flash', { flash: flash.clone() }); // the device after a reboot
      const opened = await second.host.call<{ held: number }>('open', {
        host: broker.host,
        port: broker.port,
        clientId: id,
        backoff: BACKOFF,
      });
      expect(opened.held).toBe(3); // mounted from flash before connecting
      await second.host.call('subscribe', { topic: `${topic}/#`, qos: 2 });
      await waitState(second.host, 'online');
      await waitFor(() => messages(second.host, topic).length >= 3, {
        ...WAIT,
        message: 'messages queued before the restart',
      });
      expect(
        messages(second.host, topic)
          .map((m) => m.payload)
          .sort(),
      ).toEqual(['kept 0', 'kept 1', 'kept 2']);
      // the keys the first engine handed out get their final status from the second
      await waitFor(
        () => keys.every((k) => statusOf(second.host, k).some((s) => FINAL_OK.includes(String(s.status)))),
        {
          ...WAIT,
          message: 'final statuses',
        },
      );
      const info = await second.host.call<{ held: number; stored: number }>('info');
      expect(info).toMatchObject({ held: 0, stored: 0 });
      noErrors(second.host);
      peaks?.('robust-flash: queue across an engine restart', second);
    });

    test('robust-flash, frozen as XS freezes a preloaded module (functions, built-in prototypes): round trip, errors made and reported', async () => {
      const r = await launch('robust-flash', { flash: new SimulatedFlash({ blockSize: 4096, blocks: 16 }) });
      await r.host.call('freezeLikePreload');
      await pubSubRoundTrip(r, broker, `${engine}-preload`, true);
      // an error is made and recorded: a topic the broker refuses to take from us is invalid here
      // (the device bundles carry no message texts: the code and the clause say it)
      await expect(r.host.call('publish', { topic: 'bad/+', payload: 'x', qos: 1 })).rejects.toThrow(
        /UmqttError: UMQTT_INVALID_TOPIC \[MQTT-3\.3\.2-2\]/,
      );
      noErrors(r.host);
    });

    test('simple-client: a payload larger than the send buffer goes out in pieces of the room, never copied whole; the device maximum is 8 KiB', async () => {
      const r = await launch('simple-client', { sendBuffer: 2048 });
      const { host } = r;
      const topic = `dev/${engine}-large`;
      await host.call('open', { host: broker.host, port: broker.port, clientId: `${engine}-large` });
      await waitState(host, 'online');
      const subId = await host.call<number>('subscribe', { topic: `${topic}/#`, qos: 1 });
      await waitFor(() => statusOf(host, subId).length, WAIT);
      const id = await host.call<number>('publish', { topic: `${topic}/big`, bytes: 7000, qos: 1, copy: false });
      await waitFor(() => statusOf(host, id).some((s) => s.status === 'delivered'), { ...WAIT, message: 'PUBACK' });
      await waitFor(() => messages(host, topic).length, { ...WAIT, message: 'the large message back' });
      expect(messages(host, topic)[0]!.payload).toEqual({ length: 7000, counting: true });
      expect(host.written.largest).toBeLessThanOrEqual(2048);
      // the bundle's MqttClient defaults to maxPacketSize 8 KiB: a larger publish is refused at once
      await expect(host.call('publish', { topic: `${topic}/huge`, bytes: 8200, qos: 1 })).rejects.toThrow(
        /UmqttError: UMQTT_PAYLOAD_TOO_LARGE/,
      );
      noErrors(host);
    });

    test('robust-memory: Net.get("DNS") is empty: connecting by name reports "no DNS server" and the resolver is never asked', async () => {
      const r = await launch('robust-memory', { dns: [] });
      const { host } = r;
      await host.call('open', { host: 'localhost', port: broker.port, clientId: `${engine}-nodns`, backoff: BACKOFF });
      await waitFor(async () => (await host.call<{ issues: string[] }>('info')).issues.length, WAIT);
      const { issues } = await host.call<{ issues: string[] }>('info');
      // the device bundles carry no message texts ("no DNS server for localhost" with them): the code stands in
      expect(issues[0]).toBe('connect: UMQTT_CONNECTION_LOST: UMQTT_CONNECTION_LOST');
      expect(host.find('dns-stuck')).toEqual([]); // the SDK's resolver would wait forever
      expect(host.requests.get(7 /* RESOLVE */)).toBeUndefined();
      noErrors(host);
    });

    describe.skipIf(mosquittoOrSkip() !== undefined)('MQTT 5 against Mosquitto', () => {
      let m5: MosquittoHandle;
      beforeAll(async () => {
        m5 = await startMosquitto({ extraConfig: ['max_inflight_messages 3'] });
      });
      afterAll(() => m5?.stop());

      test("simple-client-v5: QoS 0/1/2 round trip in MQTT 5; the broker's Receive Maximum (3) caps the window", async () => {
        const r = await launch(BUNDLE_V5);
        const { host } = r;
        expect(await host.call('exports')).toEqual(['MqttClient5', 'moddableTimers', 'tcpSocketFactory']);
        await pubSubRoundTrip(r, m5 as unknown as AedesHandle, `${engine}-v5`, false);
        expect(await host.call('connack')).toMatchObject({ receiveMaximum: 3 });
        const keys = await host.call<number[]>('fill', { topic: `dev/${engine}-v5/w`, count: 12, bytes: 32, qos: 1 });
        expect(await host.call<number>('inflight')).toBe(3); // the rest wait for the window
        await waitFor(() => keys.every((k) => statusOf(host, k).some((s) => s.status === 'delivered')), {
          ...WAIT,
          message: 'every message delivered through a window of 3',
        });
        await waitFor(() => messages(host, `dev/${engine}-v5/w`).length === 12, WAIT);
        noErrors(host);
        peaks?.('simple-client-v5: MQTT 5 round trip + window of 3', r);
      });
    });

    describe.skipIf(mosquittoOrSkip() !== undefined)("TLS, through the SDK's TLS socket, against Mosquitto", () => {
      let certs: Certificates;
      let tlsBroker: MosquittoHandle;
      beforeAll(async () => {
        certs = await generateCertificates();
        tlsBroker = await startMosquitto({ tls: { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile } });
      });
      afterAll(async () => {
        await tlsBroker?.stop();
        await certs?.remove();
      });

      test('robust-flash: by host name (DNS, then SNI "localhost"), the CA checked: QoS 0/1/2 round trip through a small send buffer', async () => {
        const r = await launch('robust-flash', {
          flash: new SimulatedFlash({ blockSize: 4096, blocks: 16 }),
          sendBuffer: 512,
        });
        const { host } = r;
        const id = `${engine}-tls`;
        const topic = `dev/${id}`;
        await host.call('open', {
          host: 'localhost',
          port: tlsBroker.port,
          clientId: id,
          backoff: BACKOFF,
          tls: { ca: derOf(certs.caFile) },
        });
        await waitState(host, 'online');
        expect(host.tlsSessions).toEqual([{ servername: 'localhost', verify: true, established: true }]);
        await host.call('subscribe', { topic: `${topic}/#`, qos: 2 });
        await waitFor(() => host.find('subscribed').length, { ...WAIT, message: 'SUBACK' });
        const keys: number[] = [];
        for (const qos of [0, 1, 2])
          keys.push(await host.call<number>('publish', { topic: `${topic}/q${qos}`, payload: `secret ${qos}`, qos }));
        keys.push(await host.call<number>('publish', { topic: `${topic}/big`, bytes: 3000, qos: 1 }));
        await waitFor(() => messages(host, topic).length >= 4, { ...WAIT, message: 'own messages over TLS' });
        await waitFor(
          () => keys.every((k) => statusOf(host, k).some((s) => FINAL_OK.includes(String(s.status)))),
          WAIT,
        );
        expect(
          messages(host, topic)
            .map((m) => m.payload)
            .sort(),
        ).toEqual([{ length: 3000, counting: true }, 'secret 0', 'secret 1', 'secret 2']);
        noErrors(host);
      });

      test('a broker whose certificate the given CA did not sign: the handshake error ends the connection, nothing escapes into a native callback', async () => {
        const r = await launch('robust-memory');
        const { host } = r;
        await host.call('open', {
          host: tlsBroker.host,
          port: tlsBroker.port,
          clientId: `${engine}-badca`,
          backoff: BACKOFF,
          tls: { ca: derOf(certs.otherCaFile) },
        });
        await waitFor(async () => (await host.call<{ issues: string[] }>('info')).issues.length, WAIT);
        const { issues, state } = await host.call<{ issues: string[]; state: string }>('info');
        expect(issues[0]).toMatch(/^connect: UMQTT_CONNECTION_LOST: .*TLSError: handshake: /);
        expect(state).not.toBe('online');
        expect(host.tlsSessions[0]).toMatchObject({ servername: '127.0.0.1', established: false });
        noErrors(host); // the glue caught what the TLS layer threw inside the TCP socket's callback
      });
    });
  });
}
