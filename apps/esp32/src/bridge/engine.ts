// The test application that runs INSIDE XS or QuickJS next to a device bundle from dist/: what a
// firmware's main.js does, driven by the host through CALL events (open, subscribe, publish...)
// and reporting what happens (states, statuses, messages). It runs the bundle's client on the
// bundle's own device glue (tcpSocketFactory, moddableTimers, moddableFlash) over the stand-ins
// of Moddable's native modules in natives.ts.
//
// esbuild bundles this file per device bundle with `umqtt` left as an import of that bundle
// (see harness.ts), so the bundle under test is loaded as the unmodified module it is.
import * as umqtt from 'umqtt';
import { Flash, Net, Resolver, TCP, TLSSocket, Time, Timer, UDP, report, serve } from './natives.js';
import * as P from './protocol.js';

type Json = Record<string, unknown>;

// ---- the test application: what a firmware's main.js does, driven by the host -------------

const U = umqtt as any;
let client: any;
let store: any;
let clock: any;
const bytesOf = (p: unknown) => (p instanceof Uint8Array ? P.text(p) : String(p));

const app: Record<string, (arg: any) => unknown> = {
  /** Which bundle this is. */
  exports: () => Object.keys(U).sort(),

  /**
   * Creates the client the bundle offers, on the device glue, and starts connecting (unless
   * `start` is false: then `start()` does). `tls.ca` is the broker's CA certificate (DER bytes).
   */
  open(o: {
    host: string;
    port: number;
    clientId: string;
    keepAlive?: number;
    backoff?: Json;
    flash?: Json;
    clean?: boolean;
    maxPacketSize?: number;
    tls?: { ca?: number[]; serverName?: string; verify?: boolean };
    start?: boolean;
  }) {
    const tls = o.tls && {
      io: TLSSocket,
      secure: {
        ...(o.tls.ca ? { certificate: Uint8Array.from(o.tls.ca).buffer } : {}),
        ...(o.tls.serverName ? { serverName: o.tls.serverName } : {}),
        ...(o.tls.verify === false ? { verify: false } : {}),
      },
    };
    // as main.js does: the DNS servers DHCP gave, read at each lookup
    const dns = { io: Resolver, servers: () => Net.get('DNS'), socket: { io: UDP } };
    const socket = U.tcpSocketFactory(TCP, { dns, tls });
    const t = (clock = U.moddableTimers(Timer, Time));
    const common = {
      socket,
      timers: t,
      clientId: o.clientId,
      keepAlive: o.keepAlive ?? 30,
      connectTimeout: 5000,
      messageTimeout: 10_000,
      ...(o.maxPacketSize ? { maxPacketSize: o.maxPacketSize } : {}),
    };
    if (U.RobustClient) {
      store = U.FlashStore
        ? new U.FlashStore(U.moddableFlash(new Flash('storage')), o.flash ?? {})
        : new U.MemoryStore({ capacity: 64 * 1024 });
      client = new U.RobustClient({
        ...common,
        servers: [{ host: o.host, port: o.port }],
        store,
        backoff: o.backoff,
        clean: o.clean,
      });
      client.onState = (state: string) => report({ type: 'state', state });
      client.onStatus = (key: number, status: string, reason?: string) =>
        report({ type: 'status', key, status, reason });
      client.onSubscribed = (_subs: unknown, granted: number[]) => report({ type: 'subscribed', granted });
      client.onMessage = onMessage;
      const held = client.held;
      if (o.start !== false) client.start();
      return { held };
    }
    // the MQTT 5 bundle offers MqttClient5, the others MqttClient
    client = new (U.MqttClient5 ?? U.MqttClient)({ ...common, host: o.host, port: o.port, clean: o.clean ?? true });
    client.onStatus = (id: number, status: string, granted?: number[]) =>
      report({ type: 'status', key: id, status, granted });
    client.onClose = (e?: { code: string }) => report({ type: 'closed', code: e?.code });
    client.onMessage = onMessage;
    if (o.start !== false) app.start!(undefined);
    return { held: 0 };
  },

  /** MQTT 5: the broker's CONNACK properties (null for a 3.1.1 client). */
  connack: () => client.connack ?? null,

  /** QoS 1/2 messages in flight now. */
  inflight: () => client.inflight,

  /** Starts the client made by `open({ start: false })`. */
  start() {
    if (client.start) return client.start();
    client.connect().then(
      (sessionPresent: boolean) => report({ type: 'state', state: 'online', sessionPresent }),
      (e: { code: string; message: string }) => report({ type: 'connect-failed', code: e.code, message: e.message }),
    );
    return null;
  },

  subscribe: ({ topic, qos }: { topic: string; qos: number }) => client.subscribe(topic, qos) ?? null,

  /** Publishes `payload`, or `bytes` bytes counting up from 0 (`copy: false` hands them over). */
  publish({
    topic,
    payload,
    qos,
    bytes,
    copy,
  }: {
    topic: string;
    payload: string;
    qos: number;
    bytes?: number;
    copy?: boolean;
  }) {
    const data = bytes ? new Uint8Array(bytes).map((_, i) => i % 251) : payload;
    return client.publish(topic, data, copy === false ? { qos, copy } : { qos });
  },

  /** Publishes `count` messages of `bytes` bytes to topic + a 3-digit number. */
  fill({ topic, count, bytes, qos }: { topic: string; count: number; bytes: number; qos: number }) {
    const keys: number[] = [];
    for (let i = 0; i < count; i++)
      keys.push(client.publish(topic + String(i).padStart(3, '0'), new Uint8Array(bytes).fill(0x62), { qos }));
    return keys;
  },

  info: () => ({
    state: client.state,
    held: client.held ?? null,
    queued: client.queued ?? null,
    counters: client.counters ?? null,
    issues: [...client.issues].map((i: any) => `${i.place}: ${i.error.code}: ${i.error.message}`),
    stored: store ? store.count : null,
  }),

  /**
   * What XS's linker does after the preload phase (Moddable's documentation/xs/preload.md,
   * "Automatic Freezing of Built-ins"): the prototypes of the built-in objects are frozen, and
   * every function of the preloaded modules (reached here from the bundle's exports: classes,
   * their methods and static members). Objects and module variables stay writable (XS keeps
   * their changes in RAM).
   */
  freezeLikePreload() {
    const seen = new Set<unknown>();
    const walk = (o: unknown): void => {
      if (!o || (typeof o !== 'object' && typeof o !== 'function') || seen.has(o)) return;
      seen.add(o);
      if (typeof o === 'function') Object.freeze(o);
      for (const k of Reflect.ownKeys(o)) {
        const d = Object.getOwnPropertyDescriptor(o, k)!;
        walk(d.value);
        walk(d.get);
        walk(d.set);
      }
    };
    walk(U);
    for (const C of [
      Object,
      Function,
      Array,
      Error,
      TypeError,
      RangeError,
      SyntaxError,
      Promise,
      Map,
      Set,
      WeakMap,
      String,
      Number,
      Boolean,
      Symbol,
      Date,
      RegExp,
      ArrayBuffer,
      DataView,
      Uint8Array,
      Uint32Array,
      BigInt,
    ])
      Object.freeze(C.prototype);
    for (const T of [Int8Array, Uint8Array, Object.getPrototypeOf(Uint8Array)]) Object.freeze(T.prototype);
    return null;
  },

  /** Keeps `n` of something alive (the memory test's yardstick): bytes, array elements, strings of 3 characters. */
  hold({ what, n }: { what: 'bytes' | 'elements' | 'strings'; n: number }) {
    const g = globalThis as any;
    if (what === 'bytes') g.held = new Uint8Array(n);
    else if (what === 'elements') g.held = new Array(n).fill(0);
    else g.held = Array.from({ length: n }, (_, i) => `${i % 10}${((i / 10) % 10) | 0}x`);
    return null;
  },

  /** The raw tick counter and the glue's monotonic clock built on it. */
  clock: () => ({ before: Time.ticks, now: clock.now(), after: Time.ticks }),

  stop() {
    if (client.stop) client.stop();
    else client.disconnect();
    return null;
  },
};

function onMessage(m: { topic: string; payload: Uint8Array; qos: number; dup: boolean; retain: boolean }) {
  const p = m.payload;
  // a large payload is reported by its length and whether each byte is what `publish` sent
  const payload = p.length > 1024 ? { length: p.length, counting: p.every((b, i) => b === i % 251) } : bytesOf(p);
  report({ type: 'message', topic: m.topic, payload, qos: m.qos, dup: m.dup, retain: m.retain });
}

serve(app);
