// Shared by the orchestrator (main.ts) and the child processes (worker.ts): what a client under
// test must offer, the tasks, and small helpers. No client logic here.

export type QoS = 0 | 1 | 2;

export interface Broker {
  host: string;
  port: number;
}

/** Topics used by every client. */
export const TOPIC = 'bench/t';
export const DONE_TOPIC = 'bench/done';
export const LAT_TOPIC = 'bench/lat';
export const KICK_TOPIC = 'bench/kick';

/** Packets the raw reference and every client keep in flight at most (Mosquitto's max_inflight_messages). */
export const WINDOW = 20;

/** Progress of a burst, read by the RSS sampler. */
export interface Progress {
  sent: number;
  /** Times the driver found the client writable after STALL_MS without progress and no onWritable call. */
  stalls?: number;
}

/** No progress for this long while the client says it is writable counts as a stall. */
export const STALL_MS = 1000;

/** A prepared burst: `run()` is what is timed. */
export interface Burst {
  /**
   * Hands `count` messages to the client under the client's own flow control, then one QoS 1
   * marker message; resolves once the marker and every QoS 1/2 message of the batch are acknowledged.
   */
  run(): Promise<void>;
}

/** One connection of a client under test. */
export interface Conn {
  /** Everything the burst needs that is not client work (the raw reference pre-encodes here). */
  prepare(count: number, qos: QoS, payload: Uint8Array, progress: Progress): Burst;
  /** Publishes one message now (fixed-rate latency test; the client applies its window). */
  send(topic: string, payload: Uint8Array, qos: QoS): void;
  /** Subscribes; resolves on SUBACK. */
  subscribe(topic: string, qos: QoS, onMessage: (payload: Uint8Array) => void): Promise<void>;
  close(): Promise<void>;
}

export interface OfflineResult {
  /** Messages accepted while offline. */
  count: number;
  /** Milliseconds to hand all of them to the client (synchronous publish calls, plus any store work). */
  enqueueMs: number;
  /** heapUsed + external growth after GC, per message. */
  bytesPerMessage: number;
  /** RSS growth while holding them (MB). */
  rssGrowthMB: number;
  /** Milliseconds from connect to the last acknowledgement. */
  drainMs: number;
  /** Messages acknowledged by the broker after the drain (should equal count). */
  delivered: number;
  note?: string;
}

/** A client implementation under test. */
export interface Kind {
  id: string;
  label: string;
  open(broker: Broker, clientId: string): Promise<Conn>;
  /** Holds `count` QoS 1 messages while offline, then connects and drains them. */
  offline?(broker: Broker, clientId: string, count: number, payload: Uint8Array): Promise<OfflineResult>;
  /** Why this kind cannot run (then every cell says so). */
  unavailable?: string;
}

export type Task =
  | { task: 'throughput'; qos: QoS; size: number; count: number }
  | { task: 'latency'; rate: number; seconds: number; warmupSeconds: number }
  | { task: 'rss'; count: number }
  | { task: 'offline'; count: number };

export interface ThroughputResult {
  /** Messages per measured run. */
  count: number;
  /** msg/s of each measured run. */
  rates: number[];
  /** Median msg/s. */
  rate: number;
  /** Median MB/s of payload. */
  mbps: number;
  /** Stalls of the measured runs (see Progress.stalls). */
  stalls: number;
}

export interface LatencyResult {
  sent: number;
  received: number;
  p50: number;
  p99: number;
  max: number;
}

export interface RssResult {
  count: number;
  seconds: number;
  rate: number;
  /** RSS after connecting and a warm-up, before the measured run (MB). */
  baselineMB: number;
  /** Highest RSS sampled during the run (MB). */
  peakMB: number;
  /** Highest RSS during the first half of the run (MB). */
  earlyPeakMB: number;
  /** Highest RSS during the last 50% of the run (MB). */
  latePeakMB: number;
  /** latePeak - earlyPeak: what kept growing in the second half (MB). */
  growthMB: number;
  /** heapUsed + external after GC at the end minus the same before the run: what the run left behind (MB). */
  retainedGrowthMB: number;
  /** RSS at each tenth of the run (MB). */
  tenths: number[];
}

export function payloadOf(size: number): Uint8Array {
  const p = new Uint8Array(size);
  for (let i = 0; i < size; i++) p[i] = (i * 31 + 7) & 0xff;
  return p;
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export const MB = 1024 * 1024;

export function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
}

/** heapUsed + external (ArrayBuffer backing stores live in external). */
export function heapAndExternal(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

export function deferred<T = void>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => ((resolve = a), (reject = b)));
  return { promise, resolve, reject };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits until `cond()` holds, polling; rejects after `ms`. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}
