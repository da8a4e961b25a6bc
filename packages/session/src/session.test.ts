// The session core, as plain functions of packets and times: no socket, no clock, no settle().
import { describe, expect, test } from 'vitest';
import {
  CONNACK,
  PINGRESP,
  PUBACK,
  PUBCOMP,
  PUBLISH,
  PUBREC,
  PUBREL,
  SUBACK,
  UNSUBACK,
  Parser,
  serverDecoders,
  type Packet,
} from '@umqtt/codec';
import {
  CONNECTED_EVENT,
  CONNECT_TIMEOUT,
  INCOMING_EVENT,
  ISSUE_EVENT,
  KEEPALIVE_TIMEOUT,
  MESSAGE_EVENT,
  PROTOCOL_ERROR,
  QUEUE_FULL,
  STATUS_EVENT,
  Session,
  UNKNOWN_ID,
  type SessionEvent,
  type SessionOptions,
} from './index.js';

/** A session, what it wrote (decoded as a broker reads it) and what it reported. */
function harness(options: SessionOptions = {}) {
  const parser = new Parser(serverDecoders);
  const written: Packet[] = [];
  const owed: boolean[] = [];
  const session = new Session(options, (bytes, tail, isOwed) => {
    parser.push(bytes);
    if (tail) parser.push(tail);
    for (let p = parser.read(); p; p = parser.read()) {
      written.push(p);
      owed.push(isOwed);
    }
  });
  return {
    session,
    /** Packet types written since the last call. */
    wrote(): Packet[] {
      return written.splice(0);
    },
    owed,
    /** Events since the last call. */
    events(): SessionEvent[] {
      return session.events.splice(0);
    },
  };
}

const connack = (sessionPresent = false, returnCode = 0): Packet => ({ type: CONNACK, sessionPresent, returnCode });
const payload = new Uint8Array([1, 2, 3]);

function connected(options: SessionOptions = {}, now = 0) {
  const h = harness(options);
  h.session.begin(now);
  h.session.received(connack(), now);
  h.events();
  return h;
}

describe('connecting', () => {
  test('CONNACK accepted: one CONNECTED event with the session-present flag', () => {
    const h = harness({ clean: false });
    h.session.begin(0);
    expect(h.session.state).toBe('connecting');
    h.session.received(connack(true), 5);
    expect(h.events()).toEqual([{ type: CONNECTED_EVENT, sessionPresent: true }]);
    expect(h.session.state).toBe('connected');
  });

  test('a refusal, a packet before CONNACK and session present on a clean session are thrown, with their codes', () => {
    const h = harness();
    h.session.begin(0);
    expect(() => h.session.received(connack(false, 5), 1)).toThrow(expect.objectContaining({ reasonCode: 5 }));
    h.session.begin(0);
    expect(() => h.session.received({ type: PINGRESP }, 1)).toThrow(
      expect.objectContaining({ code: PROTOCOL_ERROR, clause: 'MQTT-3.2.0-1' }),
    );
    h.session.begin(0);
    expect(() => h.session.received(connack(true), 1)).toThrow(expect.objectContaining({ clause: 'MQTT-3.2.2-1' }));
  });

  test('no CONNACK by connectTimeout: the deadline is due() and tick() throws only once it has passed', () => {
    const h = harness({ connectTimeout: 1000 });
    h.session.begin(100);
    expect(h.session.due()).toBe(1100);
    h.session.tick(1099); // a timer that fires early finds nothing to do
    expect(() => h.session.tick(1100)).toThrow(expect.objectContaining({ code: CONNECT_TIMEOUT }));
  });
});

