// RobustClient5 on a fake clock against a byte-level scripted broker (its packets made by the
// codec's MQTT 5 encoders, the client's read back by its MQTT 5 server-side parser): session
// expiry in CONNECT, the time to live as Message Expiry Interval (remaining, rounded up, after a
// reconnect), the refusal table (final codes rejected with their names, 0x97 retried on a bounded
// backoff that neither spins nor loses the queue's order), SUBACK codes per filter, the broker's
// DISCONNECT reasons in the reconnect delay. Against Mosquitto: v5.mosquitto.test.ts.
import { describe, expect, test } from 'vitest';
import {
  CONNACK,
  DISCONNECT,
  PUBACK,
  PUBCOMP,
  PUBLISH,
  PUBREC,
  PUBREL,
  SUBACK,
  SUBSCRIBE,
  Parser,
  encode,
  serverDecoders,
  type ConnackProperties,
  type Packet,
  type PublishPacket,
} from '@umqtt/codec/v5';
import { hex, settle } from '@umqtt/testkit';
import { T0, runFor, setup, type Setup } from './harness.test-support.js';
import { REFUSED_RETRYING, SUBSCRIBE_REFUSED, type RobustOptions } from './index.js';
import { DEFAULT_RETRY, REFUSALS, RobustClient5, type Robust5Options } from './v5.js';

/** The packets the client wrote since the last call, as a broker decodes them. */
function written(t: Setup): Packet[] {
  // what was flushed (the client writes once per turn: callers settle first)
  const parser = new Parser(serverDecoders);
  parser.push(hex(t.broker.socket.take()));
  const out: Packet[] = [];
  for (let p = parser.read(); p; p = parser.read()) out.push(p);
  return out;
}
const publishes = async (t: Setup) => {
  await settle();
  return written(t).filter((p): p is PublishPacket => p.type === PUBLISH);
};

/**
 * Runs the clock (timer by timer) until the client writes a PUBLISH, at most `max` ms: how long it
 * took, and what it wrote.
 */
async function nextPublish(t: Setup, max: number): Promise<{ after: number; sent: PublishPacket[] }> {
  const from = t.clock.now();
  let sent: PublishPacket[] = [];
  await runFor(t.clock, max, () => {
    const parser = new Parser(serverDecoders);
    parser.push(hex(t.broker.socket.take()));
    for (let p = parser.read(); p; p = parser.read()) if (p.type === PUBLISH) sent.push(p);
    return sent.length > 0;
  });
  sent = [...sent, ...(await publishes(t))];
  return { after: t.clock.now() - from, sent };
}

/** Timers fire early and late under the clock habits (UMQTT_CLOCK): a time is checked within this. */
const SLACK = 25;
const near = (ms: number) => expect.toSatisfy((x: number) => Math.abs(x - ms) <= SLACK, `${ms} ms ± ${SLACK}`);

/** A RobustClient5 on the harness (random() 0: each backoff is half its cap). */
function setup5(options: Partial<Robust5Options> = {}): Setup {
  return setup(options as Partial<RobustOptions>, 'manual', undefined, (o) => new RobustClient5(o as Robust5Options));
}

/** The scripted broker accepts the newest connection with an MQTT 5 CONNACK; returns the CONNECT. */
async function accept5(t: Setup, sessionPresent = false, properties?: ConnackProperties): Promise<Packet> {
  const sock = t.broker.socket;
  sock.open();
  await settle();
  const connect = written(t)[0]!;
  sock.send(encode({ type: CONNACK, sessionPresent, reasonCode: 0, properties }));
  await settle();
  expect(t.client.state).toBe('online');
  return connect;
}

const send = async (t: Setup, p: Packet) => {
  t.broker.socket.send(encode(p));
  await settle();
};

