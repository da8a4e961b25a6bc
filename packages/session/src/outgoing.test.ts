// Outgoing packets and their acknowledgements as plain values: exact bytes out, the broker's
// bytes in, statuses out. QoS 0/1/2 stages, resends, SUBSCRIBE and UNSUBSCRIBE, misuse, and
// acknowledgements brokers repeat or send for ids we do not track.
import { describe, expect, test } from 'vitest';
import { INVALID_ARGUMENT, encodeUtf8 } from '@umqtt/codec';
import { ISSUE_EVENT, PROTOCOL_ERROR, STATUS_EVENT, TOO_LARGE, UNKNOWN_ID } from './index.js';
import { connected } from './session.test-support.js';

const hi = encodeUtf8('hi');

describe('publish', () => {
  test('QoS 0: exact bytes, returns 0, nothing in flight and nothing reported', () => {
    const h = connected();
    expect(h.session.publish(1, 'a', hi)).toBe(0);
    expect(h.take()).toBe('30 05 00 01 61 68 69');
    expect(h.session.inflight).toBe(0);
    expect(h.events()).toEqual([]);
  });

  test('retain flag, binary payload', () => {
    const h = connected();
    h.session.publish(1, 'a', new Uint8Array([0, 255]), { retain: true });
    expect(h.take()).toBe('31 05 00 01 61 00 ff');
  });

  test('QoS 1: PUBLISH with id 1, PUBACK reports delivered with its ref and frees the window', () => {
    const h = connected();
    expect(h.session.publish(1, 'a', hi, { qos: 1, ref: 'r1' })).toBe(1);
    expect(h.take()).toBe('32 07 00 01 61 00 01 68 69');
    expect(h.session.inflight).toBe(1);
    h.feed('40 02 00 01', 2);
    expect(h.events()).toEqual([{ type: STATUS_EVENT, id: 1, status: 'delivered', granted: undefined, ref: 'r1' }]);
    expect(h.session.inflight).toBe(0);
    expect(h.take()).toBe('');
  });

  test('QoS 2: PUBLISH, PUBREC answered with PUBREL (received), PUBCOMP delivers', () => {
    const h = connected();
    h.session.publish(1, 'a', hi, { qos: 2 });
    expect(h.take()).toBe('34 07 00 01 61 00 01 68 69');
    h.feed('50 02 00 01', 2);
    expect(h.take()).toBe('62 02 00 01');
    expect(h.statuses()).toEqual([[1, 'received']]);
    expect(h.session.inflight).toBe(1); // still in flight until PUBCOMP
    h.feed('70 02 00 01', 3);
    expect(h.statuses()).toEqual([[1, 'delivered']]);
    expect(h.session.inflight).toBe(0);
  });

  test('a broker that repeats PUBREC and PUBCOMP: PUBREL repeated, the second PUBCOMP an issue, nothing else', () => {
    const h = connected();
    h.session.publish(1, 'a', hi, { qos: 2 });
    h.take();
    h.feed('50 02 00 01 50 02 00 01 70 02 00 01 70 02 00 01', 2);
    expect(h.take()).toBe('62 02 00 01 62 02 00 01');
    const events = h.events();
    expect(events.filter((e) => e.type === STATUS_EVENT).map((e) => e.type === STATUS_EVENT && e.status)).toEqual([
      'received',
      'delivered',
    ]);
    expect(events.filter((e) => e.type === ISSUE_EVENT)).toMatchObject([{ error: { code: UNKNOWN_ID } }]);
    expect(h.session.state).toBe('connected');
  });

  test('a repeated PUBCOMP that arrives after its id went to a new message is ignored (found by the simulation, seed 1626)', () => {
    const h = connected();
    h.session.publish(1, 'a', encodeUtf8('x'), { qos: 2 });
    h.feed('50 02 00 01 70 02 00 01', 2); // id 1 is free again
    h.session.publish(3, 'a', encodeUtf8('y'), { qos: 1, id: 1 }); // and reused
    h.feed('70 02 00 01', 4); // the broker repeats its PUBCOMP
    h.feed('40 02 00 01', 5);
    const events = h.events();
    expect(events.flatMap((e) => (e.type === STATUS_EVENT ? [[e.id, e.status]] : []))).toEqual([
      [1, 'received'],
      [1, 'delivered'],
      [1, 'delivered'],
    ]);
    expect(events.flatMap((e) => (e.type === ISSUE_EVENT ? [e.error.code] : []))).toEqual([UNKNOWN_ID]);
  });

  test('a resend with the same id and DUP; release() resumes QoS 2 at PUBREL; an id in use is refused', () => {
    const h = connected();
    expect(h.session.publish(1, 'a', hi, { qos: 1, id: 77, dup: true })).toBe(77);
    expect(h.session.release(1, 78, 'kept')).toBe(78);
    expect(h.take()).toBe('3a 07 00 01 61 00 4d 68 69 62 02 00 4e');
    expect(() => h.session.publish(1, 'a', hi, { qos: 1, id: 77 })).toThrow(
      expect.objectContaining({ code: INVALID_ARGUMENT, place: 'publish', message: 'packet id 77 is in use' }),
    );
    expect(() => h.session.release(1, 78)).toThrow(expect.objectContaining({ code: INVALID_ARGUMENT }));
    h.feed('40 02 00 4d 70 02 00 4e', 2);
    expect(h.events()).toMatchObject([
      { id: 77, status: 'delivered' },
      { id: 78, status: 'delivered', ref: 'kept' },
    ]);
  });

  test('a released id expects PUBCOMP: a repeated PUBREC gets PUBREL again, a PUBACK is a protocol error', () => {
    const h = connected();
    h.session.release(1, 9);
    h.take();
    h.feed('50 02 00 09', 2);
    expect(h.take()).toBe('62 02 00 09');
    expect(h.events()).toEqual([]);
    expect(() => h.feed('40 02 00 09', 3)).toThrow(expect.objectContaining({ code: PROTOCOL_ERROR, place: 'read' }));
  });

  test('misuse throws at once with a clear error, and nothing is half-registered or written', () => {
    const h = connected({ maxPacketSize: 100 });
    const x = encodeUtf8('x');
    expect(() => h.session.publish(1, 'a/+', x)).toThrow(
      expect.objectContaining({ code: 'UMQTT_INVALID_TOPIC', place: 'publish' }),
    );
    expect(() => h.session.publish(1, 'a/#', x, { qos: 1 })).toThrow(/MQTT-3.3.2-2/);
    expect(() => h.session.publish(1, '', x)).toThrow(expect.objectContaining({ code: 'UMQTT_INVALID_TOPIC' }));
    expect(() => h.session.publish(1, 'a', x, { qos: 3 as 0 })).toThrow(
      expect.objectContaining({ code: INVALID_ARGUMENT, clause: 'MQTT-3.3.1-4', place: 'publish' }),
    );
    expect(() => h.session.publish(1, 'a', new Uint8Array(101), { qos: 1 })).toThrow(
      expect.objectContaining({ code: TOO_LARGE, place: 'publish' }),
    );
    expect(() => h.session.publish(1, 'a', x, { qos: 1, id: 0 })).toThrow(/MQTT-2.3.1-1/);
    expect(() => h.session.subscribe(1, [{ topic: 'a/#/b', qos: 0 }])).toThrow(
      expect.objectContaining({ code: 'UMQTT_INVALID_TOPIC', clause: 'MQTT-4.7.1-2', place: 'subscribe' }),
    );
    expect(() => h.session.unsubscribe(1, [''])).toThrow(
      expect.objectContaining({ code: 'UMQTT_INVALID_TOPIC', place: 'unsubscribe' }),
    );
    expect(h.session.inflight + h.session.queued).toBe(0);
    expect(h.take()).toBe('');
    expect(h.session.due()).toBe(60_000); // no message timeout armed: only the keepalive ping
  });
});

