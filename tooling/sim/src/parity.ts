// Scripted exchanges, one in MQTT 3.1.1 and one in MQTT 5, played step by step against the broker
// model (on virtual time) or a real broker over TCP (Mosquitto, aedes): what each connection
// received at each step, and which connections the broker closed. parity.test.ts holds the model
// to Mosquitto with them.
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
import {
  DISCONNECT,
  encodeAck as ack5,
  encodeConnect as encodeConnect5,
  encodeDisconnect,
  encodePublish as encodePublish5,
  encodeSubscribe as encodeSubscribe5,
  encodeUnsubscribe as encodeUnsubscribe5,
  type ConnectProperties,
  type PublishProperties,
} from '@umqtt/codec/v5';
import { toHex } from '@umqtt/testkit';
import { BrokerNode, BrokerState, type Ledger } from './broker.js';
import type { ServerEnd } from './network.js';
import { Random } from './random.js';
import { World } from './world.js';

export type Step =
  | { open: string; id: string; clean: boolean; v5?: ConnectProperties; keepAlive?: number }
  | { send: string; bytes: Uint8Array }
  | { close: string }
  | { wait: number };

const connect = (id: string, clean: boolean, v5?: ConnectProperties, keepAlive = 60) =>
  v5
    ? encodeConnect5({ type: 1, clientId: id, clean, keepAlive, properties: v5 })
    : encodeConnect({ type: 1, clientId: id, clean, keepAlive });
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
  /** Lets `ms` pass (virtual or real). */
  wait(ms: number): Promise<void>;
  settle(): Promise<Observed>;
}

export async function play(runner: Runner, script: Step[] = SCRIPT): Promise<Observed[]> {
  const out: Observed[] = [];
  for (const step of script) {
    if ('open' in step) {
      runner.open(step.open);
      runner.send(step.open, connect(step.id, step.clean, step.v5, step.keepAlive));
    } else if ('send' in step) runner.send(step.send, step.bytes);
    else if ('close' in step) runner.close(step.close);
    else await runner.wait(step.wait);
    out.push(await runner.settle());
  }
  return out;
}