describe('RobustClient5: the connection', () => {
  test('CONNECT: MQTT 5, Clean Start 0, the session expiry asked for (default: never; 0 with clean)', async () => {
    const day = setup5({ sessionExpiry: 86_400 });
    day.client.start();
    expect(await accept5(day)).toMatchObject({ clean: false, properties: { sessionExpiryInterval: 86_400 } });
    const never = setup5();
    never.client.start();
    expect(await accept5(never)).toMatchObject({ clean: false, properties: { sessionExpiryInterval: 0xffffffff } });
    // clean: true is 3.1.1's clean session: the session ends with the connection [MQTT-3.1.2-6]
    const clean = setup5({ clean: true });
    clean.client.start();
    expect(await accept5(clean)).toMatchObject({ clean: true, properties: { sessionExpiryInterval: 0 } });
  });

  test("the broker's Receive Maximum is the window: a queue of 10 goes out 3 at a time", async () => {
    const t = setup5({ maxInflight: 16 });
    const keys = Array.from({ length: 10 }, (_, i) => t.client.publish('q/1', String(i), { qos: 1 }));
    t.client.start();
    await accept5(t, false, { receiveMaximum: 3 });
    expect((t.client as RobustClient5).connack?.receiveMaximum).toBe(3);
    let sent = await publishes(t);
    expect(sent.map((p) => p.id)).toEqual([1, 2, 3]);
    for (let n = 3; n < 10; n++) {
      await send(t, { type: PUBACK, id: sent.shift()!.id! });
      sent = [...sent, ...(await publishes(t))];
      expect(sent.length).toBeLessThanOrEqual(3);
    }
    for (const p of sent) await send(t, { type: PUBACK, id: p.id! });
    await settle();
    expect(t.statuses).toEqual(keys.map((k) => [k, 'delivered', undefined]));
  });
});

describe('RobustClient5: time to live as Message Expiry Interval', () => {
  test('sent with its time to live in whole seconds; resent after a reconnect with what remains, rounded up', async () => {
    const t = setup5();
    t.client.start();
    await accept5(t);
    const key = t.client.publish('b/1', 'pressed', { qos: 1, ttl: 15_000 });
    t.client.publish('b/2', 'no ttl', { qos: 1 });
    const [first, plain] = await publishes(t);
    expect(first!.properties?.messageExpiryInterval).toBe(15);
    expect(plain!.properties?.messageExpiryInterval).toBeUndefined();
    t.broker.socket.fail();
    await runFor(t.clock, 5_400, () => t.opened.length === 2); // the retry, within backoff.min
    const waited = t.clock.now() - (T0 + 0);
    await accept5(t, true);
    const [again] = await publishes(t);
    expect(again).toMatchObject({ id: first!.id, dup: true });
    expect(again!.properties?.messageExpiryInterval).toBe(Math.ceil((15_000 - waited) / 1000));
    await send(t, { type: PUBACK, id: again!.id! });
    await settle();
    expect(t.statuses).toContainEqual([key, 'delivered', undefined]);
  });

  test('a QoS 2 message past its time to live is resent with 1 second, so the broker drops it soon (never 0: no expiry)', async () => {
    const t = setup5();
    t.client.start();
    await accept5(t);
    t.client.publish('a/1', 'x', { qos: 2, ttl: 2_000 });
    expect((await publishes(t))[0]!.properties?.messageExpiryInterval).toBe(2);
    t.broker.socket.fail();
    await runFor(t.clock, 3_000);
    await accept5(t, true);
    expect((await publishes(t))[0]).toMatchObject({ dup: true, properties: { messageExpiryInterval: 1 } });
  });
});

