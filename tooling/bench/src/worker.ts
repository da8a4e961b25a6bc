// One measurement in its own process (so RSS and GC state are its own). Started by main.ts with
// fork(): argv[2] is the kind id, argv[3] the broker as JSON, argv[4] the task as JSON. The result
// goes back over IPC.
import {
  LAT_TOPIC,
  MB,
  gc,
  heapAndExternal,
  payloadOf,
  sleep,
  type Broker,
  type Kind,
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
        process.send!({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }, () =>
          process.exit(1),
        );
      }
    })();
  });
  process.send!({ ok: true, result: 'ready' });
}

/**
 * Latency session: a subscriber and a publisher of the client; after a warm-up, each `{ run: true }`
 * from main.ts publishes at `rate` for `seconds` and answers the latencies measured (ms). main.ts
 * interleaves the clients round by round and pools the rounds.
 */
async function latency(kind: Kind, broker: Broker, t: Extract<Task, { task: 'latency' }>): Promise<void> {
  const sub = await kind.open(broker, `bench-${kind.id}-sub-${process.pid}`);
  const pub = await kind.open(broker, `bench-${kind.id}-pub-${process.pid}`);
  let samples: number[] = [];
  let measuring = false;
  const topic = `${LAT_TOPIC}/${process.pid}`; // one topic per session: the other sessions must not receive these
  await sub.subscribe(topic, 1, (p) => {
    const sentAt = new DataView(p.buffer, p.byteOffset, p.byteLength).getFloat64(0, true);
    if (measuring && sentAt > 0) samples.push(performance.now() - sentAt);
  });
  const payload = payloadOf(64);
  const view = new DataView(payload.buffer);
  /** Publishes at the rate for `seconds`; returns how many. */
  const phase = async (seconds: number): Promise<number> => {
    const start = performance.now();
    let n = 0;
    while (performance.now() - start < seconds * 1000) {
      const due = Math.floor(((performance.now() - start) / 1000) * t.rate);
      for (; n < due && performance.now() - start < seconds * 1000; n++) {
        view.setFloat64(0, measuring ? performance.now() : -1, true);
        pub.send(topic, payload, 1);
      }
      await sleep(1);
    }
    return n;
  };
  await phase(t.warmupSeconds);
  process.on('message', (m: { run?: boolean; end?: boolean }) => {
    void (async () => {
      try {
        if (m.end) {
          await pub.close();
          await sub.close();
          process.send!({ ok: true }, () => process.exit(0));
          return;
        }
        await phase(0.2); // after idling while the other clients ran: warm again, unmeasured
        samples = [];
        measuring = true;
        const sent = await phase(t.seconds);
        const end = performance.now();
        while (samples.length < sent && performance.now() - end < 500) await sleep(5); // the last ones
        measuring = false;
        process.send!({ ok: true, result: { sent, samples } });
      } catch (e) {
        process.send!({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }, () =>
          process.exit(1),
        );
      }
    })();
  });
  process.send!({ ok: true, result: 'ready' });
}

async function rss(kind: Kind, broker: Broker, t: Extract<Task, { task: 'rss' }>): Promise<RssResult> {
  const conn = await kind.open(broker, `bench-${kind.id}-${process.pid}`);
  const payload = payloadOf(64);
  const progress: Progress = { sent: 0 };
  await conn.prepare(20_000, 1, payload, progress).run();
  gc();
  await sleep(50);
  const baseline = process.memoryUsage.rss();
  const heap0 = heapAndExternal();
  const samples: { sent: number; rss: number }[] = [];
  progress.sent = 0;
  const burst = conn.prepare(t.count, 1, payload, progress);
  const timer = setInterval(() => samples.push({ sent: progress.sent, rss: process.memoryUsage.rss() }), 10);
  const t0 = performance.now();
  await burst.run();
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(timer);
  samples.push({ sent: t.count, rss: process.memoryUsage.rss() });
  gc();
  const retainedGrowthMB = (heapAndExternal() - heap0) / MB;
  await conn.close();
  const peak = (from: number, to: number) =>
    Math.max(0, ...samples.filter((s) => s.sent >= from && s.sent <= to).map((s) => s.rss));
  const tenths = Array.from({ length: 10 }, (_, k) => peak((k * t.count) / 10, ((k + 1) * t.count) / 10) / MB);
  const earlyPeakMB = peak(0, t.count / 2) / MB;
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
    retainedGrowthMB,
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
      return latency(kind, broker, task); // answers each run itself
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
