// pnpm bench: umqtt against MQTT.js and a raw-socket reference, against Mosquitto, in one run.
//
//   pnpm bench            full run (about 20 minutes on 2 cores, longer on a busy machine); writes
//                         results/latest.json and the tables in README.md
//   pnpm bench --quick    small counts, to check that everything works; writes results/quick.json
//   --only=a,b            only these clients (raw, mqttjs, simple, robust-memory, robust-flash, robust-flash-turn)
//   --cases=throughput,noquota,latency,rss,offline,codec
//                         only these parts
//   --sizes=64,16384 --qos=1
//                         only these throughput cases (both brokers)
//   BENCH_CPU_PROF=dir    each child process writes a CPU profile there (summarize: src/profile.ts)
//   BENCH_MAX_INFLIGHT=n  maxInflight of the umqtt clients against the default broker (default 20:
//                         the window of the raw reference and the MQTT.js driver; the client's own
//                         default is 16)
//   BENCH_NODE_ARGS="..." more node flags for each child process, e.g. "--trace-gc"
//   BENCH_BIG_WINDOW=n    every client's window against the broker without quota (default 1000)
//   BENCH_TIMEOUT_MS=n    how long main.ts waits for one answer of a child process (default 240 s)
//
// Every client runs in its own child process (worker.ts), so each one's RSS and heap are its own;
// so does the subscriber that counts what arrived. Every row runs in interleaved rounds: each
// round runs every client once, in a rotated order, so background load on the machine hits them
// alike. Temporary files go in one directory per child process, removed when it ends, however it
// ends, and the run's directory is removed at the end of the run.
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMosquitto } from '../../testkit/src/mosquitto.js';
import {
  BIG_WINDOW,
  WINDOW,
  median,
  percentile,
  type Broker,
  type BurstTimes,
  type LatencyResult,
  type LatencyStats,
  type OfflineCell,
  type OfflineResult,
  type QoS,
  type Round,
  type RssResult,
  type RssRound,
  type Task,
  type ThroughputResult,
} from './common.js';
import { KIND_IDS, loadKind } from './kinds/index.js';
import { renderReport, type CodecCase, type Load, type Results } from './report.js';
import type { Arrivals } from './subscriber.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const benchDir = join(here, '..');
const root = join(benchDir, '../..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const opt = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const only = opt('only')?.split(',');
const parts = new Set(opt('cases')?.split(',') ?? ['throughput', 'noquota', 'latency', 'rss', 'offline', 'codec']);
const sizes = opt('sizes')?.split(',').map(Number);
const qoss = opt('qos')?.split(',').map(Number);
const partial = Boolean(quick || only || opt('cases') || sizes || qoss);
const kinds = KIND_IDS.filter((k) => !only || only.includes(k));

const KiB = 1024;
/** [payload bytes, QoS, messages] against the default broker (in-flight quota of 20). */
const THROUGHPUT: [number, QoS, number][] = [
  [64, 0, 100_000],
  [64, 1, 50_000],
  [64, 2, 20_000],
  [16 * KiB, 0, 20_000],
  [16 * KiB, 1, 10_000],
  [16 * KiB, 2, 5_000],
  [256 * KiB, 0, 1_000],
  [256 * KiB, 1, 600],
  [256 * KiB, 2, 300],
];
/** The cases run again against the broker without an in-flight quota, every client with BIG_WINDOW. */
const NOQUOTA: [number, QoS, number][] = [
  [64, 1, 50_000],
  [64, 2, 20_000],
  [16 * KiB, 1, 10_000],
  [256 * KiB, 1, 600],
];
/**
 * Messages for the file flash columns, which run far slower than the others at QoS 1/2 (a disk
 * flush per store call by default): fewer, and the cell says how many ('group': ten times more).
 */
const flashCount = (id: string, size: number, qos: QoS, count: number) =>
  Math.min(
    count,
    Math.max(
      20,
      Math.round(
        (!qos ? 20_000 : size <= 64 ? 1_000 : size <= 16_384 ? 300 : 40) *
          (id === 'robust-flash-turn' ? 10 : 1) *
          (quick ? 0.1 : 1),
      ),
    ),
  );
/**
 * Both brokers queue up to ten million messages for a subscriber (Mosquitto's default is 1000).
 * The counting subscriber is a process on the same busy cores: descheduled for a few
 * milliseconds, it falls 1000 messages behind, and a default Mosquitto then drops what it owes
 * it, which says nothing about the publisher under test. The in-flight quota towards the
 * publisher, what a client's window must respect, is unchanged: past it, Mosquitto refuses a
 * QoS 1/2 PUBLISH (reason code 0x97, which a 3.1.1 client never sees) and drops it. (Not 0, "no
 * limit": Mosquitto then also disconnects a client that went past its quota.)
 */
const QUEUE = ['max_queued_messages 10000000'];
/** The memory row's messages for the file flash columns (default, 'group'). */
const flashRss = (id: string) => (id === 'robust-flash' ? 5_000 : 20_000) * (quick ? 0.1 : 1);
/** The offline row's messages for the file flash columns. */
const FLASH_OFFLINE = quick ? 500 : 5_000;
const config = {
  quick,
  /** Measured rounds of each throughput cell. */
  repeats: quick ? 2 : 5,
  scale: quick ? 0.05 : 1,
  latency: {
    rate: 2000,
    rounds: quick ? 2 : 10,
    seconds: quick ? 0.5 : 2,
    warmupSeconds: quick ? 0.2 : 0.5,
    qos: 1,
    payload: 64,
  },
  rssCount: quick ? 50_000 : 1_000_000,
  rssRounds: quick ? 2 : 3,
  offlineCount: quick ? 10_000 : 100_000,
  offlineRounds: quick ? 2 : 3,
  window: WINDOW,
  bigWindow: Number(process.env['BENCH_BIG_WINDOW'] ?? BIG_WINDOW),
  maxInflight: Number(process.env['BENCH_MAX_INFLIGHT'] ?? WINDOW),
};

const tsx = import.meta.resolve('tsx');
const worker = join(here, 'worker.ts');
const profDir = process.env['BENCH_CPU_PROF'];
const nodeArgs = (process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
/** Temporary files of this run (the flash partitions): one directory per child process inside. */
const runDir = mkdtempSync(join(tmpdir(), 'umqtt-bench-'));
const live = new Set<Session>();

function cleanUp(): void {
  for (const s of live) s.kill();
  rmSync(runDir, { recursive: true, force: true });
}
process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    cleanUp();
    process.exit(130);
  });

