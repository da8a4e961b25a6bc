// One client (or the counting subscriber) in its own process, so RSS and GC state are its own.
// Started by main.ts with fork(): argv[2] is the kind id ('subscriber' for the subscriber),
// argv[3] the broker as JSON, argv[4] the task as JSON. Answers go back over IPC.
//
// Sessions (throughput, latency, rss, subscriber) set up, answer 'ready', then answer each
// message from main.ts, which interleaves the clients round by round so that background load
// hits them alike; `{ end: true }` closes. An offline task runs once and answers.
import {
  LAT_TOPIC,
  MB,
  Payloads,
  TOPIC,
  gc,
  heapAndExternal,
  now,
  sleep,
  type Broker,
  type BurstTimes,
  type Kind,
  type Progress,
  type RssRound,
  type Task,
} from './common.js';
import { loadKind } from './kinds/index.js';
import { Subscriber } from './subscriber.js';

type Message = {
  end?: boolean;
  run?: boolean;
  tag?: number;
  expect?: { tag: number; count: number };
  collect?: boolean;
};

/** Answers each message from main.ts with `handle`'s result; `close` runs on `{ end: true }`. */
function serve(handle: (m: Message) => Promise<unknown>, close: () => Promise<void>): void {
  process.on('message', (m: Message) => {
    void (async () => {
      try {
        if (m.end) {
          await close();
          process.send!({ ok: true }, () => process.exit(0));
          return;
        }
        process.send!({ ok: true, result: await handle(m) });
      } catch (e) {
        process.send!({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }, () =>
          process.exit(1),
        );
      }
    })();
  });
  process.send!({ ok: true, result: 'ready' });
}

/** One timed burst of `count` messages stamped with `tag`. */
async function timedBurst(
  conn: Awaited<ReturnType<Kind['open']>>,
  payloads: Payloads,
  tag: number,
  count: number,
  qos: 0 | 1 | 2,
  window: number,
  progress: Progress,
): Promise<BurstTimes> {
  payloads.stamp(tag);
  progress.sent = 0;
  progress.stalls = 0;
  const burst = conn.prepare(count, qos, payloads, progress, window);
  gc();
  const t0 = now();
  await burst.run();
  return { t0, tAck: now(), stalls: progress.stalls };
}

/** Connects, warms up (tag 0: the subscriber does not count it), then one timed burst per `{ run, tag }`. */
async function throughput(kind: Kind, broker: Broker, t: Extract<Task, { task: 'throughput' }>): Promise<void> {
  // a store may hold a full window of these payloads (and the marker) at once
  const room = Math.min(t.count, Math.max(t.window, t.maxInflight) + 1) * (t.size + 64);
  const conn = await kind.open(broker, `bench-${kind.id}-${process.pid}`, t.maxInflight, room);
  const payloads = new Payloads(t.size, t.count);
  const progress: Progress = { sent: 0 };
  // warm-up: lets the JIT optimize the client's paths
  const warm = Math.max(10, Math.min(t.count >> 2, Math.ceil((4 * MB) / t.size)));
  await timedBurst(conn, payloads, 0, warm, t.qos, t.window, progress);
  serve(
    (m) => timedBurst(conn, payloads, m.tag!, t.count, t.qos, t.window, progress),
    () => conn.close(),
  );
}

/**
 * A subscriber and a publisher of the client; after a warm-up, each `{ run: true }` publishes at
 * `rate` for `seconds` (after 0.2 s unmeasured, since the process idled while the others ran)
 * and answers the latencies measured (ms) and how many were sent.
 */
async function latency(kind: Kind, broker: Broker, t: Extract<Task, { task: 'latency' }>): Promise<void> {
  const sub = await kind.open(broker, `bench-${kind.id}-sub-${process.pid}`, t.maxInflight);
  const pub = await kind.open(broker, `bench-${kind.id}-pub-${process.pid}`, t.maxInflight);
  let samples: number[] = [];
  let measuring = false;
  const topic = `${LAT_TOPIC}/${process.pid}`; // one topic per session: the other sessions must not receive these
  await sub.subscribe(topic, 1, (p) => {
    const sentAt = new DataView(p.buffer, p.byteOffset, p.byteLength).getFloat64(0, true);
    if (measuring && sentAt > 0) samples.push(performance.now() - sentAt);
  });
  const payload = new Uint8Array(64);
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
  serve(
    async () => {
      await phase(0.2);
      samples = [];
      measuring = true;
      const sent = await phase(t.seconds);
      const end = performance.now();
      while (samples.length < sent && performance.now() - end < 500) await sleep(5); // the last ones
      measuring = false;
      return { sent, samples };
    },
    async () => {
      await pub.close();
      await sub.close();
    },
  );
}

/**
 * The memory row: after a warm-up, each `{ run, tag }` publishes `count` QoS 1 messages of 64 B
 * through the window with RSS sampled every 10 ms, and answers the run's figures.
 */
