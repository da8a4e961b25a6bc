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
/** The payload of the QoS 1 marker published after each burst (its acknowledgement ends the burst). */
export const MARKER = new Uint8Array(8);

/** Packets the raw reference and every client keep in flight at most (Mosquitto's max_inflight_messages). */
export const WINDOW = 20;

/**
 * The window of every client against the second broker, the one without an in-flight quota
 * (`max_inflight_messages 0`): large enough that the window is not what bounds the stream.
 */
export const BIG_WINDOW = 1000;

/**
 * A clock that every process of the run shares (CLOCK_MONOTONIC, in ms): the publisher's start
 * and the subscriber's last message are compared across processes.
 */
export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Bytes at the start of each payload that say which message it is: sequence number, then tag, u32 LE each. */
export const STAMP = 8;

/**
 * The payloads of a burst, each different: payload i is the view of `size` bytes starting at
 * byte 8i of one shared buffer, whose 8-byte slot i holds (i, tag). The subscriber reads the
 * first 8 bytes to tell which message arrived (missing, duplicated, or left over from another
 * run: another tag). Nothing is copied and nothing is allocated per message beyond the view, so
 * large payloads cost what one shared payload did; the views are made before the timer starts
 * when there are not too many of them.
 */
export class Payloads {
  readonly bytes: Uint8Array;
  readonly #words: Uint32Array;

  constructor(
    readonly size: number,
    readonly count: number,
  ) {
    if (size < STAMP) throw new Error(`payloads need at least ${STAMP} bytes`);
    const buf = new ArrayBuffer(count * STAMP + size);
    this.bytes = new Uint8Array(buf);
    this.#words = new Uint32Array(buf, 0, count * 2);
  }

  /** Stamps every slot with its index and `tag` (before a run: the tag tells this run's messages). */
  stamp(tag: number): void {
    const w = this.#words;
    for (let i = 0; i < this.count; i++) {
      w[2 * i] = i;
      w[2 * i + 1] = tag;
    }
  }

  /** Payload i as a Uint8Array view. */
  at(i: number): Uint8Array {
    return this.bytes.subarray(i * STAMP, i * STAMP + this.size);
  }

  /**
   * A function giving payload i: from views made now when there are at most `MAX_VIEWS` (so the
   * timed loop allocates nothing), else made on each call. `wrap` turns a view into what the
   * client takes (MQTT.js: a Buffer over the same bytes).
   */
  source<T = Uint8Array>(wrap: (v: Uint8Array) => T = asView as (v: Uint8Array) => T): (i: number) => T {
    if (this.count > MAX_VIEWS) return (i) => wrap(this.at(i));
    let views = this.#views.get(wrap) as T[] | undefined; // views stay valid when the stamps change
    if (!views) this.#views.set(wrap, (views = Array.from({ length: this.count }, (_, i) => wrap(this.at(i)))));
    return (i) => views[i]!;
  }

  readonly #views = new Map<(v: Uint8Array) => unknown, unknown[]>();
}

const asView = (v: Uint8Array) => v;

/** Views made ahead of a run at most (the memory row's million messages make theirs as they go). */
const MAX_VIEWS = 200_000;

/** Reads the stamp (sequence number, tag) at the start of a payload. */
export function readStamp(p: Uint8Array, at = 0): [number, number] {
  const v = new DataView(p.buffer, p.byteOffset + at, STAMP);
  return [v.getUint32(0, true), v.getUint32(4, true)];
}

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
  /**
   * Everything the burst needs that is not client work (the raw reference pre-encodes here):
   * `count` messages, payload i being `payloads.at(i)`, at most `window` QoS 1/2 messages in
   * flight (drivers of clients without a window of their own keep to it).
   */
  prepare(count: number, qos: QoS, payloads: Payloads, progress: Progress, window: number): Burst;
  /** Publishes one message now (fixed-rate latency test; the client applies its window). */
  send(topic: string, payload: Uint8Array, qos: QoS): void;
  /** Subscribes; resolves on SUBACK. */
  subscribe(topic: string, qos: QoS, onMessage: (payload: Uint8Array) => void): Promise<void>;
  close(): Promise<void>;
}

