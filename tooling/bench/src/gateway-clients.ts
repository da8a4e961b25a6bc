// The clients of the gateway benchmark, behind one small interface: connect, publish QoS 1
// with a callback at the acknowledgement, close. Each is used as its documentation shows.
import { MqttClient } from '@umqtt/simple';
import { RobustClient } from '@umqtt/robust';
import { MemoryStore } from '@umqtt/store-memory';
import { createTcpSocketFactory, nodeTimers } from '@umqtt/node';
import mqtt from 'mqtt';

export type GatewayLibrary = 'umqtt-simple' | 'umqtt-robust' | 'mqttjs';

const TOPIC = 'gateway/t';

export interface Client {
  /** Publishes one QoS 1 message; `done(status)` is called with `delivered` at its acknowledgement, or what else happened. */
  publish(payload: Uint8Array, done: (status: string) => void): void;
  close(): void;
}

type Open = (port: number, id: string) => Promise<Client>;

const socket = createTcpSocketFactory();
/**
 * The callbacks of publishes awaiting their acknowledgement, of every umqtt client in one map
 * (a map per client would count against the client's memory): serial * 2^32 + packet id or key.
 */
const pending = new Map<number, (status: string) => void>();
let serial = 0;
const OPEN: Record<GatewayLibrary, Open> = {
  'umqtt-simple': async (port, id) => {
    const c = new MqttClient({ socket, timers: nodeTimers, host: '127.0.0.1', port, clientId: id, keepAlive: 60 });
    const base = ++serial * 2 ** 32;
    c.onStatus = (packetId, status) => {
      if (status === 'received') return;
      const done = pending.get(base + packetId);
      pending.delete(base + packetId);
      done?.(status);
    };
    await c.connect();
    return {
      publish(payload, done) {
        pending.set(base + c.publish(TOPIC, payload, { qos: 1, copy: false }), done);
      },
      close: () => c.disconnect(),
    };
  },
  'umqtt-robust': (port, id) =>
    new Promise((resolve, reject) => {
      const c = new RobustClient({
        socket,
        timers: nodeTimers,
        servers: [{ host: '127.0.0.1', port }],
        clientId: id,
        clean: true,
        keepAlive: 60,
        store: new MemoryStore(),
        backoff: { maxAttempts: 1 },
      });
      const base = ++serial * 2 ** 32;
      c.onStatus = (key, status) => {
        const done = pending.get(base + key);
        pending.delete(base + key);
        done?.(status);
      };
      c.onState = (state) => {
        if (state === 'online')
          resolve({
            publish(payload, done) {
              pending.set(base + c.publish(TOPIC, payload, { qos: 1, copy: false }), done);
            },
            close: () => c.stop(),
          });
        else if (state === 'closed') reject(new Error(`robust client ${id} gave up: ${c.lastIssue?.error.message}`));
      };
      c.start();
    }),
  mqttjs: (port, id) =>
    new Promise((resolve, reject) => {
      const c = mqtt.connect({
        host: '127.0.0.1',
        port,
        clientId: id,
        keepalive: 60,
        clean: true,
        reconnectPeriod: 0,
        protocolVersion: 4,
      });
      c.once('connect', () =>
        resolve({
          publish(payload, done) {
            c.publish(TOPIC, payload as Buffer, { qos: 1 }, (e) => done(e ? `error: ${e.message}` : 'delivered'));
          },
          close: () => void c.end(true),
        }),
      );
      c.once('error', reject);
    }),
};

/** Connects one client of `library` to the broker on 127.0.0.1:port; resolves once it is connected. */
export function openClient(library: GatewayLibrary, port: number, id: string): Promise<Client> {
  return OPEN[library](port, id);
}
