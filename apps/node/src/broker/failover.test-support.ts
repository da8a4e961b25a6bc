// The workload of the failover tests: a robust publisher and a robust subscriber, each with a
// list of brokers as its `servers`, stream numbered QoS 1 and QoS 2 messages while the test
// kills and restarts brokers; afterwards it tells what each side saw. The clients are the
// libraries' own RobustClient over @umqtt/node's TCP sockets, with a socket that records each
// connection's CONNACK (which broker, session present or not) as the bytes arrived.
import { CONNACK, PUBLISH, PUBREL, Parser, clientDecoders, type QoS } from '@umqtt/codec';
import { RobustClient, type FinalStatus } from '@umqtt/robust';
import type { Issue, SocketFactory } from '@umqtt/simple';
import { MemoryStore } from '@umqtt/store-memory';
import { createTcpSocketFactory } from '../transport/tcp.js';
import { nodeTimers } from '../transport/timers.js';

/** One CONNACK a client received. */
export interface Connack {
  /** The broker's port. */
  port: number;
  sessionPresent: boolean;
  returnCode: number;
  /** performance.now() when it arrived. */
  at: number;
}

/** A QoS 2 PUBLISH (the message number in its payload) or a PUBREL, as it arrived on the wire. */
export type WireEvent =
  { connection: number; id: number; seq: number; dup: boolean } | { connection: number; id: number };

/** What a recording socket saw arrive: every CONNACK, and the QoS 2 exchanges in order. */
export interface Wire {
  connacks: Connack[];
  qos2: WireEvent[];
  /** The connection seen first packet other than CONNACK. */
  connackNotFirst: number;
}

/**
 * A socket factory that reads along: every incoming byte also goes through the codec's parser
 * (the client's own copy is not touched), so the test knows which broker answered each
 * connection, with or without a session, and which packet id carried which QoS 2 message.
 */
export function recordingSocket(wire: Wire): SocketFactory {
  const tcp = createTcpSocketFactory();
  let connections = 0;
  return (options) => {
    const socket = tcp(options);
    const connection = ++connections;
    const parser = new Parser(clientDecoders);
    let first = true;
    let broken = false;
    return {
      read() {
        const data = socket.read();
        if (!data || broken) return data;
        parser.push(data instanceof Uint8Array ? data : new Uint8Array(data));
        try {
          for (let p = parser.read(); p; p = parser.read()) {
            if (first && p.type !== CONNACK) wire.connackNotFirst++;
            first = false;
            if (p.type === CONNACK)
              wire.connacks.push({
                port: options.port,
                sessionPresent: p.sessionPresent,
                returnCode: p.returnCode,
                at: performance.now(),
              });
            else if (p.type === PUBLISH && p.qos === 2) {
              const text = new TextDecoder().decode(p.payload);
              wire.qos2.push({ connection, id: p.id!, seq: Number(text.slice(text.indexOf(':') + 1)), dup: p.dup });
            } else if (p.type === PUBREL) wire.qos2.push({ connection, id: p.id });
          }
        } catch {
          broken = true; // the client sees the same bytes and says what is wrong with them
        }
        return data;
      },
      write: (bytes) => socket.write(bytes),
      close: () => socket.close(),
    };
  };
}

/**
 * Replays what a subscriber that keeps its session does with QoS 2 ([MQTT-4.3.3-2]: an id
 * acknowledged with PUBREC is not delivered again until PUBREL) and returns the messages that
 * arrived under an id still awaiting PUBREL for another message: the broker reused the id.
 */
export function reusedIds(events: WireEvent[]): Map<number, number> {
  const awaiting = new Map<number, number>(); // id -> message number
  const swallowed = new Map<number, number>(); // message number -> the one whose id it reused
  for (const e of events) {
    if (!('seq' in e)) awaiting.delete(e.id);
    else {
      const held = awaiting.get(e.id);
      if (held === undefined) awaiting.set(e.id, e.seq);
      else if (held !== e.seq) swallowed.set(e.seq, held);
    }
  }
  return swallowed;
}