async function rss(kind: Kind, broker: Broker, t: Extract<Task, { task: 'rss' }>): Promise<void> {
  const conn = await kind.open(broker, `bench-${kind.id}-${process.pid}`, t.maxInflight);
  const payloads = new Payloads(64, t.count);
  const progress: Progress = { sent: 0 };
  await timedBurst(conn, payloads, 0, Math.min(20_000, t.count >> 2), 1, t.window, progress);
  gc();
  await sleep(50);
  const heap0 = heapAndExternal();
  serve(
    async (m): Promise<Omit<RssRound, 'rate' | 'missing' | 'duplicates'> & BurstTimes> => {
      gc();
      await sleep(50);
      const baseline = process.memoryUsage.rss();
      const samples: { sent: number; rss: number }[] = [];
      const timer = setInterval(() => samples.push({ sent: progress.sent, rss: process.memoryUsage.rss() }), 10);
      const times = await timedBurst(conn, payloads, m.tag!, t.count, 1, t.window, progress).finally(() =>
        clearInterval(timer),
      );
      samples.push({ sent: t.count, rss: process.memoryUsage.rss() });
      gc();
      const retainedGrowthMB = (heapAndExternal() - heap0) / MB;
      const peak = (from: number, to: number) =>
        Math.max(0, ...samples.filter((s) => s.sent >= from && s.sent <= to).map((s) => s.rss));
      const tenths = Array.from({ length: 10 }, (_, k) => peak((k * t.count) / 10, ((k + 1) * t.count) / 10) / MB);
      const earlyPeakMB = peak(0, t.count / 2) / MB;
      const latePeakMB = peak(t.count / 2, t.count) / MB;
      const seconds = (times.tAck - times.t0) / 1000;
      return {
        ...times,
        seconds,
        ackRate: t.count / seconds,
        baselineMB: baseline / MB,
        peakMB: peak(0, t.count) / MB,
        earlyPeakMB,
        latePeakMB,
        growthMB: latePeakMB - earlyPeakMB,
        retainedGrowthMB,
        tenths,
      };
    },
    () => conn.close(),
  );
}

/**
 * The counting subscriber: `{ expect }` starts counting a run; `{ collect: true }` answers what
 * arrived once every message of the run did (and a moment more, for duplicates), or once nothing
 * arrived for QUIET_MS.
 */
async function subscriber(broker: Broker, t: Extract<Task, { task: 'subscriber' }>): Promise<void> {
  const s = new Subscriber(broker, `bench-subscriber-${process.pid}`);
  await s.subscribe(TOPIC, t.qos);
  serve(
    async (m) => {
      if (m.expect) {
        // each run starts on an idle pipeline: what an earlier warm-up or run left in the
        // broker's queue for this subscriber has arrived first
        const since = now();
        while (now() - s.lastAny < IDLE_MS && now() - since < 10_000) await sleep(5);
        return s.expect(m.expect.tag, m.expect.count);
      }
      const since = now();
      for (;;) {
        if (s.closed) throw new Error('the broker closed the subscriber connection');
        const a = s.arrivals;
        if (a.distinct >= a.expected) {
          await sleep(GRACE_MS);
          return s.arrivals;
        }
        if (now() - Math.max(since, s.lastAny) > QUIET_MS) return a;
        await sleep(2);
      }
    },
    () => s.close(),
  );
}

/** Nothing arrived for this long after the publisher finished: what is missing is lost. */
const QUIET_MS = 2000;
/** After the last missing message arrived: time for a duplicate to show. */
const GRACE_MS = 20;
/** Before a run: nothing arrived for this long. */
const IDLE_MS = 50;

async function main(): Promise<void> {
  const [kindId, brokerJson, taskJson] = process.argv.slice(2) as [string, string, string];
  const broker = JSON.parse(brokerJson) as Broker;
  const task = JSON.parse(taskJson) as Task;
  if (task.task === 'subscriber') return subscriber(broker, task);
  const kind = await loadKind(kindId);
  if (kind.unavailable) throw new Error(kind.unavailable);
  switch (task.task) {
    case 'throughput':
      return throughput(kind, broker, task);
    case 'latency':
      return latency(kind, broker, task);
    case 'rss':
      return rss(kind, broker, task);
    case 'offline': {
      if (!kind.offline) throw new Error(`${kind.label} has no offline queue`);
      const payloads = new Payloads(64, task.count);
      payloads.stamp(task.tag);
      const result = await kind.offline(
        broker,
        `bench-${kind.id}-${process.pid}`,
        task.count,
        payloads,
        task.maxInflight,
      );
      process.send!({ ok: true, result }, () => process.exit(0));
    }
  }
}

main().catch((e: unknown) => {
  const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
  process.send!({ ok: false, error: message }, () => process.exit(1));
});