describe('RobustClient5: the refusal table', () => {
  test.each([
    [0x87, 'Not authorized (0x87)'],
    [0x90, 'Topic Name invalid (0x90)'],
    [0x99, 'Payload format invalid (0x99)'],
    [0x80, 'Unspecified error (0x80)'],
    [0x83, 'Implementation specific error (0x83)'],
    [0x91, 'Packet Identifier in use (0x91)'], // a retry would go with the id the broker holds
  ])('PUBACK with reason code %i: rejected, the reason naming the code; the queue goes on', async (code, reason) => {
    const t = setup5();
    t.client.start();
    await accept5(t);
    const refused = t.client.publish('x/1', 'a', { qos: 1 });
    const next = t.client.publish('x/2', 'b', { qos: 1 });
    const [p1, p2] = await publishes(t);
    await send(t, { type: PUBACK, id: p1!.id!, reasonCode: code });
    await send(t, { type: PUBACK, id: p2!.id! });
    expect(t.statuses).toEqual([
      [refused, 'rejected', reason],
      [next, 'delivered', undefined],
    ]);
    expect(t.client.counters).toMatchObject({ rejected: 1, delivered: 1 });
    expect(t.client.held).toBe(0);
  });

  test('a QoS 2 PUBREC refusal: rejected, and no PUBREL is sent', async () => {
    const t = setup5();
    t.client.start();
    await accept5(t);
    const key = t.client.publish('x/1', 'a', { qos: 2 });
    const [p] = await publishes(t);
    await send(t, { type: PUBREC, id: p!.id!, reasonCode: 0x87 });
    await settle();
    expect(written(t).filter((x) => x.type === PUBREL)).toEqual([]);
    expect(t.statuses).toEqual([[key, 'rejected', 'Not authorized (0x87)']]);
  });

  test('a refusal after the message timed out is not delivered either', async () => {
    const t = setup5({ messageTimeout: 1000 });
    t.client.start();
    await accept5(t);
    const key = t.client.publish('x/1', 'a', { qos: 1 });
    const [p] = await publishes(t);
    await runFor(t.clock, 1500);
    await send(t, { type: PUBACK, id: p!.id!, reasonCode: 0x87 });
    expect(t.statuses).toEqual([[key, 'rejected', 'Not authorized (0x87)']]);
  });

  test('the table is overridable: 0x97 made final, 0x87 made a retry', async () => {
    const t = setup5({ refusals: { 0x97: 'reject', 0x87: 'retry' } });
    t.client.start();
    await accept5(t);
    const quota = t.client.publish('x/1', 'a', { qos: 1 });
    const denied = t.client.publish('x/2', 'b', { qos: 1 });
    const [p1, p2] = await publishes(t);
    await send(t, { type: PUBACK, id: p1!.id!, reasonCode: 0x97 });
    await send(t, { type: PUBACK, id: p2!.id!, reasonCode: 0x87 });
    expect(t.statuses).toEqual([[quota, 'rejected', 'Quota exceeded (0x97)']]);
    await runFor(t.clock, DEFAULT_RETRY.min);
    expect(await publishes(t)).toMatchObject([{ id: p2!.id, topic: 'x/2', dup: false }]);
    expect(denied).toBeGreaterThan(0);
    expect(REFUSALS[0x97]).toBe('retry'); // the default table itself is untouched
  });
});

