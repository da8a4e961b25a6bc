// The tables: one column per client, ratios against the raw reference and MQTT.js in the other
// cells, each ratio the median of the per-round ratios with their range (rounds are interleaved,
// so round r of two clients ran under the same background load); then the targets, then the
// codec benchmark's own table.
import type { LatencyResult, OfflineCell, QoS, Round, RssResult, ThroughputResult } from './common.js';

type Cell<T> = T | { error: string };

/** `uptime` when the run started or ended. */
export interface Load {
  at: string;
  uptime: string;
  /** Load averages over 1, 5 and 15 minutes. */
  loadavg: number[];
}

export interface Results {
  date: string;
  seconds?: number;
  machine: {
    cores: number;
    cpu: string;
    memoryGB: number;
    os: string;
    node: string;
    mosquitto: string;
    mqttjs: string;
  };
  load: { start: Load; end?: Load };
  config: Record<string, unknown> & {
    maxInflight: number;
    window: number;
    bigWindow: number;
    repeats: number;
    latency: { rate: number; seconds: number; rounds: number };
    rssCount: number;
    rssRounds: number;
    offlineCount: number;
    offlineRounds: number;
  };
  kinds: Record<string, { label: string; unavailable?: string }>;
  throughput: {
    size: number;
    qos: QoS;
    count: number;
    /** 'quota': Mosquitto with max_inflight_messages 20; 'noquota': with 0 (no in-flight quota). */
    broker: 'quota' | 'noquota';
    /** The window of every client in this case. */
    window: number;
    results: Record<string, Cell<ThroughputResult>>;
    /** What the broker logged about dropping messages during the case. */
    brokerLog?: string[];
  }[];
  latency: Record<string, Cell<LatencyResult>>;
  rss: Record<string, Cell<RssResult>>;
  offline: Record<string, Cell<OfflineCell>>;
  codec?: string;
  /** The codec benchmark's figures (ops/s), umqtt's codec against mqtt-packet (MQTT.js's codec). */
  codecCases?: CodecCase[];
}

/** One case of packages/codec/bench/codec.bench.ts. */
export interface CodecCase {
  name: string;
  bytes: number;
  umqtt: number;
  mqttPacket: number;
  /** The lowest and highest per-round ratio umqtt / mqtt-packet. */
  ratioRange?: [number, number];
}

/** Throughput target: this share of the raw reference. */
export const TARGET_OF_RAW = 0.85;
/** Flat memory: the peak RSS of the second half of a run may exceed that of the first half by at most this much (MB). */
export const FLAT_MB = 8;

const ok = <T>(c: Cell<T> | undefined): c is T => c !== undefined && !(c as { error?: string }).error;
const UMQTT = ['simple', 'robust-memory', 'robust-flash', 'robust-flash-turn'];

export function rate(n: number): string {
  return n >= 1e6
    ? `${(n / 1e6).toFixed(2)}M`
    : n >= 1e4
      ? `${(n / 1e3).toFixed(1)}k`
      : n >= 1e3
        ? `${(n / 1e3).toFixed(2)}k`
        : n.toFixed(0);
}
const size = (n: number) => (n >= 1024 ? `${n / 1024} KiB` : `${n} B`);
const ms = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const pct = (x: number) => (x < 0.1 ? `${(x * 100).toFixed(1)}%` : `${Math.round(x * 100)}%`);
const times = (x: number) => `${x.toFixed(2)}x`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** The median and, with more than one value, the range: "94% (89-98%)", "1.71x (1.52-1.90x)". */
export function spread(values: number[], fmt: (x: number) => string): string {
  const xs = values.filter((x) => Number.isFinite(x)); // a round without samples has no percentile
  if (!xs.length) return '-';
  const m = fmt(median(xs));
  if (xs.length < 2) return m;
  const unit = /[%x]$/.exec(m)?.[0] ?? '';
  const bare = (x: number) => (unit ? fmt(x).slice(0, -1) : fmt(x));
  return `${m} (${bare(Math.min(...xs))}-${bare(Math.max(...xs))}${unit})`;
}

