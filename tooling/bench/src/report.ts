// The table: one row per measurement, one column per client, ratios against the raw reference
// and MQTT.js in the umqtt cells; then the targets, then the codec benchmark's own table.
import type { LatencyResult, OfflineResult, QoS, RssResult, ThroughputResult } from './common.js';

type Cell<T> = T | { error: string };

export interface Results {
  date: string;
  seconds?: number;
  machine: { cores: number; cpu: string; memoryGB: number; node: string; mosquitto: string; mqttjs: string };
  config: Record<string, unknown> & {
    maxInflight: number;
    window: number;
    repeats: number;
    latency: { rate: number; seconds: number; rounds: number };
    rssCount: number;
    offlineCount: number;
  };
  kinds: Record<string, { label: string; unavailable?: string }>;
  throughput: { size: number; qos: QoS; count: number; results: Record<string, Cell<ThroughputResult>> }[];
  latency: Record<string, Cell<LatencyResult>>;
  rss: Record<string, Cell<RssResult>>;
  offline: Record<string, Cell<OfflineResult>>;
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
}

/** Throughput target: this share of the raw reference. */
export const TARGET_OF_RAW = 0.85;
/** Flat memory: the peak RSS of the second half of the run may exceed that of the first half by at most this much (MB). */
export const FLAT_MB = 8;

const ok = <T>(c: Cell<T> | undefined): c is T => c !== undefined && !(c as { error?: string }).error;
const UMQTT = ['simple', 'robust-memory', 'robust-flash', 'robust-flash-turn'];

