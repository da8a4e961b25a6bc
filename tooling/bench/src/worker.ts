// One measurement in its own process (so RSS and GC state are its own). Started by main.ts with
// fork(): argv[2] is the kind id, argv[3] the broker as JSON, argv[4] the task as JSON. The result
// goes back over IPC.
import {
  LAT_TOPIC,
  MB,
  gc,
  payloadOf,
  percentile,
  sleep,
  type Broker,
  type Kind,
  type LatencyResult,
  type Progress,
  type RssResult,
  type Task,
} from './common.js';
import { loadKind } from './kinds/index.js';

/**
 * Throughput session: connects, warms up, then runs one timed burst per `{ run: true }` message
 * from main.ts (which interleaves the clients round by round, so background load hits them alike)
 * and answers `{ rate, stalls }`; `{ end: true }` closes.
 */
async function throughput(kind: Kind, broker: Broker, t: Extract<Task, { task: 'throughput' }>): Promise<void> {
  const conn = await kind.open(broker, `bench-${kind.id}-${process.pid}`);
  const payload = payloadOf(t.size);
  const progress: Progress = { sent: 0 };
  // warm-up: lets the JIT optimize the client's paths
  const warm = Math.max(10, Math.min(t.count >> 2, Math.ceil((4 * MB) / t.size)));
  await conn.prepare(warm, t.qos, payload, progress).run();
  process.on('message', (m: { run?: boolean; end?: boolean }) => {
    void (async () => {
      try {
        if (m.end) {
          await conn.close();
          process.send!({ ok: true }, () => process.exit(0));
          return;
        }
        const burst = conn.prepare(t.count, t.qos, payload, progress);
        progress.stalls = 0;
        gc();
        const t0 = performance.now();
        await burst.run();
        const rate = t.count / ((performance.now() - t0) / 1000);
        process.send!({ ok: true, result: { rate, stalls: progress.stalls } });
      } catch (e) {
        process.send!({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }, () => process.exit(1));
      }
    })();
  });
  process.send!({ ok: true, result: 'ready' });
}

async function latency(kind: Kind, broker: Broker, t: Extract<Task, { task: 'latency' }>): Promise<LatencyResult> {
  const sub = await kind.open(broker, `bench-${kind.id}-sub-${process.pid}`);
  const pub = await kind.open(broker, `bench-${kind.id}-pub-${process.pid}`);
  const samples: number[] = [];
  let measuring = false;
  await sub.subscribe(LAT_TOPIC, 1, (p) => {
    const sentAt = new DataView(p.buffer, p.byteOffset, p.byteLength).getFloat64(0, true);
    if (measuring && sentAt > 0) samples.push(performance.now() - sentAt);
  });
  const payload = payloadOf(64);
  const view = new DataView(payload.buffer);
  let sent = 0;
  const phase = async (seconds: number) => {
    const start = performance.now();
    let n = 0;
    while (performance.now() - start < seconds * 1000) {
      const due = Math.floor(((performance.now() - start) / 1000) * t.rate);
      for (; n < due; n++) {
        view.setFloat64(0, measuring ? performance.now() : -1, true);
        pub.send(LAT_TOPIC, payload, 1);
        sent++;
      }
      await sleep(1);
    }
  };
  await phase(t.warmupSeconds);
  measuring = true;
  const sentBefore = sent;
  await phase(t.seconds);
  await sleep(500); // the last messages
  measuring = false;
  await pub.close();
  await sub.close();
  samples.sort((a, b) => a - b);
  return { sent: sent - sentBefore, received: samples.length, p50: percentile(samples, 50), p99: percentile(samples, 99), max: samples[samples.length - 1] ?? NaN };
}

async function rss(kind: Kind, broker: Broker, t: Extract<Task, { task: 'rss' }>): Promise<RssResult> {
  const conn = await kind.open(broker, `bench-${kind.id}-${process.pid}`);
  const payload = payloadOf(64);
  const progress: Progress = { sent: 0 };
  await conn.prepare(20_000, 1, payload, progress).run();
  gc();
  await sleep(50);
  const baseline = process.memoryUsage.rss();
  const samples: { sent: number; rss: number }[] = [];
  progress.sent = 0;
  const burst = conn.prepare(t.count, 1, payload, progress);
  const timer = setInterval(() => samples.push({ sent: progress.sent, rss: process.memoryUsage.rss() }), 10);
  const t0 = performance.now();
  await burst.run();
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(timer);
  samples.push({ sent: t.count, rss: process.memoryUsage.rss() });
  await conn.close();
  const peak = (from: number, to: number) => Math.max(0, ...samples.filter((s) => s.sent >= from && s.sent <= to).map((s) => s.rss));
  const tenths = Array.from({ length: 10 }, (_, k) => peak((k * t.count) / 10, ((k + 1) * t.count) / 10) / MB);
  const earlyPeakMB = peak(0, t.count / 10) / MB;
  const latePeakMB = peak(t.count / 2, t.count) / MB;
  return {
    count: t.count,
    seconds,
    rate: t.count / seconds,
    baselineMB: baseline / MB,
    peakMB: peak(0, t.count) / MB,
    earlyPeakMB,
    latePeakMB,
    growthMB: latePeakMB - earlyPeakMB,
    tenths,
  };
}

async function main(): Promise<void> {
  const [kindId, brokerJson, taskJson] = process.argv.slice(2) as [string, string, string];
  const broker = JSON.parse(brokerJson) as Broker;
  const task = JSON.parse(taskJson) as Task;
  const kind = await loadKind(kindId);
  if (kind.unavailable) throw new Error(kind.unavailable);
  let result: unknown;
  switch (task.task) {
    case 'throughput':
      return throughput(kind, broker, task); // answers each run itself
    case 'latency':
      result = await latency(kind, broker, task);
      break;
    case 'rss':
      result = await rss(kind, broker, task);
      break;
    case 'offline':
      if (!kind.offline) throw new Error(`${kind.label} has no offline queue`);
      result = await kind.offline(broker, `bench-${kind.id}-${process.pid}`, task.count, payloadOf(64));
      break;
  }
  process.send!({ ok: true, result }, () => process.exit(0));
}

main().catch((e: unknown) => {
  const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
  process.send!({ ok: false, error: message }, () => process.exit(1));
});