describe('publishing', () => {
  test('QoS 1: PUBLISH out, PUBACK in, delivered with the ref it was given', () => {
    const h = connected();
    const id = h.session.publish(10, 't', payload, { qos: 1, ref: 'k1' });
    expect(h.wrote()).toMatchObject([{ type: PUBLISH, id, qos: 1, topic: 't' }]);
    expect(h.session.inflight).toBe(1);
    h.session.received({ type: PUBACK, id }, 20);
    expect(h.events()).toEqual([{ type: STATUS_EVENT, id, status: 'delivered', granted: undefined, ref: 'k1' }]);
    expect(h.session.inflight).toBe(0);
  });

  test('QoS 2: PUBREC answered with PUBREL (received), PUBCOMP delivers; a repeated PUBREC is answered again', () => {
    const h = connected();
    const id = h.session.publish(0, 't', payload, { qos: 2 });
    h.wrote();
    h.session.received({ type: PUBREC, id }, 1);
    expect(h.wrote()).toMatchObject([{ type: PUBREL, id }]);
    h.session.received({ type: PUBREC, id }, 2);
    expect(h.wrote()).toMatchObject([{ type: PUBREL, id }]);
    h.session.received({ type: PUBCOMP, id }, 3);
    expect(h.events().map((e) => e.type === STATUS_EVENT && e.status)).toEqual(['received', 'delivered']);
  });

  test('beyond the window messages wait, and go out as acknowledgements free it; maxQueued bounds the wait', () => {
    const h = connected({ maxInflight: 2, maxQueued: 1 });
    const a = h.session.publish(0, 't', payload, { qos: 1 });
    h.session.publish(0, 't', payload, { qos: 1 });
    expect(h.session.open).toBe(false);
    const c = h.session.publish(0, 't', payload, { qos: 1 });
    expect(h.wrote()).toHaveLength(2);
    expect(h.session.queued).toBe(1);
    expect(() => h.session.publish(0, 't', payload, { qos: 1 })).toThrow(expect.objectContaining({ code: QUEUE_FULL }));
    h.session.received({ type: PUBACK, id: a }, 5);
    expect(h.wrote()).toMatchObject([{ type: PUBLISH, id: c }]);
  });

  test('a timeout keeps the message in the window; its late acknowledgement reports unknown and frees it', () => {
    const h = connected({ maxInflight: 1, messageTimeout: 100 });
    const id = h.session.publish(0, 't', payload, { qos: 1, ref: 'r' });
    expect(h.session.due()).toBe(100);
    h.session.tick(100);
    expect(h.events()).toMatchObject([{ type: STATUS_EVENT, id, status: 'timeout', ref: 'r' }]);
    expect(h.session.inflight).toBe(1); // the broker still counts it
    h.session.received({ type: PUBACK, id }, 150);
    expect(h.events()).toMatchObject([{ type: STATUS_EVENT, id, status: 'unknown', ref: 'r' }]);
    expect(h.session.inflight).toBe(0);
  });

  test('an acknowledgement for an id not in flight is an issue, not an error; PUBREC is released', () => {
    const h = connected();
    h.session.received({ type: PUBREC, id: 9 }, 1);
    expect(h.wrote()).toMatchObject([{ type: PUBREL, id: 9 }]);
    expect(h.events()).toMatchObject([{ type: ISSUE_EVENT, error: { code: UNKNOWN_ID } }]);
    const id = h.session.publish(2, 't', payload, { qos: 1 });
    expect(() => h.session.received({ type: PUBCOMP, id }, 3)).not.toThrow(); // a stale PUBCOMP is ignored
    expect(() => h.session.received({ type: PUBREC, id }, 3)).toThrow(
      expect.objectContaining({ code: PROTOCOL_ERROR }),
    );
  });

  test('SUBSCRIBE and UNSUBSCRIBE: their acknowledgements, a refusal, and a SUBACK with the wrong count', () => {
    const h = connected();
    const s = h.session.subscribe(0, [
      { topic: 'a', qos: 1 },
      { topic: 'b', qos: 2 },
    ]);
    h.session.received({ type: SUBACK, id: s, granted: [1, 0x80] }, 1);
    expect(h.events()).toMatchObject([{ id: s, status: 'refused', granted: [1, 0x80] }]);
    const u = h.session.unsubscribe(2, ['a']);
    h.session.received({ type: UNSUBACK, id: u }, 3);
    expect(h.events()).toMatchObject([{ id: u, status: 'delivered' }]);
    const bad = h.session.subscribe(4, [{ topic: 'c', qos: 0 }]);
    expect(() => h.session.received({ type: SUBACK, id: bad, granted: [0, 0] }, 5)).toThrow(
      expect.objectContaining({ clause: 'MQTT-3.9.3-1' }),
    );
  });

  test('end(): every id in flight or waiting is aborted, and a timeout not yet handed over becomes aborted', () => {
    const h = connected({ maxInflight: 1, messageTimeout: 10 });
    const a = h.session.publish(0, 't', payload, { qos: 1 });
    const b = h.session.publish(0, 't', payload, { qos: 1 });
    h.session.tick(10);
    h.session.end();
    expect(h.events().map((e) => e.type === STATUS_EVENT && [e.id, e.status])).toEqual([
      [a, 'aborted'],
      [b, 'aborted'],
    ]);
  });

  test('nothing is written after DISCONNECT, not even an acknowledgement', () => {
    const h = connected();
    h.session.disconnect();
    h.session.received({ type: PUBLISH, topic: 't', payload, qos: 1, id: 4, dup: false, retain: false }, 1);
    expect(h.wrote().map((p) => p.type)).toEqual([14]);
  });
});