describe('payload handed over (copy: false)', () => {
  test('a payload of 4 KiB or more is written as it is after its header; a smaller one, or a copied one, is not', () => {
    const h = connected({ maxInflight: 1 });
    const big = new Uint8Array(8192).fill(1);
    const later = new Uint8Array(8192).fill(2);
    h.session.publish(1, 'a', big, { qos: 1, copy: false });
    h.session.publish(1, 'b', later, { qos: 1, id: 300, dup: true, copy: false }); // behind the window
    expect(h.written).toHaveLength(2);
    expect(h.written[1]).toBe(big);
    expect(h.packets()).toMatchObject([{ type: 3, topic: 'a', id: 1, qos: 1, dup: false, payload: big }]);
    h.feed('40 02 00 01', 2);
    expect(h.written[1]).toBe(later); // the waiting one too, with its DUP and its id
    expect(h.packets()).toMatchObject([{ type: 3, topic: 'b', id: 300, dup: true, payload: later }]);
    const small = new Uint8Array(4095);
    h.session.publish(3, 'c', small, { copy: false });
    h.session.publish(3, 'c', big); // copied by default
    expect(h.written).toHaveLength(2);
    expect(h.written).not.toContain(small);
    expect(h.written).not.toContain(big);
  });

  test('the header counts in maxPacketSize; more than MQTT allows is refused, copied or not', () => {
    const h = connected({ maxPacketSize: 5000 });
    expect(() => h.session.publish(1, 'a', new Uint8Array(4995), { copy: false })).toThrow(
      expect.objectContaining({
        code: TOO_LARGE,
        place: 'publish',
        message: 'packet of 5001 bytes is over maxPacketSize 5000',
      }),
    );
    h.session.publish(1, 'a', new Uint8Array(4994), { copy: false }); // 1 + 2 + 2 + 1 + 4994: exactly 5000
    expect(h.written.reduce((n, b) => n + b.length, 0)).toBe(5000);
    // Asked for more than MQTT allows, the codec keeps to 268,435,455 bytes after the fixed
    // header, copied or not (the array is never read: it is refused before anything is written).
    const big = connected({ maxPacketSize: 2 ** 30 });
    const huge = new Uint8Array(268_435_455 - 2); // with 'a' (3 bytes), one byte too many
    for (const copy of [false, true])
      expect(() => big.session.publish(1, 'a', huge, { copy, qos: 1 })).toThrow(
        expect.objectContaining({
          code: INVALID_ARGUMENT,
          place: 'publish',
          message: expect.stringMatching(/packet body: expected at most 268435455 bytes/),
        }),
      );
    expect(big.session.inflight + big.session.queued).toBe(0);
    expect(big.take()).toBe('');
  });
});

