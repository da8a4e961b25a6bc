// Incoming messages as plain values: the broker's bytes in; the messages handed over, the
// acknowledgements written and the incoming QoS 2 ids held out. Automatic and manual
// acknowledgements, and a session restored after a reboot.
import { describe, expect, test } from 'vitest';
import { PUBACK, PUBCOMP, PUBLISH, PUBREC, decodeUtf8, encodePublish, encodeUtf8 } from '@umqtt/codec';
import { CONNECTED_EVENT, INCOMING_EVENT, MESSAGE_EVENT } from './index.js';
import { connack, connected, harness } from './session.test-support.js';

describe('automatic acknowledgements', () => {
  test('QoS 0, 1 (PUBACK) and 2 (PUBREC, handed over once, PUBCOMP on PUBREL): exact bytes', () => {
    const h = connected();
    h.feed('30 05 00 01 61 68 69', 1); // QoS 0
    expect(h.take()).toBe('');
    h.feed('33 07 00 01 62 00 05 68 69', 2); // QoS 1 retained, id 5
    expect(h.take()).toBe('40 02 00 05');
    h.feed('34 07 00 01 63 00 09 68 69', 3); // QoS 2, id 9
    h.feed('3c 07 00 01 63 00 09 68 69', 4); // the same again with DUP before PUBREL
    expect(h.take()).toBe('50 02 00 09 50 02 00 09');
    h.feed('62 02 00 09', 5);
    expect(h.take()).toBe('70 02 00 09');
    h.feed('34 07 00 01 63 00 09 68 69', 6); // id 9 reused after PUBREL: a new message
    expect(h.take()).toBe('50 02 00 09');
    expect(h.messages().map((m) => [m.topic, decodeUtf8(m.payload), m.qos, m.retain, m.dup, m.id])).toEqual([
      ['a', 'hi', 0, false, false, 0],
      ['b', 'hi', 1, true, false, 5],
      ['c', 'hi', 2, false, false, 9],
      ['c', 'hi', 2, false, false, 9],
    ]);
  });

  test('QoS 2: the id is held (and PUBREC written) before the message is handed over, so a reboot between cannot double it', () => {
    const h = connected({ clean: false });
    const session = h.session;
    // each write records how many events the session had reported by then
    const order: string[] = [];
    const write = h.written.push.bind(h.written);
    h.written.push = (...bytes) => (order.push(`write, ${session.events.length} events`), write(...bytes));
    h.feed('34 07 00 01 63 00 09 68 69', 1);
    expect(order).toEqual(['write, 1 events']);
    expect(h.events().map((e) => e.type)).toEqual([INCOMING_EVENT, MESSAGE_EVENT]);
    expect(session.saved.incoming).toEqual([9]);
    h.feed('62 02 00 09', 2);
    expect(h.events()).toEqual([{ type: INCOMING_EVENT, id: 9, held: false }]);
    expect(session.saved.incoming).toEqual([]);
  });

  test('QoS 1 duplicates are handed over again (at least once), each acknowledged', () => {
    const h = connected();
    h.feed('32 07 00 01 62 00 05 68 69', 1);
    h.feed('3a 07 00 01 62 00 05 68 69', 2); // DUP
    expect(h.take()).toBe('40 02 00 05 40 02 00 05');
    expect(h.messages().map((m) => m.dup)).toEqual([false, true]);
  });

  test('PUBREL for an id not held (our session lost it) is still completed, and reports nothing', () => {
    const h = connected({ clean: false });
    h.feed('62 02 00 0c', 1);
    expect(h.take()).toBe('70 02 00 0c');
    expect(h.events()).toEqual([]);
  });
});

