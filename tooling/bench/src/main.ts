// pnpm bench: umqtt against MQTT.js and a raw-socket reference, against one Mosquitto, in one run.
//
//   pnpm bench            full run (about 7 minutes on 2 cores); writes results/latest.json and
//                         the table in README.md
//   pnpm bench --quick    small counts, to check that everything works; writes results/quick.json
//   --only=a,b            only these clients (raw, mqttjs, simple, robust-memory, robust-flash, robust-flash-turn)
//   --cases=throughput,latency,rss,offline,codec
//                         only these parts
//   --sizes=64,16384 --qos=1
//                         only these throughput cases
//   BENCH_CPU_PROF=dir    each child process writes a CPU profile there (summarize: src/profile.ts)
//   BENCH_MAX_INFLIGHT=n  maxInflight of the umqtt clients (default 20: the window of the raw reference
//                         and the MQTT.js driver; the client's own default is 16)
//   BENCH_NODE_ARGS="..." more node flags for each child process, e.g. "--trace-gc"
//
// Every measurement runs in its own child process (worker.ts), so each client's RSS and heap are
// its own; the broker is shared and idle between measurements.
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMosquitto } from '../../testkit/src/mosquitto.js';
import {
  WINDOW,
  median,
  percentile,
  type Broker,
  type LatencyResult,
  type OfflineResult,
  type QoS,
  type RssResult,
  type Task,
  type ThroughputResult,
} from './common.js';
import { KIND_IDS, loadKind } from './kinds/index.js';
import { renderReport, type CodecCase, type Results } from './report.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const benchDir = join(here, '..');
const root = join(benchDir, '../..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const opt = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const only = opt('only')?.split(',');
const parts = new Set(opt('cases')?.split(',') ?? ['throughput', 'latency', 'rss', 'offline', 'codec']);
const sizes = opt('sizes')?.split(',').map(Number);
const qoss = opt('qos')?.split(',').map(Number);
const partial = Boolean(quick || only || opt('cases') || sizes || qoss);
const kinds = KIND_IDS.filter((k) => !only || only.includes(k));

const KiB = 1024;
/** [payload bytes, QoS, messages] */
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
/** The file flash store syncs every store operation to the disk: it runs fewer messages (and says so). */
/** Messages for the file flash columns, which run far slower than the others at QoS 1/2 (syncs). */
const flashCount = (id: string, size: number, qos: QoS, count: number) =>
  Math.min(
    count,
    (!qos ? 20_000 : size <= 64 ? 1_000 : size <= 16_384 ? 300 : 40) * (id === 'robust-flash-turn' ? 10 : 1),
  );
const FLASH_RSS = 20_000;
const FLASH_OFFLINE = 5_000;
const config = {
  quick,
  repeats: quick ? 1 : 5,
  scale: quick ? 0.05 : 1,
  latency: { rate: 2000, rounds: quick ? 1 : 5, seconds: 1, warmupSeconds: quick ? 0.2 : 0.5, qos: 1, payload: 64 },
  rssCount: quick ? 50_000 : 1_000_000,
  offlineCount: quick ? 10_000 : 100_000,
  window: WINDOW,
  maxInflight: Number(process.env['BENCH_MAX_INFLIGHT'] ?? WINDOW),
};

const tsx = import.meta.resolve('tsx');
const worker = join(here, 'worker.ts');
const profDir = process.env['BENCH_CPU_PROF'];
const nodeArgs = (process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean);

interface Reply<T> {
  ok: boolean;
  result?: T;
  error?: string;
}

/** A child process running one task of one client; `ask` sends a message and waits for the answer. */
class Session {
  readonly #child: ChildProcess;
  #waiting: { resolve(v: unknown): void; reject(e: Error): void } | undefined;
  #exited: string | undefined;

  constructor(kind: string, broker: Broker, task: Task) {
    const name = [kind, ...Object.values(task)].join('-');
    const execArgv = [
      '--import',
      tsx,
      '--expose-gc',
      ...nodeArgs,
      ...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profDir, name)}`] : []),
    ];
    this.#child = fork(worker, [kind, JSON.stringify(broker), JSON.stringify(task)], {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('message', (m: Reply<unknown>) => {
      const w = this.#waiting;
      this.#waiting = undefined;
      if (!w) return;
      if (m.ok) w.resolve(m.result);
      else w.reject(new Error(m.error));
    });
    this.#child.on('exit', (code) => {
      this.#exited = `worker exited with code ${code}`;
      this.#waiting?.reject(new Error(`${this.#exited} before answering`));
      this.#waiting = undefined;
    });
  }

  /** The next answer (after sending `message`, if any), or an error after `timeoutMs`. */
  next<T>(message?: object, timeoutMs = 240_000): Promise<T> {
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

  kill(): void {
    if (!this.#exited) this.#child.kill('SIGKILL');
  }
}

/** Runs one task of one client in its own child process. */
function runWorker<T>(kind: string, broker: Broker, task: Task, timeoutMs = 240_000): Promise<T> {
  return new Session(kind, broker, task).next<T>(undefined, timeoutMs);
}

/**
 * One throughput case for every client: each client in its own process, connected and warmed up;
 * then `repeats` rounds, each running every client once (rotating the order), so that background
 * load on the machine is shared alike. The median of the rounds counts.
 */
async function throughputCase(
  ids: string[],
  broker: Broker,
  size: number,
  qos: QoS,
  count: number,
): Promise<Record<string, Cell<ThroughputResult>>> {
  const out: Record<string, Cell<ThroughputResult>> = {};
  const sessions = new Map<string, Session>();
  const counts = new Map<string, number>();
  const rates = new Map<string, number[]>();
  const stalls = new Map<string, number>();
  const failed = (id: string, e: unknown) => {
    const error = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
    process.stderr.write(`  ${id}: FAILED ${error}\n`);
    out[id] = { error };
    sessions.get(id)?.kill();
    sessions.delete(id);
  };
  for (const id of ids) {
    const n = id.startsWith('robust-flash') ? flashCount(id, size, qos, count) : count;
    const s = new Session(id, broker, { task: 'throughput', qos, size, count: n });
    sessions.set(id, s);
    counts.set(id, n);
    rates.set(id, []);
    stalls.set(id, 0);
    try {
      await s.next<string>();
    } catch (e) {
      failed(id, e);
    }
  }
  for (let r = 0; r < config.repeats; r++) {
    const order = [...ids.slice(r % ids.length), ...ids.slice(0, r % ids.length)];
    for (const id of order) {
      const s = sessions.get(id);
      if (!s) continue;
      try {
        const x = await s.next<{ rate: number; stalls: number }>({ run: true });
        rates.get(id)!.push(x.rate);
        stalls.set(id, stalls.get(id)! + x.stalls);
      } catch (e) {
        failed(id, e);
      }
    }
  }
  for (const [id, s] of sessions) {
    await s.next({ end: true }, 10_000).catch(() => s.kill());
    const rs = rates.get(id)!;
    const rate = median(rs);
    out[id] = { count: counts.get(id)!, rates: rs, rate, mbps: (rate * size) / 1e6, stalls: stalls.get(id)! };
    process.stderr.write(
      `  ${id}: ${rs.map((x) => Math.round(x)).join(', ')} msg/s${stalls.get(id) ? ` (${stalls.get(id)} stalls)` : ''}\n`,
    );
  }
  return out;
}

/** Latency of every client: sessions as in throughputCase, rounds interleaved, samples pooled. */
async function latencyCase(ids: string[], broker: Broker): Promise<Record<string, Cell<LatencyResult>>> {
  const L = config.latency;
  const out: Record<string, Cell<LatencyResult>> = {};
  const sessions = new Map<string, Session>();
  const pooled = new Map<string, { sent: number; samples: number[] }>();
  const failed = (id: string, e: unknown) => {
    const error = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
    process.stderr.write(`  ${id}: FAILED ${error}\n`);
    out[id] = { error };
    sessions.get(id)?.kill();
    sessions.delete(id);
  };
  for (const id of ids) {
    const s = new Session(id, broker, {
      task: 'latency',
      rate: L.rate,
      seconds: L.seconds,
      warmupSeconds: L.warmupSeconds,
    });
    sessions.set(id, s);
    pooled.set(id, { sent: 0, samples: [] });
    try {
      await s.next<string>();
    } catch (e) {
      failed(id, e);
    }
  }
  for (let r = 0; r < L.rounds; r++)
    for (const id of [...ids.slice(r % ids.length), ...ids.slice(0, r % ids.length)]) {
      const s = sessions.get(id);
      if (!s) continue;
      try {
        const x = await s.next<{ sent: number; samples: number[] }>({ run: true });
        const p = pooled.get(id)!;
        p.sent += x.sent;
        p.samples.push(...x.samples);
        if (process.env['BENCH_DEBUG'])
          process.stderr.write(
            `    round ${r} ${id}: p50 ${percentile(
              [...x.samples].sort((a, b) => a - b),
              50,
            ).toFixed(3)} ms\n`,
          );
      } catch (e) {
        failed(id, e);
      }
    }
  for (const [id, s] of sessions) {
    await s.next({ end: true }, 10_000).catch(() => s.kill());
    const { sent, samples } = pooled.get(id)!;
    samples.sort((a, b) => a - b);
    out[id] = {
      sent,
      received: samples.length,
      p50: percentile(samples, 50),
      p99: percentile(samples, 99),
      max: samples[samples.length - 1] ?? NaN,
    };
    process.stderr.write(
      `  ${id}: p50 ${percentile(samples, 50).toFixed(3)} ms, p99 ${percentile(samples, 99).toFixed(3)} ms, ${samples.length} of ${sent} received\n`,
    );
  }
  return out;
}

type Cell<T> = T | { error: string };

async function attempt<T>(label: string, f: () => Promise<T>): Promise<Cell<T>> {
  const t0 = performance.now();
  try {
    const r = await f();
    process.stderr.write(`  ${label}: ok (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
    return r;
  } catch (e) {
    const error = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
    process.stderr.write(`  ${label}: FAILED ${error}\n`);
    return { error };
  }
}

function machine() {
  const version = (() => {
    try {
      return execFileSync('mosquitto', ['-h'], { encoding: 'utf8' }).split('\n')[0]!;
    } catch (e) {
      return String((e as { stdout?: string }).stdout ?? '').split('\n')[0] || 'mosquitto (version unknown)';
    }
  })();
  const model =
    readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const mqttVersion = (
    JSON.parse(readFileSync(join(benchDir, 'node_modules/mqtt/package.json'), 'utf8')) as { version: string }
  ).version;
  return {
    cores: cpus().length,
    cpu: model.trim(),
    memoryGB: Math.round(totalmem() / 2 ** 30),
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

async function main(): Promise<void> {
  for (const pkg of ['codec', 'simple', 'robust', 'store-memory'])
    if (!existsSync(join(root, 'packages', pkg, 'dist/index.js')))
      throw new Error(`packages/${pkg} is not built: run pnpm build (pnpm bench does)`);
  const started = performance.now();
  const m = machine();
  const results: Results = {
    date: new Date().toISOString(),
    machine: m,
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
    `umqtt bench${quick ? ' --quick' : ''}: ${m.cores} x ${m.cpu}, Node ${m.node}, Mosquitto ${m.mosquitto}, MQTT.js ${m.mqttjs}`,
  );
  const broker = await startMosquitto({ extraConfig: [`max_inflight_messages ${config.window}`] });
  const b: Broker = { host: broker.host, port: broker.port };
  console.error(`mosquitto on ${broker.url}`);
  const live = (id: string) => !results.kinds[id]!.unavailable;
  try {
    if (parts.has('throughput'))
      for (const [size, qos, n] of THROUGHPUT.filter(
        ([size, qos]) => (!sizes || sizes.includes(size)) && (!qoss || qoss.includes(qos)),
      )) {
        const count = Math.max(20, Math.round(n * config.scale));
        const row: Results['throughput'][number] = { size, qos, count, results: {} };
        results.throughput.push(row);
        console.error(`throughput: ${size} B payload, QoS ${qos}, ${count} messages x ${config.repeats}`);
        row.results = await throughputCase(kinds.filter(live), b, size, qos, count);
      }
    if (parts.has('latency')) {
      const L = config.latency;
      console.error(
        `latency: ${L.rate} msg/s, QoS 1, publisher and subscriber of each client; ${L.rounds} interleaved rounds of ${L.seconds} s`,
      );
      results.latency = await latencyCase(kinds.filter(live), b);
    }
    if (parts.has('rss')) {
      console.error(`memory: ${config.rssCount} QoS 1 messages of 64 B through the window`);
      for (const id of kinds.filter(live))
        results.rss[id] = await attempt(id, () =>
          runWorker<RssResult>(id, b, {
            task: 'rss',
            count: id.startsWith('robust-flash') ? Math.min(config.rssCount, FLASH_RSS) : config.rssCount,
          }),
        );
    }
    if (parts.has('offline')) {
      console.error(`offline queue: ${config.offlineCount} QoS 1 messages of 64 B held, then drained`);
      for (const id of kinds.filter(live).filter((k) => k !== 'simple'))
        // simple keeps no messages while offline
        results.offline[id] = await attempt(id, () =>
          runWorker<OfflineResult>(id, b, {
            task: 'offline',
            count: id.startsWith('robust-flash') ? Math.min(config.offlineCount, FLASH_OFFLINE) : config.offlineCount,
          }),
        );
    }
  } finally {
    await broker.stop();
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
  const report = renderReport(results);
  console.log(report);
  mkdirSync(join(benchDir, 'results'), { recursive: true });
  const file = join(benchDir, 'results', partial ? 'quick.json' : 'latest.json');
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.error(`\nresults: ${file} (${results.seconds.toFixed(0)} s)`);
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
  process.exit(1);
});
