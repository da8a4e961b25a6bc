// A virtual day of a device, the bench of the reconnect strategy: the seed's three kinds of message
// (a temperature reading a minute, button presses that matter for 15 s, alarms that must arrive)
// through 20 outages of seconds to hours, on the default RobustClient settings with a FlashStore,
// against the Mosquitto model over a cellular-like link. `pnpm sim day` prints its table.
import { PRESETS } from '@umqtt/robust';
import { BrokerNode, BrokerState } from './broker.js';
import { BrokerLedger, stepChecks, watchStates } from './checker.js';
import { Device, type DeviceSpec, type PubRecord } from './device.js';
import { Network } from './network.js';
import { World } from './world.js';

const DAY = 24 * 3_600_000;
const HOST = 'broker';

export interface Outage {
  start: number;
  end: number;
  /** `down`: the broker refuses connections; `unreachable`: connects hang. */
  how: 'down' | 'unreachable';
}

export interface KindRow {
  kind: string;
  published: number;
  delivered: number;
  sent: number;
  expired: number;
  dropped: number;
  rejected: number;
  /** No final status by the end of the day (still queued). */
  pending: number;
}

export interface DayResult {
  seed: number;
  outages: Outage[];
  rows: KindRow[];
  /** Connection attempts that began during an outage, and the outage hours. */
  outageAttempts: number;
  outageHours: number;
  attempts: number;
  wireBytes: number;
  delivered: number;
  /** For each outage during which an alarm waited: ms from the broker's return to that alarm's delivery. */
  alarmLatency: number[];
  /** CPU milliseconds the day took. */
  cpuMs: number;
  events: number;
}

/** Runs the day of seed `seed`. */
export async function runDay(seed: number): Promise<DayResult> {
  const started = performance.now();
  const world = new World(seed);
  const r = world.random;
  const ledger = new BrokerLedger(world);
  const net = new Network(world, r.fork());
  const node = new BrokerNode(world, r.fork(), HOST, new BrokerState(ledger));
  net.listen(HOST, 1883, node);

  // 20 outages of 5 s to 3 h, apart from each other, over the day
  const outages: Outage[] = [];
  while (outages.length < 20) {
    const length = r.logUniform(5_000, 3 * 3_600_000);
    const start = r.float(60_000, DAY - length - 60_000);
    const end = start + length;
    if (outages.some((o) => start < o.end + 60_000 && end > o.start - 60_000)) continue;
    outages.push({ start, end, how: r.chance(0.5) ? 'down' : 'unreachable' });
  }
  outages.sort((a, b) => a.start - b.start);

  const spec: DeviceSpec = {
    name: 'dev',
    clientId: 'dev',
    store: 'flash',
    clock: 'moddable',
    tick: 10,
    clockRestarts: false,
    link: {
      latency: 60,
      jitter: 80,
      bandwidth: 20,
      mss: 1460,
      fragment: 0.1,
      sendBuffer: 5744,
      window: 5744,
      writable: 'sent',
    },
    servers: [{ host: HOST, port: 1883 }],
    keepAlive: 60,
    connectTimeout: 10_000,
    messageTimeout: 0,
    socketTimeout: 30_000,
    maxInflight: undefined,
    backoff: {},
    policy: {},
    subscriptions: [],
    flashBlocks: 32,
    clean: false,
  };
  const device = new Device(world, net, spec, r.fork(), { faults: () => ({}) });
  world.steps.push(stepChecks(world, [device]));
  watchStates(world, device);
  device.start();

  for (const o of outages) {
    world.at(o.start, () => (o.how === 'down' ? (net.setUp(HOST, false), node.stop()) : net.setReachable(HOST, false)));
    world.at(o.end, () => (o.how === 'down' ? net.setUp(HOST, true) : net.setReachable(HOST, true)));
  }
  // the application: a reading a minute, a press now and then, an alarm a few times a day
  const kinds = [
    { kind: 'temperature', opts: PRESETS.temperature, next: () => 60_000 },
    { kind: 'button', opts: PRESETS.button, next: () => r.logUniform(60_000, 3_600_000) },
    { kind: 'alarm', opts: PRESETS.alarm, next: () => r.logUniform(600_000, 6 * 3_600_000) },
  ];
  for (const k of kinds)
    for (let t = k.next(); t < DAY; t += k.next())
      world.at(t, () => device.publish(k.kind, `home/dev/${k.kind}`, k.opts, 24));
  // every outage has an alarm raised during it (the time to deliver it once the broker is back)
  for (const o of outages)
    world.at(r.float(o.start, o.end), () => device.publish('alarm', 'home/dev/alarm', PRESETS.alarm, 24));

  let attemptsBefore = 0;
  let outageAttempts = 0;
  for (const o of outages) {
    world.at(o.start, () => (attemptsBefore = device.attempts));
    world.at(o.end, () => (outageAttempts += device.attempts - attemptsBefore));
  }
  await world.run(DAY);
  if (world.violation)
    throw new Error(`the day of seed ${seed} broke: ${world.violation.invariant}: ${world.violation.detail}`);

  const rows: KindRow[] = kinds.map(({ kind }) => {
    const recs = device.records.filter((x) => x.kind === kind);
    const count = (s: string) => recs.filter((x) => x.statuses[0]?.status === s).length;
    return {
      kind,
      published: recs.length,
      delivered: count('delivered'),
      sent: count('sent'),
      expired: count('expired'),
      dropped: count('dropped'),
      rejected: count('rejected'),
      pending: recs.filter((x) => !x.statuses.length).length,
    };
  });
  const alarmLatency: number[] = [];
  for (const o of outages) {
    const waiting = device.records.filter(
      (x: PubRecord) => x.kind === 'alarm' && x.at >= o.start && x.at < o.end && x.statuses[0]?.status === 'delivered',
    );
    const first = Math.min(...waiting.map((x) => x.statuses[0]!.at));
    if (Number.isFinite(first)) alarmLatency.push(first - o.end);
  }
  return {
    seed,
    outages,
    rows,
    outageAttempts,
    outageHours: outages.reduce((h, o) => h + (o.end - o.start), 0) / 3_600_000,
    attempts: device.attempts,
    wireBytes: device.wire.up + device.wire.down,
    delivered: rows.reduce((n, x) => n + x.delivered + x.sent, 0),
    alarmLatency,
    cpuMs: performance.now() - started,
    events: world.events,
  };
}