/** The model on virtual time, each connection a bare ServerEnd. */
export function modelRunner(): Runner {
  const world = new World(1);
  const ledger: Ledger = { accepted() {}, quotaDropped() {}, routed() {}, outDropped() {}, lostState() {} };
  const node = new BrokerNode(world, new Random(1), 'mosquitto', new BrokerState(ledger, ACL_DENIED));
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
    async wait(ms) {
      await world.run(world.now + ms);
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
    async wait(ms) {
      await new Promise((r) => setTimeout(r, ms));
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
export function describeStep(i: number, script: Step[] = SCRIPT): string {
  return `step ${i}: ${JSON.stringify(script[i], (k, v) => (k === 'bytes' ? toHex(v as Uint8Array) : v))}`;
}

/** What the ACL denies (write) in the MQTT 5 script: the model's list, and the same as a Mosquitto acl_file. */
export const ACL_DENIED = ['dev/+/denied'];
export const ACL_FILE = ['topic readwrite #', ...ACL_DENIED.map((t) => `topic deny ${t}`)].join('\n') + '\n';

const pub5 = (topic: string, text: string, qos: QoS, id?: number, properties?: PublishProperties) =>
  encodePublish5({ type: 3, topic, payload: encodeUtf8(text), qos, id, properties });
const a5 = (type: 4 | 5 | 6 | 7, id: number) => ack5({ type, id });

/**
 * The MQTT 5 exchange: CONNACK's properties, the client's Receive Maximum, reason codes (0x10 no
 * subscribers, 0x87 the ACL, 0x97 past the quota, 0x11 no subscription), topic aliases and their
 * errors, message and session expiry, takeover, a DISCONNECT that turns on an expiry of 0, keepalive 0.
 */
export const SCRIPT5: Step[] = [
  // a subscriber that takes 2 messages at a time (Receive Maximum 2)
  { open: 's', id: 's5', clean: true, v5: { receiveMaximum: 2 } },
  { send: 's', bytes: encodeSubscribe5({ type: 8, id: 1, subscriptions: [{ topic: 'v/#', qos: 2 }] }) },
  { open: 'p', id: 'p5', clean: false, v5: { sessionExpiryInterval: 1 } },
  // QoS 1 nobody subscribed to: PUBACK 0x10; then five for the subscriber, two at a time
  { send: 'p', bytes: pub5('n/x', 'nobody', 1, 1) },
  { send: 'p', bytes: join(...[2, 3, 4, 5, 6].map((id) => pub5('v/b', `m${id}`, 1, id))) },
  { send: 's', bytes: a5(4, 1) },
  { send: 's', bytes: join(a5(4, 2), a5(4, 3), a5(4, 4)) },
  // a topic alias set, then used alone
  {
    send: 'p',
    bytes: join(
      pub5('v/c', 'alias-set', 0, undefined, { topicAlias: 1 }),
      pub5('', 'alias-used', 0, undefined, { topicAlias: 1 }),
    ),
  },
  // the ACL denies: PUBACK / PUBREC 0x87, nothing routed
  { send: 'p', bytes: join(pub5('dev/x/denied', 'no1', 1, 7), pub5('dev/x/denied', 'no2', 2, 8)) },
  // past the incoming quota of 20: PUBREC 0x97
  { send: 'p', bytes: join(...Array.from({ length: 25 }, (_, i) => pub5('q/x', `q${i}`, 2, i + 10))) },
  { send: 'p', bytes: join(...Array.from({ length: 25 }, (_, i) => a5(6, i + 10))) },
  // a repeated PUBREL, a PUBREC for an id never used
  { send: 'p', bytes: a5(6, 10) },
  { send: 'p', bytes: a5(5, 99) },
  // the window refilled from the acknowledged message's place: acknowledging the first of two lets
  // two more out (3 in flight past Receive Maximum 2); acknowledging the last then refills nothing,
  // and a new message goes out ahead of the one still queued (r6 before r5)
  { open: 'o', id: 'o5', clean: true, v5: { receiveMaximum: 2 } },
  { send: 'o', bytes: encodeSubscribe5({ type: 8, id: 1, subscriptions: [{ topic: 'r/#', qos: 1 }] }) },
  { send: 'p', bytes: join(...[1, 2, 3, 4, 5].map((i) => pub5('r/x', `r${i}`, 1, 50 + i))) },
  { send: 'o', bytes: a5(4, 1) },
  { send: 'o', bytes: a5(4, 4) },
  { send: 'p', bytes: pub5('r/x', 'r6', 1, 56) },
  { send: 'o', bytes: join(a5(4, 2), a5(4, 3), a5(4, 5), a5(4, 6)) },
  // UNSUBSCRIBE: one that existed, one that did not (0x11)
  { send: 's', bytes: encodeUnsubscribe5({ type: 10, id: 2, topics: ['v/#', 'nope/#'] }) },
  // message expiry: a persistent subscriber away; one message expires while it is, one does not
  { open: 'e', id: 'e5', clean: false, v5: { sessionExpiryInterval: 100 } },
  { send: 'e', bytes: encodeSubscribe5({ type: 8, id: 1, subscriptions: [{ topic: 'e/#', qos: 1 }] }) },
  { close: 'e' },
  { send: 'p', bytes: join(pub5('e/1', 'short', 1, 40, { messageExpiryInterval: 1 }), pub5('e/2', 'long', 1, 41)) },
  // a subscriber taking one at a time leaves with a short-lived message in flight and one queued:
  // when it returns, the one in flight has expired and goes, and the queued one stays queued
  // (nothing moves queued messages into flight then, until another message or acknowledgement)
  { open: 'w', id: 'w5', clean: false, v5: { sessionExpiryInterval: 100, receiveMaximum: 1 } },
  { send: 'w', bytes: encodeSubscribe5({ type: 8, id: 1, subscriptions: [{ topic: 'w/#', qos: 1 }] }) },
  { send: 'p', bytes: join(pub5('w/1', 'w-short', 1, 45, { messageExpiryInterval: 1 }), pub5('w/2', 'w-long', 1, 46)) },
  { close: 'w' },
  // the publisher leaves with DISCONNECT; its session (expiry 1 s) is gone after the wait
  { send: 'p', bytes: encodeDisconnect({ type: DISCONNECT }) },
  { wait: 3000 },
  { open: 'e2', id: 'e5', clean: false, v5: { sessionExpiryInterval: 100 } },
  { open: 'w2', id: 'w5', clean: false, v5: { sessionExpiryInterval: 100, receiveMaximum: 1 } },
  { send: 'w2', bytes: encodeEmpty({ type: 12 }) },
  { open: 'p2', id: 'p5', clean: false, v5: { sessionExpiryInterval: 1 } },
  // takeover: the older connection is closed (Mosquitto 2.0.11 sends no DISCONNECT 0x8E)
  { open: 't', id: 't5', clean: false, v5: { sessionExpiryInterval: 100 } },
  { open: 't2', id: 't5', clean: false, v5: { sessionExpiryInterval: 100 } },
  // topic alias past the maximum of 10: DISCONNECT 0x94; an alias never set: 0x82
  { send: 't2', bytes: pub5('v/d', 'x', 0, undefined, { topicAlias: 11 }) },
  { send: 'e2', bytes: pub5('', 'y', 0, undefined, { topicAlias: 5 }) },
  // a DISCONNECT that sets a session expiry after 0: DISCONNECT 0x82
  { open: 'z', id: 'z5', clean: true, v5: {} },
  { send: 'z', bytes: encodeDisconnect({ type: DISCONNECT, properties: { sessionExpiryInterval: 10 } }) },
  // keepalive 0: Server Keep Alive 65535
  { open: 'k', id: 'k5', clean: true, v5: {}, keepAlive: 0 },
];