describe('RobustClient5: quota exceeded (0x97) is retried after backing off', () => {
  test('the schedule: paused 0.5 s, 1 s, 2 s while refusals go on (random 0), not a byte meanwhile; back to 0.5 s after an acknowledgement', async () => {
    const t = setup5();
    t.client.start();
    await accept5(t);
    const key = t.client.publish('q/1', 'a', { qos: 2 });
    let [p] = await publishes(t);
    const id = p!.id!;
    for (const pause of [500, 1000, 2000]) {
      await send(t, { type: PUBREC, id, reasonCode: 0x97 });
      const next = await nextPublish(t, 10_000);
      expect(next.after).toEqual(near(pause)); // not a byte before
      [p] = next.sent;
      expect(next.sent).toMatchObject([{ id, dup: false, topic: 'q/1' }]); // its packet id, a new message
    }
    expect(t.statuses).toEqual([]); // not final, but not silent: an issue per pause
    expect(
      t.client.issues.filter((i) => i.error.code === REFUSED_RETRYING).map((i) => [i.error.reasonCode, i.place]),
    ).toEqual([
      [0x97, 'publish'],
      [0x97, 'publish'],
      [0x97, 'publish'],
    ]);
    await send(t, { type: PUBREC, id });
    await settle();
    expect(written(t)).toMatchObject([{ type: PUBREL, id }]);
    await send(t, { type: PUBCOMP, id });
    expect(t.statuses).toEqual([[key, 'delivered', undefined]]);
    // the broker had room again: the next refusal starts over
    t.client.publish('q/1', 'b', { qos: 1 });
    [p] = await publishes(t);
    await send(t, { type: PUBACK, id: p!.id!, reasonCode: 0x97 });
    const next = await nextPublish(t, 10_000);
    expect(next.after).toEqual(near(500));
    expect(next.sent).toMatchObject([{ id: p!.id, payload: new TextEncoder().encode('b') }]);
  });

  test('bounded: the cap doubles up to 60 s and no further (random 0: pauses of half the cap), one resend each: no spin', async () => {
    const t = setup5();
    t.client.start();
    await accept5(t);
    t.client.publish('q/1', 'a', { qos: 1 });
    const [p] = await publishes(t);
    const id = p!.id!;
    for (const pause of [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000]) {
      await send(t, { type: PUBACK, id, reasonCode: 0x97 });
      const next = await nextPublish(t, 120_000);
      expect(next.after).toEqual(near(pause));
      expect(next.sent).toMatchObject([{ id }]); // once each time: no spin
    }
    expect(t.statuses).toEqual([]);
  });

  test('a burst of refusals is one pause; the queue keeps its order and waits, nothing is lost; writable says so', async () => {
    const t = setup5();
    t.client.start();
    await accept5(t, false, { receiveMaximum: 4 });
    const keys = Array.from({ length: 8 }, (_, i) => t.client.publish('q/1', String(i), { qos: 1 }));
    const first = await publishes(t);
    expect(first.map((p) => p.payload[0]! - 48)).toEqual([0, 1, 2, 3]);
    // the broker takes 0 and 2, refuses 1 and 3 (its quota)
    await send(t, { type: PUBACK, id: first[0]!.id! });
    await send(t, { type: PUBACK, id: first[1]!.id!, reasonCode: 0x97 });
    await send(t, { type: PUBACK, id: first[2]!.id! });
    await send(t, { type: PUBACK, id: first[3]!.id!, reasonCode: 0x97 });
    // paused: the queue's messages 4-7 wait even though the window has room
    const during = await publishes(t);
    expect(during.map((p) => p.payload[0]! - 48)).toEqual([4]); // the one the first PUBACK let through before the pause
    expect(t.client.writable).toBe(false);
    const next = await nextPublish(t, 10_000);
    expect(next.after).toEqual(near(500));
    const retried = next.sent;
    // the two refused first, with their ids, then the queue goes on into the window
    expect(retried.map((p) => [p.payload[0]! - 48, p.id])).toEqual([
      [1, first[1]!.id],
      [3, first[3]!.id],
      [5, expect.any(Number)],
    ]);
    // everything acknowledged from here on: the rest of the queue follows, each message once
    const seen = [...first, ...during, ...retried].map((p) => p.payload[0]! - 48);
    let out = [...during, ...retried];
    for (let n = 0; n < 20 && out.length; n++) {
      const p = out.shift()!;
      await send(t, { type: PUBACK, id: p.id! });
      const more = await publishes(t);
      seen.push(...more.map((x) => x.payload[0]! - 48));
      out = [...out, ...more];
    }
    expect(t.statuses.map((s) => s[1])).toEqual(Array(8).fill('delivered'));
    expect(new Set(t.statuses.map((s) => s[0]))).toEqual(new Set(keys));
    expect(seen.sort()).toEqual([0, 1, 1, 2, 3, 3, 4, 5, 6, 7]);
  });

  test.each([1, 2] as const)(
    'a QoS %i message whose time to live runs out during the pause ends rejected, saying both',
    async (qos) => {
      const t = setup5();
      t.client.start();
      await accept5(t);
      const key = t.client.publish('b/1', 'pressed', { qos, ttl: 300 });
      const [p] = await publishes(t);
      await send(t, { type: qos === 1 ? PUBACK : PUBREC, id: p!.id!, reasonCode: 0x97 });
      await runFor(t.clock, 600);
      expect(await publishes(t)).toEqual([]);
      expect(t.statuses).toEqual([
        [key, 'rejected', 'Quota exceeded (0x97), and its time to live ran out while it waited to be sent again'],
      ]);
    },
  );

  test('stopped during a pause while the socket is full: no timer wakes for the pause it can no longer act on', async () => {
    // (timers at least 1 ms apart, so that the loop this guards against ends and is counted)
    const t = setup(
      {} as Partial<RobustOptions>,
      'manual',
      { minDelay: 1 },
      (o) => new RobustClient5(o as Robust5Options),
    );
    t.client.start();
    await accept5(t);
    t.broker.socket.capacity = 0; // what is written next fills it: the client waits for onWritable
    t.client.publish('q/1', 'a', { qos: 1 });
    const [p] = await publishes(t);
    await send(t, { type: PUBACK, id: p!.id!, reasonCode: 0x97 }); // a pause of 0.5 s
    t.client.stop(); // DISCONNECT waits for the socket
    const before = t.clock.fired;
    t.clock.advance(3000);
    await settle();
    expect(t.clock.fired - before).toBeLessThan(10); // it was one timer per millisecond past the pause
  });

  test('the connection lost during a pause: the held message is resent with DUP after CONNACK, as any in flight', async () => {
    const t = setup5();
    t.client.start();
    await accept5(t);
    const key = t.client.publish('q/1', 'a', { qos: 1 });
    const [p] = await publishes(t);
    await send(t, { type: PUBACK, id: p!.id!, reasonCode: 0x97 });
    t.broker.socket.fail();
    await runFor(t.clock, 5000, () => t.opened.length === 2);
    await accept5(t, true);
    const [again] = await publishes(t);
    expect(again).toMatchObject({ id: p!.id, dup: true });
    await runFor(t.clock, 2000);
    expect(await publishes(t)).toEqual([]); // the pause ended with its connection: sent once
    await send(t, { type: PUBACK, id: p!.id! });
    expect(t.statuses).toEqual([[key, 'delivered', undefined]]);
  });
});

