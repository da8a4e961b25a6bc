// A virtual day of a device, the bench of the reconnect strategy: the seed's three kinds of message
// (a temperature reading a minute, button presses that matter for 15 s, alarms that must arrive)
// through 20 outages of seconds to hours, with a FlashStore, against the Mosquitto model over a
// cellular-like link. The same day (same outages, same publishes) runs once per client of
// DAY_CLIENTS: umqtt's defaults, the same told of its link, and the schedules of other clients
// as reconnect strategies of the same RobustClient. `pnpm sim day` prints the tables.
import { PRESETS, backoffDelay, type ReconnectContext } from '@umqtt/robust';
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
  /**
   * `down`: the broker process is down (connects refused; a broker outage, no signal);
   * `unreachable`: nothing gets through, connects hang (the device's link is down: a client with
   * link signals is told at its start and end).
   */
  how: 'down' | 'unreachable';
}

/** A client on the day: a reconnect strategy of the RobustClient, and whether it hears link events. */
export interface DayClient {
  name: string;
  /** What it models, and where that comes from. */
  about: string;
  backoff: DeviceSpec['backoff'];
  /** The platform tells it when its link goes down and comes back (`setLink`). */
  signals: boolean;
}

/**
 * The clients side by side. The peers' schedules are modelled as strategies without urgency
 * (`urgentPriority` Infinity, `urgentPerHour` 0) or link signals.
 */
export const DAY_CLIENTS: readonly DayClient[] = [
  { name: 'umqtt', about: 'RobustClient defaults', backoff: {}, signals: false },
  {
    name: 'umqtt + link',
    about: 'defaults, told by setLink() when the link goes down and comes back',
    backoff: {},
    signals: true,
  },
  {
    name: 'umqtt, 200 s cap',
    about:
      'the schedule of the previous defaults: factor 3 up to 200 s whatever waits (asked again when an alarm is queued), urgency through the bucket (urgentPerHour 0.5)',
    backoff: {
      strategy: (c: ReconnectContext) => backoffDelay(Math.max(0, c.attempts - 1), c.backoff, c.random),
      factor: 3,
      max: 200_000,
    },
    signals: false,
  },
  {
    name: 'umqtt before',
    about: 'the backoff before link and urgency inputs: full jitter, factor 2, up to 300 s',
    backoff: {
      strategy: (c: ReconnectContext) => c.random() * Math.min(300_000, 1000 * 2 ** Math.max(0, c.attempts - 1)),
      max: 300_000,
      urgentPerHour: 0,
      urgentPriority: Infinity,
    },
    signals: false,
  },
  {
    name: 'MQTT.js',
    about: 'reconnectPeriod 1000 (its default): the next attempt 1 s after each failure or loss',
    backoff: { strategy: () => 1000, urgentPerHour: 0, urgentPriority: Infinity },
    signals: false,
  },
  {
    name: 'AWS IoT SDK',
    about: 'doubling from 1 s to 128 s without jitter, reset after 20 s connected (its defaults)',
    backoff: {
      strategy: (c: ReconnectContext) => Math.min(128_000, 1000 * 2 ** Math.max(0, c.attempts - 1)),
      stableAfter: 20_000,
      urgentPerHour: 0,
      urgentPriority: Infinity,
    },
    signals: false,
  },
  {
    name: 'robust2 loop',
    about: "umqtt.robust2's example loop: every 500 ms, while is_conn_issue(): reconnect() again at once (no backoff)",
    backoff: {
      strategy: (c: ReconnectContext) => (c.attempts ? 0 : c.random() * 500),
      urgentPerHour: 0,
      urgentPriority: Infinity,
    },
    signals: false,
  },
];

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
  client: DayClient;
  outages: Outage[];
  rows: KindRow[];
  /** Connection attempts that began during an outage, and the outage hours. */
  outageAttempts: number;
  outageHours: number;
  /** Of the outage attempts, those that urgent messages brought forward. */
  outageUrgent: number;
  /** Attempts that began while the client was told its link was down. */
  linkDownAttempts: number;
  attempts: number;
  /** Attempts urgent messages brought forward, in the whole day. */
  urgent: number;
  wireBytes: number;
  delivered: number;
  /** For each outage during which an alarm waited: ms from the broker's return to that alarm's delivery. */
  alarmLatency: number[];
  /** The same, with the kind of the outage. */
  alarmAfter: { how: Outage['how']; ms: number }[];
  /** For each outage: ms from its end to the client online again (0: the connection outlived it unnoticed). */
  backOnline: number[];
  /** Alarms the broker routed other than once (0 or twice), and button presses it routed after their 15 s. */
  alarmsNotOnce: number;
  stalePresses: number;
  /** CPU milliseconds the day took. */
  cpuMs: number;
  events: number;
}

