// The gateway benchmark: thousands of MQTT clients in one Node process (a gateway holding one
// session per device), umqtt against MQTT.js in the same run, against Mosquitto. For each
// number of clients and each library: a fresh Mosquitto (max_connections unlimited) on a free
// loopback port, and one child process (gateway-worker.ts) that connects the clients, measures
// them idle, then under a steady QoS 1 load. Needs a file limit above the number of clients for
// this process and Mosquitto: the `bench:gateway` script raises it (ulimit -n) before starting.
//
//   pnpm --filter @umqtt/bench bench:gateway                      # 1,000 and 10,000 clients; rewrites the README table
//   pnpm --filter @umqtt/bench bench:gateway --clients=2000 --only=umqtt-simple,mqttjs   # results/gateway-quick.json
import { fork, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startMosquitto } from '@umqtt/testkit';
import type { GatewayLibrary, GatewayResult, GatewayTask } from './gateway-worker.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const LIBRARIES: GatewayLibrary[] = ['umqtt-simple', 'umqtt-robust', 'mqttjs'];
const NAMES: Record<GatewayLibrary, string> = {
  'umqtt-simple': 'umqtt simple',
  'umqtt-robust': 'umqtt robust',
  mqttjs: 'MQTT.js',
};

function option(name: string): string | undefined {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a?.slice(name.length + 3);
}

const counts = (option('clients') ?? '1000,10000').split(',').map(Number);
const only = option('only')?.split(',') as GatewayLibrary[] | undefined;
const libraries = LIBRARIES.filter((l) => !only || only.includes(l));
const full = option('clients') === undefined && only === undefined;
const PER_CLIENT_RATE = 1; // QoS 1 messages per second per client
const STEADY_MS = 8000;
const PAYLOAD = 64;

function fileLimit(): number {
  return Number(execFileSync('sh', ['-c', 'ulimit -n']).toString().trim());
}

function runWorker(library: GatewayLibrary, task: GatewayTask): Promise<GatewayResult> {
  return new Promise((resolve, reject) => {
    const child = fork(`${here}gateway-worker.ts`, [library, JSON.stringify(task)], {
      execArgv: [
        '--expose-gc',
        '--import',
        'tsx',
        ...(process.env['GATEWAY_NODE_ARGS']?.split(' ').filter(Boolean) ?? []),
      ],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const limit = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.once('message', (m: { ok: boolean; result?: GatewayResult; error?: string }) => {
      clearTimeout(limit);
      if (m.ok) resolve(m.result!);
      else reject(new Error(`${library}: ${m.error}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(limit);
      reject(new Error(`${library} worker exited (${code ?? signal}) without a result`));
    });
  });
}

const kb = (bytes: number) => (bytes / 1024).toFixed(1);
const ms = (x: number | null) => (x === null || !Number.isFinite(x) ? 'n/a' : x.toFixed(1));
const ratio = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)}x` : 'n/a');

function table(results: GatewayResult[]): string {
  const lines = [
    '| clients | library | heap per idle client (KiB) | RSS per idle client (KiB) | timers per client | connects/s | QoS 1 acked/s (offered) | p50 (ms) | p99 (ms) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results)
    lines.push(
      `| ${r.clients.toLocaleString('en')} | ${NAMES[r.library]} | ${kb(r.heapPerClient)} | ${kb(r.rssPerClient)} | ${r.timersPerClient.toFixed(2)} | ${Math.round(r.connectPerSecond).toLocaleString('en')} | ${Math.round(r.ackedPerSecond).toLocaleString('en')} (${r.offeredPerSecond.toLocaleString('en')}) | ${ms(r.p50Ms)} | ${ms(r.p99Ms)} |`,
    );
  lines.push(
    '',
    '| clients | umqtt vs MQTT.js | memory per client (heap, less is better) | connects/s | acked/s | p99 |',
  );
  lines.push('|---|---|---|---|---|---|');
  for (const n of counts) {
    const m = results.find((r) => r.clients === n && r.library === 'mqttjs');
    if (!m) continue;
    for (const u of results.filter((r) => r.clients === n && r.library !== 'mqttjs'))
      lines.push(
        `| ${n.toLocaleString('en')} | ${NAMES[u.library]} | ${ratio(m.heapPerClient / u.heapPerClient)} less | ${ratio(u.connectPerSecond / m.connectPerSecond)} | ${ratio(u.ackedPerSecond / m.ackedPerSecond)} | ${ratio(m.p99Ms / u.p99Ms)} lower |`,
      );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const limit = fileLimit();
  const needed = Math.max(...counts) + 256;
  if (limit < needed) {
    console.error(
      `gateway bench: the file limit is ${limit}, ${needed} are needed for ${Math.max(...counts)} clients; run it through the bench:gateway script (it raises ulimit -n), or as root raise the hard limit`,
    );
    process.exit(2);
  }
  const results: GatewayResult[] = [];
  for (const clients of counts) {
    for (const library of libraries) {
      // a fresh broker per run: no state, and no TIME_WAIT sockets of the last run on its port
      const broker = await startMosquitto({ extraConfig: ['max_connections -1', 'max_inflight_messages 20'] });
      try {
        const task: GatewayTask = {
          port: broker.port,
          clients,
          perClientRate: PER_CLIENT_RATE,
          steadyMs: STEADY_MS,
          payloadBytes: PAYLOAD,
        };
        const r = await runWorker(library, task);
        results.push(r);
        console.log(
          `${clients} ${NAMES[library]}: ${kb(r.heapPerClient)} KiB heap and ${kb(r.rssPerClient)} KiB RSS per client, ${r.timersPerClient.toFixed(2)} timers per client, ${Math.round(r.connectPerSecond)} connects/s, ${Math.round(r.ackedPerSecond)}/${r.offeredPerSecond} acked/s, p50 ${ms(r.p50Ms)} ms, p99 ${ms(r.p99Ms)} ms, ${r.failures} failures ${JSON.stringify(r.failed)}`,
        );
      } finally {
        await broker.stop();
      }
    }
  }
  const text = table(results);
  console.log(`\n${text}`);
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, file limit ${limit}`;
  const file = `${here}../results/${full ? 'gateway.json' : 'gateway-quick.json'}`;
  writeFileSync(
    file,
    `${JSON.stringify({ machine, perClientRate: PER_CLIENT_RATE, steadyMs: STEADY_MS, results }, null, 2)}\n`,
  );
  if (!full) return;
  const readme = `${here}../README.md`;
  const before = readFileSync(readme, 'utf8');
  const start = '<!-- gateway:start -->';
  const end = '<!-- gateway:end -->';
  const a = before.indexOf(start);
  const b = before.indexOf(end);
  if (a < 0 || b < a) return console.error(`README: no ${start} ... ${end} section to rewrite`);
  writeFileSync(readme, `${before.slice(0, a + start.length)}\n${machine}\n\n${text}\n${before.slice(b)}`);
}

await main();