/** Per-round ratios a/b of two clients' rounds (same index: the same interleaved round), where both have a value. */
export function ratios(a: (number | undefined)[], b: (number | undefined)[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    // a ratio of values at or below zero (a memory growth that was a shrink) means nothing
    if (x !== undefined && y !== undefined && x > 0 && y > 0 && Number.isFinite(x)) out.push(x / y);
  }
  return out;
}

function table(header: string[], rows: string[][]): string {
  const w = header.map((_, i) => Math.max(...[header, ...rows].map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  return [
    line(header),
    `|${w.map((n, i) => (i ? '-'.repeat(n + 1) + ':' : '-'.repeat(n + 2))).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}

const errorCell = (c: { error: string }) => `failed: ${c.error.slice(0, 60)}`;

/**
 * The ratios of one client's per-round values against raw and MQTT.js: "94% raw (89-98%), 1.71x
 * MQTT.js (1.52-1.90x)" when higher is better, else "1.20x raw (...)".
 */
function ratioText(id: string, get: (id: string) => (number | undefined)[] | undefined, higherBetter: boolean): string {
  const mine = get(id);
  if (!mine) return '';
  const parts: string[] = [];
  const raw = id === 'raw' ? undefined : get('raw');
  if (raw) {
    const r = ratios(mine, raw);
    if (r.length) parts.push(`${spread(r, higherBetter ? pct : times)} raw`);
  }
  const js = id === 'raw' || id === 'mqttjs' ? undefined : get('mqttjs');
  if (js) {
    const r = ratios(mine, js);
    if (r.length) parts.push(`${spread(r, times)} MQTT.js`);
  }
  return parts.join(', ');
}

/** Cells of one row of rates counted at the subscriber (throughput, and the memory row's rate). */
function rateCells(
  ids: string[],
  results: Record<string, Cell<ThroughputResult | RssResult> | undefined>,
  nominal: number,
  bytes: number,
  qos: QoS,
): string[] {
  const rounds = (id: string) => {
    const x = results[id];
    return ok(x) && x.rate !== undefined ? x.rounds.map((r: Round) => r.rate) : undefined;
  };
  return ids.map((id) => {
    const x = results[id];
    if (x === undefined) return '-';
    if (!ok(x)) return errorCell(x);
    const notes = [
      x.count !== nominal ? `${rate(x.count)} msgs` : '',
      x.duplicates && qos !== 2 ? `${x.duplicates} duplicates` : '',
      x.stalls ? `stalled ${x.stalls}x: writable again without onWritable` : '',
    ].filter(Boolean);
    const note = notes.length ? ` [${notes.join('; ')}]` : '';
    if (x.rate === undefined) {
      const what = [
        x.missing ? `LOST ${x.missing} of ${x.count * x.rounds.length}` : '',
        qos === 2 && x.duplicates ? `${x.duplicates} DUPLICATED` : '',
      ].filter(Boolean);
      return `${what.join(', ')} (${x.lossRounds} of ${x.rounds.length} runs): no speed${note}`;
    }
    const mbps = bytes >= 16384 ? ` (${((x.rate * bytes) / 1e6).toFixed(0)} MB/s)` : '';
    const r = ratioText(id, rounds, true);
    return `${rate(x.rate)}${mbps}, acks ${rate(x.ackRate)}${r ? `; ${r}` : ''}${note}`;
  });
}

function throughputTable(r: Results, broker: 'quota' | 'noquota'): string {
  const ids = Object.keys(r.kinds);
  const rows = r.throughput
    .filter((t) => t.broker === broker)
    .map((t) => [
      `${size(t.size)} QoS ${t.qos} (${rate(t.count)} msgs x ${r.config.repeats})`,
      ...rateCells(ids, t.results, t.count, t.size, t.qos),
    ]);
  return rows.length ? table(['msg/s received', ...ids.map((id) => r.kinds[id]!.label)], rows) : '';
}

/** A row of per-client values (lower is better) with ratios from per-round values. */
function valueRow(
  label: string,
  ids: string[],
  value: (id: string) => Cell<number> | undefined,
  perRound: ((id: string) => (number | undefined)[] | undefined) | undefined,
  fmt: (n: number) => string,
  note?: (id: string) => string | undefined,
): string[] {
  return [
    label,
    ...ids.map((id) => {
      const v = value(id);
      if (v === undefined) return '-';
      if (typeof v !== 'number') return errorCell(v);
      const r = perRound ? ratioText(id, perRound, false) : '';
      const n = note?.(id);
      return `${fmt(v)}${r ? `; ${r}` : ''}${n ? ` [${n}]` : ''}`;
    }),
  ];
}

function latencyTable(r: Results): string {
  const ids = Object.keys(r.kinds).filter((id) => r.latency[id]);
  if (!ids.length) return '';
  const get = (id: string, f: (x: LatencyResult) => number): Cell<number> | undefined => {
    const x = r.latency[id];
    return x === undefined ? undefined : ok(x) ? f(x) : x;
  };
  const rounds = (f: (x: LatencyResult['rounds'][number]) => number) => (id: string) => {
    const x = r.latency[id];
    return ok(x) ? x.rounds.map(f) : undefined;
  };
  const late = (id: string) => {
    const x = r.latency[id];
    return ok(x) && x.received < x.sent ? `${x.sent - x.received} of ${x.sent} later than 0.5 s` : undefined;
  };
  const rows = [
    valueRow(
      'p50',
      ids,
      (id) => get(id, (x) => x.p50),
      rounds((x) => x.p50),
      ms,
    ),
    valueRow(
      'p99',
      ids,
      (id) => get(id, (x) => x.p99),
      rounds((x) => x.p99),
      ms,
      late,
    ),
    valueRow(
      'p99.9',
      ids,
      (id) => get(id, (x) => x.p999),
      rounds((x) => x.p999),
      ms,
    ),
    [
      'p99 of each round: median (min-max)',
      ...ids.map((id) => {
        const x = r.latency[id];
        return ok(x)
          ? spread(
              x.rounds.map((y) => y.p99),
              ms,
            )
          : '-';
      }),
    ],
    [
      'samples',
      ...ids.map((id) => {
        const x = r.latency[id];
        return ok(x) ? `${x.received} of ${x.sent}` : '-';
      }),
    ],
  ];
  return table(['latency, ms', ...ids.map((id) => r.kinds[id]!.label)], rows);
}

function memoryTable(r: Results): string {
  const ids = Object.keys(r.kinds).filter((id) => r.rss[id]);
  if (!ids.length) return '';
  const get = (id: string, f: (x: RssResult) => number): Cell<number> | undefined => {
    const x = r.rss[id];
    return x === undefined ? undefined : ok(x) ? f(x) : x;
  };
  const fewer = (id: string) => {
    const x = r.rss[id];
    return ok(x) && x.count !== r.config.rssCount ? `${rate(x.count)} msgs` : undefined;
  };
  const rounds = (f: (x: RssResult['rounds'][number]) => number) => (id: string) => {
    const x = r.rss[id];
    return ok(x) ? x.rounds.map(f) : undefined;
  };
  const rows = [
    valueRow(
      'peak RSS of any run, MB',
      ids,
      (id) => get(id, (x) => x.peakMB),
      rounds((x) => x.peakMB),
      (v) => v.toFixed(0),
      fewer,
    ),
    valueRow(
      'RSS growth, 2nd half over 1st half, largest of the runs, MB',
      ids,
      (id) => get(id, (x) => x.growthMB),
      undefined,
      (v) => v.toFixed(1),
      fewer,
    ),
    valueRow(
      'heap retained after GC, after the last run, MB',
      ids,
      (id) => get(id, (x) => x.retainedGrowthMB),
      undefined,
      (v) => v.toFixed(1),
      fewer,
    ),
    ['msg/s received', ...rateCells(ids, r.rss, r.config.rssCount, 64, 1)],
  ];
  return table(
    [`${rate(r.config.rssCount)} QoS 1 x ${r.config.rssRounds}`, ...ids.map((id) => r.kinds[id]!.label)],
    rows,
  );
}

function offlineTable(r: Results): string {
  const ids = Object.keys(r.kinds);
  if (!Object.keys(r.offline).length) return '';
  const cell = (id: string, f: (x: OfflineCell['rounds'][number]) => number, fmt: (n: number) => string) => {
    const x = r.offline[id];
    if (x === undefined) return id === 'simple' ? 'n/a (no offline queue)' : '-';
    if (!ok(x)) return errorCell(x);
    const v = x.rounds.map(f);
    const raw = r.offline['raw'];
    const js = r.offline['mqttjs'];
    const against = (other: Cell<OfflineCell> | undefined, name: string) => {
      const rs = ok(other) ? ratios(v, other.rounds.map(f)) : [];
      return rs.length ? `${spread(rs, times)} ${name}` : '';
    };
    const parts = [
      id !== 'raw' ? against(raw, 'raw') : '',
      id !== 'raw' && id !== 'mqttjs' ? against(js, 'MQTT.js') : '',
    ].filter(Boolean);
    const fewer = x.count !== r.config.offlineCount ? `${rate(x.count)} msgs` : '';
    const lost = x.rounds.some((y) => y.arrived < y.count)
      ? `only ${spread(
          x.rounds.map((y) => y.arrived),
          rate,
        )} of ${rate(x.count)} arrived`
      : '';
    const notes = [fewer, lost].filter(Boolean);
    return `${spread(v, fmt)}${parts.length ? `; ${parts.join(', ')}` : ''}${notes.length ? ` [${notes.join('; ')}]` : ''}`;
  };
  const rows = [
    ['time to queue, ms', ...ids.map((id) => cell(id, (x) => x.enqueueMs, ms))],
    [
      'bytes per queued message',
      ...ids.map((id) =>
        cell(
          id,
          (x) => x.bytesPerMessage,
          (v) => v.toFixed(0),
        ),
      ),
    ],
    [
      'RSS growth while holding them, MB',
      ...ids.map((id) =>
        cell(
          id,
          (x) => x.rssGrowthMB,
          (v) => v.toFixed(1),
        ),
      ),
    ],
    ['time to drain after connect, ms', ...ids.map((id) => cell(id, (x) => x.drainMs, ms))],
  ];
  return table(
    [
      `offline: ${rate(r.config.offlineCount)} QoS 1 x ${r.config.offlineRounds}, median (min-max)`,
      ...ids.map((id) => r.kinds[id]!.label),
    ],
    rows,
  );
}

/** The targets of issue 8, per umqtt client, from the median per-round ratios. */
function targets(r: Results): string[] {
  const out: string[] = [];
  for (const id of UMQTT) {
    const k = r.kinds[id];
    if (!k) continue;
    if (k.unavailable) {
      out.push(`- ${k.label}: ${k.unavailable}`);
      continue;
    }
    const miss: string[] = [];
    const met: string[] = [];
    const lost: string[] = [];
    for (const t of r.throughput.filter((x) => x.broker === 'quota')) {
      const a = t.results[id];
      const raw = t.results['raw'];
      if (!ok(a) || !ok(raw)) continue;
      const name = `${size(t.size)} QoS ${t.qos}`;
      if (a.rate === undefined) {
        lost.push(name);
        continue;
      }
      const rs = ratios(
        a.rounds.map((x) => x.rate),
        raw.rounds.map((x) => x.rate),
      );
      if (!rs.length) continue;
      const share = median(rs);
      (share >= TARGET_OF_RAW ? met : miss).push(`${name}: ${spread(rs, pct)}`);
    }
    const lat = r.latency[id];
    const jsLat = r.latency['mqttjs'];
    let latency = 'latency: not measured';
    if (ok(lat) && ok(jsLat)) {
      // judged by the per-round ratios: the pooled p99 is the p99 of the worst rounds
      const rs = ratios(
        lat.rounds.map((x) => x.p99),
        jsLat.rounds.map((x) => x.p99),
      );
      const below = rs.filter((x) => x <= 1).length;
      latency = `latency p99 at or below MQTT.js's: ${rs.length && median(rs) <= 1 ? 'met' : 'MISSED'} (per round ${spread(rs, times)} MQTT.js's, at or below it in ${below} of ${rs.length} rounds; pooled ${ms(lat.p99)} against ${ms(jsLat.p99)} ms)`;
    }
    const mem = r.rss[id];
    const memory = ok(mem)
      ? `memory: ${mem.growthMB <= FLAT_MB ? 'flat' : 'NOT FLAT'} (at most ${mem.growthMB >= 0 ? '+' : ''}${mem.growthMB.toFixed(1)} MB in the second half of a run, peak ${mem.peakMB.toFixed(0)} MB, ${mem.retainedGrowthMB.toFixed(1)} MB retained after GC)`
      : 'memory: not measured';
    out.push(
      `- ${k.label}: throughput >= ${TARGET_OF_RAW * 100}% of raw: ${miss.length || lost.length ? `MISSED at ${[...miss, ...lost.map((x) => `${x}: lost messages`)].join(', ')}` : 'met'}${met.length ? ` (met: ${met.join(', ')})` : ''}; ${latency}; ${memory}`,
    );
  }
  return out;
}

const loadText = (l: Load | undefined) => (l ? l.loadavg.join(', ') : '?');

export function renderReport(r: Results): string {
  const m = r.machine;
  const c = r.config;
  const lines = [
    `Machine: ${m.cores} cores, ${m.cpu}, ${m.memoryGB} GB, ${m.os}; Node ${m.node}; Mosquitto ${m.mosquitto} on loopback; MQTT.js ${m.mqttjs}. ` +
      `Run ${r.date}, ${r.seconds !== undefined ? `${Math.round(r.seconds / 60)} minutes` : ''}; load averages (1, 5, 15 min) at the start ${loadText(r.load.start)}, at the end ${loadText(r.load.end)}` +
      `${c['quick'] ? ' (--quick: small counts, not representative)' : ''}.`,
    '',
    `Throughput: msg/s counted at a subscriber (a raw socket in a process of its own, subscribed at the case's QoS): the run's messages / (last arrival - first publish), median of ${c.repeats} interleaved runs after a warm-up; ` +
      `"acks": msg/s until the broker acknowledged a QoS 1 marker sent after the batch (and every QoS 1/2 message of it). ` +
      `A cell where a message did not arrive (or arrived twice at QoS 2) says so and gives no speed. ` +
      `Ratios: the median of the per-run ratios (run r of each client in the same interleaved round), their range in brackets; "% raw" = share of the raw reference's rate, "x" = value / the other's value (for latency, memory and time lower is better).`,
    '',
    `Against Mosquitto with max_inflight_messages ${c.window} (its default): umqtt clients run with maxInflight ${c.maxInflight}; MQTT.js and the raw reference keep at most ${c.window} QoS 1/2 messages outstanding.`,
    '',
    throughputTable(r, 'quota'),
  ];
  const nq = throughputTable(r, 'noquota');
  if (nq)
    lines.push(
      '',
      `Against Mosquitto with max_inflight_messages 0 (no in-flight quota): every client with a window of ${c.bigWindow} (umqtt's maxInflight; the drivers of MQTT.js and the raw reference keep that many outstanding). The limit of the pipeline without the broker's quota.`,
      '',
      nq,
    );
  const lat = latencyTable(r);
  if (lat)
    lines.push(
      '',
      `Latency publisher -> broker -> subscriber (two connections of the same client in one process), QoS 1, 64 B, ${c.latency.rate} msg/s, ${c.latency.rounds} interleaved rounds of ${c.latency.seconds} s; percentiles of the pooled samples, ratios from the per-round percentiles:`,
      '',
      lat,
    );
  const mem = memoryTable(r);
  if (mem)
    lines.push(
      '',
      `Memory: ${rate(c.rssCount)} QoS 1 messages of 64 B through the window (default broker), ${c.rssRounds} interleaved runs per client in one process each, RSS sampled every 10 ms:`,
      '',
      mem,
    );
  const off = offlineTable(r);
  if (off)
    lines.push(
      '',
      `Offline queue: QoS 1 messages of 64 B published while not connected, then connect and drain (counted at the subscriber); each run in a fresh process, ${c.offlineRounds} interleaved runs:`,
      '',
      off,
    );
  lines.push('', 'Targets (issue 8):', ...targets(r));
  for (const id of Object.keys(r.kinds))
    if (r.kinds[id]!.unavailable) lines.push(`- ${r.kinds[id]!.label} column: ${r.kinds[id]!.unavailable}`);
  if (r.codec) lines.push('', 'Codec (packages/codec/bench/codec.bench.ts, same run):', '', r.codec.trim());
  return lines.join('\n');
}