describe('subscribe and unsubscribe', () => {
  test('several filters with a QoS each: exact bytes; a refused filter is reported with SUBACK codes', () => {
    const h = connected();
    const list = [
      { topic: 'a/#', qos: 1 as const },
      { topic: 'b', qos: 0 as const },
    ];
    expect(h.session.subscribe(1, list)).toBe(1);
    expect(h.take()).toBe('82 0c 00 01 00 03 61 2f 23 01 00 01 62 00');
    h.feed('90 04 00 01 01 80', 2);
    expect(h.statuses()).toEqual([[1, 'refused', [1, 0x80]]]);
    expect(h.session.subscribe(3, [{ topic: 'c', qos: 2 }])).toBe(2);
    h.feed('90 03 00 02 02', 4);
    expect(h.statuses()).toEqual([[2, 'delivered', [2]]]);
    expect(h.session.inflight).toBe(0); // subscriptions never take a place in the window
  });

  test('unsubscribe: exact bytes, UNSUBACK reports delivered', () => {
    const h = connected();
    expect(h.session.unsubscribe(1, ['a/#', 'b'])).toBe(1);
    expect(h.take()).toBe('a2 0a 00 01 00 03 61 2f 23 00 01 62');
    h.feed('b0 02 00 01', 2);
    expect(h.statuses()).toEqual([[1, 'delivered']]);
  });

  test('publishes, subscriptions and unsubscriptions share one packet id space', () => {
    const h = connected();
    expect(h.session.publish(1, 'a', hi, { qos: 1 })).toBe(1);
    expect(h.session.subscribe(1, [{ topic: 'a', qos: 0 }])).toBe(2);
    expect(h.session.unsubscribe(1, ['a'])).toBe(3);
    expect(h.session.publish(1, 'a', hi, { qos: 2 })).toBe(4);
  });

  test("a ref given to subscribe() or unsubscribe() comes back with each of its statuses, as a publish's", () => {
    const h = connected({ messageTimeout: 100, keepAlive: 0 });
    const subs = [{ topic: 'a', qos: 1 as const }];
    const unsubs = ['b'];
    const refs = () => h.events().map((e) => (e.type === STATUS_EVENT ? [e.id, e.status, e.ref] : []));
    expect(h.session.subscribe(1, subs, subs)).toBe(1);
    expect(h.session.unsubscribe(1, unsubs, unsubs)).toBe(2);
    expect(h.session.subscribe(1, [{ topic: 'c', qos: 0 }], 'refused one')).toBe(3);
    expect(h.session.unsubscribe(1, ['d'], 'late one')).toBe(4);
    expect(h.session.subscribe(1, [{ topic: 'e', qos: 0 }], 'aborted one')).toBe(5);
    h.feed('90 03 00 01 01 b0 02 00 02 90 03 00 03 80', 2);
    expect(refs()).toEqual([
      [1, 'delivered', subs],
      [2, 'delivered', unsubs],
      [3, 'refused', 'refused one'],
    ]);
    h.session.tick(101); // ids 4 and 5 time out; 4's UNSUBACK comes late
    h.feed('b0 02 00 04', 102);
    expect(refs()).toEqual([
      [4, 'timeout', 'late one'],
      [5, 'timeout', 'aborted one'],
      [4, 'unknown', 'late one'],
    ]);
    expect(h.session.subscribe(103, [{ topic: 'f', qos: 0 }], 'ended')).toBe(6);
    h.session.end();
    expect(refs()).toEqual([[6, 'aborted', 'ended']]);
  });

  test('a SUBACK with another number of codes than filters is a protocol error [MQTT-3.9.3-1]', () => {
    const h = connected();
    h.session.subscribe(1, [{ topic: 'a', qos: 0 }]);
    expect(() => h.feed('90 04 00 01 00 00', 2)).toThrow(
      expect.objectContaining({ code: PROTOCOL_ERROR, clause: 'MQTT-3.9.3-1', place: 'subscribe' }),
    );
  });
});