interface Reply<T> {
  ok: boolean;
  result?: T;
  error?: string;
}

/** A child process running one task of one client; `next` sends a message and waits for the answer. */
class Session {
  readonly #child: ChildProcess;
  #waiting: { resolve(v: unknown): void; reject(e: Error): void } | undefined;
  #exited: string | undefined;

  constructor(kind: string, broker: Broker, task: Task) {
    const name = [kind, ...Object.values(task)].join('-');
    const dir = mkdtempSync(join(runDir, `${kind}-`));
    const execArgv = [
      '--import',
      tsx,
      '--expose-gc',
      ...nodeArgs,
      ...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profDir, name)}`] : []),
    ];
    this.#child = fork(worker, [kind, JSON.stringify(broker), JSON.stringify(task)], {
      execArgv,
      env: { ...process.env, BENCH_TMPDIR: dir },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    live.add(this);
    this.#child.on('message', (m: Reply<unknown>) => {
      const w = this.#waiting;
      this.#waiting = undefined;
      if (!w) return;
      if (m.ok) w.resolve(m.result);
      else w.reject(new Error(m.error));
    });
    this.#child.on('exit', (code, signal) => {
      live.delete(this);
      rmSync(dir, { recursive: true, force: true }); // its temporary files, however it ended
      this.#exited = `worker exited with ${signal ?? `code ${code}`}`;
      this.#waiting?.reject(new Error(`${this.#exited} before answering`));
      this.#waiting = undefined;
    });
  }

  /** The next answer (after sending `message`, if any), or an error after `timeoutMs`. */
  next<T>(message?: object, timeoutMs = Number(process.env['BENCH_TIMEOUT_MS'] ?? 240_000)): Promise<T> {
    if (this.#exited) return Promise.reject(new Error(this.#exited));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting = undefined;
        this.kill();
        reject(new Error(`timed out after ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.#waiting = {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
      if (message) this.#child.send(message);
    });
  }

  /** Ends the session; kills it if it does not end by itself. */
  async end(): Promise<void> {
    await this.next({ end: true }, 10_000).catch(() => this.kill());
  }

  kill(): void {
    if (!this.#exited) this.#child.kill('SIGKILL');
  }
}

type Cell<T> = T | { error: string };

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;

/** The clients in the order of round `r`: rotated, so none always runs first or after the same one. */
const rotate = <T>(ids: T[], r: number) => [...ids.slice(r % ids.length), ...ids.slice(0, r % ids.length)];

/** Each run gets its own tag, so the subscriber tells its messages from any other's. */
let lastTag = 0;

/** The counting subscriber: one session for a case, at the case's QoS. */
class Counter {
  readonly #s: Session;
  constructor(broker: Broker, qos: QoS) {
    this.#s = new Session('subscriber', broker, { task: 'subscriber', qos });
  }
  ready(): Promise<unknown> {
    return this.#s.next();
  }
  /** Runs `publish` (which publishes `count` messages stamped with the tag) and counts what arrived. */
  async count<T>(count: number, publish: (tag: number) => Promise<T>): Promise<{ result: T; arrivals: Arrivals }> {
    const tag = ++lastTag;
    await this.#s.next({ expect: { tag, count } });
    const result = await publish(tag);
    return { result, arrivals: await this.#s.next<Arrivals>({ collect: true }) };
  }
  end(): Promise<void> {
    return this.#s.end();
  }
}

/** What a run's figures say once its arrivals are counted. */
function roundOf(count: number, qos: QoS, times: BurstTimes, a: Arrivals): Round {
  const missing = count - a.distinct;
  const failed = missing > 0 || (qos === 2 && a.duplicates > 0);
  return {
    ...(failed ? {} : { rate: count / ((a.last - times.t0) / 1000) }),
    ackRate: count / ((times.tAck - times.t0) / 1000),
    missing,
    duplicates: a.duplicates,
    stalls: times.stalls,
  };
}

/** The cell's figures over its rounds: the median rate only when no round lost a message. */
function summary<R extends Round>(count: number, rounds: R[]) {
  const lossRounds = rounds.filter((x) => x.rate === undefined).length;
  const sum = (f: (x: R) => number) => rounds.reduce((n, x) => n + f(x), 0);
  return {
    count,
    rounds,
    ...(lossRounds === 0 && rounds.length ? { rate: median(rounds.map((x) => x.rate!)) } : {}),
    ackRate: median(rounds.map((x) => x.ackRate)),
    missing: sum((x) => x.missing),
    lossRounds,
    duplicates: sum((x) => x.duplicates),
    stalls: sum((x) => x.stalls),
  };
}

/**
 * Opens one session per client (each connects and warms up), then runs `rounds` rounds, each
 * running every client once (rotating the order); `round` runs one and gives its record. A client
 * that fails is killed and its cell says why.
 */
async function interleaved<R>(
  ids: string[],
  rounds: number,
  open: (id: string) => Session | undefined,
  round: (id: string, s: Session | undefined, r: number) => Promise<R>,
): Promise<{ records: Map<string, R[]>; errors: Map<string, string> }> {
  const sessions = new Map<string, Session>();
  const records = new Map<string, R[]>(ids.map((id) => [id, []]));
  const errors = new Map<string, string>();
  const failed = (id: string, e: unknown) => {
    process.stderr.write(`  ${id}: FAILED ${firstLine(e)}\n`);
    errors.set(id, firstLine(e));
    sessions.get(id)?.kill();
    sessions.delete(id);
  };
  try {
    for (const id of ids) {
      const s = open(id);
      if (!s) continue;
      sessions.set(id, s);
      await s.next().catch((e: unknown) => failed(id, e));
    }
    for (let r = 0; r < rounds; r++)
      for (const id of rotate(ids, r)) {
        if (errors.has(id)) continue;
        try {
          records.get(id)!.push(await round(id, sessions.get(id), r));
        } catch (e) {
          failed(id, e);
        }
      }
  } finally {
    for (const s of sessions.values()) await s.end();
  }
  return { records, errors };
}

/** One throughput case for every client, counted at the subscriber. */
async function throughputCase(
  ids: string[],
  broker: Broker,
  size: number,
  qos: QoS,
  count: number,
  window: number,
  maxInflight: number,
): Promise<Record<string, Cell<ThroughputResult>>> {
  const out: Record<string, Cell<ThroughputResult>> = {};
  const counts = new Map(
    ids.map((id) => [id, id.startsWith('robust-flash') ? flashCount(id, size, qos, count) : count]),
  );
  const counter = new Counter(broker, qos);
  try {
    await counter.ready();
    const { records, errors } = await interleaved(
      ids,
      config.repeats,
      (id) => new Session(id, broker, { task: 'throughput', qos, size, count: counts.get(id)!, window, maxInflight }),
      async (id, s) => {
        const n = counts.get(id)!;
        const { result, arrivals } = await counter.count(n, (tag) => s!.next<BurstTimes>({ run: true, tag }));
        return roundOf(n, qos, result, arrivals);
      },
    );
    for (const id of ids) {
      const e = errors.get(id);
      const rs = records.get(id)!;
      if (e && !rs.length) out[id] = { error: e };
      else out[id] = summary(counts.get(id)!, rs);
      process.stderr.write(
        `  ${id}: ${rs.map((x) => (x.rate === undefined ? `LOST ${x.missing}` : Math.round(x.rate))).join(', ')} msg/s received; acks ${rs.map((x) => Math.round(x.ackRate)).join(', ')}${e ? `; FAILED ${e}` : ''}\n`,
      );
    }
  } finally {
    await counter.end();
  }
  return out;
}

function latencyStats(sent: number, samples: number[]): LatencyStats {
  const s = [...samples].sort((a, b) => a - b);
  return {
    sent,
    received: s.length,
    p50: percentile(s, 50),
    p99: percentile(s, 99),
    p999: percentile(s, 99.9),
    max: s[s.length - 1] ?? NaN,
  };
}

/** Latency of every client: rounds interleaved; percentiles of the pooled samples and of each round. */
async function latencyCase(ids: string[], broker: Broker): Promise<Record<string, Cell<LatencyResult>>> {
  const L = config.latency;
  const out: Record<string, Cell<LatencyResult>> = {};
  const { records, errors } = await interleaved(
    ids,
    L.rounds,
    (id) =>
      new Session(id, broker, {
        task: 'latency',
        rate: L.rate,
        seconds: L.seconds,
        warmupSeconds: L.warmupSeconds,
        maxInflight: config.maxInflight,
      }),
    (_id, s) => s!.next<{ sent: number; samples: number[] }>({ run: true }),
  );
  for (const id of ids) {
    const rs = records.get(id)!;
    if (!rs.length) {
      out[id] = { error: errors.get(id) ?? 'no rounds' };
      continue;
    }
    const pooled = latencyStats(
      rs.reduce((n, x) => n + x.sent, 0),
      rs.flatMap((x) => x.samples),
    );
    out[id] = { ...pooled, rounds: rs.map((x) => latencyStats(x.sent, x.samples)) };
    process.stderr.write(
      `  ${id}: p50 ${pooled.p50.toFixed(3)} ms, p99 ${pooled.p99.toFixed(3)} ms, p99.9 ${pooled.p999.toFixed(3)} ms, ${pooled.received} of ${pooled.sent} received${errors.has(id) ? `; FAILED ${errors.get(id)}` : ''}\n`,
    );
  }
  return out;
}

/** The memory row: a million QoS 1 messages per run, rounds interleaved, counted at the subscriber. */
async function rssCase(ids: string[], broker: Broker): Promise<Record<string, Cell<RssResult>>> {
  const out: Record<string, Cell<RssResult>> = {};
  const counts = new Map(
    ids.map((id) => [id, id.startsWith('robust-flash') ? Math.min(config.rssCount, flashRss(id)) : config.rssCount]),
  );
  const counter = new Counter(broker, 1);
  try {
    await counter.ready();
    const { records, errors } = await interleaved(
      ids,
      config.rssRounds,
      (id) =>
        new Session(id, broker, {
          task: 'rss',
          count: counts.get(id)!,
          window: config.window,
          maxInflight: config.maxInflight,
        }),
      async (id, s): Promise<RssRound> => {
        const n = counts.get(id)!;
        const { result, arrivals } = await counter.count(n, (tag) =>
          s!.next<Omit<RssRound, keyof Round> & BurstTimes>({ run: true, tag }, 600_000),
        );
        return { ...result, ...roundOf(n, 1, result, arrivals) };
      },
    );
    for (const id of ids) {
      const rs = records.get(id)!;
      if (!rs.length) {
        out[id] = { error: errors.get(id) ?? 'no rounds' };
        continue;
      }
      out[id] = {
        ...summary(counts.get(id)!, rs),
        peakMB: Math.max(...rs.map((x) => x.peakMB)),
        growthMB: Math.max(...rs.map((x) => x.growthMB)),
        retainedGrowthMB: rs[rs.length - 1]!.retainedGrowthMB,
      };
      process.stderr.write(
        `  ${id}: ${rs.map((x) => (x.rate === undefined ? `LOST ${x.missing}` : Math.round(x.rate))).join(', ')} msg/s; peak ${rs.map((x) => x.peakMB.toFixed(0)).join(', ')} MB; growth ${rs.map((x) => x.growthMB.toFixed(1)).join(', ')} MB\n`,
      );
    }
  } finally {
    await counter.end();
  }
  return out;
}

/** The offline row: each run in a fresh process (what it holds is the measurement), rounds interleaved. */
async function offlineCase(ids: string[], broker: Broker): Promise<Record<string, Cell<OfflineCell>>> {
  const out: Record<string, Cell<OfflineCell>> = {};
  const counts = new Map(
    ids.map((id) => [
      id,
      id.startsWith('robust-flash') ? Math.min(config.offlineCount, FLASH_OFFLINE) : config.offlineCount,
    ]),
  );
  const counter = new Counter(broker, 1);
  try {
    await counter.ready();
    const { records, errors } = await interleaved(
      ids,
      config.offlineRounds,
      () => undefined,
      async (id) => {
        const n = counts.get(id)!;
        const { result, arrivals } = await counter.count(n, (tag) =>
          new Session(id, broker, {
            task: 'offline',
            count: n,
            tag,
            maxInflight: config.maxInflight,
          }).next<OfflineResult>(),
        );
        return { ...result, arrived: arrivals.distinct, duplicates: arrivals.duplicates };
      },
    );
    for (const id of ids) {
      const rs = records.get(id)!;
      out[id] = rs.length ? { count: counts.get(id)!, rounds: rs } : { error: errors.get(id) ?? 'no rounds' };
      process.stderr.write(
        `  ${id}: ${rs.map((x) => `${x.bytesPerMessage.toFixed(0)} B/msg, drain ${x.drainMs.toFixed(0)} ms, ${x.arrived} of ${x.count} arrived`).join('; ')}${errors.has(id) ? `; FAILED ${errors.get(id)}` : ''}\n`,
      );
    }
  } finally {
    await counter.end();
  }
  return out;
}

function load(): Load {
  let uptime = '';
  try {
    uptime = execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    // no uptime command: the numbers below say the same
  }
  return { at: new Date().toISOString(), uptime, loadavg: loadavg().map((x) => Math.round(x * 100) / 100) };
}

function machine() {
  const version = (() => {
    try {
      return execFileSync('mosquitto', ['-h'], { encoding: 'utf8' }).split('\n')[0]!;
    } catch (e) {
      return String((e as { stdout?: string }).stdout ?? '').split('\n')[0] || 'mosquitto (version unknown)';
    }
  })();
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = cpuinfo.match(/model name\s*:\s*(.*)/)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const mqttVersion = (
    JSON.parse(readFileSync(join(benchDir, 'node_modules/mqtt/package.json'), 'utf8')) as { version: string }
  ).version;
  return {
    cores: cpus().length,
    cpu: model.trim(),
    memoryGB: Math.round(totalmem() / 2 ** 30),
    os: `Linux ${release()}${/\bhypervisor\b/.test(cpuinfo) ? ', a virtual machine' : ''}`,
    node: process.version,
    mosquitto: version.replace(/^mosquitto version /, ''),
    mqttjs: mqttVersion,
  };
}

/** The codec benchmark's own table, and its figures (the last line it prints with --json). */
function runCodecBench(): Promise<{ table: string; cases: CodecCase[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', tsx, '--expose-gc', 'bench/codec.bench.ts', '--json'], {
      cwd: join(root, 'packages/codec'),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`codec bench exited with ${code}`));
      const lines = out.trimEnd().split('\n');
      resolve({ cases: JSON.parse(lines.pop()!) as CodecCase[], table: lines.join('\n') });
    });
  });
}

/** What the broker said about dropping messages while a case ran (Mosquitto logs it once per client until it stops). */
function brokerNotes(log: string): { brokerLog?: string[] } {
  const lines = log.split('\n').filter((l) => /dropp|quota|exceed/i.test(l));
  for (const l of lines) process.stderr.write(`  broker: ${l}\n`);
  return lines.length ? { brokerLog: lines } : {};
}

/** The throughput cases selected by --sizes and --qos. */
const selected = (cases: [number, QoS, number][]) =>
  cases.filter(([size, qos]) => (!sizes || sizes.includes(size)) && (!qoss || qoss.includes(qos)));

async function main(): Promise<void> {
  for (const pkg of ['codec', 'simple', 'robust', 'store-memory'])
    if (!existsSync(join(root, 'packages', pkg, 'dist/index.js')))
      throw new Error(`packages/${pkg} is not built: run pnpm build (pnpm bench does)`);
  const started = performance.now();
  const m = machine();
  const results: Results = {
    date: new Date().toISOString(),
    machine: m,
    load: { start: load() },
    config,
    kinds: {},
    throughput: [],
    latency: {},
    rss: {},
    offline: {},
  };
  for (const id of kinds) {
    const k = await loadKind(id);
    results.kinds[id] = { label: k.label, ...(k.unavailable ? { unavailable: k.unavailable } : {}) };
  }
  console.error(
    `umqtt bench${quick ? ' --quick' : ''}: ${m.cores} x ${m.cpu}, ${m.os}, Node ${m.node}, Mosquitto ${m.mosquitto}, MQTT.js ${m.mqttjs}; ${results.load.start.uptime}`,
  );
  const ids = kinds.filter((id) => !results.kinds[id]!.unavailable);
  const scaled = (n: number) => Math.max(20, Math.round(n * config.scale));
  if (parts.has('throughput') || parts.has('latency') || parts.has('rss') || parts.has('offline')) {
    const broker = await startMosquitto({ extraConfig: [`max_inflight_messages ${config.window}`, ...QUEUE] });
    const b: Broker = { host: broker.host, port: broker.port };
    console.error(`mosquitto (max_inflight_messages ${config.window}, ${QUEUE[0]}) on ${broker.url}`);
    try {
      if (parts.has('throughput'))
        for (const [size, qos, n] of selected(THROUGHPUT)) {
          const count = scaled(n);
          console.error(`throughput: ${size} B payload, QoS ${qos}, ${count} messages x ${config.repeats}`);
          const from = broker.log().length;
          results.throughput.push({
            size,
            qos,
            count,
            broker: 'quota',
            window: config.window,
            results: await throughputCase(ids, b, size, qos, count, config.window, config.maxInflight),
            ...brokerNotes(broker.log().slice(from)),
          });
        }
      if (parts.has('latency')) {
        const L = config.latency;
        console.error(
          `latency: ${L.rate} msg/s, QoS 1, publisher and subscriber of each client; ${L.rounds} interleaved rounds of ${L.seconds} s`,
        );
        results.latency = await latencyCase(ids, b);
      }
      if (parts.has('rss')) {
        console.error(`memory: ${config.rssCount} QoS 1 messages of 64 B through the window x ${config.rssRounds}`);
        results.rss = await rssCase(ids, b);
      }
      if (parts.has('offline')) {
        console.error(`offline queue: ${config.offlineCount} QoS 1 messages of 64 B held, then drained`);
        results.offline = await offlineCase(
          ids.filter((k) => k !== 'simple'), // simple keeps no messages while offline
          b,
        );
      }
    } finally {
      await broker.stop();
    }
  }
  if (parts.has('noquota') && selected(NOQUOTA).length) {
    const broker = await startMosquitto({ extraConfig: ['max_inflight_messages 0', ...QUEUE] });
    const b: Broker = { host: broker.host, port: broker.port };
    console.error(`mosquitto (max_inflight_messages 0: no in-flight quota, ${QUEUE[0]}) on ${broker.url}`);
    try {
      for (const [size, qos, n] of selected(NOQUOTA)) {
        const count = scaled(n);
        console.error(
          `throughput without quota: ${size} B payload, QoS ${qos}, ${count} messages x ${config.repeats}, window ${config.bigWindow}`,
        );
        const from = broker.log().length;
        results.throughput.push({
          size,
          qos,
          count,
          broker: 'noquota',
          window: config.bigWindow,
          results: await throughputCase(ids, b, size, qos, count, config.bigWindow, config.bigWindow),
          ...brokerNotes(broker.log().slice(from)),
        });
      }
    } finally {
      await broker.stop();
    }
  }
  if (parts.has('codec')) {
    console.error('codec: packages/codec/bench/codec.bench.ts');
    try {
      const { table, cases } = await runCodecBench();
      results.codec = table;
      results.codecCases = cases;
    } catch (e) {
      results.codec = `codec bench failed: ${(e as Error).message}`;
    }
  }
  results.seconds = (performance.now() - started) / 1000;
  results.load.end = load();
  const report = renderReport(results);
  console.log(report);
  mkdirSync(join(benchDir, 'results'), { recursive: true });
  const file = join(benchDir, 'results', partial ? 'quick.json' : 'latest.json');
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.error(`\nresults: ${file} (${results.seconds.toFixed(0)} s); ${results.load.end.uptime}`);
  if (!partial) {
    const readme = join(benchDir, 'README.md');
    const text = readFileSync(readme, 'utf8');
    const start = '<!-- bench:latest -->';
    const end = '<!-- /bench:latest -->';
    const i = text.indexOf(start);
    const j = text.indexOf(end);
    if (i >= 0 && j > i) {
      writeFileSync(readme, `${text.slice(0, i + start.length)}\n${report}\n${text.slice(j)}`);
      console.error(`table written to ${readme}`);
    }
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