describe('keepalive', () => {
  test('PINGREQ when keepAlive passed since the last write or read; no PINGRESP within keepAlive ends it', () => {
    const h = connected({ keepAlive: 10 });
    expect(h.session.due()).toBe(10_000);
    h.session.tick(10_000);
    h.session.wrote(10_000); // the driver wrote PINGREQ
    expect(h.wrote().map((p) => p.type)).toEqual([12]);
    expect(h.session.due()).toBe(15_000); // dead peer: 1.5 x keepAlive since the last packet
    h.session.received({ type: PINGRESP }, 12_000);
    expect(h.session.due()).toBe(20_000); // the next ping: keepAlive after the older of the last write and read
    h.session.tick(19_999);
    expect(h.wrote()).toEqual([]);
    h.session.tick(20_000);
    h.session.wrote(20_000);
    expect(h.wrote().map((p) => p.type)).toEqual([12]);
    expect(h.session.due()).toBe(27_000); // nothing since the PINGRESP at 12 s
    expect(() => h.session.tick(27_000)).toThrow(expect.objectContaining({ code: KEEPALIVE_TIMEOUT }));
  });

  test('dueBy() covers what a call changed, never earlier than due(); a message written before may time out sooner', () => {
    const h = connected({ keepAlive: 60, messageTimeout: 100 });
    h.session.publish(5, 't', payload, { qos: 1 });
    expect(h.session.dueBy(5)).toBe(105); // the message just written
    expect(h.session.due()).toBe(105);
    h.session.publish(50, 't', payload, { qos: 1 });
    expect(h.session.dueBy(50)).toBe(150); // the one written at 50...
    expect(h.session.due()).toBe(105); // ...while the one written at 5 is due first: the timer armed for it stays
    h.session.tick(105);
    expect(h.events()).toMatchObject([{ type: STATUS_EVENT, id: 1, status: 'timeout' }]);
    expect(h.session.due()).toBe(150);
  });
});

describe('receiving', () => {
  const publish = (id: number, qos: 0 | 1 | 2, dup = false): Packet => ({
    type: PUBLISH,
    topic: 'in',
    payload,
    qos,
    id: qos ? id : undefined,
    dup,
    retain: false,
  });

  test('QoS 2: handed over once, PUBREC, the id held until PUBREL (INCOMING events say so)', () => {
    const h = connected({ clean: false });
    h.session.received(publish(7, 2), 1);
    h.session.received(publish(7, 2, true), 2); // resent before PUBREL
    expect(h.wrote().map((p) => p.type)).toEqual([PUBREC, PUBREC]);
    expect(h.events().map((e) => e.type)).toEqual([INCOMING_EVENT, MESSAGE_EVENT]);
    expect(h.session.saved.incoming).toEqual([7]);
    h.session.received({ type: PUBREL, id: 7 }, 3);
    expect(h.wrote()).toMatchObject([{ type: PUBCOMP, id: 7 }]);
    expect(h.events()).toEqual([{ type: INCOMING_EVENT, id: 7, held: false }]);
  });

  test('a restored session (after a reboot) does not hand over again a QoS 2 message it acknowledged', () => {
    const h = harness({ clean: false });
    h.session.restore({ incoming: [7], nextId: 41 });
    h.session.begin(0);
    h.session.received(connack(true), 0);
    h.events();
    h.session.received(publish(7, 2, true), 1);
    expect(h.events()).toEqual([]);
    expect(h.wrote()).toMatchObject([{ type: PUBREC, id: 7 }]);
    expect(h.session.publish(2, 't', payload, { qos: 1 })).toBe(42);
  });

  test('a broker without our session holds nothing of ours awaiting PUBREL: the held ids are released', () => {
    const h = harness({ clean: false });
    h.session.restore({ incoming: [3] });
    h.session.begin(0);
    h.session.received(connack(false), 0);
    expect(h.events()).toEqual([
      { type: INCOMING_EVENT, id: 3, held: false },
      { type: CONNECTED_EVENT, sessionPresent: false },
    ]);
  });

  test('manual acknowledgements: nothing sent until ack(); a resend meanwhile is not handed over again', () => {
    const h = connected({ manualAcks: true, maxUnacked: 2 });
    h.session.received(publish(1, 1), 1);
    h.session.received(publish(2, 2), 1);
    h.session.received(publish(2, 2, true), 2);
    expect(h.wrote()).toEqual([]);
    expect(h.events().filter((e) => e.type === MESSAGE_EVENT)).toHaveLength(2);
    expect(h.session.unacked).toBe(2);
    h.session.ack(2);
    h.session.ack(1);
    h.session.ack(1); // twice: ignored
    expect(h.wrote().map((p) => [p.type, 'id' in p && p.id])).toEqual([
      [PUBREC, 2],
      [PUBACK, 1],
    ]);
    expect(h.session.unacked).toBe(0);
  });

  test('acknowledgements are marked owed (what a driver bounds when the broker stops reading), publishes are not', () => {
    const h = connected();
    h.owed.length = 0;
    h.session.received(publish(1, 1), 1);
    h.session.publish(2, 't', payload, { qos: 1 });
    expect(h.owed).toEqual([true, false]);
  });
});