/** Runs the day of seed `seed` with `client` (default: umqtt's defaults). */
export async function runDay(seed: number, client: DayClient = DAY_CLIENTS[0]!): Promise<DayResult> {
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
    backoff: client.backoff,
    policy: {},
    subscriptions: [],
    flashBlocks: 32,
    clean: false,
    mqtt5: undefined,
  };
  const device = new Device(world, net, spec, r.fork(), { faults: () => ({}) });
  world.steps.push(stepChecks(world, [device]));
  watchStates(world, device);
  device.start();

  // attempts (and those urgent messages brought forward) from each outage's start to its end,
  // before the link-up event (whose attempt at once is the first after the outage)
  let attemptsBefore = 0;
  let urgentBefore = 0;
  let outageAttempts = 0;
  let outageUrgent = 0;
  let linkDownAttempts = 0;
  for (const o of outages) {
    const signal = client.signals && o.how === 'unreachable';
    world.at(o.start, () => {
      attemptsBefore = device.attempts;
      urgentBefore = device.client.counters.urgent;
      if (o.how === 'down') {
        net.setUp(HOST, false);
        node.stop();
      } else net.setReachable(HOST, false);
      if (signal) device.setLink(false);
    });
    world.at(o.end, () => {
      outageAttempts += device.attempts - attemptsBefore;
      outageUrgent += device.client.counters.urgent - urgentBefore;
      if (signal) linkDownAttempts += device.attempts - attemptsBefore;
      if (o.how === 'down') net.setUp(HOST, true);
      else net.setReachable(HOST, true);
      if (signal) device.setLink(true);
    });
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
  const alarmAfter: DayResult['alarmAfter'] = [];
  for (const o of outages) {
    const waiting = device.records.filter(
      (x: PubRecord) => x.kind === 'alarm' && x.at >= o.start && x.at < o.end && x.statuses[0]?.status === 'delivered',
    );
    const first = Math.min(...waiting.map((x) => x.statuses[0]!.at));
    if (Number.isFinite(first)) alarmAfter.push({ how: o.how, ms: first - o.end });
  }
  const backOnline = outages.map((o) => {
    const before = device.states.filter((x) => x.at <= o.end);
    if (before.at(-1)?.state === 'online') return 0;
    return (device.states.find((x) => x.state === 'online' && x.at >= o.end)?.at ?? DAY) - o.end;
  });
  // what the broker did with them: every alarm routed exactly once, no press routed after its 15 s
  const routed = (x: PubRecord) => ledger.entries.get(x.msgId)?.routed ?? [];
  const alarmsNotOnce = device.records.filter((x) => x.kind === 'alarm' && routed(x).length !== 1).length;
  const stale = device.records.filter((x) => x.kind === 'button' && routed(x).some((r) => r.at > x.at + x.ttl));
  const stalePresses = stale.length;
  return {
    seed,
    client,
    outages,
    rows,
    outageAttempts,
    outageHours: outages.reduce((h, o) => h + (o.end - o.start), 0) / 3_600_000,
    outageUrgent,
    linkDownAttempts,
    attempts: device.attempts,
    urgent: device.client.counters.urgent,
    alarmAfter,
    backOnline,
    alarmsNotOnce,
    stalePresses,
    wireBytes: device.wire.up + device.wire.down,
    delivered: rows.reduce((n, x) => n + x.delivered + x.sent, 0),
    alarmLatency: alarmAfter.map((a) => a.ms),
    cpuMs: performance.now() - started,
    events: world.events,
  };
}

const pad = (s: string | number, n: number) => String(s).padStart(n);

