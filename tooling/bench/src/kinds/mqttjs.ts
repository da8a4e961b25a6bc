// MQTT.js 5 under test. It has no in-flight window of its own, so the driver keeps at most the
// window's QoS 1/2 publishes outstanding (callbacks not yet called), as the raw reference does;
// at QoS 0 the callback is called once the socket took the packet (at once, or on 'drain').
import mqtt, { type MqttClient } from 'mqtt';
import {
  DONE_TOPIC,
  MARKER,
  MB,
  STAMP,
  TOPIC,
  deferred,
  gc,
  heapAndExternal,
  type Burst,
  type Conn,
  type Kind,
  type OfflineResult,
  type Payloads,
  type Progress,
  type QoS,
} from '../common.js';

/** Payload bytes handed to MQTT.js in one event-loop turn before yielding (it has no backpressure of its own to stop a loop). */
const TURN_BYTES = 64 * 1024;

/** MQTT.js takes Buffers: one over the payload's bytes (no copy). */
const asBuffer = (v: Uint8Array) => Buffer.from(v.buffer, v.byteOffset, v.length);

function options(clientId: string, manualConnect = false): mqtt.IClientOptions {
  return { protocolVersion: 4, clientId, clean: true, keepalive: 60, reconnectPeriod: 0, manualConnect };
}

class MqttJsConn implements Conn {
  constructor(readonly c: MqttClient) {}

  prepare(count: number, qos: QoS, payloads: Payloads, progress: Progress, window: number): Burst {
    const c = this.c;
    const data = payloads.source(asBuffer);
    const marker = Buffer.from(MARKER);
    return {
      run: () => {
        const done = deferred<void>();
        let sent = 0;
        let acked = 0;
        let outstanding = 0;
        let markerSent = false;
        let markerAcked = false;
        let scheduled = false;
        let filling = false;
        const limit = qos ? window : 1;
        const finish = () => {
          if (markerAcked && acked === count) done.resolve();
        };
        const onDone = (e?: Error) => {
          if (e) return done.reject(e);
          outstanding--;
          acked++;
          if (markerAcked && acked === count) return done.resolve();
          if (!scheduled && outstanding < limit) fill();
        };
        const fill = () => {
          if (filling) return; // a callback called from inside publish(): the loop below goes on
          filling = true;
          scheduled = false;
          let bytes = 0;
          while (sent < count && outstanding < limit) {
            outstanding++;
            sent++;
            c.publish(TOPIC, data(sent - 1), { qos }, onDone);
            if ((bytes += payloads.size) >= TURN_BYTES) {
              if (!scheduled) {
                scheduled = true;
                setImmediate(fill);
              }
              break;
            }
          }
          filling = false;
          progress.sent = sent;
          // at QoS 1/2 the marker waits for room in the window like any message (past the
          // broker's quota it would be refused)
          if (sent === count && !markerSent && (!qos || outstanding < limit)) {
            markerSent = true;
            if (qos) outstanding++;
            c.publish(DONE_TOPIC, marker, { qos: 1 }, (e) => {
              if (e) return done.reject(e);
              markerAcked = true;
              finish();
            });
          }
        };
        fill();
        return done.promise;
      },
    };
  }

  send(topic: string, payload: Uint8Array, qos: QoS): void {
    this.c.publish(topic, Buffer.from(payload.buffer, payload.byteOffset, payload.length), { qos });
  }

  subscribe(topic: string, qos: QoS, onMessage: (payload: Uint8Array) => void): Promise<void> {
    const d = deferred<void>();
    this.c.on('message', (_t, payload) => onMessage(payload));
    this.c.subscribe(topic, { qos }, (e) => (e ? d.reject(e) : d.resolve()));
    return d.promise;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.c.end(false, {}, () => resolve()));
  }
}

function connected(c: MqttClient): Promise<void> {
  return new Promise((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
}

export const mqttjs: Kind = {
  id: 'mqttjs',
  label: 'MQTT.js',
  async open(broker, clientId) {
    const c = mqtt.connect(`mqtt://${broker.host}:${broker.port}`, options(clientId));
    await connected(c);
    return new MqttJsConn(c);
  },
  /** MQTT.js's offline queue: QoS 1 publishes while not connected wait in its outgoing store. */
  async offline(broker, clientId, count, payloads): Promise<OfflineResult> {
    gc();
    const m0 = heapAndExternal();
    const r0 = process.memoryUsage.rss();
    const t0 = performance.now();
    const c = mqtt.connect(`mqtt://${broker.host}:${broker.port}`, options(clientId, true));
    let delivered = 0;
    let last = performance.now();
    let error = '';
    const all = deferred<void>();
    for (let i = 0; i < count; i++)
      // a Buffer over the payload's bytes, as an application hands over the message it made
      c.publish(TOPIC, Buffer.from(payloads.bytes.buffer, i * STAMP, payloads.size), { qos: 1 }, (e) => {
        if (e) error ||= e.message;
        else delivered++;
        last = performance.now();
        if (delivered === count) all.resolve();
      });
    const enqueueMs = performance.now() - t0;
    gc();
    const bytesPerMessage = (heapAndExternal() - m0) / count;
    const rssGrowthMB = (process.memoryUsage.rss() - r0) / MB;
    const t1 = performance.now();
    c.connect();
    // MQTT.js allocates packet ids while offline too: past 65535 messages ids repeat and a newer
    // message replaces the older one with its id in the store. So wait for all, or for silence.
    const quiet = setInterval(() => {
      if (delivered && performance.now() - last > 2000) all.resolve();
    }, 100);
    await all.promise;
    clearInterval(quiet);
    const drainMs = (delivered === count ? performance.now() : last) - t1;
    await new Promise<void>((resolve) => c.end(false, {}, () => resolve()));
    const note =
      delivered === count
        ? error || undefined
        : `only ${delivered} of ${count} acknowledged${error ? `; ${error}` : ''} (packet ids repeat after 65,535 queued messages; the store keeps one message per id)`;
    return { count, enqueueMs, bytesPerMessage, rssGrowthMB, drainMs, delivered, ...(note ? { note } : {}) };
  },
};
