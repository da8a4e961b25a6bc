// @umqtt/simple under test: publishes while `client.writable`, resumes on `onWritable`,
// counts `onStatus(id, 'delivered')`.
import { MqttClient, type ClientOptions } from '@umqtt/simple';
import { createTcpSocketFactory, nodeTimers } from '@umqtt/node';
import {
  DONE_TOPIC,
  MARKER,
  STALL_MS,
  TOPIC,
  deferred,
  type Burst,
  type Conn,
  type Kind,
  type Payloads,
  type Progress,
  type QoS,
} from '../common.js';

/**
 * Options every umqtt client gets in the benchmark: `maxInflight` is the same in-flight window
 * as the raw reference and the MQTT.js driver get (Mosquitto's max_inflight_messages), unless
 * BENCH_MAX_INFLIGHT says otherwise (see main.ts). The client's default is 16.
 */
export function umqttOptions(
  broker: { host: string; port: number },
  clientId: string,
  maxInflight: number,
): ClientOptions {
  return {
    socket: createTcpSocketFactory(),
    timers: nodeTimers,
    host: broker.host,
    port: broker.port,
    clientId,
    clean: true,
    keepAlive: 60,
    maxInflight,
    messageTimeout: 60_000,
  };
}

class SimpleConn implements Conn {
  constructor(readonly c: MqttClient) {}

  prepare(count: number, qos: QoS, payloads: Payloads, progress: Progress): Burst {
    const c = this.c;
    const payload = payloads.source();
    return {
      run: () => {
        const done = deferred<void>();
        let sent = 0;
        let acked = 0;
        let markerId = -1;
        let markerAcked = false;
        let filling = false;
        c.onStatus = (id, status) => {
          if (status === 'received') return;
          if (status !== 'delivered') return done.reject(new Error(`status ${status} for id ${id}`));
          if (id === markerId) markerAcked = true;
          else acked++;
          if (markerAcked && acked === (qos ? count : 0)) done.resolve();
        };
        c.onClose = (e) => done.reject(e ?? new Error('closed'));
        const fill = () => {
          if (filling) return; // a callback called from inside publish(): the loop below goes on
          filling = true;
          // `writable` turns false once the window is full or what this turn published fills the
          // socket's room (QoS 0 too); onWritable calls fill again
          while (sent < count && c.writable) {
            c.publish(TOPIC, payload(sent), { qos, copy: false }); // payloads never change (MQTT.js does not copy either)
            sent++;
          }
          filling = false;
          progress.sent = sent;
          if (sent === count && markerId < 0) markerId = c.publish(DONE_TOPIC, MARKER, { qos: 1 });
        };
        c.onWritable = fill;
        // Watchdog: the driver waits for onWritable whenever `writable` is false. If the client
        // becomes writable again without calling onWritable, the burst would stall (until some
        // other packet, e.g. a keepalive PINGREQ, makes it flush). Count such stalls and resume.
        let seen = -1;
        const watchdog = setInterval(() => {
          const now = sent + acked;
          if (now === seen && sent < count && c.writable) {
            progress.stalls = (progress.stalls ?? 0) + 1;
            fill();
          }
          seen = now;
        }, STALL_MS);
        fill();
        return done.promise.finally(() => {
          clearInterval(watchdog);
          c.onWritable = undefined;
          c.onStatus = undefined;
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
    const id = this.c.subscribe(topic, qos);
    this.c.onStatus = (i, s) => {
      if (i === id) s === 'delivered' ? d.resolve() : d.reject(new Error(`subscribe ${s}`));
    };
    return d.promise;
  }

  async close(): Promise<void> {
    this.c.disconnect();
  }
}

export const simple: Kind = {
  id: 'simple',
  label: 'umqtt simple',
  async open(broker, clientId, maxInflight) {
    const c = new MqttClient(umqttOptions(broker, clientId, maxInflight));
    await c.connect();
    return new SimpleConn(c);
  },
};