function rate(n: number): string {
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

interface Row {
  label: string;
  /** Value per client, or undefined. */
  values: Record<string, number | undefined>;
  errors: Record<string, string>;
  fmt: (n: number) => string;
  /** Higher is better (throughput): ratios shown as % of raw; else as x. */
  higherBetter: boolean;
  extra?: Record<string, string>;
  /** Differences near zero: no ratios. */
  noRatio?: boolean;
}

function cell(row: Row, id: string, kinds: Results['kinds']): string {
  if (kinds[id]?.unavailable) return kinds[id]!.unavailable!.startsWith('not yet') ? 'not yet' : 'n/a';
  const err = row.errors[id];
  if (err) return `failed: ${err.slice(0, 60)}`;
  const v = row.values[id];
  if (v === undefined || Number.isNaN(v))
    return row.label.startsWith('offline') && id === 'simple' ? 'n/a (no offline queue)' : '-';
  let s = row.fmt(v);
  const raw = row.values['raw'];
  const js = row.values['mqttjs'];
  const ratios: string[] = [];
  if (row.noRatio) {
    // differences near zero: a ratio would mean nothing
  } else if (id !== 'raw' && raw)
    ratios.push(row.higherBetter ? `${Math.round((v / raw) * 100)}% raw` : `${(v / raw).toFixed(2)}x raw`);
  if (!row.noRatio && id !== 'raw' && id !== 'mqttjs' && js) ratios.push(`${(v / js).toFixed(2)}x MQTT.js`);
  if (ratios.length) s += ` (${ratios.join(', ')})`;
  if (row.extra?.[id]) s += ` ${row.extra[id]}`;
  return s;
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

function rowsOf(r: Results): Row[] {
  const rows: Row[] = [];
  const ids = Object.keys(r.kinds);
  const mk = (
    label: string,
    higherBetter: boolean,
    fmt: (n: number) => string,
    get: (id: string) => Cell<number> | undefined,
    extra?: (id: string) => string | undefined,
  ): Row => {
    const row: Row = { label, values: {}, errors: {}, fmt, higherBetter, extra: {} };
    for (const id of ids) {
      const c = get(id);
      if (c === undefined) continue;
      if (typeof c === 'number') row.values[id] = c;
      else row.errors[id] = c.error;
      const e = extra?.(id);
      if (e) row.extra![id] = e;
    }
    return row;
  };
  const pick = <T>(c: Cell<T> | undefined, f: (t: T) => number): Cell<number> | undefined =>
    c === undefined ? undefined : ok(c) ? f(c) : (c as { error: string });
  for (const t of r.throughput)
    rows.push(
      mk(
        `publish ${size(t.size)} QoS ${t.qos}, msg/s (${rate(t.count)} msgs)`,
        true,
        (n) => (t.size >= 16384 ? `${rate(n)} (${((n * t.size) / 1e6).toFixed(0)} MB/s)` : rate(n)),
        (id) => pick(t.results[id], (x) => x.rate),
        (id) => {
          const x = t.results[id];
          if (!ok(x)) return undefined;
          const notes = [
            x.count !== t.count ? `${rate(x.count)} msgs` : '',
            x.stalls ? `stalled ${x.stalls}x: writable again without onWritable` : '',
          ].filter(Boolean);
          return notes.length ? `[${notes.join('; ')}]` : undefined;
        },
      ),
    );
  const L = r.config.latency;
  if (Object.keys(r.latency).length) {
    rows.push(
      mk(`latency p50, ms (QoS 1, ${L.rate} msg/s, ${L.rounds} x ${L.seconds} s)`, false, ms, (id) =>
        pick(r.latency[id], (x) => x.p50),
      ),
    );
    rows.push(
      mk(
        `latency p99, ms`,
        false,
        ms,
        (id) => pick(r.latency[id], (x) => x.p99),
        (id) => {
          const x = r.latency[id];
          return ok(x) && x.received < x.sent
            ? `[${x.sent - x.received} of ${x.sent} later than 0.5 s: cannot keep up]`
            : undefined;
        },
      ),
    );
  }
  if (Object.keys(r.rss).length) {
    const n = rate(r.config.rssCount);
    const fewer = (id: string) => {
      const x = r.rss[id];
      return ok(x) && x.count !== r.config.rssCount ? `[${rate(x.count)} msgs]` : undefined;
    };
    rows.push(
      mk(
        `${n} QoS 1: peak RSS, MB`,
        false,
        (v) => v.toFixed(0),
        (id) => pick(r.rss[id], (x) => x.peakMB),
        fewer,
      ),
    );
    rows.push({
      ...mk(
        `${n} QoS 1: RSS growth, 2nd half over 1st half, MB`,
        false,
        (v) => v.toFixed(1),
        (id) => pick(r.rss[id], (x) => x.growthMB),
        fewer,
      ),
      noRatio: true,
    });
    rows.push({
      ...mk(
        `${n} QoS 1: heap retained after GC, MB`,
        false,
        (v) => v.toFixed(1),
        (id) => pick(r.rss[id], (x) => x.retainedGrowthMB),
        fewer,
      ),
      noRatio: true,
    });
    rows.push(mk(`${n} QoS 1: msg/s`, true, rate, (id) => pick(r.rss[id], (x) => x.rate), fewer));
  }
  if (Object.keys(r.offline).length) {
    const n = rate(r.config.offlineCount);
    const note = (id: string) => {
      const x = r.offline[id];
      if (!ok(x)) return undefined;
      if (x.delivered < x.count) return `[${rate(x.delivered)} of ${rate(x.count)} delivered]`;
      return x.count !== r.config.offlineCount ? `[${rate(x.count)} msgs]` : undefined;
    };
    rows.push(
      mk(`offline ${n} QoS 1: time to queue, ms`, false, ms, (id) => pick(r.offline[id], (x) => x.enqueueMs), note),
    );
    rows.push(
      mk(
        `offline ${n} QoS 1: bytes per queued message`,
        false,
        (v) => v.toFixed(0),
        (id) => pick(r.offline[id], (x) => x.bytesPerMessage),
        note,
      ),
    );
    rows.push(
      mk(
        `offline ${n} QoS 1: RSS growth, MB`,
        false,
        (v) => v.toFixed(1),
        (id) => pick(r.offline[id], (x) => x.rssGrowthMB),
        note,
      ),
    );
    rows.push(
      mk(
        `offline ${n} QoS 1: time to drain after connect, ms`,
        false,
        ms,
        (id) => pick(r.offline[id], (x) => x.drainMs),
        note,
      ),
    );
  }
  // The codec (every umqtt client uses it) against mqtt-packet, the codec inside MQTT.js: in the
  // MQTT.js column, and in the umqtt simple column with the ratio
  for (const c of r.codecCases ?? [])
    if (r.kinds['simple'] && r.kinds['mqttjs'])
      rows.push({
        label: `codec: ${c.name}, ops/s (MQTT.js column: mqtt-packet)`,
        values: { mqttjs: c.mqttPacket, simple: c.umqtt },
        errors: {},
        fmt: rate,
        higherBetter: true,
      });
  return rows;
}

/** The targets of issue 8, per umqtt client. */
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
    for (const t of r.throughput) {
      const a = t.results[id];
      const raw = t.results['raw'];
      if (!ok(a) || !ok(raw)) continue;
      const share = a.rate / raw.rate;
      (share >= TARGET_OF_RAW ? met : miss).push(`${size(t.size)} QoS ${t.qos}: ${Math.round(share * 100)}%`);
    }
    const lat = r.latency[id];
    const jsLat = r.latency['mqttjs'];
    let latency = 'latency: not measured';
    if (ok(lat) && ok(jsLat))
      latency = `latency p99 ${ms(lat.p99)} ms vs MQTT.js ${ms(jsLat.p99)} ms: ${lat.p99 <= jsLat.p99 ? 'met' : 'MISSED'}`;
    const mem = r.rss[id];
    const memory = ok(mem)
      ? `memory: ${mem.growthMB <= FLAT_MB ? 'flat' : 'NOT FLAT'} (${mem.growthMB >= 0 ? '+' : ''}${mem.growthMB.toFixed(1)} MB in the second half, peak ${mem.peakMB.toFixed(0)} MB, ${mem.retainedGrowthMB.toFixed(1)} MB retained after GC)`
      : 'memory: not measured';
    out.push(
      `- ${k.label}: throughput >= ${TARGET_OF_RAW * 100}% of raw: ${miss.length ? `MISSED at ${miss.join(', ')}` : 'met'}${met.length ? ` (met: ${met.join(', ')})` : ''}; ${latency}; ${memory}`,
    );
  }
  return out;
}

