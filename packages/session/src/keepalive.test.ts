// Keepalive as plain values. PINGREQ keepAlive after the older of the last write and the last
// whole packet read; a peer that sends no whole packet for 1.5 x keepAlive is dead (half-open,
// or trickling bytes), and a PINGREQ unanswered within keepAlive ends the connection too. The
// driver ticks at due() and reports its writes with wrote().
import { describe, expect, test } from 'vitest';
import { PINGREQ, encodePublish, encodeUtf8 } from '@umqtt/codec';
import { KEEPALIVE_TIMEOUT } from './index.js';
import { connected, type Harness } from './session.test-support.js';

/** What a driver does at a tick: tick(), then the bytes it wrote go to the socket at once. */
function tickAt(h: Harness, now: number): string {
  h.session.tick(now);
  const out = h.take();
  if (out) h.session.wrote(now);
  return out;
}

const qos0 = (payload = new Uint8Array(1)) => encodePublish({ type: 3, topic: 't', payload });

describe('PINGREQ', () => {
  test('after keepAlive of silence; PINGRESP keeps the connection, and the next one follows keepAlive later', () => {
    const h = connected({ keepAlive: 10 }, 1000);
    expect(h.session.due()).toBe(11_000);
    expect(tickAt(h, 10_999)).toBe(''); // a timer that fires early
    expect(tickAt(h, 11_000)).toBe('c0 00');
    expect(h.owed).toEqual([true]); // a ping is owed like an acknowledgement
    expect(h.session.due()).toBe(16_000); // now only the dead-peer deadline: 1.5 x keepAlive after CONNACK
    h.feed('d0 00', 11_020);
    expect(h.session.due()).toBe(21_000); // keepAlive after the PINGREQ written at 11 s
    expect(tickAt(h, 21_000)).toBe('c0 00');
    expect(h.session.state).toBe('connected');
  });

  test('writes alone do not put it off: it counts from the older of the last write and the last read', () => {
    const h = connected({ keepAlive: 10 }, 1000);
    // (until 9 s: a QoS 0 publish within keepAlive / 8 of the deadline takes the PINGREQ along, keepalive-airtime.test.ts)
    for (let t = 2000; t <= 9000; t += 1000) {
      h.session.publish(t, 'a', encodeUtf8('x'));
      h.session.wrote(t);
    }
    h.take();
    expect(h.session.due()).toBe(11_000);
    expect(tickAt(h, 11_000)).toBe('c0 00');
  });

  test('reads alone do not put it off either', () => {
    const h = connected({ keepAlive: 10 }, 1000);
    for (let t = 2000; t <= 10_000; t += 1000) h.feed(qos0(), t);
    expect(h.session.due()).toBe(11_000);
    expect(tickAt(h, 11_000)).toBe('c0 00');
  });

  test('a quiet healthy connection, the driver ticking at due() and the broker answering: up for ever, a ping per keepAlive', () => {
    const h = connected({ keepAlive: 1 }, 0);
    let pings = 0;
    for (let i = 0; i < 1000; i++) {
      const now = h.session.due();
      if (now > 10_000) break;
      if (tickAt(h, now) === 'c0 00') {
        pings++;
        h.feed('d0 00', now + 20); // the broker answers 20 ms later
      }
    }
    expect(pings).toBe(10);
    expect(h.session.state).toBe('connected');
  });

  test('ping() sends one now; its PINGRESP is due within keepAlive', () => {
    const h = connected({ keepAlive: 10 }, 0);
    h.session.ping(3000);
    expect(h.types()).toEqual([PINGREQ]);
    expect(h.session.due()).toBe(13_000);
    expect(() => h.session.tick(13_000)).toThrow(expect.objectContaining({ code: KEEPALIVE_TIMEOUT }));
  });

  test('keepAlive 0: no ping and no dead peer, ever', () => {
    const h = connected({ keepAlive: 0 }, 0);
    expect(h.session.due()).toBe(Infinity);
    h.session.tick(1e12);
    expect(h.take()).toBe('');
  });

  test('no PINGREQ after DISCONNECT', () => {
    const h = connected({ keepAlive: 10 }, 0);
    h.session.disconnect();
    h.take();
    expect(h.session.due()).toBe(15_000); // only the dead-peer deadline is left
    h.session.tick(12_000);
    expect(h.take()).toBe('');
  });
});

describe('a dead peer', () => {
  test('nothing received for 1.5 x keepAlive although we keep publishing: the connection is dead (half-open)', () => {
    const h = connected({ keepAlive: 10 }, 1000);
    let out = '';
    for (let t = 2000; t <= 15_000; t += 1000) {
      h.session.publish(t, 'a', encodeUtf8('x'));
      out += ' ' + tickAt(h, t);
    }
    expect(out).toContain('c0 00'); // a ping went out although we were not silent
    expect(h.session.due()).toBe(16_000);
    h.session.tick(15_999);
    expect(() => h.session.tick(16_000)).toThrow(
      expect.objectContaining({
        code: KEEPALIVE_TIMEOUT,
        place: 'keepalive',
        message: expect.stringMatching(/no packet received for 15000 ms/),
      }),
    );
  });

  test('a peer that trickles bytes (no whole packet) after CONNACK: dead 1.5 x keepAlive after CONNACK, before the PINGREQ is overdue', () => {
    // The driver hands the session whole packets only: trickled bytes never reach it.
    const h = connected({ keepAlive: 1 }, 0);
    expect(tickAt(h, 1000)).toBe('c0 00');
    expect(h.session.due()).toBe(1500); // not 2000, when the PINGREQ would be overdue
    expect(() => h.session.tick(1500)).toThrow(
      expect.objectContaining({ code: KEEPALIVE_TIMEOUT, message: expect.stringMatching(/no packet received/) }),
    );
  });

  test('a PINGREQ unanswered within keepAlive ends the connection although whole packets keep coming', () => {
    const h = connected({ keepAlive: 10 }, 1000);
    let pinged = false;
    let error: unknown;
    for (let t = 2000; t <= 40_000 && !error; t += 1000) {
      h.feed(qos0(), t); // QoS 0 messages, never a PINGRESP
      try {
        if (tickAt(h, t) === 'c0 00') pinged = true;
      } catch (e) {
        error = e;
      }
    }
    expect(pinged).toBe(true);
    expect(error).toMatchObject({
      code: KEEPALIVE_TIMEOUT,
      place: 'keepalive',
      message: expect.stringMatching(/PINGRESP/),
    });
    expect(h.session.due()).toBe(21_000); // PINGREQ at 11 s, unanswered by 21 s
  });

  test('a broker gone silent (a blackhole): dead at 1.5 x keepAlive, and what was in flight ends aborted', () => {
    const h = connected({ keepAlive: 1 }, 0);
    const id = h.session.publish(10, 'void', encodeUtf8('into the void'), { qos: 1 });
    tickAt(h, 1000); // PINGREQ, never answered
    expect(() => h.session.tick(h.session.due())).toThrow(expect.objectContaining({ code: KEEPALIVE_TIMEOUT }));
    h.session.end(); // what the driver does with the error
    expect(h.statuses()).toEqual([[id, 'aborted']]);
  });
});