describe('acknowledgements of the wrong kind, or for ids we do not track (as libmosquitto and MQTT.js)', () => {
  test('PUBREC for an unknown id is answered with PUBREL; PUBACK, PUBCOMP, SUBACK, UNSUBACK are issues only', () => {
    const h = connected();
    h.feed('50 02 00 07 40 02 00 08 70 02 00 09 90 03 00 0a 00 b0 02 00 0b', 1);
    expect(h.take()).toBe('62 02 00 07');
    const events = h.events();
    expect(events.map((e) => e.type)).toEqual(Array(5).fill(ISSUE_EVENT));
    expect(events).toMatchObject(Array(5).fill({ error: { code: UNKNOWN_ID, place: 'read' } }));
    expect(h.session.state).toBe('connected');
  });

  test.each([
    ['SUBACK for a QoS 1 message', 1, '90 03 00 01 00'],
    ['PUBREC for a QoS 1 message', 1, '50 02 00 01'],
    ['PUBACK for a QoS 2 message awaiting PUBREC', 2, '40 02 00 01'],
    ['UNSUBACK for a QoS 1 message', 1, 'b0 02 00 01'],
  ] as const)('%s is a protocol error, place read', (_, qos, bytes) => {
    const h = connected();
    h.session.publish(1, 'a', hi, { qos });
    expect(() => h.feed(bytes, 2)).toThrow(expect.objectContaining({ code: PROTOCOL_ERROR, place: 'read' }));
  });

  test('PUBACK for a subscription is a protocol error', () => {
    const h = connected();
    h.session.subscribe(1, [{ topic: 'a', qos: 1 }]);
    expect(() => h.feed('40 02 00 01', 2)).toThrow(expect.objectContaining({ code: PROTOCOL_ERROR }));
  });

  test('an acknowledgement for a message still waiting for the window (never written) is an issue, not a status', () => {
    const h = connected({ maxInflight: 1 });
    h.session.publish(1, 'a', hi, { qos: 1 });
    h.session.publish(1, 'a', hi, { qos: 1 });
    h.feed('40 02 00 02', 2);
    expect(h.events()).toMatchObject([{ type: ISSUE_EVENT, error: { code: UNKNOWN_ID } }]);
    expect(h.session.queued).toBe(1);
  });
});
