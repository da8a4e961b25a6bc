// @umqtt/robust under test, over a MemoryStore or a file-backed FlashStore: publishes while
// `writable`, resumes on `onWritable`, counts final statuses.
import { RobustClient, type FinalStatus, type Store } from '@umqtt/robust';
import { MemoryStore } from '@umqtt/store-memory';
import {
  DONE_TOPIC,
  KICK_TOPIC,
  MARKER,
  MB,
  STALL_MS,
  TOPIC,
  deferred,
  gc,
  heapAndExternal,
  type Broker,
  type Burst,
  type Conn,
  type Kind,
  type OfflineResult,
  type Payloads,
  type Progress,
  type QoS,
} from '../common.js';
import { umqttOptions } from './simple.js';

/** Large enough for every case: the benchmark measures speed, not the queue's limits. */
const CAPACITY = 512 * MB;

function client(broker: Broker, clientId: string, store: Store, maxInflight: number): RobustClient {
  const { host, port, ...rest } = umqttOptions(broker, clientId, maxInflight);
  return new RobustClient({
    ...rest,
    servers: [{ host, port }],
    store,
    policy: { maxMessages: 1_000_000, maxBytes: CAPACITY },
    backoff: { min: 50, max: 1000 },
  });
}

function online(c: RobustClient): Promise<void> {
  const d = deferred<void>();
  c.onState = (s) => {
    if (s === 'online') d.resolve();
    else if (s === 'offline' || s === 'closed')
      d.reject(new Error(`robust: ${s}: ${c.lastIssue?.error.message ?? ''}`));
  };
  c.start();
  return d.promise.finally(() => (c.onState = undefined));
}

class RobustConn implements Conn {
  constructor(readonly c: RobustClient) {}

  prepare(count: number, qos: QoS, payloads: Payloads, progress: Progress): Burst {
    const c = this.c;
    const payload = payloads.source();
    return {
      run: () => {
        const done = deferred<void>();
        let sent = 0;
        let finals = 0;
        let markerKey = 0;
        let markerDone = false;
        let filling = false;
        const fill = () => {
          if (filling) return; // a callback called from inside publish(): the loop below goes on
          filling = true;
          // as a streaming producer would: publish while `writable` (online, nothing queued, the
          // window and socket have room), go on in onWritable
          while (sent < count && c.writable) {
            c.publish(TOPIC, payload(sent), { qos, copy: false }); // as simple: payloads never change
            sent++;
          }
          filling = false;
          progress.sent = sent;
          if (sent === count && !markerKey) markerKey = c.publish(DONE_TOPIC, MARKER, { qos: 1 });
        };
        const kicks = new Set<number>();
        c.onStatus = (key: number, status: FinalStatus, reason?: string) => {
          if (kicks.delete(key)) return;
          if (status !== 'delivered' && status !== 'sent')
            return done.reject(new Error(`status ${status} (${reason}) for key ${key}`));
          if (key === markerKey) markerDone = true;
          else finals++;
          if (markerDone && finals === count) done.resolve();
        };
        c.onWritable = fill;
        c.onState = (s) =>
          s !== 'online' && done.reject(new Error(`robust went ${s}: ${c.lastIssue?.error.message ?? ''}`));
        // Watchdog: if the client becomes writable without calling onWritable, or leaves messages
        // in its queue without sending them, the burst would stall (until a keepalive PINGREQ
        // makes it flush). Count such stalls and resume: fill(), or an extra QoS 0 message (not
        // counted), since a publish is the only public call that makes it look at its queue.
        let seen = -1;
        const watchdog = setInterval(() => {
          const now = sent + finals + (markerDone ? 1 : 0);
          if (now === seen && (c.queued > 0 || (sent < count && c.writable))) {
            progress.stalls = (progress.stalls ?? 0) + 1;
            if (c.queued > 0) kicks.add(c.publish(KICK_TOPIC, MARKER, { qos: 0 }));
            else fill();
          }
          seen = now;
        }, STALL_MS);
        fill();
        return done.promise.finally(() => {
          clearInterval(watchdog);
          c.onStatus = undefined;
          c.onState = undefined;
          c.onWritable = undefined;
        });
      },
    };
  }

  send(topic: string, payload: Uint8Array, qos: QoS): void {
    this.c.publish(topic, payload, { qos });
  }

  subscribe(topic: string, qos: QoS, onMessage: (payload: Uint8Array) => void): Promise<void> {
    const d = deferred<void>();
    this.c.onMessage = (m) => onMessage(m.payload);
    this.c.onSubscribed = () => d.resolve();
    this.c.subscribe(topic, qos);
    return d.promise;
  }

  async close(): Promise<void> {
    this.c.stop();
  }
}

/** A robust kind over the store `makeStore` opens (for `count` queued 64-byte messages, or `room` bytes in flight). */
export function robustKind(id: string, label: string, makeStore: (count: number, room?: number) => Store): Kind {
  return {
    id,
    label,
    async open(broker, clientId, maxInflight, room) {
      const c = client(broker, clientId, makeStore(0, room), maxInflight);
      await online(c);
      return new RobustConn(c);
    },
    async offline(broker, clientId, count, payloads, maxInflight): Promise<OfflineResult> {
      // the store is opened first: what it costs empty (a file flash holds its whole partition
      // in RAM) is not a cost per queued message
      const store = makeStore(count);
      gc();
      const m0 = heapAndExternal();
      const r0 = process.memoryUsage.rss();
      const t0 = performance.now();
      const c = client(broker, clientId, store, maxInflight);
      let delivered = 0;
      let other = '';
      const all = deferred<void>();
      c.onStatus = (_key, status, reason) => {
        if (status === 'delivered') {
          if (++delivered === count) all.resolve();
        } else other ||= `${status} (${reason})`;
      };
      for (let i = 0; i < count; i++) c.publish(TOPIC, payloads.at(i), { qos: 1 }); // copied (the default)
      const enqueueMs = performance.now() - t0;
      if (c.queued !== count) throw new Error(`robust queued ${c.queued} of ${count}${other ? `: ${other}` : ''}`);
      gc();
      const bytesPerMessage = (heapAndExternal() - m0) / count;
      const rssGrowthMB = (process.memoryUsage.rss() - r0) / MB;
      const t1 = performance.now();
      c.start();
      await all.promise;
      const drainMs = performance.now() - t1;
      c.stop();
      store.close();
      return { count, enqueueMs, bytesPerMessage, rssGrowthMB, drainMs, delivered, ...(other ? { note: other } : {}) };
    },
  };
}

export const robustMemory: Kind = robustKind(
  'robust-memory',
  'umqtt robust (memory store)',
  () => new MemoryStore({ capacity: CAPACITY }),
);