const pad = (s: string | number, n: number) => String(s).padStart(n);

/** The table `pnpm sim day` prints. */
export function renderDay(d: DayResult): string {
  const lines: string[] = [];
  const h = (ms: number) =>
    ms >= 3_600_000
      ? `${(ms / 3_600_000).toFixed(1)} h`
      : ms >= 60_000
        ? `${(ms / 60_000).toFixed(1)} min`
        : `${(ms / 1000).toFixed(0)} s`;
  lines.push(
    `A virtual day of a device (seed ${d.seed}): ${d.outages.length} outages, ${d.outageHours.toFixed(1)} h in all`,
  );
  lines.push(`  outages: ${d.outages.map((o) => `${h(o.end - o.start)} ${o.how}`).join(', ')}`);
  lines.push('');
  lines.push(
    `  ${'kind'.padEnd(12)}${pad('published', 10)}${pad('delivered', 10)}${pad('sent', 6)}${pad('expired', 9)}${pad('dropped', 9)}${pad('rejected', 10)}${pad('pending', 9)}`,
  );
  for (const x of d.rows)
    lines.push(
      `  ${x.kind.padEnd(12)}${pad(x.published, 10)}${pad(x.delivered, 10)}${pad(x.sent, 6)}${pad(x.expired, 9)}${pad(x.dropped, 9)}${pad(x.rejected, 10)}${pad(x.pending, 9)}`,
    );
  lines.push('');
  lines.push(
    `  connection attempts: ${d.attempts} in the day, ${d.outageAttempts} during outages: ${(d.outageAttempts / d.outageHours).toFixed(1)} per outage hour`,
  );
  lines.push(
    `  bytes on the wire: ${d.wireBytes} (both ways), ${(d.wireBytes / Math.max(1, d.delivered)).toFixed(0)} per delivered message`,
  );
  const lat = [...d.alarmLatency].sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!;
  if (lat.length)
    lines.push(
      `  broker back -> first alarm delivered (${lat.length} outages): median ${h(q(0.5))}, 90th percentile ${h(q(0.9))}, worst ${h(lat[lat.length - 1]!)}`,
    );
  lines.push(`  ran in ${d.cpuMs.toFixed(0)} ms (${d.events} events)`);
  return lines.join('\n');
}
