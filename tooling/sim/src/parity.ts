// One scripted MQTT 3.1.1 exchange, played step by step against the broker model (on virtual
// time) or a real broker over TCP (Mosquitto, aedes): what each connection received at each step,
// and which connections the broker closed. parity.test.ts holds the model to Mosquitto with it.
import { connect as netConnect, type Socket as NetSocket } from 'node:net';
import {
  encodeAck,
  encodeConnect,
  encodeEmpty,
  encodePublish,
  encodeSubscribe,
  encodeUnsubscribe,
  encodeUtf8,
  type QoS,
} from '@umqtt/codec';
import { toHex } from '@umqtt/testkit';
import { BrokerNode, BrokerState, type Ledger } from './broker.js';
import type { ServerEnd } from './network.js';
import { Random } from './random.js';
import { World } from './world.js';

export type Step =
  { open: string; id: string; clean: boolean } | { send: string; bytes: Uint8Array } | { close: string };

const connect = (id: string, clean: boolean) => encodeConnect({ type: 1, clientId: id, clean, keepAlive: 60 });
const pub = (topic: string, text: string, qos: QoS, id?: number, extra: { dup?: boolean; retain?: boolean } = {}) =>
  encodePublish({ type: 3, topic, payload: encodeUtf8(text), qos, id, ...extra });
const ack = (type: 4 | 5 | 6 | 7, id: number) => encodeAck({ type, id });
const join = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};
const many = (n: number, f: (i: number) => Uint8Array) => join(...Array.from({ length: n }, (_, i) => f(i)));

/** The exchange: sessions, QoS 0/1/2 both ways, retained, duplicates, the quota, reconnects, takeover. */
export const SCRIPT: Step[] = [
  { open: 'sub', id: 'sub', clean: true },
  { send: 'sub', bytes: encodeSubscribe({ type: 8, id: 1, subscriptions: [{ topic: 't/#', qos: 2 }] }) },
  { open: 'pub', id: 'pub', clean: false },
  // QoS 0 retained; QoS 1; QoS 2 with a resend before PUBREL and a repeated PUBREL
  { send: 'pub', bytes: pub('t/a', 'zero', 0, undefined, { retain: true }) },
  { send: 'pub', bytes: pub('t/b', 'one', 1, 1) },
  { send: 'pub', bytes: pub('t/c', 'two', 2, 2) },
  { send: 'pub', bytes: pub('t/c', 'two', 2, 2, { dup: true }) },
  { send: 'pub', bytes: ack(6, 2) },
  { send: 'pub', bytes: ack(6, 2) },
  // acknowledgements for ids the broker never used
  { send: 'pub', bytes: ack(4, 77) },
  { send: 'pub', bytes: ack(7, 78) },
  { send: 'pub', bytes: ack(5, 79) },
  // the subscriber acknowledges its two messages (QoS 1 id 1, QoS 2 id 2)
  { send: 'sub', bytes: join(ack(4, 1), ack(5, 2)) },
  { send: 'sub', bytes: ack(7, 2) },
  // a late subscriber gets the retained message after SUBACK, with the retain flag
  { open: 'late', id: 'late', clean: true },
  { send: 'late', bytes: encodeSubscribe({ type: 8, id: 9, subscriptions: [{ topic: 't/a', qos: 1 }] }) },
  { send: 'late', bytes: encodeEmpty({ type: 12 }) },
  { send: 'late', bytes: encodeUnsubscribe({ type: 10, id: 10, topics: ['t/a'] }) },
  { send: 'late', bytes: encodeEmpty({ type: 14 }) },
  // the same id with another content replaces the held message ("Reused message ID")
  { send: 'pub', bytes: pub('t/d', 'first', 2, 5) },
  { send: 'pub', bytes: pub('t/d', 'second', 2, 5) },
  { send: 'pub', bytes: ack(6, 5) },
  { send: 'sub', bytes: join(ack(5, 3)) },
  { send: 'sub', bytes: join(ack(7, 3)) },
  // past the incoming quota: 25 QoS 2 without PUBREL (the last 5 are acknowledged and dropped)
  { send: 'pub', bytes: many(25, (i) => pub('t/q', `q${i + 10}`, 2, i + 10)) },
  // a reconnect keeps the session (session present) and the held messages
  { close: 'pub' },
  { open: 'pub', id: 'pub', clean: false },
  { send: 'pub', bytes: many(25, (i) => ack(6, i + 10)) },
  // the subscriber has 20 in flight (the outgoing limit) and 5 queued; acknowledging frees them
  { send: 'sub', bytes: many(20, (i) => ack(5, i + 4)) },
  { send: 'sub', bytes: many(20, (i) => ack(7, i + 4)) },
  // a persistent subscriber that goes away: QoS 0 dropped, QoS 1/2 queued, resent on return
  { open: 'psub', id: 'psub', clean: false },
  { send: 'psub', bytes: encodeSubscribe({ type: 8, id: 1, subscriptions: [{ topic: 'p/#', qos: 2 }] }) },
  { send: 'pub', bytes: pub('p/1', 'while-on', 1, 40) },
  { close: 'psub' },
  {
    send: 'pub',
    bytes: join(pub('p/0', 'lost', 0), pub('p/1', 'kept1', 1, 41), pub('p/2', 'kept2', 2, 42), ack(6, 42)),
  },
  { open: 'psub', id: 'psub', clean: false },
  { send: 'psub', bytes: join(ack(4, 1), ack(4, 2), ack(5, 3)) },
  // takeover: the same client id again closes the older connection
  { open: 'psub2', id: 'psub', clean: false },
  { send: 'psub2', bytes: ack(7, 3) },
  // a clean connect of a persistent id ends its session
  { open: 'pub3', id: 'pub', clean: true },
  { close: 'pub3' },
  { open: 'pub4', id: 'pub', clean: false },
  // protocol errors: a second CONNECT, a PUBCOMP for a message still waiting for PUBREC
  { send: 'pub4', bytes: connect('pub', false) },
  { open: 'bad', id: 'bad', clean: true },
  { send: 'bad', bytes: encodeSubscribe({ type: 8, id: 1, subscriptions: [{ topic: 'b/#', qos: 2 }] }) },
  { send: 'sub', bytes: pub('b/x', 'to-bad', 2, 60) },
  { send: 'sub', bytes: ack(6, 60) },
  { send: 'bad', bytes: ack(7, 1) },
];