export function renderReport(r: Results): string {
  const ids = Object.keys(r.kinds);
  const header = ['case', ...ids.map((id) => r.kinds[id]!.label)];
  const rows = rowsOf(r).map((row) => [row.label, ...ids.map((id) => cell(row, id, r.kinds))]);
  const m = r.machine;
  const lines = [
    `Machine: ${m.cores} cores, ${m.cpu}, ${m.memoryGB} GB; Node ${m.node}; Mosquitto ${m.mosquitto} (loopback, max_inflight_messages ${r.config.window}); MQTT.js ${m.mqttjs}. ${r.date}${r.config['quick'] ? ' (--quick: small counts, not representative)' : ''}`,
    '',
    `Throughput: median of ${r.config.repeats} runs after a warm-up, timed until the broker acknowledged a QoS 1 marker sent after the batch (and every QoS 1/2 message of it); no subscriber. ` +
      `umqtt clients run with maxInflight ${r.config.maxInflight}; MQTT.js and the raw reference keep at most ${r.config.window} QoS 1/2 messages outstanding. ` +
      `Ratios: "% raw" = share of the raw reference's rate; "x" = value / the other's value (for latency, memory and time lower is better).`,
    '',
    table(header, rows),
    '',
    'Targets (issue 8):',
    ...targets(r),
  ];
  for (const id of ids)
    if (r.kinds[id]!.unavailable) lines.push(`- ${r.kinds[id]!.label} column: ${r.kinds[id]!.unavailable}`);
  if (r.codec) lines.push('', 'Codec (packages/codec/bench/codec.bench.ts, same run):', '', r.codec.trim());
  return lines.join('\n');
}
