// Peers and platforms that misbehave the way real ones do: timers that fire early or late,
// brokers that trickle, stop reading, acknowledge ids we do not track or break the rules. Byte
// level, on a scripted socket and a fake clock with the platforms' habits. (Repeated and stray
// acknowledgements, as rules of the protocol state: packages/session's outgoing.test.ts.)
import { describe, expect, test } from 'vitest';
import { encodePublish, PUBLISH } from '@umqtt/codec';
import { CLOCK_HABITS, FakeClock, ScriptedBroker, settle } from '@umqtt/testkit';
import { CONNECT_C1, SLACK, connected, setup, slackOf } from './client.test-support.js';
import { MqttClient } from './index.js';

describe('time as platforms give it', () => {
  // Node fires timers up to a millisecond or two before performance.now() reaches their due
  // time; Moddable on coarse ticks; times are fractional. Every connect must settle.
  test.each(Object.entries(CLOCK_HABITS))(
    'connect() rejects within connectTimeout when CONNACK never comes (%s timers, 50 seeds)',
    async (_, habits) => {
      for (let seed = 1; seed <= 50; seed++) {
        const clock = new FakeClock(1000.3 * seed, { ...habits, seed });
        const broker = new ScriptedBroker();
        const client = new MqttClient({ socket: broker.factory, timers: clock, host: 'b', connectTimeout: 1000 });
        const outcome = client.connect().then(
          () => 'resolved',
          (e: { code: string }) => e.code,
        );
        broker.socket.open();
        const start = clock.now();
        clock.advance(999);
        expect(client.state).toBe('connecting'); // never before it is due
        clock.advance(1 + slackOf(habits));
        await expect(outcome).resolves.toBe('UMQTT_CONNECT_TIMEOUT');
        expect(broker.socket.closed).toBe(true);
        expect(clock.now() - start).toBeLessThan(1000 + 25);
        expect(clock.fired).toBeLessThan(40); // an early timer re-arms for the rest, no storm
      }
    },
  );

  test.each(Object.entries(CLOCK_HABITS))(
    'every deadline holds under %s timers with fractional times: no storm, nothing early',
    async (_, habits) => {
      const t = await connected({ keepAlive: 3, messageTimeout: 700.25, socketTimeout: 1300.5 }, Infinity, {
        ...habits,
        seed: 7,
      });
      const { client, sock, clock, statuses, closes } = t;
      clock.advance(0.3);
      const sentAt = clock.now();
      client.publish('a', 'x', { qos: 1 });
      await settle();
      clock.advance(700);
      expect(statuses).toEqual([]);
      clock.advance(0.25 + slackOf(habits));
      expect(statuses).toEqual([[1, 'timeout']]);
      expect(clock.now() - sentAt).toBeGreaterThanOrEqual(700.25);
      // keepalive: PINGREQ after 3 s of silence, answered; then the broker goes silent
      clock.advance(3000 + slackOf(habits));
      await settle();
      expect(sock.take()).toContain('c0 00');
      sock.send('d0 00');
      const before = clock.fired;
      clock.advance(10_000);
      expect(closes[0]).toMatchObject({ code: 'UMQTT_KEEPALIVE_TIMEOUT', place: 'keepalive' });
      expect(sock.closed).toBe(true);
      expect(clock.fired - before).toBeLessThan(60);
    },
  );
});

