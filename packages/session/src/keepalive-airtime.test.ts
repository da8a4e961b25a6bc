// Keepalive airtime (issue 24): no PINGREQ while traffic both ways shows the link alive, and a
// dead link still found within 1.5 x keepAlive of the last packet received. Plain values: a
// small event loop on virtual time drives the session, a broker model answers after a delay.
import { describe, expect, test } from 'vitest';
import { CONNACK, PINGREQ, PINGRESP, PUBACK, PUBLISH, Parser, serverDecoders, type Packet } from '@umqtt/codec';
import { KEEPALIVE_TIMEOUT, Session, type SessionOptions } from './index.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

interface Day {
  pings: number;
  /** PINGREQs written on their own (a timer's), not in the same flush as a publish: each wakes the radio. */
  alone: number;
  publishes: number;
  /** When the session ended the connection (Infinity: it did not). */
  closedAt: number;
  /** The last packet the session received before it ended the connection. */
  lastReceived: number;
}

/**
 * A day of one publish a minute (QoS `qos`), optionally a message from the broker every
 * `inboundEvery` ms, each answered after `rtt`; the application's timer fires up to `jitter` ms
 * early or late (deterministic, varying), as a device's does. From `deadFrom` on the link
 * delivers nothing in either direction (half-open).
 */
function day(
  opts: { qos: 0 | 1; inboundEvery?: number | undefined; rtt?: number; jitter?: number; deadFrom?: number },
  options: SessionOptions = { keepAlive: 60 },
): Day {
  const rtt = opts.rtt ?? 80;
  const jitter = opts.jitter ?? 20;
  const deadFrom = opts.deadFrom ?? Infinity;
  const parser = new Parser(serverDecoders);
  const arrivals: { at: number; packet: Packet }[] = [];
  let now = 0;
  let pings = 0;
  let alone = 0;
  let publishes = 0;
  const session = new Session(options, (bytes, tail) => {
    parser.push(bytes);
    if (tail) parser.push(tail);
    for (let p = parser.read(); p; p = parser.read()) {
      if (now >= deadFrom) continue;
      if (p.type === PINGREQ) {
        pings++;
        arrivals.push({ at: now + rtt, packet: { type: PINGRESP } });
      }
      if (p.type === PUBLISH) {
        publishes++;
        if (p.qos) arrivals.push({ at: now + rtt, packet: { type: PUBACK, id: p.id! } });
      }
    }
  });
  session.begin(0);
  session.received({ type: CONNACK, sessionPresent: false, returnCode: 0 }, rtt);
  let lastReceived = rtt;
  let n = 1;
  let inbound = opts.inboundEvery ?? Infinity;
  // a pseudo-random, repeatable jitter in [-jitter, +jitter]
  const jitterOf = (k: number) => ((((k * 7919) % 101) - 50) / 50) * jitter;
  for (let guard = 0; guard < 1_000_000; guard++) {
    const app = n * MINUTE + jitterOf(n);
    const arrival = arrivals.length ? Math.min(...arrivals.map((a) => a.at)) : Infinity;
    now = Math.min(app, arrival, inbound, session.due());
    if (now >= DAY) break;
    try {
      if (now === arrival) {
        const i = arrivals.findIndex((a) => a.at === arrival);
        const [{ packet }] = arrivals.splice(i, 1) as [{ at: number; packet: Packet }];
        lastReceived = now;
        session.received(packet, now);
      } else if (now === inbound) {
        inbound += opts.inboundEvery!;
        if (now < deadFrom) {
          lastReceived = now;
          session.received({ type: PUBLISH, topic: 'cmd', payload: new Uint8Array(1), qos: 0 }, now);
        }
      } else if (now === app) {
        n++;
        session.publish(now, 'home/dev/temperature', new Uint8Array(4), { qos: opts.qos });
        session.wrote(now);
      } else {
        const before = pings;
        session.tick(now);
        alone += pings - before;
        if (pings > before || now >= deadFrom) session.wrote(now);
      }
    } catch (e) {
      expect(e).toMatchObject({ code: KEEPALIVE_TIMEOUT });
      return { pings, alone, publishes, closedAt: now, lastReceived };
    }
    session.events.length = 0;
  }
  return { pings, alone, publishes, closedAt: Infinity, lastReceived };
}

describe('keepalive airtime', () => {
  test('one QoS 1 publish a minute, keepalive 60 s: traffic both ways, (almost) no PINGREQ', () => {
    const d = day({ qos: 1 });
    expect(d.closedAt).toBe(Infinity);
    expect(d.publishes).toBeGreaterThan(1400);
    // before the grace: 855 PINGREQs a day (the ping timer and the application's raced)
    expect(d.pings).toBeLessThanOrEqual(2);
  });

  test('one QoS 0 publish a minute, and a message from the broker every 50 s: no PINGREQ', () => {
    const d = day({ qos: 0, inboundEvery: 50_000 });
    expect(d.closedAt).toBe(Infinity);
    // before: 855
    expect(d.pings).toBeLessThanOrEqual(2);
  });

  test('one QoS 0 publish a minute, nothing from the broker: PINGREQ rides with the publish', () => {
    // Nothing from the broker says the link is alive, so a PINGREQ a minute stays (1,439 a day;
    // 1,438 before), but in the publish's flush instead of on its own (before: all 1,438 alone).
    const d = day({ qos: 0 });
    expect(d.closedAt).toBe(Infinity);
    expect(d.pings).toBeGreaterThan(900); // at least one answer per 1.5 x keepAlive is needed
    expect(d.alone).toBeLessThanOrEqual(2);
  });

  test("a QoS 0 publish within keepAlive / 8 of the receiving side's deadline takes the PINGREQ along; one way alone gets no grace", () => {
    const written: number[] = [];
    const s = new Session({ keepAlive: 10 }, (bytes) => written.push(bytes[0]!));
    s.begin(0);
    s.received({ type: CONNACK, sessionPresent: false, returnCode: 0 }, 0);
    s.publish(8000, 't', new Uint8Array(1)); // 2 s before the deadline: not yet
    s.wrote(8000);
    expect(written).toEqual([0x30]);
    expect(s.due()).toBe(10_000); // writes alone: keepAlive after the last read, no grace
    s.publish(8750, 't', new Uint8Array(1)); // within 1.25 s of it: PINGREQ in the same flush
    expect(written).toEqual([0x30, 0x30, 0xc0]);
    expect(s.due()).toBe(15_000); // the dead-peer deadline (1.5 x keepAlive after CONNACK) stays
    expect(() => s.tick(15_000)).toThrow(expect.objectContaining({ code: KEEPALIVE_TIMEOUT }));
  });

  test.each([0, 1] as const)(
    'a link that goes dead is found within 1.5 x keepAlive of the last packet (QoS %i)',
    (qos) => {
      for (const deadFrom of [3 * MINUTE + 1, 10 * MINUTE + 30_000, 47 * MINUTE + 59_990]) {
        const d = day({ qos, deadFrom, inboundEvery: qos ? undefined : 50_000 });
        expect(d.closedAt).toBeLessThanOrEqual(d.lastReceived + 90_000);
        expect(d.closedAt).toBeGreaterThan(deadFrom);
      }
    },
  );
});
