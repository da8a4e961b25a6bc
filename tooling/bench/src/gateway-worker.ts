// One gateway measurement in its own process (so memory and GC state are its own): N clients of
// one library in this process, against the Mosquitto that gateway.ts started. Started with
// fork(): argv[2] is the library, argv[3] the task as JSON; the result goes back over IPC.
//
// 1. connect N clients, at most CONCURRENCY connects outstanding: clients per second;
// 2. idle: memory per connected client (heapUsed + external, and RSS, after GC, minus the
//    baseline before any client existed) and the timers and sockets Node holds per client;
// 3. steady load: every client publishes QoS 1 at the same rate, spread evenly over time, for
//    a fixed time: acknowledged messages per second, and latency from publish() to the
//    acknowledgement's callback (p50, p99).
import { openClient, type Client, type GatewayLibrary } from './gateway-clients.js';

export type { GatewayLibrary } from './gateway-clients.js';

export interface GatewayTask {
  port: number;
  clients: number;
  /** QoS 1 messages per second per client during the steady phase. */
  perClientRate: number;
  /** Length of the steady phase (ms), after a warm-up of a quarter of it. */
  steadyMs: number;
  payloadBytes: number;
}

export interface GatewayResult {
  library: GatewayLibrary;
  clients: number;
  connectPerSecond: number;
  /** heapUsed + external per idle connected client (bytes). */
  heapPerClient: number;
  /** RSS per idle connected client (bytes). */
  rssPerClient: number;
  /** Node timers (Timeout resources) per idle client. */
  timersPerClient: number;
  offeredPerSecond: number;
  ackedPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Publishes that could not be made (not connected) or ended in another status. */
  failures: number;
  /** The failures by status or error. */
  failed: Record<string, number>;
}

const CONCURRENCY = 200;
function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) throw new Error('run with --expose-gc');
  g();
  g();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function memory(): { heap: number; rss: number; timers: number } {
  const m = process.memoryUsage();
  const timers = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  return { heap: m.heapUsed + m.external, rss: m.rss, timers };
}

function percentile(sorted: Float64Array, p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function measure(library: GatewayLibrary, t: GatewayTask): Promise<GatewayResult> {
  const clients: Client[] = new Array(t.clients);
  // One client first, closed again: what a library allocates once (module-level caches, such as
  // mqtt-packet's buffers, and compiled code) is in the baseline, not counted per client.
  (await openClient(library, t.port, `gw-${library}-${process.pid}-warm`)).close();
  await sleep(200);
  gc();
  await sleep(200);
  gc();
  const base = memory();

  // 1. connect
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < t.clients) {
      const i = next++;
      clients[i] = await openClient(library, t.port, `gw-${library}-${process.pid}-${i}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, t.clients) }, worker));
  const connectPerSecond = t.clients / ((performance.now() - t0) / 1000);

  // 2. idle
  await sleep(1000);
  gc();
  await sleep(200);
  gc();
  const idle = memory();

  // 3. steady QoS 1 load: one scheduler for all clients, each publishing every 1/rate seconds
  const payload = new Uint8Array(t.payloadBytes).fill(0x61);
  const offered = t.clients * t.perClientRate;
  const warmMs = t.steadyMs / 4;
  const latencies = new Float64Array(Math.ceil((offered * t.steadyMs) / 1000) + 16);
  let samples = 0;
  let acked = 0;
  let failures = 0;
  let ended = false;
  const failed = new Map<string, number>();
  let issued = 0;
  let measuring = false;
  const start = performance.now();
  let measureFrom = Infinity;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const now = performance.now();
      if (!measuring && now - start >= warmMs) {
        measuring = true;
        measureFrom = now;
        acked = 0;
      }
      if (measuring && now - measureFrom >= t.steadyMs) {
        clearInterval(tick);
        resolve();
        return;
      }
      const due = Math.floor(((now - start) / 1000) * offered);
      for (; issued < due; issued++) {
        const sentAt = performance.now();
        const counted = measuring;
        try {
          clients[issued % t.clients]!.publish(payload, (status) => {
            if (ended) return; // closing: what is still in flight is not a failure of the load
            if (status !== 'delivered') {
              failures++;
              failed.set(status, (failed.get(status) ?? 0) + 1);
              return;
            }
            if (!counted) return;
            acked++;
            if (samples < latencies.length) latencies[samples++] = performance.now() - sentAt;
          });
        } catch (e) {
          failures++;
          const why = `threw ${(e as { code?: string }).code ?? (e as Error).message}`;
          failed.set(why, (failed.get(why) ?? 0) + 1);
        }
      }
    }, 5);
  });
  const ackedPerSecond = acked / (t.steadyMs / 1000);
  const sorted = latencies.subarray(0, samples).sort();
  ended = true;
  for (const c of clients) c?.close();
  await sleep(500);
  return {
    library,
    clients: t.clients,
    connectPerSecond,
    heapPerClient: (idle.heap - base.heap) / t.clients,
    rssPerClient: (idle.rss - base.rss) / t.clients,
    timersPerClient: (idle.timers - base.timers) / t.clients,
    offeredPerSecond: offered,
    ackedPerSecond,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    failures,
    failed: Object.fromEntries(failed),
  };
}

const library = process.argv[2] as GatewayLibrary;
const task = JSON.parse(process.argv[3]!) as GatewayTask;
measure(library, task).then(
  (result) => process.send!({ ok: true, result }, () => process.exit(0)),
  (e: unknown) =>
    process.send!({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }, () => process.exit(1)),
);
