// `umqtt demo`: the seed's three kinds of message through a broker outage, shown live.
//
// An embedded broker, a subscriber and a robust publisher with the three policies
// (temperature readings that may be dropped, button presses that expire after 15 s, alarms
// that must arrive exactly once). The broker goes away for longer than a button press lives,
// comes back, and the run ends with a summary that checks the claims. With `protocolVersion: 5`
// the same over MQTT 5, through Mosquitto (aedes speaks MQTT 3.1.1 only), each client keeping
// its session for an hour (Session Expiry Interval: in MQTT 5 `clean: false` alone keeps none).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PRESETS, RobustClient, type FinalStatus, type RobustOptions, type RobustState } from '@umqtt/robust';
import { RobustClient5 } from '@umqtt/robust/v5';
import { FlashStore } from '@umqtt/store-flash';
import { MemoryStore } from '@umqtt/store-memory';
import type { Store } from '@umqtt/robust';
import { FileFlash } from '../flash-file.js';
import { startEmbeddedBroker } from '../broker/embedded-broker.js';
import { startDemoMosquitto, type DemoBroker } from './mosquitto.js';
import { createTcpSocketFactory, nodeTimers } from '../transport/index.js';

export interface DemoOptions {
  /** Redraw a live panel (a terminal) instead of printing progress lines. */
  interactive: boolean;
  out: (line: string) => void;
  /** Timeline in milliseconds (tests shorten nothing: the claims need the real 15 s TTL). */
  timeline?: Partial<Timeline> | undefined;
  /** Makes the publisher's store; default: a FlashStore on a file flash in a temporary directory. */
  store?: ((dir: string) => Store) | undefined;
  /** 4 (MQTT 3.1.1, the embedded aedes broker; the default) or 5 (MQTT 5, through Mosquitto). */
  protocolVersion?: 4 | 5 | undefined;
  /** The Mosquitto executable for MQTT 5. Default: `mosquitto`, found on PATH. */
  mosquitto?: string | undefined;
}

export interface Timeline {
  /** Broker goes down at this time. */
  outageAt: number;
  /** For this long (longer than a button press lives). */
  outageFor: number;
  /** Publishing stops at this time. */
  publishUntil: number;
  /** The run waits at most this long after that for every final status. */
  settleWithin: number;
}

const DEFAULT_TIMELINE: Timeline = { outageAt: 5_000, outageFor: 19_000, publishUntil: 29_000, settleWithin: 15_000 };

type Kind = 'temperature' | 'button' | 'alarm';
const KINDS: Kind[] = ['temperature', 'button', 'alarm'];
const EVERY: Record<Kind, number> = { temperature: 500, button: 2_500, alarm: 6_000 };

interface Sent {
  kind: Kind;
  seq: number;
  at: number;
  status?: FinalStatus;
  reason?: string | undefined;
  statusAt?: number;
}