describe('manual acknowledgements', () => {
  const qos = (q: 1 | 2, id: number, dup = false) =>
    encodePublish({ type: PUBLISH, topic: 'b', payload: encodeUtf8('hi'), qos: q, id, dup });

  test('QoS 2: PUBREC only at ack(), then the id is held until PUBREL; unacked counts what waits', () => {
    const h = connected({ manualAcks: true, maxUnacked: 4 });
    h.feed(qos(2, 3), 1);
    expect(h.take()).toBe('');
    expect(h.session.unacked).toBe(1);
    expect(h.events().map((e) => e.type)).toEqual([MESSAGE_EVENT]); // not yet held
    h.session.ack(3);
    expect(h.take()).toBe('50 02 00 03');
    expect(h.events()).toEqual([{ type: INCOMING_EVENT, id: 3, held: true }]);
    h.feed(qos(2, 3, true), 2); // resent before PUBREL: PUBREC again, not handed over again
    expect(h.take()).toBe('50 02 00 03');
    expect(h.events()).toEqual([]);
    h.feed('62 02 00 03', 3);
    expect(h.types()).toEqual([PUBCOMP]);
    expect(h.session.unacked).toBe(0);
  });

  test('acknowledgements go out in the order the application gives them; unknown and repeated ids are ignored', () => {
    const h = connected({ manualAcks: true });
    for (const p of [qos(1, 1), qos(2, 2), qos(1, 3)]) h.feed(p, 1);
    expect(h.session.unacked).toBe(3);
    h.session.ack(3);
    h.session.ack(99);
    h.session.ack(1);
    h.session.ack(1);
    h.session.ack(2);
    expect(h.packets().map((p) => [p.type, 'id' in p && p.id])).toEqual([
      [PUBACK, 3],
      [PUBACK, 1],
      [PUBREC, 2],
    ]);
    expect(h.owed).toEqual([true, true, true]);
  });

  test('maxUnacked is what the driver reads: the session itself hands over whatever it is given', () => {
    const h = connected({ manualAcks: true, maxUnacked: 2 });
    expect(h.session.maxUnacked).toBe(2);
    for (const p of [qos(1, 1), qos(1, 2), qos(1, 3)]) h.feed(p, 1);
    expect(h.session.unacked).toBe(3);
    expect(h.messages()).toHaveLength(3);
  });

  test('the connection ends: what waits for ack() is forgotten; the broker resends it, and it is handed over again', () => {
    const h = harness({ manualAcks: true, clean: false });
    h.session.begin(0);
    h.session.received(connack(), 0);
    h.feed(qos(1, 7), 1);
    h.session.end();
    expect(h.session.unacked).toBe(0);
    h.session.ack(7); // a late ack() of the old connection
    expect(h.take()).toBe('');
    h.session.begin(10);
    h.session.received(connack(true), 10);
    h.events();
    h.feed(qos(1, 7, true), 11);
    expect(h.messages()).toMatchObject([{ id: 7, dup: true }]);
    h.session.ack(7);
    expect(h.take()).toBe('40 02 00 07');
  });

  test('ack() after DISCONNECT writes nothing', () => {
    const h = connected({ manualAcks: true });
    h.feed(qos(1, 4), 1);
    h.session.disconnect();
    h.take();
    h.session.ack(4);
    expect(h.take()).toBe('');
  });
});

describe('a session restored after a reboot', () => {
  test('a QoS 2 message acknowledged before the reboot is not handed over again; the broker’s PUBREL releases it', () => {
    const h = harness({ clean: false });
    h.session.restore({ incoming: [7, 8], nextId: 41 });
    h.session.begin(0);
    h.feed('20 02 01 00', 0);
    expect(h.events()).toEqual([{ type: CONNECTED_EVENT, sessionPresent: true }]);
    h.feed('3c 07 00 01 63 00 07 68 69', 1); // resent with DUP: the broker had our PUBREC lost
    expect(h.take()).toBe('50 02 00 07');
    expect(h.events()).toEqual([]);
    h.feed('62 02 00 08', 2);
    expect(h.take()).toBe('70 02 00 08');
    expect(h.events()).toEqual([{ type: INCOMING_EVENT, id: 8, held: false }]);
    expect(h.session.saved).toEqual({ nextId: 41, incoming: [7] });
    expect(h.session.publish(3, 't', new Uint8Array(1), { qos: 1 })).toBe(42);
  });

  test('the ids held survive a lost connection when the broker keeps the session', () => {
    const h = harness({ clean: false });
    h.session.begin(0);
    h.feed('20 02 00 00', 0);
    h.feed('34 07 00 01 63 00 09 68 69', 1);
    h.session.end(); // before PUBREL
    h.session.begin(10);
    h.feed('20 02 01 00', 10);
    h.events();
    h.take();
    h.feed('3c 07 00 01 63 00 09 68 69', 11);
    expect(h.messages()).toEqual([]);
    expect(h.take()).toBe('50 02 00 09');
  });

  test('a clean session starts with nothing held: a restored id is a new message', () => {
    const h = harness({ clean: true });
    h.session.restore({ incoming: [7] });
    h.session.begin(0);
    h.feed('20 02 00 00', 0);
    expect(h.events()).toEqual([{ type: CONNECTED_EVENT, sessionPresent: false }]);
    h.feed('34 07 00 01 63 00 07 68 69', 1);
    expect(h.messages()).toHaveLength(1);
    expect(h.session.saved.incoming).toEqual([7]);
  });
});
