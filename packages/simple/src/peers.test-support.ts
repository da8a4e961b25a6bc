// Test support (not built into dist): clients of a real broker over Node's TCP and timers, with
// everything they report recorded; shared by the 3.1.1 and the MQTT 5 broker suites.
import type { UmqttError } from '@umqtt/codec';
// Test-only: the Node adapters live in apps/node; the package itself never depends on them.
import { createTcpSocketFactory, nodeTimers } from '../../../apps/node/src/transport/index.ts';
import type { ClientOptions, Message, MqttClient, Status } from './index.js';

export interface Address {
  host: string;
  port: number;
}

/** A client with everything it reports recorded. */
export interface Peer<C extends MqttClient = MqttClient, M extends Message = Message> {
  client: C;
  messages: M[];
  statuses: { id: number; status: Status; granted: number[] | undefined }[];
  closes: (UmqttError | undefined)[];
}

/**
 * The one way a suite builds its clients: `make` gets Node TCP, Node timers, the broker's address,
 * a unique client id (`prefix-pid-n`) and the test's own options. `closeAll` after each test.
 */
export function peerMaker<C extends MqttClient, O extends object, M extends Message = Message>(
  make: (options: O) => C,
  prefix: string,
) {
  const open = new Set<C>();
  let serial = 0;
  const unique = (name: string) => `${name}-${process.pid}-${++serial}`;
  function peer(at: Address, options: Partial<O> = {}): Peer<C, M> {
    const base: Partial<ClientOptions> = {
      socket: createTcpSocketFactory(),
      timers: nodeTimers,
      host: at.host,
      port: at.port,
      clientId: unique(prefix),
    };
    const client = make({ ...base, ...options } as O);
    const p: Peer<C, M> = { client, messages: [], statuses: [], closes: [] };
    client.onMessage = (m) => p.messages.push(m as M); // payloads kept as the views the client gave
    client.onStatus = (id, status, granted) => p.statuses.push({ id, status, granted });
    client.onClose = (e) => p.closes.push(e);
    open.add(client);
    return p;
  }
  async function connected(at: Address, options: Partial<O> = {}): Promise<Peer<C, M>> {
    const p = peer(at, options);
    await p.client.connect();
    return p;
  }
  function closeAll(): void {
    for (const client of open) client.close();
    open.clear();
  }
  return { unique, peer, connected, closeAll };
}