describe('RobustClient5: SUBACK codes and the broker DISCONNECT', () => {
  test('SUBACK reason codes reach onSubscribed per filter; a refused filter is an issue with its code', async () => {
    const t = setup5();
    const got: [string[], number[]][] = [];
    t.client.onSubscribed = (subs, codes) => got.push([subs.map((s) => s.topic), codes]);
    t.client.subscribe(['ok/#', 'secret/#'], 1);
    t.client.start();
    await accept5(t);
    await settle();
    const [sub] = written(t).filter((p) => p.type === SUBSCRIBE);
    await send(t, { type: SUBACK, id: sub!.id, reasonCodes: [0x01, 0x87] });
    await settle();
    expect(got).toEqual([
      [
        ['ok/#', 'secret/#'],
        [0x01, 0x87],
      ],
    ]);
    expect(t.client.lastIssue?.error).toMatchObject({ code: SUBSCRIBE_REFUSED, reasonCode: 0x87 });
    expect(t.client.lastIssue?.error.message).toContain('secret/#');
    expect(t.client.lastIssue?.error.message).not.toContain('ok/#');
  });

  test.each([
    ['a plain loss: within backoff.min', undefined, 500],
    ['DISCONNECT 0x8B server shutting down: 1 round more', 0x8b, 5_000],
    ['DISCONNECT 0x97 quota exceeded: 1 round more', 0x97, 5_000],
    ['DISCONNECT 0x8E session taken over: 2 rounds more', 0x8e, 50_000],
  ])('%s (a healthy connection; random 0: half the cap)', async (_, reason, delay) => {
    const t = setup5();
    t.client.start();
    await accept5(t);
    await runFor(t.clock, 6_000); // healthy (backoff.stableAfter)
    if (reason === undefined) t.broker.socket.fail();
    else await send(t, { type: DISCONNECT, reasonCode: reason });
    const lost = t.clock.now();
    await runFor(t.clock, 200_000, () => t.opened.length === 2);
    expect(t.opened[1]![1] - lost).toEqual(near(delay));
    if (reason !== undefined)
      expect(t.client.issues.map((i) => [i.error.code, i.error.reasonCode])).toContainEqual([
        'UMQTT_BROKER_DISCONNECT',
        reason,
      ]);
  });

  test('taken over again and again: each retry waits longer, never a tight loop', async () => {
    const t = setup5();
    t.client.start();
    const gaps: number[] = [];
    let lost = 0;
    for (let n = 0; n < 4; n++) {
      if (n) gaps.push(t.clock.now() - lost);
      await accept5(t);
      await send(t, { type: DISCONNECT, reasonCode: 0x8e }); // at once: not yet healthy, a failed attempt
      lost = t.clock.now();
      await runFor(t.clock, 1_000_000, () => t.opened.length === n + 2);
    }
    expect(gaps.length).toBe(3);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(50_000 - SLACK);
    expect(gaps[2]).toBeGreaterThan(gaps[0]!);
  });
});