export async function runDemo(options: DemoOptions): Promise<number> {
  const t = { ...DEFAULT_TIMELINE, ...options.timeline };
  const out = options.out;
  const dir = mkdtempSync(join(tmpdir(), 'umqtt-demo-'));
  const v5 = options.protocolVersion === 5;
  let broker: DemoBroker;
  try {
    broker = v5 ? await startDemoMosquitto(dir, options.mosquitto) : await startEmbeddedBroker();
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const server = { host: broker.host, port: broker.port };
  const socket = createTcpSocketFactory();
  // MQTT 5: RobustClient5, with a session kept for an hour across the outage
  const robust = (options: RobustOptions): RobustClient =>
    v5 ? new RobustClient5({ ...options, sessionExpiry: 3600 }) : new RobustClient(options);
  const start = Date.now();
  const now = () => Date.now() - start;

  // The subscriber: a persistent session, so it also gets what arrives while it reconnects.
  const received = new Map<string, number>(); // "kind/seq" -> times received
  const sub = robust({
    socket,
    timers: nodeTimers,
    servers: [server],
    clientId: 'demo-subscriber',
    clean: false,
    keepAlive: 2,
    store: new MemoryStore(),
    backoff: { min: 100, max: 1_000 },
  });
  sub.onMessage = (m) => {
    const text = new TextDecoder().decode(m.payload);
    const key = `${m.topic.slice(5)}/${text.split(':')[0]}`;
    received.set(key, (received.get(key) ?? 0) + 1);
  };
  sub.subscribe('demo/#', 2);
  sub.start();

  // The publisher: the seed's three policies, its queue in a flash store (a file here) that
  // would outlive a restart of the process.
  // (fdatasync on every write is what a power cut needs; the demo's temp file does not, and
  // skipping it keeps the run quick on slow disks.)
  const flash = options.store
    ? undefined
    : new FileFlash(join(dir, 'queue.flash'), { byteLength: 256 * 1024, sync: false });
  const store = options.store ? options.store(dir) : new FlashStore(flash!);
  const pub = robust({
    socket,
    timers: nodeTimers,
    servers: [server],
    clientId: 'demo-publisher',
    clean: false,
    keepAlive: 2,
    store,
    backoff: { min: 200, max: 2_000 },
  });
  const sent = new Map<number, Sent>();
  const refused: Sent[] = [];
  const events: string[] = [];
  let state: RobustState = 'idle';
  let shown: RobustState = 'idle';
  pub.onState = (s) => {
    state = s;
    // the timeline keeps the real changes: online, offline (not each retry), closed
    if (s === 'connecting' || s === shown || (s === 'offline' && shown !== 'online')) return;
    shown = s;
    events.push(`${secs(now()).trim()} publisher ${s === 'online' ? `online (attempt ${pub.counters.attempts})` : s}`);
  };
  pub.onStatus = (key, status, reason) => {
    const s = sent.get(key);
    if (s) Object.assign(s, { status, reason, statusAt: now() });
  };
  pub.start();

  const seq: Record<Kind, number> = { temperature: 0, button: 0, alarm: 0 };
  const publish = (kind: Kind) => {
    const n = ++seq[kind];
    const payload = kind === 'temperature' ? `${n}:${(20 + Math.sin(n / 5) * 3).toFixed(1)}` : String(n);
    const entry: Sent = { kind, seq: n, at: now() };
    const key = pub.publish(`demo/${kind}`, payload, PRESETS[kind]);
    if (key === 0) refused.push(entry);
    else sent.set(key, entry);
  };
  const timers = KINDS.map((kind) => setInterval(() => now() < t.publishUntil && publish(kind), EVERY[kind]));

  // The outage.
  const outage = setTimeout(async () => {
    events.push(`${secs(now()).trim()} broker stopped`);
    await broker.pause();
    setTimeout(async () => {
      await broker.resume();
      events.push(`${secs(now()).trim()} broker back`);
    }, t.outageFor);
  }, t.outageAt);

  // Live view.
  let lines = 0;
  const draw = () => {
    const panel = render(now(), state, broker.listening, pub, sent, received, refused, v5);
    if (options.interactive) {
      out(`${lines ? `\x1b[${lines}A` : ''}${panel.map((l) => `\x1b[2K${l}`).join('\n')}`);
      lines = panel.length;
    } else out(panel[panel.length - 1]!);
  };
  const view = setInterval(draw, options.interactive ? 250 : 2_000);

  // Wait for the timeline, then for every final status.
  await sleep(t.publishUntil);
  timers.forEach(clearInterval);
  const deadline = now() + t.settleWithin;
  while (now() < deadline && ([...sent.values()].some((s) => !s.status) || !allAlarmsReceived(sent, received)))
    await sleep(100);
  clearInterval(view);
  clearTimeout(outage);
  draw();
  pub.stop();
  sub.stop();
  store.close();
  flash?.close();
  await broker.close();
  rmSync(dir, { recursive: true, force: true });

  const { lines: summary, ok } = summarize(sent, received, refused, events, v5);
  for (const line of summary) out(line);
  return ok ? 0 : 1;
}

function allAlarmsReceived(sent: Map<number, Sent>, received: Map<string, number>): boolean {
  for (const s of sent.values())
    if (s.kind === 'alarm' && s.status === 'delivered' && !received.has(`alarm/${s.seq}`)) return false;
  return true;
}

function count(sent: Map<number, Sent>, kind: Kind, status?: FinalStatus | 'pending'): number {
  let n = 0;
  for (const s of sent.values())
    if (s.kind === kind && (status === undefined || (s.status ?? 'pending') === status)) n++;
  return n;
}

function render(
  at: number,
  state: RobustState,
  brokerUp: boolean,
  pub: RobustClient,
  sent: Map<number, Sent>,
  received: Map<string, number>,
  refused: Sent[],
  v5: boolean,
): string[] {
  const c = pub.counters;
  const rows = KINDS.map(
    (k) =>
      `  ${k.padEnd(12)} queued ${String(pub.queuedFor(`demo/${k}`)).padStart(3)}   delivered ${String(count(sent, k, 'delivered') + count(sent, k, 'sent')).padStart(3)}   expired ${String(count(sent, k, 'expired')).padStart(3)}   dropped ${String(count(sent, k, 'dropped') + refused.filter((r) => r.kind === k).length).padStart(3)}   received ${String([...received.keys()].filter((r) => r.startsWith(`${k}/`)).length).padStart(3)}`,
  );
  return [
    `umqtt demo${v5 ? ' (MQTT 5)' : ''}   t=${secs(at)}   broker ${brokerUp ? 'up  ' : 'DOWN'}   publisher ${state.padEnd(10)}   attempts ${c.attempts}   reconnects ${c.reconnects}`,
    ...rows,
    `[${secs(at)}] broker ${brokerUp ? 'up' : 'down'}, publisher ${state}, queued ${pub.queued}, delivered ${c.delivered}, sent ${c.sent}, expired ${c.expired}, dropped ${c.dropped}, attempts ${c.attempts}`,
  ];
}

function summarize(
  sent: Map<number, Sent>,
  received: Map<string, number>,
  refused: Sent[],
  events: string[],
  v5: boolean,
): { lines: string[]; ok: boolean } {
  const all = [...sent.values()];
  const alarms = all.filter((s) => s.kind === 'alarm');
  const buttons = all.filter((s) => s.kind === 'button');
  const temps = all.filter((s) => s.kind === 'temperature');
  const pending = all.filter((s) => !s.status);
  const alarmOnce = alarms.filter((a) => received.get(`alarm/${a.seq}`) === 1).length;
  const expired = buttons.filter((b) => b.status === 'expired');
  const expiredLate = expired.filter((b) => b.statusAt! - b.at >= 15_000 - 50).length;
  const deliveredFresh = buttons.filter((b) => b.status === 'delivered').length;
  const checks: [boolean, string][] = [
    [
      alarms.length > 0 && alarmOnce === alarms.length && refused.every((r) => r.kind !== 'alarm'),
      `every alarm delivered exactly once: ${alarmOnce} of ${alarms.length}`,
    ],
    [
      expired.length > 0 && expiredLate === expired.length,
      `button presses older than 15 s expired and reported: ${expired.length} (the other ${deliveredFresh} delivered)`,
    ],
    [
      pending.length === 0,
      `nothing lost without a status: ${all.length + refused.length} published, ${all.length - pending.length + refused.length} final statuses, ${pending.length} without`,
    ],
  ];
  const lines = [
    '',
    `timeline${v5 ? ' (MQTT 5, Mosquitto)' : ''}: ${events.join(', ')}`,
    `temperature: ${temps.length} published, ${count(sent, 'temperature', 'sent')} sent (QoS 0: no acknowledgement), ${count(sent, 'temperature', 'dropped')} dropped while offline (only the newest 10 are kept)`,
    `button:      ${buttons.length} published, ${deliveredFresh} delivered, ${expired.length} expired`,
    `alarm:       ${alarms.length} published, ${count(sent, 'alarm', 'delivered')} delivered`,
    '',
    ...checks.map(([ok, text]) => `${ok ? 'PASS' : 'FAIL'}  ${text}`),
  ];
  return { lines, ok: checks.every(([ok]) => ok) };
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1).padStart(5)}s`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
