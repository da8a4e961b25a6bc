// The in-flight window, the waiting list and packet ids as plain values: never more QoS 1/2
// messages in flight than maxInflight (timed-out ones included: the broker still counts them),
// the rest waits in order, bounded by maxQueued; ids unique while in use, and running out clearly.
import { describe, expect, it, test } from 'vitest';
import { INVALID_ARGUMENT, encodeUtf8 } from '@umqtt/codec';
import { NO_PACKET_ID, QUEUE_FULL } from './index.js';
import { connected } from './session.test-support.js';

const digit = (n: number) => encodeUtf8(String(n));

describe('window and waiting list', () => {
  test('beyond the window messages wait locally, in order, and go out as acknowledgements free it', () => {
    const h = connected({ maxInflight: 2 });
    h.session.publish(1, 'a', digit(1), { qos: 1 });
    expect(h.session.open).toBe(true);
    h.session.publish(1, 'a', digit(2), { qos: 2 });
    expect(h.session.open).toBe(false);
    h.session.publish(1, 'a', digit(3), { qos: 1 });
    expect(h.take()).toBe('32 06 00 01 61 00 01 31 34 06 00 01 61 00 02 32');
    expect([h.session.inflight, h.session.queued]).toEqual([2, 1]);
    h.feed('40 02 00 01', 2);
    expect(h.take()).toBe('32 06 00 01 61 00 03 33');
    expect([h.session.inflight, h.session.queued]).toEqual([2, 0]);
    expect(h.session.open).toBe(false); // full again
    h.feed('50 02 00 02', 3);
    expect(h.session.open).toBe(false); // PUBREC does not free the place: PUBCOMP does
    h.feed('70 02 00 02', 3);
    expect(h.take()).toBe('62 02 00 02');
    expect(h.session.open).toBe(true);
    h.feed('40 02 00 03', 4);
    expect(h.statuses().map(([id, s]) => `${id}:${s}`)).toEqual([
      '1:delivered',
      '2:received',
      '2:delivered',
      '3:delivered',
    ]);
    expect(h.session.inflight).toBe(0);
  });

  test('a waiting message times out from when it went out, not from when it was published', () => {
    const h = connected({ maxInflight: 1, messageTimeout: 1000, keepAlive: 0 });
    h.session.publish(0, 'a', digit(1), { qos: 1 });
    h.session.publish(0, 'a', digit(2), { qos: 1 });
    expect(h.session.due()).toBe(1000); // only the first is in flight
    h.feed('40 02 00 01', 600);
    expect(h.packets()).toMatchObject([{ id: 1 }, { id: 2 }]);
    expect(h.session.due()).toBe(1600);
    h.session.tick(1000);
    expect(h.statuses()).toEqual([[1, 'delivered']]);
    h.session.tick(1600);
    expect(h.statuses()).toEqual([[2, 'timeout']]);
  });

  test('maxQueued bounds the waiting list (QUEUE_FULL, place publish); the list is left as it was', () => {
    const h = connected({ maxInflight: 1, maxQueued: 2 });
    h.session.publish(1, 'a', digit(1), { qos: 1 });
    h.session.publish(1, 'a', digit(2), { qos: 1 });
    h.session.publish(1, 'a', digit(3), { qos: 2 });
    expect(() => h.session.publish(1, 'a', digit(4), { qos: 1 })).toThrow(
      expect.objectContaining({ code: QUEUE_FULL, place: 'publish' }),
    );
    expect(h.session.queued).toBe(2);
    h.feed('40 02 00 01', 2);
    expect(h.packets()).toMatchObject([{ id: 1 }, { id: 2 }]);
    expect(h.session.publish(3, 'a', digit(4), { qos: 1 })).toBe(4); // room again; the refused one took no id
  });

  test('end(): the window and the waiting list are emptied, each of their ids aborted in order', () => {
    const h = connected({ maxInflight: 1 });
    h.session.publish(1, 'a', digit(1), { qos: 1, ref: 'one' });
    h.session.publish(1, 'a', digit(2), { qos: 2, ref: 'two' });
    h.session.end();
    expect(h.events()).toMatchObject([
      { id: 1, status: 'aborted', ref: 'one' },
      { id: 2, status: 'aborted', ref: 'two' },
    ]);
    expect([h.session.inflight, h.session.queued]).toEqual([0, 0]);
  });

  test('nothing is written after DISCONNECT: a place freed then sends nothing, and the message ends aborted', () => {
    const h = connected({ maxInflight: 1 });
    h.session.publish(1, 'a', digit(1), { qos: 1 });
    h.session.publish(1, 'a', digit(2), { qos: 1 });
    h.take();
    h.session.disconnect();
    expect(h.take()).toBe('e0 00');
    h.feed('40 02 00 01', 2);
    expect(h.take()).toBe('');
    h.session.end();
    expect(h.statuses()).toEqual([
      [1, 'delivered'],
      [2, 'aborted'],
    ]);
  });
});