export interface Observed {
  /** Hex of every byte each connection received during the step. */
  got: Record<string, string>;
  /** Connections the broker closed during the step. */
  closed: string[];
}

export interface Runner {
  open(name: string): void;
  send(name: string, bytes: Uint8Array): void;
  close(name: string): void;
  settle(): Promise<Observed>;
}

export async function play(runner: Runner): Promise<Observed[]> {
  const out: Observed[] = [];
  for (const step of SCRIPT) {
    if ('open' in step) {
      runner.open(step.open);
      runner.send(step.open, connect(step.id, step.clean));
    } else if ('send' in step) runner.send(step.send, step.bytes);
    else runner.close(step.close);
    out.push(await runner.settle());
  }
  return out;
}

/** The model on virtual time, each connection a bare ServerEnd. */
export function modelRunner(): Runner {
  const world = new World(1);
  const ledger: Ledger = { accepted() {}, quotaDropped() {}, routed() {}, outDropped() {}, lostState() {} };
  const node = new BrokerNode(world, new Random(1), 'mosquitto', new BrokerState(ledger));
  const ends = new Map<string, ServerEnd & { got: number[]; closed: boolean; mine: boolean }>();
  let ids = 0;
  return {
    open(name) {
      const end = {
        id: ++ids,
        label: name,
        got: [] as number[],
        closed: false,
        mine: false,
        onData: undefined as ServerEnd['onData'],
        onClose: undefined as ServerEnd['onClose'],
        get open() {
          return !end.closed;
        },
        write(bytes: Uint8Array) {
          if (!end.closed) end.got.push(...bytes);
        },
        close() {
          end.closed = true;
        },
        reset() {
          end.closed = true;
        },
        pause() {},
        resume() {},
      };
      ends.set(name, end);
      node.accept(end);
    },
    send(name, bytes) {
      world.after(0, () => ends.get(name)!.onData?.(bytes));
    },
    close(name) {
      const end = ends.get(name)!;
      end.mine = true;
      world.after(0, () => {
        end.closed = true;
        end.onClose?.('closed');
      });
    },
    async settle() {
      const before = new Map([...ends].map(([k, e]) => [k, e.closed]));
      await world.run(world.now + 100);
      const got: Record<string, string> = {};
      const closed: string[] = [];
      for (const [name, e] of ends) {
        if (e.got.length) got[name] = toHex(Uint8Array.from(e.got.splice(0)));
        if (e.closed && !before.get(name) && !e.mine) closed.push(name);
      }
      return { got, closed };
    },
  };
}

/** Real TCP to a real broker; a step is over once nothing arrived for a while. */
export function tcpRunner(port: number): Runner {
  const socks = new Map<string, { s: NetSocket; got: number[]; closed: boolean; mine: boolean }>();
  let last = performance.now();
  return {
    open(name) {
      const s = netConnect({ host: '127.0.0.1', port });
      s.setNoDelay(true);
      const entry = { s, got: [] as number[], closed: false, mine: false };
      s.on('data', (d) => {
        entry.got.push(...d);
        last = performance.now();
      });
      s.on('close', () => {
        entry.closed = true;
        last = performance.now();
      });
      s.on('error', () => {});
      socks.set(name, entry);
    },
    send(name, bytes) {
      socks.get(name)!.s.write(bytes);
      last = performance.now();
    },
    close(name) {
      const e = socks.get(name)!;
      e.mine = true;
      e.s.end();
    },
    async settle() {
      const before = new Map([...socks].map(([k, e]) => [k, e.closed]));
      do await new Promise((r) => setTimeout(r, 40));
      while (performance.now() - last < 120);
      const got: Record<string, string> = {};
      const closed: string[] = [];
      for (const [name, e] of socks) {
        if (e.got.length) got[name] = toHex(Uint8Array.from(e.got.splice(0)));
        if (e.closed && !before.get(name) && !e.mine) closed.push(name);
      }
      return { got, closed };
    },
  };
}

/** A step as one line, for messages. */
export function describeStep(i: number): string {
  return `step ${i}: ${JSON.stringify(SCRIPT[i], (k, v) => (k === 'bytes' ? toHex(v as Uint8Array) : v))}`;
}