/** What a client's offline() measured. */
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
  /** Messages the client reported delivered after the drain (should equal count). */
  delivered: number;
  note?: string;
}

/** A client implementation under test. */
export interface Kind {
  id: string;
  label: string;
  /**
   * `maxInflight`: the window of the umqtt clients (the others get theirs from prepare()).
   * `room`: payload bytes a store may have to hold at once (a full window of the largest
   * payload), so that a store on a partition can be made large enough.
   */
  open(broker: Broker, clientId: string, maxInflight: number, room?: number): Promise<Conn>;
  /** Holds `count` QoS 1 messages while offline, then connects and drains them. */
  offline?(
    broker: Broker,
    clientId: string,
    count: number,
    payloads: Payloads,
    maxInflight: number,
  ): Promise<OfflineResult>;
  /** Why this kind cannot run (then every cell says so). */
  unavailable?: string;
}

export type Task =
  | { task: 'throughput'; qos: QoS; size: number; count: number; window: number; maxInflight: number }
  | { task: 'latency'; rate: number; seconds: number; warmupSeconds: number; maxInflight: number }
  | { task: 'rss'; count: number; window: number; maxInflight: number }
  | { task: 'offline'; count: number; tag: number; maxInflight: number }
  | { task: 'subscriber'; qos: QoS };

/** One timed burst as its publisher saw it (times: `now()`). */
export interface BurstTimes {
  /** Just before the first publish. */
  t0: number;
  /** When the marker published after the batch, and every QoS 1/2 message of it, was acknowledged. */
  tAck: number;
  /** Stalls during the burst (see Progress.stalls). */
  stalls: number;
}

/** One measured run of a throughput cell. */
export interface Round {
  /**
   * msg/s counted at the subscriber: the run's messages / (last arrival - first publish). Absent
   * when a message of the run did not arrive (or, at QoS 2, arrived twice): then it is no speed.
   */
  rate?: number;
  /** msg/s of acknowledgements: the run's messages / (the marker's acknowledgement - first publish). */
  ackRate: number;
  /** Messages of the run that never reached the subscriber. */
  missing: number;
  /** Arrivals beyond the first of a message. */
  duplicates: number;
  stalls: number;
}

export interface ThroughputResult {
  /** Messages per measured run. */
  count: number;
  rounds: Round[];
  /** Median of the rounds' rates, when no round lost a message (else absent: the cell is marked). */
  rate?: number;
  /** Median ack rate. */
  ackRate: number;
  /** Messages lost over all rounds, and in how many rounds. */
  missing: number;
  lossRounds: number;
  duplicates: number;
  stalls: number;
}

export interface LatencyStats {
  sent: number;
  received: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export interface LatencyResult extends LatencyStats {
  /** The same figures for each round alone (how stable the pooled ones are). */
  rounds: LatencyStats[];
}

/** One run of the memory row: a throughput round with the process's memory. */
export interface RssRound extends Round {
  seconds: number;
  /** RSS before the run (MB). */
  baselineMB: number;
  /** Highest RSS sampled during the run (MB). */
  peakMB: number;
  /** Highest RSS during the first half of the run (MB). */
  earlyPeakMB: number;
  /** Highest RSS during the second half of the run (MB). */
  latePeakMB: number;
  /** latePeak - earlyPeak: what kept growing in the second half (MB). */
  growthMB: number;
  /** heapUsed + external after GC at the end of the run minus the same before the first run (MB). */
  retainedGrowthMB: number;
  /** RSS at each tenth of the run (MB). */
  tenths: number[];
}

export interface RssResult extends ThroughputResult {
  rounds: RssRound[];
  /** Highest RSS of any run (MB). */
  peakMB: number;
  /** The largest growth of any run (MB). */
  growthMB: number;
  /** Retained after the last run (MB). */
  retainedGrowthMB: number;
}

/** One offline run as main.ts records it: the client's figures and what the subscriber counted. */
export interface OfflineRound extends OfflineResult {
  /** Distinct messages of the run that reached the subscriber. */
  arrived: number;
  duplicates: number;
}

export interface OfflineCell {
  count: number;
  rounds: OfflineRound[];
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