describe('packet ids', () => {
  test('never reused while in use, and they run out clearly (NO_PACKET_ID); a freed id is given again', () => {
    const h = connected({ maxInflight: 70_000, maxQueued: 70_000, messageTimeout: 0 });
    const empty = new Uint8Array(0);
    const ids = new Set<number>();
    for (let i = 0; i < 65535; i++) ids.add(h.session.publish(1, 'a', empty, { qos: 1 }));
    expect(ids.size).toBe(65535);
    expect(Math.min(...ids)).toBe(1);
    expect(Math.max(...ids)).toBe(65535);
    expect(() => h.session.publish(1, 'a', empty, { qos: 1 })).toThrow(
      expect.objectContaining({ code: NO_PACKET_ID, place: 'publish' }),
    );
    expect(() => h.session.subscribe(1, [{ topic: 'a', qos: 0 }])).toThrow(
      expect.objectContaining({ code: NO_PACKET_ID, place: 'subscribe' }),
    );
    h.written.length = 0;
    h.feed('40 02 01 00', 2); // frees id 256
    expect(h.session.publish(3, 'a', empty, { qos: 1 })).toBe(256);
  });

  test('ids wrap from 65535 to 1 and skip those in use; they go on across connections', () => {
    const h = connected();
    h.session.restore({ nextId: 65534 });
    expect(h.session.publish(1, 'a', digit(1), { qos: 1 })).toBe(65535);
    h.session.release(1, 1); // id 1 is in use
    expect(h.session.publish(1, 'a', digit(2), { qos: 1 })).toBe(2);
    expect(h.session.saved.nextId).toBe(2);
    h.session.end();
    h.session.begin(10);
    h.feed('20 02 00 00', 10);
    expect(h.session.publish(11, 'a', digit(3), { qos: 1 })).toBe(3);
  });

  test('a timed-out id is not given out again while the broker may still acknowledge it', () => {
    const h = connected({ messageTimeout: 100, keepAlive: 0 });
    h.session.publish(0, 'a', digit(1), { qos: 1 });
    h.session.tick(100);
    h.session.restore({ nextId: 0 }); // allocation would start at 1 again
    expect(h.session.publish(101, 'a', digit(2), { qos: 1 })).toBe(2);
    h.session.end(); // a new connection: the broker's quota starts again, so does the id
    h.session.begin(200);
    h.feed('20 02 00 00', 200);
    h.session.restore({ nextId: 0 });
    expect(h.session.publish(201, 'a', digit(3), { qos: 1 })).toBe(1);
  });

  // BUG (core): publish({ id }) and release(id) check only the ids awaiting their first
  // acknowledgement, not the timed-out ones the broker may still acknowledge (#expired), although
  // automatic allocation skips those. The timed-out entry keeps its place in the window until the
  // end of the connection: the broker's acknowledgement goes to the new entry, so the old one
  // never frees its place, and the window shrinks by one for the rest of the connection.
  it.fails('an explicit id that timed out and may still be acknowledged is refused as in use', () => {
    const h = connected({ messageTimeout: 100, keepAlive: 0, maxInflight: 2 });
    h.session.publish(0, 'a', digit(1), { qos: 1 });
    h.session.tick(100);
    expect(() => h.session.publish(101, 'a', digit(2), { qos: 1, id: 1 })).toThrow(
      expect.objectContaining({ code: INVALID_ARGUMENT }),
    );
  });
});
