// Message timeouts as plain values: the deadline is due(), tick() acts on it, statuses come out.
// A timed-out id stays awaited: its late acknowledgement reports `unknown`, and a publish keeps
// its place in the window until then (the broker still counts it against its quota).
import { describe, expect, test } from 'vitest';
import { encodeUtf8 } from '@umqtt/codec';
import { STATUS_EVENT } from './index.js';
import { connected } from './session.test-support.js';

const x = encodeUtf8('x');

describe('message timeout', () => {
  test('publish and subscribe time out at messageTimeout; late acknowledgements report unknown; the connection goes on', () => {
    const h = connected({ messageTimeout: 5000, keepAlive: 0 }, 1000);
    h.session.publish(1000, 'a', x, { qos: 1 });
    h.session.subscribe(1000, [{ topic: 's', qos: 0 }]);
    expect(h.session.due()).toBe(6000);
    h.session.tick(5999); // a timer that fires early
    expect(h.events()).toEqual([]);
    h.session.tick(6000);
    expect(h.statuses()).toEqual([
      [1, 'timeout'],
      [2, 'timeout'],
    ]);
    expect(h.session.inflight).toBe(1); // the broker may still hold it: it keeps its place
    expect(h.session.due()).toBe(Infinity); // acted on once, never again: no timer storm
    h.feed('40 02 00 01', 6100);
    h.feed('90 03 00 02 00', 6100);
    expect(h.statuses()).toEqual([
      [1, 'unknown'],
      [2, 'unknown'],
    ]);
    expect(h.session.inflight).toBe(0);
    expect(h.session.state).toBe('connected');
    expect(h.session.publish(6200, 'a', encodeUtf8('y'), { qos: 1 })).toBe(3);
  });

  test('an unsubscribe times out the same way', () => {
    const h = connected({ messageTimeout: 100, keepAlive: 0 });
    h.session.unsubscribe(0, ['a']);
    h.session.tick(100);
    h.feed('b0 02 00 01', 150);
    expect(h.statuses()).toEqual([
      [1, 'timeout'],
      [1, 'unknown'],
    ]);
  });

  test('QoS 2 timed out before PUBREC: the late PUBREC is answered (received), the late PUBCOMP frees the place (unknown)', () => {
    const h = connected({ messageTimeout: 1000, keepAlive: 0, maxInflight: 2 });
    h.session.publish(0, 'a', encodeUtf8('1'), { qos: 2 });
    h.session.publish(0, 'a', encodeUtf8('2'), { qos: 1 });
    h.session.tick(1000);
    expect(h.statuses()).toEqual([
      [1, 'timeout'],
      [2, 'timeout'],
    ]);
    expect(h.session.open).toBe(false); // the broker still counts both against its quota
    h.session.publish(1001, 'a', encodeUtf8('3'), { qos: 1 });
    h.take();
    expect(h.session.queued).toBe(1);
    h.feed('50 02 00 01', 1100); // late PUBREC: PUBREL, the place stays taken until PUBCOMP
    expect(h.take()).toBe('62 02 00 01');
    expect(h.session.queued).toBe(1);
    h.feed('70 02 00 01', 1200); // late PUBCOMP: the place frees, the waiting message goes out
    expect(h.take()).toBe('32 06 00 01 61 00 03 33');
    expect(h.statuses()).toEqual([
      [1, 'received'],
      [1, 'unknown'],
    ]);
    expect(h.session.due()).toBe(2200); // the message just sent times out from now
  });

  test('QoS 2 timed out after PUBREC: the time counts from PUBLISH; the late PUBCOMP reports unknown', () => {
    const h = connected({ messageTimeout: 1000, keepAlive: 0 });
    h.session.publish(0, 'a', x, { qos: 2 });
    h.feed('50 02 00 01', 900);
    expect(h.session.due()).toBe(1000);
    h.session.tick(1000);
    h.feed('70 02 00 01', 1500);
    expect(h.statuses()).toEqual([
      [1, 'received'],
      [1, 'timeout'],
      [1, 'unknown'],
    ]);
    expect(h.session.inflight).toBe(0);
  });

  test('fractional times: met exactly, never before; each deadline once', () => {
    const h = connected({ messageTimeout: 700.25, keepAlive: 0 }, 1000.3);
    h.session.publish(1000.3, 'a', x, { qos: 1 });
    const due = h.session.due();
    expect(due).toBe(1000.3 + 700.25);
    h.session.tick(due - 0.0001);
    expect(h.events()).toEqual([]);
    h.session.tick(due);
    expect(h.statuses()).toEqual([[1, 'timeout']]);
    h.session.tick(due + 5);
    expect(h.events()).toEqual([]);
  });

  test('messageTimeout 0: nothing ever times out', () => {
    const h = connected({ messageTimeout: 0, keepAlive: 0 });
    h.session.publish(0, 'a', x, { qos: 1 });
    h.session.subscribe(0, [{ topic: 'a', qos: 0 }]);
    expect(h.session.due()).toBe(Infinity);
    expect(h.session.dueBy(0)).toBe(Infinity);
    h.session.tick(1e12);
    expect(h.events()).toEqual([]);
  });

  test('a message waiting for the window has no timeout until it is written', () => {
    const h = connected({ messageTimeout: 100, keepAlive: 0, maxInflight: 1 });
    h.session.publish(0, 'a', x, { qos: 1 });
    h.session.publish(50, 'a', x, { qos: 1 });
    h.session.tick(100);
    expect(h.statuses()).toEqual([[1, 'timeout']]); // id 2 still waits, its place taken by id 1
    h.session.tick(10_000);
    expect(h.events()).toEqual([]);
  });

  test('dueBy() covers what was just sent without a scan: the message timeout from now, at most', () => {
    const h = connected({ messageTimeout: 100, keepAlive: 60 });
    h.session.publish(5, 'a', x, { qos: 1 });
    expect(h.session.dueBy(5)).toBe(105);
    expect(h.session.due()).toBe(105);
  });
});

describe('the end of a connection and the statuses not yet handed over', () => {
  test('a timeout still in events becomes aborted at end(): each id one final status', () => {
    const h = connected({ messageTimeout: 1000, keepAlive: 0 });
    h.session.publish(0, 'a', x, { qos: 1 });
    h.session.publish(0, 'a', x, { qos: 1 });
    h.session.tick(1000);
    h.session.end(); // the driver closed before it handed the timeouts over
    expect(h.statuses()).toEqual([
      [1, 'aborted'],
      [2, 'aborted'],
    ]);
  });

  test('a timeout already handed over is not followed by aborted at end(): one status that ends it, not two', () => {
    const h = connected({ messageTimeout: 1000, keepAlive: 0 });
    h.session.publish(0, 'a', x, { qos: 1, ref: 'm' });
    h.session.tick(1000);
    expect(h.events()).toMatchObject([{ type: STATUS_EVENT, id: 1, status: 'timeout', ref: 'm' }]);
    h.session.end();
    expect(h.events()).toEqual([]);
    expect(h.session.inflight).toBe(0);
  });
});