export interface Side {
  client: RobustClient;
  wire: Wire;
  /** = wire.connacks */
  connacks: Connack[];
  issues: Issue[];
}

const TOPIC = 'failover';

/** A robust client for the failover tests: a kept session on the given brokers, fast retries. */
function robust(name: string, ports: number[], wire: Wire, issues: Issue[]): RobustClient {
  return new RobustClient({
    socket: recordingSocket(wire),
    timers: nodeTimers,
    servers: ports.map((port) => ({ host: '127.0.0.1', port })),
    clientId: name,
    clean: false,
    store: new MemoryStore({ capacity: 16 << 20 }),
    keepAlive: 5,
    connectTimeout: 2000,
    messageTimeout: 10_000,
    backoff: { min: 50, max: 400 },
    policy: { maxMessages: 50_000, maxBytes: 16 << 20 },
    logger: (issue) => void issues.push(issue),
  });
}

/** What the subscriber received of each message, by its number. */
export interface Received {
  /** Copies of each message number received (QoS 1 ones may come more than once). */
  count: Map<number, number>;
  /** Copies received with the DUP flag. */
  dups: number;
}

/** What the publisher learnt of each message, by its number. */
export interface Published {
  qos: QoS[];
  /** Final status of each message number, and how many final statuses it got (must be one). */
  status: (FinalStatus | undefined)[];
  statuses: number[];
  reason: (string | undefined)[];
  /** The broker (port) whose connection was current when the final status arrived. */
  ackedBy: number[];
  /** performance.now() of the final status. */
  ackedAt: number[];
  /** performance.now() of the publish. */
  publishedAt: number[];
}