/** The p-th percentile by nearest rank (the smallest value with at least p of them at or below it); NaN for none. */
export function percentile(values: number[], p: number): number {
  const v = [...values].sort((a, b) => a - b);
  return v.length ? v[Math.max(0, Math.ceil(p * v.length) - 1)]! : NaN;
}

/** The figures of one client's day that `pnpm sim day --json` prints (times in seconds). */
export interface DayFigures {
  client: string;
  about: string;
  /** Attempts that began during outages, without those urgent messages brought forward, per outage hour. */
  attemptsPerOutageHour: number;
  /** Attempts urgent messages brought forward in the day (counted apart). */
  urgentExtraAttemptsPerDay: number;
  /** Broker back (or link back) -> the first alarm raised during that outage delivered: 90th percentile over all outages. */
  alarmP90Seconds: number;
  /** The same over the broker outages (`down`), and over the link outages (`unreachable`). */
  alarmP90BrokerSeconds: number;
  alarmP90LinkSeconds: number;
  /** Outage's end -> the client online again, mean over the outages (whatever waited). */
  backOnlineMeanSeconds: number;
  /** Attempts begun while told the link was down (null: no link signals). */
  linkDownAttempts: number | null;
  attemptsPerDay: number;
  alarmsNotOnce: number;
  stalePresses: number;
}

/** The figures of a day. */
export function dayFigures(d: DayResult): DayFigures {
  const p90 = (how?: Outage['how']) =>
    +(
      percentile(
        d.alarmAfter.filter((a) => !how || a.how === how).map((a) => a.ms),
        0.9,
      ) / 1000
    ).toFixed(1);
  return {
    client: d.client.name,
    about: d.client.about,
    attemptsPerOutageHour: +((d.outageAttempts - d.outageUrgent) / d.outageHours).toFixed(1),
    urgentExtraAttemptsPerDay: d.urgent,
    alarmP90Seconds: p90(),
    alarmP90BrokerSeconds: p90('down'),
    alarmP90LinkSeconds: p90('unreachable'),
    backOnlineMeanSeconds: +(d.backOnline.reduce((a, b) => a + b, 0) / d.backOnline.length / 1000).toFixed(1),
    linkDownAttempts: d.client.signals ? d.linkDownAttempts : null,
    attemptsPerDay: d.attempts,
    alarmsNotOnce: d.alarmsNotOnce,
    stalePresses: d.stalePresses,
  };
}

