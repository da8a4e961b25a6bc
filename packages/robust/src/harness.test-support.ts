// Test support (not built into dist): RobustClient on a fake clock against a byte-level
// scripted peer, shared by client.test.ts and policy.test.ts.
import { FakeClock, ScriptedBroker, clockHabitsFromEnv, seeded, settle, toHex, type ClockHabits } from '@umqtt/testkit';
import type { SocketOptions } from '@umqtt/simple';
import { afterEach, expect } from 'vitest';
import { ArrayStore } from './array-store.test-support.js';
import { RobustClient, type FinalStatus, type RobustOptions, type RobustState, type Store } from './index.js';

/**
 * The fake clock of these suites: a FakeClock (which knows when its next timer fires, so time
 * can jump from timer to timer) with the timer habits a vitest project chose (UMQTT_CLOCK).
 */
export class Clock extends FakeClock {
  constructor(start = 0, habits: ClockHabits = clockHabitsFromEnv()) {
    super(start, habits);
  }
}

/** Runs simulated time forward by `ms`, timer by timer, letting microtasks run after each. */
export async function runFor(clock: Clock, ms: number, until?: () => boolean): Promise<void> {
  const end = clock.now() + ms;
  await settle();
  for (;;) {
    if (until?.()) return;
    const due = clock.nextDue();
    if (due > end) break;
    clock.advance(Math.max(0, due - clock.now()));
    await settle();
  }
  clock.advance(end - clock.now());
  await settle();
}

/** mulberry32: a seeded PRNG in [0, 1) (testkit's). */
export { seeded };

export const T0 = 1_000_000;

export type Peer = 'manual' | 'down' | 'up' | 'unavailable';

export interface Setup {
  clock: Clock;
  broker: ScriptedBroker;
  client: RobustClient;
  store: Store;
  statuses: [number, FinalStatus, string | undefined][];
  states: RobustState[];
  /** Host and clock time of every socket the client opened. */
  opened: [string, number][];
  /** How the next sockets behave: scripted by the test, refused, accepted, or CONNACK 3. */
  peer: Peer;
}

export function setup(
  options: Partial<RobustOptions> = {},
  peer: Peer = 'manual',
  habits?: ClockHabits,
  make: (options: RobustOptions) => RobustClient = (o) => new RobustClient(o),
): Setup {
  const clock = new Clock(T0, habits);
  const broker = new ScriptedBroker();
  const store = options.store ?? new ArrayStore();
  const t = { clock, broker, store, statuses: [], states: [], opened: [], peer } as unknown as Setup;
  const socket = (o: SocketOptions) => {
    const s = broker.factory(o);
    t.opened.push([o.host, clock.now()]);
    const mode = t.peer;
    if (mode !== 'manual')
      queueMicrotask(() => {
        if (mode === 'down') return s.fail(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
        s.open();
        s.send(mode === 'up' ? '20 02 00 00' : '20 02 00 03');
      });
    return s;
  };
  t.client = make({
    socket,
    timers: clock,
    servers: [{ host: 'a' }],
    clientId: 'c1',
    store,
    random: () => 0, // equal jitter: each delay half its cap (the first retry 500 ms)
    ...options,
  });
  t.client.onStatus = (key, status, reason) => t.statuses.push([key, status, reason]);
  t.client.onState = (state) => t.states.push(state);
  return t;
}

/** The scripted broker accepts the newest connection; returns the CONNECT bytes it got. */
export async function accept(t: Setup, sessionPresent = false): Promise<string> {
  const sock = t.broker.socket;
  sock.open();
  await settle();
  const connect = sock.take();
  sock.send(sessionPresent ? '20 02 01 00' : '20 02 00 00');
  await settle();
  expect(t.client.state).toBe('online');
  return connect;
}

/** Splits written bytes (spaced hex) into one spaced-hex string per MQTT packet. */
export function packets(written: string): string[] {
  const b = written ? written.split(' ').map((x) => parseInt(x, 16)) : [];
  const out: string[] = [];
  let i = 0;
  while (i < b.length) {
    let len = 0;
    let mul = 1;
    let j = i + 1;
    for (;;) {
      const d = b[j++]!;
      len += (d & 127) * mul;
      mul *= 128;
      if (!(d & 128)) break;
    }
    out.push(toHex(Uint8Array.from(b.slice(i, j + len))));
    i = j + len;
  }
  return out;
}

export const utf8 = (s: string) => [...new TextEncoder().encode(s)];

/** PUBLISH bytes, written independently of the codec. */
export function pub(topic: string, payload: string, { qos = 0, id = 0, dup = false, retain = false } = {}): string {
  const t = utf8(topic);
  const body = [t.length >> 8, t.length & 255, ...t, ...(qos ? [id >> 8, id & 255] : []), ...utf8(payload)];
  if (body.length > 127) throw new Error('keep test packets short');
  return toHex(Uint8Array.from([0x30 | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0), body.length, ...body]));
}
export const ack = (type: number, id: number) => toHex(Uint8Array.from([type, 2, id >> 8, id & 255]));
export const PUBACK = (id: number) => ack(0x40, id);
export const PUBREC = (id: number) => ack(0x50, id);
export const PUBREL = (id: number) => ack(0x62, id);
export const PUBCOMP = (id: number) => ack(0x70, id);

/**
 * What a test starts (brokers, proxies, clients) and must stop after it: `cleanup(fn)` queues
 * `fn`; after each test they run in reverse order, each on its own (one that throws does not stop
 * the others). Call once per test file, at its top level.
 */
export function cleanupAfterEach(): (fn: () => unknown) => void {
  const queued: (() => unknown)[] = [];
  afterEach(async () => {
    for (const fn of queued.splice(0).reverse()) {
      try {
        await fn();
      } catch {
        // keep cleaning
      }
    }
  });
  return (fn) => void queued.push(fn);
}