/** A publisher and a subscriber streaming `total` messages, alternately QoS 1 and QoS 2, at `rate` per second. */
export class FailoverWorkload {
  readonly pub: Side;
  readonly sub: Side;
  readonly received: Received = { count: new Map(), dups: 0 };
  /** performance.now() of each SUBACK the subscriber received (a resubscription after the first). */
  readonly subacks: number[] = [];
  readonly published: Published;
  #next = 0;
  #pump: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly total: number,
    pubPorts: number[],
    subPorts: number[],
    /** Messages per second at most (0: as fast as the window allows). */
    readonly rate = 0,
    readonly window = 200,
    readonly prefix = `${process.pid}-${Date.now().toString(36)}`,
  ) {
    const side = (name: string, ports: number[]): Side => {
      const wire: Wire = { connacks: [], qos2: [], connackNotFirst: 0 };
      const issues: Issue[] = [];
      return { client: robust(`${prefix}-${name}`, ports, wire, issues), wire, connacks: wire.connacks, issues };
    };
    this.pub = side('pub', pubPorts);
    this.sub = side('sub', subPorts);
    this.published = {
      qos: [],
      status: new Array(total).fill(undefined),
      statuses: new Array(total).fill(0),
      reason: new Array(total).fill(undefined),
      ackedBy: new Array(total).fill(0),
      ackedAt: new Array(total).fill(0),
      publishedAt: new Array(total).fill(0),
    };
  }

  /** The broker the publisher is connected to now (the port of its last CONNACK). */
  get pubPort(): number | undefined {
    return this.pub.connacks.at(-1)?.port;
  }

  /** Messages with a final status. */
  get settled(): number {
    return this.#settled;
  }
  #settled = 0;

  /** Connects both; resolves once the subscription is acknowledged. */
  async start(options: { subscribePublisher?: boolean } = {}): Promise<void> {
    const sub = this.sub.client;
    const subscribed = new Promise<void>((resolve) => {
      sub.onSubscribed = () => {
        this.subacks.push(performance.now());
        resolve();
      };
    });
    sub.onMessage = (m) => {
      const text = new TextDecoder().decode(m.payload);
      const n = Number(text.slice(text.indexOf(':') + 1));
      this.received.count.set(n, (this.received.count.get(n) ?? 0) + 1);
      if (m.dup) this.received.dups++;
    };
    sub.start();
    sub.subscribe(`${TOPIC}/${this.prefix}/#`, 2);
    await subscribed;
    const pub = this.pub.client;
    pub.onStatus = (key, status, reason) => {
      const n = this.#keys.get(key);
      if (n === undefined) return;
      const p = this.published;
      if (p.statuses[n]!++ === 0) this.#settled++;
      p.status[n] = status;
      p.reason[n] = reason;
      p.ackedBy[n] = this.pubPort ?? 0;
      p.ackedAt[n] = performance.now();
      this.#fill();
    };
    pub.start();
    // aedes says "session present" only for a session that has a subscription (see the README):
    // a publisher that subscribes to something is told, on another node, that its session is there.
    if (options.subscribePublisher) pub.subscribe(`${TOPIC}/${this.prefix}-control`, 1);
    this.#startedAt = performance.now();
    this.#pump = setInterval(() => this.#fill(), 10);
    this.#fill();
  }

  #keys = new Map<number, number>();
  #startedAt = 0;

  /** Publishes while fewer than `window` messages are held. */
  #fill(): void {
    const pub = this.pub.client;
    const due = this.rate
      ? Math.min(this.total, (this.rate * (performance.now() - this.#startedAt)) / 1000)
      : this.total;
    while (this.#next < due && pub.held < this.window) {
      const n = this.#next++;
      const qos: QoS = n % 2 === 0 ? 1 : 2;
      this.published.qos[n] = qos;
      this.published.publishedAt[n] = performance.now();
      const key = pub.publish(`${TOPIC}/${this.prefix}/q${qos}`, `${qos}:${n}`, { qos });
      this.#keys.set(key, n);
    }
  }

  /** Copies received so far, all messages together. */
  get copies(): number {
    let sum = 0;
    for (const c of this.received.count.values()) sum += c;
    return sum;
  }

  /**
   * Disconnects the subscriber and connects it again (its session kept), then waits until
   * nothing more arrives for `quietMs`: what the broker still holds for it is sent after CONNACK.
   */
  async reconnectSubscriber(quietMs = 300): Promise<void> {
    const sub = this.sub.client;
    const connacks = this.sub.connacks.length;
    sub.stop();
    sub.start();
    const deadline = performance.now() + 5000;
    while (this.sub.connacks.length === connacks && performance.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    for (let last = -1; this.copies !== last && performance.now() < deadline + 10_000;) {
      last = this.copies;
      await new Promise((resolve) => setTimeout(resolve, quietMs));
    }
  }

  /** Stops both clients. */
  stop(): void {
    clearInterval(this.#pump);
    this.pub.client.stop();
    this.sub.client.stop();
  }

  /** Message numbers of a QoS never received, received more than once. */
  tally(qos: QoS): { sent: number; missing: number[]; duplicated: number[] } {
    const missing: number[] = [];
    const duplicated: number[] = [];
    let sent = 0;
    for (let n = 0; n < this.total; n++) {
      if (this.published.qos[n] !== qos) continue;
      sent++;
      const c = this.received.count.get(n) ?? 0;
      if (c === 0) missing.push(n);
      else if (c > 1) duplicated.push(n);
    }
    return { sent, missing, duplicated };
  }
}

/** Message numbers that arrived under two or more packet ids: the broker sent them as new messages twice. */
export function underTwoIds(events: WireEvent[]): Set<number> {
  const ids = new Map<number, number>();
  const twice = new Set<number>();
  for (const e of events) {
    if (!('seq' in e)) continue;
    const id = ids.get(e.seq);
    if (id === undefined) ids.set(e.seq, e.id);
    else if (id !== e.id) twice.add(e.seq);
  }
  return twice;
}
