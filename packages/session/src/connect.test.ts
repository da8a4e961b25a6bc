// Connecting, as plain values: CONNACK in, the CONNECTED event or a typed error out; the connect
// deadline read from due() and acted on by tick().
import { describe, expect, test } from 'vitest';
import { CONNACK_CODES, CONNECTED_EVENT, CONNECT_TIMEOUT, DEFAULT_CLEAN, PROTOCOL_ERROR } from './index.js';
import { connack, connected, harness } from './session.test-support.js';

describe('CONNACK', () => {
  test.each([
    [1, 'UMQTT_CONNACK_PROTOCOL'],
    [2, 'UMQTT_CONNACK_IDENTIFIER'],
    [3, 'UMQTT_CONNACK_UNAVAILABLE'],
    [4, 'UMQTT_CONNACK_CREDENTIALS'],
    [5, 'UMQTT_CONNACK_NOT_AUTHORIZED'],
  ])('refusal %i is thrown as %s with its return code, place connect; nothing is written', (rc, code) => {
    const h = harness();
    h.session.begin(1000);
    expect(() => h.feed(`20 02 00 0${rc}`, 1001)).toThrow(
      expect.objectContaining({ code, reasonCode: rc, place: 'connect' }),
    );
    expect(CONNACK_CODES[rc]).toBe(code);
    expect(h.session.state).toBe('connecting'); // the driver ends the connection
    expect(h.events()).toEqual([]);
    expect(h.take()).toBe('');
  });

  test('accepted: CONNECTED with the session-present flag, once, and the session is usable', () => {
    const h = harness({ clean: false });
    h.session.begin(1000);
    expect(h.session.usable).toBe(false);
    h.feed('20 02 01 00', 1001);
    expect(h.events()).toEqual([{ type: CONNECTED_EVENT, sessionPresent: true }]);
    expect(h.session.state).toBe('connected');
    expect(h.session.usable).toBe(true);
  });

  test('a packet other than CONNACK first is a protocol error [MQTT-3.2.0-1]', () => {
    const h = harness();
    h.session.begin(1000);
    expect(() => h.feed('d0 00', 1001)).toThrow(
      expect.objectContaining({ code: PROTOCOL_ERROR, clause: 'MQTT-3.2.0-1', place: 'connect' }),
    );
  });

  test('session present in answer to a clean session (the default) is a protocol error [MQTT-3.2.2-1]', () => {
    expect(DEFAULT_CLEAN).toBe(true);
    const h = harness();
    h.session.begin(1000);
    expect(() => h.feed('20 02 01 00', 1001)).toThrow(
      expect.objectContaining({ code: PROTOCOL_ERROR, clause: 'MQTT-3.2.2-1', place: 'connect' }),
    );
  });

  test('a second CONNACK on a connected session is a protocol error, place read', () => {
    const h = connected();
    expect(() => h.feed('20 02 00 00', 1)).toThrow(expect.objectContaining({ code: PROTOCOL_ERROR, place: 'read' }));
  });
});

describe('connect timeout', () => {
  test('CONNACK is due connectTimeout after begin(): a tick before it does nothing, one at it throws', () => {
    const h = harness({ connectTimeout: 5000 });
    h.session.begin(1000);
    expect(h.session.due()).toBe(6000);
    expect(h.session.dueBy(1000)).toBe(6000);
    h.session.tick(5999); // a timer that fires early
    expect(h.session.state).toBe('connecting');
    expect(h.session.due()).toBe(6000); // the driver re-arms for the rest
    expect(() => h.session.tick(6000)).toThrow(
      expect.objectContaining({ code: CONNECT_TIMEOUT, place: 'connect', message: 'no CONNACK within 5000 ms' }),
    );
  });

  test('fractional times: the deadline is met exactly, never before', () => {
    const h = harness({ connectTimeout: 1000 });
    h.session.begin(1000.3);
    expect(h.session.due()).toBe(2000.3);
    h.session.tick(2000.2999);
    expect(() => h.session.tick(2000.3)).toThrow(expect.objectContaining({ code: CONNECT_TIMEOUT }));
    expect(() => h.session.tick(2500)).toThrow(expect.objectContaining({ code: CONNECT_TIMEOUT })); // a late timer too
  });

  test('CONNACK in time: the connect deadline is gone', () => {
    const h = harness({ connectTimeout: 1000, keepAlive: 0 });
    h.session.begin(0);
    h.session.received(connack(), 999);
    expect(h.session.due()).toBe(Infinity);
    expect(() => h.session.tick(5000)).not.toThrow();
  });

  test('each begin() starts a new deadline (a reconnect after end())', () => {
    const h = harness({ connectTimeout: 1000 });
    h.session.begin(0);
    h.session.end();
    expect(h.session.due()).toBe(Infinity);
    h.session.begin(7000);
    expect(h.session.due()).toBe(8000);
  });
});