describe('peers that misbehave', () => {
  test('a peer that trickles a byte a second but never answers PINGREQ is dropped', async () => {
    const { client, sock, clock, closes } = await connected({ keepAlive: 10 });
    const since = clock.now(); // CONNACK, the last whole packet
    let closedAt = NaN;
    const onClose = client.onClose;
    client.onClose = (e) => {
      closedAt = clock.now(); // the timer's own time, not the end of the step that fired it
      onClose?.(e);
    };
    // a PUBLISH that never completes: one byte a second
    const trickle = encodePublish({ type: PUBLISH, topic: 't', payload: new Uint8Array(500) });
    for (let i = 0; i < 40 && client.state === 'connected'; i++) {
      clock.advance(1000);
      sock.send(trickle.subarray(i, i + 1));
      await settle();
    }
    // 1.5 x keepAlive after the last whole packet: trickled bytes are no sign of life
    expect(closes[0]).toMatchObject({
      code: 'UMQTT_KEEPALIVE_TIMEOUT',
      place: 'keepalive',
      message: expect.stringMatching(/no packet received/),
    });
    expect(closedAt - since).toBeGreaterThanOrEqual(15_000);
    expect(closedAt - since).toBeLessThanOrEqual(15_000 + SLACK);
    expect(sock.closed).toBe(true);
  });

  test('a broker that stops reading cannot grow our memory: owed acknowledgements are bounded', async () => {
    const t = setup();
    t.broker.capacity = 64; // the socket takes 64 bytes, then never drains
    const done = t.client.connect();
    t.broker.socket.open();
    await settle();
    t.broker.socket.send('20 02 00 00');
    await done;
    const sock = t.broker.socket;
    // a QoS 2 flood whose PUBRECs are never read
    for (let id = 1; id <= 20_000 && t.client.state === 'connected'; id++)
      sock.send(encodePublish({ type: PUBLISH, topic: 't', payload: new Uint8Array(1), qos: 2, id }));
    expect(t.closes[0]).toMatchObject({ code: 'UMQTT_SLOW_READER', place: 'write' });
    expect(t.messages.length).toBeLessThanOrEqual(65_536 / 4 + 1);
    expect(sock.closed).toBe(true);
  });

  test('an exception thrown by the platform socket never escapes into its callback', async () => {
    const { sock, closes } = await connected();
    sock.read = () => {
      throw new RangeError('Array buffer allocation failed');
    };
    expect(() => sock.options.onReadable(10)).not.toThrow();
    expect(closes[0]).toMatchObject({ code: 'UMQTT_INTERNAL', place: 'read' });
    expect(closes[0]?.message).toMatch(/allocation failed/);
  });

  test('a socket factory that throws rejects connect(), it does not hang', async () => {
    const client = new MqttClient({
      socket: () => {
        throw new Error('no route to host');
      },
      timers: new FakeClock(),
      host: 'b',
    });
    await expect(client.connect()).rejects.toMatchObject({ code: 'UMQTT_CONNECTION_LOST', place: 'connect' });
    expect(client.state).toBe('closed');
  });

  test('CONNACK and a fatal packet in one chunk: the code awaiting connect() runs before onClose', async () => {
    const t = setup();
    const order: string[] = [];
    t.client.onClose = (e) => order.push(`close ${e?.code}`);
    const done = t.client.connect().then(
      () => {
        order.push('connected');
        t.client.subscribe('a'); // the application's next step finds the connection still usable
      },
      (e: { code: string }) => order.push(`rejected ${e.code}`),
    );
    t.broker.socket.open();
    t.broker.socket.send('20 02 00 00 3f 00'); // CONNACK, then malformed bytes
    await done;
    await settle();
    expect(order).toEqual(['connected', 'close UMQTT_MALFORMED']);
  });
});

describe('acknowledgements for ids we do not track (as libmosquitto and MQTT.js)', () => {
  // the session's rule (outgoing.test.ts), here for what the driver does with it: an issue recorded, the connection kept
  test('PUBREC for an unknown id is answered with PUBREL; PUBACK, PUBCOMP, SUBACK, UNSUBACK are ignored', async () => {
    const { client, sock, closes } = await connected();
    sock.take();
    sock.send('50 02 00 07'); // PUBREC 7
    sock.send('40 02 00 08'); // PUBACK 8
    sock.send('70 02 00 09'); // PUBCOMP 9
    sock.send('90 03 00 0a 00'); // SUBACK 10
    sock.send('b0 02 00 0b'); // UNSUBACK 11
    await settle();
    expect(sock.take()).toBe('62 02 00 07');
    expect(client.state).toBe('connected');
    expect(closes).toEqual([]);
    expect(client.issues.map((i) => i.error.code)).toEqual(Array(5).fill('UMQTT_UNKNOWN_ID'));
  });
});

test('a status callback that closes the client: each id still gets exactly one final status', async () => {
  const t = await connected({ messageTimeout: 1000, keepAlive: 0 });
  t.client.publish('a', '1', { qos: 1 });
  t.client.publish('a', '2', { qos: 1 });
  t.client.onStatus = (id, status) => {
    t.statuses.push([id, status]);
    if (status === 'timeout') t.client.close();
  };
  t.clock.advance(1000 + SLACK);
  expect(t.statuses).toEqual([
    [1, 'timeout'],
    [2, 'aborted'],
  ]);
});

test('nothing is written after DISCONNECT, not even an acknowledgement the broker asked for', async () => {
  const t = setup({ keepAlive: 10 });
  t.broker.capacity = 20; // CONNECT fits, the next publish fills the socket
  const done = t.client.connect();
  t.broker.socket.open();
  await settle();
  t.broker.socket.send('20 02 00 00');
  await done;
  const sock = t.broker.socket;
  sock.take();
  t.client.publish('a', 'xxxxxxxx');
  await settle();
  sock.take(); // the publish went out and filled the socket
  t.client.disconnect(); // DISCONNECT waits for the socket to drain
  sock.send(encodePublish({ type: PUBLISH, topic: 't', payload: new Uint8Array(1), qos: 1, id: 5 }));
  t.clock.advance(12_000); // a PINGREQ would be due at 10 s: none after DISCONNECT either
  sock.drain();
  await settle();
  const written = sock.take();
  expect(written.endsWith('e0 00')).toBe(true);
  expect(written).not.toContain('40 02 00 05');
  expect(written).not.toContain('c0 00');
});

test('CONNECT bytes are unchanged by the hostile-peer work', async () => {
  const { connect } = await connected();
  expect(connect).toBe(CONNECT_C1);
});