const h = (ms: number) =>
  ms >= 3_600_000
    ? `${(ms / 3_600_000).toFixed(1)} h`
    : ms >= 60_000
      ? `${(ms / 60_000).toFixed(1)} min`
      : `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

/** The table `pnpm sim day` prints for one client's day. */
export function renderDay(d: DayResult): string {
  const lines: string[] = [];
  lines.push(
    `A virtual day of a device (seed ${d.seed}, ${d.client.name}): ${d.outages.length} outages, ${d.outageHours.toFixed(1)} h in all`,
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
    `  connection attempts: ${d.attempts} in the day, ${d.outageAttempts} during outages (${d.outageUrgent} of them brought forward by urgent messages): ${((d.outageAttempts - d.outageUrgent) / d.outageHours).toFixed(1)} per outage hour without those; ${d.urgent} urgent in the day`,
  );
  lines.push(
    `  bytes on the wire: ${d.wireBytes} (both ways), ${(d.wireBytes / Math.max(1, d.delivered)).toFixed(0)} per delivered message`,
  );
  const lat = d.alarmLatency;
  if (lat.length)
    lines.push(
      `  broker back -> first alarm delivered (${lat.length} outages): median ${h(percentile(lat, 0.5))}, 90th percentile ${h(percentile(lat, 0.9))}, worst ${h(Math.max(...lat))}`,
    );
  lines.push(`  ran in ${d.cpuMs.toFixed(0)} ms (${d.events} events)`);
  return lines.join('\n');
}

/** The side-by-side table of several clients' days (the same seed). */
export function renderClients(days: DayResult[]): string {
  const rows = [
    [
      'client',
      'attempts/outage h',
      'urgent extra/day',
      'alarm p90: all',
      'after broker outages',
      'after link outages',
      'back online: mean',
      'attempts while link down',
      'alarms not once',
      'stale presses',
    ],
  ];
  const s = (x: number) => (Number.isNaN(x) ? '-' : `${x} s`);
  for (const d of days) {
    const f = dayFigures(d);
    rows.push([
      f.client,
      String(f.attemptsPerOutageHour),
      String(f.urgentExtraAttemptsPerDay),
      s(f.alarmP90Seconds),
      s(f.alarmP90BrokerSeconds),
      s(f.alarmP90LinkSeconds),
      s(f.backOnlineMeanSeconds),
      f.linkDownAttempts === null ? '-' : String(f.linkDownAttempts),
      String(f.alarmsNotOnce),
      String(f.stalePresses),
    ]);
  }
  return markdown(rows);
}

/** A Markdown table: the first row is the header, the first column left-aligned, the rest right-aligned. */
function markdown(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    `| ${r.map((c, i) => (i ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  return [
    line(rows[0]!),
    `|${widths.map((w, i) => (i ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`,
    ...rows.slice(1).map(line),
  ].join('\n');
}

/** The figures of {@link DayFigures} that are numbers, summarised over seeds. */
export const SPREAD_FIGURES = [
  'attemptsPerOutageHour',
  'urgentExtraAttemptsPerDay',
  'alarmP90Seconds',
  'alarmP90BrokerSeconds',
  'alarmP90LinkSeconds',
  'backOnlineMeanSeconds',
  'attemptsPerDay',
  'alarmsNotOnce',
  'stalePresses',
] as const;

/** Mean, standard deviation (of the seeds' values), smallest and largest. */
export interface Spread {
  mean: number;
  sd: number;
  min: number;
  max: number;
}

/** One client's days over several seeds (`pnpm sim day --seeds N --json`). */
export interface DaysSummary {
  client: string;
  about: string;
  seeds: number[];
  /** Each figure over the seeds (a seed without such an outage left out, for the p90s). */
  figures: Record<(typeof SPREAD_FIGURES)[number], Spread>;
  /** Attempts during outages (without urgent extras) over all the seeds' outage hours together. */
  attemptsPerOutageHourPooled: number;
  /** Seeds whose alarm p90 after broker outages was over 60 s. */
  seedsAlarmBrokerOver60: number;
}

const round1 = (x: number) => +x.toFixed(1);

function spread(values: number[]): Spread {
  const v = values.filter((x) => !Number.isNaN(x));
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  return { mean: round1(mean), sd: round1(sd), min: Math.min(...v), max: Math.max(...v) };
}

/** Summarises one client's days (different seeds). */
export function summarizeDays(days: DayResult[]): DaysSummary {
  const f = days.map(dayFigures);
  const hours = days.reduce((h, d) => h + d.outageHours, 0);
  return {
    client: days[0]!.client.name,
    about: days[0]!.client.about,
    seeds: days.map((d) => d.seed),
    figures: Object.fromEntries(SPREAD_FIGURES.map((k) => [k, spread(f.map((x) => x[k]))])) as DaysSummary['figures'],
    attemptsPerOutageHourPooled: round1(days.reduce((n, d) => n + d.outageAttempts - d.outageUrgent, 0) / hours),
    seedsAlarmBrokerOver60: f.filter((x) => x.alarmP90BrokerSeconds > 60).length,
  };
}

/** The table `pnpm sim day --seeds N` prints: each client's figures as mean ± sd [min..max] over the seeds. */
export function renderSummaries(summaries: DaysSummary[]): string {
  const cell = (x: Spread) => `${x.mean} ± ${x.sd} [${x.min}..${x.max}]`;
  const rows = [
    [
      'client',
      'attempts/outage h (pooled)',
      'urgent extra/day',
      'alarm p90 after broker outages',
      'seeds > 60 s',
      'alarm p90: all',
      'back online: mean',
    ],
  ];
  for (const x of summaries)
    rows.push([
      x.client,
      `${cell(x.figures.attemptsPerOutageHour)} (${x.attemptsPerOutageHourPooled})`,
      cell(x.figures.urgentExtraAttemptsPerDay),
      cell(x.figures.alarmP90BrokerSeconds),
      `${x.seedsAlarmBrokerOver60}/${x.seeds.length}`,
      cell(x.figures.alarmP90Seconds),
      cell(x.figures.backOnlineMeanSeconds),
    ]);
  return markdown(rows);
}
