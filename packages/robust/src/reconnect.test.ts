// The application in control of reconnecting (issue 24): the link state, urgent messages and
// their budget, the reconnect strategy and an overridden reconnect(), the credentials hook, the
// admission policy's fallback to the built-in decision, `idle`/`onIdle`, and `lastIssue` once
// the connection is healthy again. RobustClient on a fake clock against a scripted peer.
import { describe, expect, test } from 'vitest';
import { settle, toHex } from '@umqtt/testkit';
import { accept, packets, pub, runFor, setup, T0, utf8, PUBACK, PUBCOMP, PUBREC } from './harness.test-support.js';
import { UmqttError } from '@umqtt/codec';
import { CONNECT_TIMEOUT } from '@umqtt/simple';
import {
  builtinAdmission,
  DEFAULT_BACKOFF,
  exponentialBackoff,
  PRESETS,
  RobustClient,
  type AdmissionPolicy,
  type ReconnectContext,
} from './index.js';

/** Clock times (from T0) of the connection attempts so far. */
const attemptTimes = (t: ReturnType<typeof setup>) => t.opened.map(([, at]) => at - T0);

describe('link state: setLink(up)', () => {
  test('down: not one attempt while it lasts, urgent messages included; up: an attempt at once, the backoff starting over', async () => {
    const t = setup({ random: () => 0.5 }, 'down');
    t.client.start();
    await runFor(t.clock, 100_000); // attempts at 0, 0.75, 8.25, 83.25 s (x 0.75 of caps 1, 10, 100 s)
    expect(t.client.counters.attempts).toBe(4);
    t.client.setLink(false);
    expect(t.client.linkUp).toBe(false);
    await runFor(t.clock, 3_600_000);
    t.client.publish('home/alarm', 'window', PRESETS.alarm);
    t.client.publish('home/button', 'pressed', PRESETS.button);
    await runFor(t.clock, 3_600_000);
    expect(t.client.counters).toMatchObject({ attempts: 4, urgent: 0 });
    expect(t.client.state).toBe('offline');
    // up: at once, and the next delays start from min again
    const up = t.clock.now();
    t.client.setLink(true);
    expect(t.opened.at(-1)![1]).toBe(up);
    await runFor(t.clock, 9000);
    expect(
      attemptTimes(t)
        .slice(4)
        .map((at) => at - (up - T0)),
    ).toEqual([0, 750, 8250]);
  });

  test('down while online: the connection ends at once (not after 1.5 x keepAlive); up: connected again, the message resent', async () => {
    const t = setup();
    t.client.start();
    await accept(t);
    const sock = t.broker.socket;
    const key = t.client.publish('a', 'x', { qos: 1 });
    await settle();
    expect(packets(sock.take())).toEqual([pub('a', 'x', { qos: 1, id: 1 })]);
    t.client.setLink(false);
    expect(sock.closed).toBe(true);
    expect(sock.take()).toBe(''); // nothing more written (no DISCONNECT: the will stays armed)
    expect(t.client.state).toBe('offline');
    await runFor(t.clock, 600_000);
    expect(t.broker.sockets.length).toBe(1);
    expect(t.statuses).toEqual([]); // still in flight, in the store
    t.client.setLink(true);
    expect(t.broker.sockets.length).toBe(2);
    await accept(t, true);
    expect(packets(t.broker.socket.take())).toEqual([pub('a', 'x', { qos: 1, id: 1, dup: true })]);
    t.broker.socket.send(PUBACK(1));
    await settle();
    expect(t.statuses).toEqual([[key, 'delivered', undefined]]);
  });

  test('down while connecting: the attempt under way is dropped and its outcome ignored', async () => {
    const t = setup();
    t.client.start();
    const first = t.broker.socket;
    t.client.setLink(false);
    expect(first.closed).toBe(true);
    expect(t.client.state).toBe('offline');
    await runFor(t.clock, 600_000);
    expect(t.broker.sockets.length).toBe(1);
    expect(t.client.issues).toEqual([]); // ending it was the client's own decision
  });

  test('start() while the link is down waits for it; with autoReconnect false, up leaves the attempt to reconnect()', async () => {
    const t = setup({}, 'up');
    t.client.setLink(false);
    t.client.start();
    expect(t.client.state).toBe('offline');
    t.client.reconnect(); // not while the link is down
    await runFor(t.clock, 60_000);
    expect(t.broker.sockets.length).toBe(0);
    t.client.setLink(true);
    await runFor(t.clock, 0);
    expect(t.client.state).toBe('online');

    const manual = setup({ autoReconnect: false }, 'up');
    manual.client.start();
    await runFor(manual.clock, 0);
    manual.client.setLink(false);
    manual.client.setLink(true);
    await runFor(manual.clock, 60_000);
    expect(manual.broker.sockets.length).toBe(1);
    expect(manual.client.state).toBe('offline');
    manual.client.reconnect();
    await runFor(manual.clock, 0);
    expect(manual.client.state).toBe('online');
  });
});

describe('urgent messages bring the next attempt forward, within backoff.urgentPerHour', () => {
  test('a press whose deadline comes before the next attempt: one attempt at once, counted; the schedule stays as it was', async () => {
    const t = setup({ random: () => 0.5 }, 'down');
    t.client.start();
    await runFor(t.clock, 100_000); // four attempts; the next at 533.25 s
    t.client.publish('home/button', 'pressed', PRESETS.button); // stale after 15 s
    await runFor(t.clock, 450_000);
    expect(attemptTimes(t).slice(4)).toEqual([100_000, 533_250]);
    expect(t.client.counters).toMatchObject({ attempts: 6, urgent: 1 });
    // a press whose deadline is after the next attempt brings nothing forward (a long ttl)
    t.client.publish('home/button', 'pressed', { ...PRESETS.button, ttl: 3_600_000 });
    await runFor(t.clock, 10_000);
    expect(t.client.counters).toMatchObject({ attempts: 6, urgent: 1 });
  });

  test('an alarm: an attempt at once from the bucket, then the strategy keeps within urgentDelay (not counted); the broker back, it is delivered within it', async () => {
    const t = setup({ random: () => 0.5 }, 'down');
    t.client.start();
    await runFor(t.clock, 100_000); // four attempts; the next would be at 533.25 s
    const key = t.client.publish('home/alarm', 'window', PRESETS.alarm);
    await runFor(t.clock, 300_000);
    // at once (the bucket's one, counted), then the strategy's own every 0.95 x 60 s: asked again
    // when the alarm was queued, and after each refused attempt
    expect(attemptTimes(t).slice(4)).toEqual([100_000, 157_000, 214_000, 271_000, 328_000, 385_000]);
    expect(t.client.counters.urgent).toBe(1);
    await runFor(t.clock, 3_600_000);
    expect(t.client.counters.urgent).toBe(1); // the bucket refills at 0.5 an hour: nothing before the strategy's time
    const gaps = attemptTimes(t).map((at, i, all) => at - all[i - 1]!);
    expect(Math.max(...gaps.slice(5))).toBe(57_000);
    t.peer = 'up';
    await runFor(t.clock, 60_000, () => t.client.state === 'online');
    expect(packets(t.broker.socket.take()).slice(1)).toEqual([pub('home/alarm', 'window', { qos: 2, id: 1 })]);
    t.broker.socket.send(PUBREC(1));
    await settle();
    t.broker.socket.send(PUBCOMP(1));
    await settle();
    expect(t.statuses).toEqual([[key, 'delivered', undefined]]);
  });

  test('after connect timeouts (nothing answers: the link is probably down) the alarm waits within 5 x urgentDelay', async () => {
    const t = setup({ random: () => 0.5, connectTimeout: 10_000, backoff: { urgentPerHour: 0 } }, 'manual');
    t.client.publish('home/alarm', 'window', PRESETS.alarm);
    t.client.start();
    await runFor(t.clock, 1_000_000);
    // each attempt times out after 10 s; then 0.75 x the caps 1, 10, 100 s, then 0.95 x 300 s
    const gaps = attemptTimes(t).map((at, i, all) => at - (all[i - 1] ?? 0));
    expect(gaps.slice(1, 6)).toEqual([10_750, 17_500, 85_000, 295_000, 295_000]);
    expect(t.client.issues.at(-1)?.error.code).toBe('UMQTT_CONNECT_TIMEOUT');
  });

  test('urgentPerHour 0: nothing brought forward beyond the strategy; urgentPriority decides what is urgent', async () => {
    const t = setup({ random: () => 0.5, backoff: { urgentPerHour: 0 } }, 'down');
    t.client.start();
    await runFor(t.clock, 100_000);
    t.client.publish('home/button', 'pressed', PRESETS.button);
    await runFor(t.clock, 10_000);
    expect(attemptTimes(t).slice(4)).toEqual([]);
    // the alarm: no attempt at once, the strategy's within urgentDelay of when it was queued
    t.client.publish('home/alarm', 'window', PRESETS.alarm);
    await runFor(t.clock, 100_000);
    expect(attemptTimes(t).slice(4)).toEqual([167_000]);
    expect(t.client.counters.urgent).toBe(0);
    const off = setup({ random: () => 0.5, backoff: { urgentPerHour: 0, urgentPriority: Infinity } }, 'down');
    off.client.start();
    await runFor(off.clock, 100_000);
    off.client.publish('home/alarm', 'window', PRESETS.alarm); // nothing is urgent: the plain schedule
    await runFor(off.clock, 400_000);
    expect(attemptTimes(off).slice(4)).toEqual([]);
    const p = setup({ random: () => 0.5, backoff: { urgentPriority: 5 } }, 'down');
    p.client.start();
    await runFor(p.clock, 100_000);
    p.client.publish('x', 'y', { qos: 1, priority: 5 });
    await runFor(p.clock, 1000);
    expect(p.client.counters.urgent).toBe(1);
  });
});

describe('the reconnect strategy', () => {
  test('a function as backoff decides every delay (it was ignored before); it is told attempts, time offline, the error and what waits', async () => {
    const seen: ReconnectContext[] = [];
    const t = setup(
      {
        backoff: (ctx) => {
          seen.push({ ...ctx });
          return 5000;
        },
      },
      'down',
    );
    t.client.publish('a', 'x', { qos: 1, ttl: 60_000, priority: 3 });
    t.client.start();
    await runFor(t.clock, 20_000);
    expect(attemptTimes(t)).toEqual([0, 5000, 10_000, 15_000, 20_000]);
    expect(seen[2]).toMatchObject({
      attempts: 3,
      offline: 10_000,
      error: { code: 'UMQTT_CONNECTION_LOST' },
      queued: 1,
      held: 1,
      deadline: T0 + 60_000,
      priority: 3,
      now: T0 + 10_000,
      backoff: { min: 1000, maxAttempts: 0 },
    });
  });

  test('the built-in strategy: equal jitter up to the cap; while an alarm waits, 0.9 to 1 x urgentDelay (5 x after a connect timeout) where the cap is larger', () => {
    const ctx = (over: Partial<ReconnectContext>): ReconnectContext => ({
      attempts: 5,
      offline: 3_600_000,
      error: undefined,
      queued: 1,
      held: 1,
      deadline: Infinity,
      priority: 0,
      now: 0,
      backoff: DEFAULT_BACKOFF,
      random: () => 0.5,
      ...over,
    });
    const refused = new UmqttError({ code: 'UMQTT_CONNECTION_LOST', message: 'refused', place: 'connect' });
    const timeout = new UmqttError({ code: CONNECT_TIMEOUT, message: 'no answer', place: 'connect' });
    expect(exponentialBackoff(ctx({}))).toBe(450_000); // 0.75 x max
    expect(exponentialBackoff(ctx({ priority: 10, error: refused }))).toBeCloseTo(57_000);
    expect(exponentialBackoff(ctx({ priority: 10, error: refused, random: () => 0 }))).toBeCloseTo(54_000);
    expect(exponentialBackoff(ctx({ priority: 10, error: timeout }))).toBeCloseTo(285_000);
    expect(exponentialBackoff(ctx({ priority: 9, error: refused }))).toBe(450_000); // below urgentPriority
    expect(exponentialBackoff(ctx({ priority: 10, attempts: 2 }))).toBe(7500); // the cap (10 s) is already smaller
    const tight = { ...DEFAULT_BACKOFF, urgentDelay: 20_000 };
    expect(exponentialBackoff(ctx({ priority: 10, backoff: tight, random: () => 0.999 }))).toBeCloseTo(19_998);
  });

  test('the strategy is asked again when the first urgent message is queued offline (robust2: held ? 10 s : never)', async () => {
    const asked: number[] = [];
    const t = setup(
      {
        backoff: {
          urgentPerHour: 0,
          strategy: (ctx) => {
            asked.push(ctx.now - T0);
            return ctx.priority >= 10 ? 10_000 : Infinity;
          },
        },
      },
      'down',
    );
    t.client.start();
    await runFor(t.clock, 600_000);
    expect(attemptTimes(t)).toEqual([0]); // nothing waits that matters: never
    t.client.publish('home/temp', '21', PRESETS.temperature); // not urgent: not asked
    t.client.publish('home/alarm', 'window', PRESETS.alarm);
    t.client.publish('home/alarm', 'door', PRESETS.alarm); // not the first: not asked again
    await runFor(t.clock, 25_000);
    expect(asked).toEqual([0, 600_000, 610_000, 620_000]);
    expect(attemptTimes(t)).toEqual([0, 610_000, 620_000]);
    expect(t.client.counters.urgent).toBe(0);
  });

  test('{ strategy, ...settings }: the settings hold for any strategy; exponentialBackoff can be wrapped', async () => {
    const t = setup(
      { random: () => 0, backoff: { maxAttempts: 4, factor: 3, strategy: (ctx) => 2 * exponentialBackoff(ctx) } },
      'down',
    );
    t.client.start();
    await runFor(t.clock, 60_000);
    expect(attemptTimes(t)).toEqual([0, 1000, 4000, 13_000]); // twice 500, 1500, 4500
    expect(t.client.state).toBe('closed');
  });

  test('a strategy that throws or returns no delay: recorded, the built-in one decides; Infinity: only reconnect()', async () => {
    const t = setup({ backoff: () => NaN }, 'down');
    t.client.start();
    await runFor(t.clock, 600);
    expect(attemptTimes(t)).toEqual([0, 500]);
    expect(t.client.issues.map((i) => [i.place, i.error.code])).toContainEqual(['reconnect', 'UMQTT_CALLBACK_ERROR']);
    expect(t.client.issues.find((i) => i.place === 'reconnect')!.error.message).toBe(
      'reconnect strategy: returned NaN',
    );

    const never = setup({ backoff: () => Infinity }, 'down');
    never.client.start();
    await runFor(never.clock, 3_600_000);
    expect(never.broker.sockets.length).toBe(1);
    never.peer = 'up';
    never.client.reconnect();
    await runFor(never.clock, 0);
    expect(never.client.state).toBe('online');
  });

  test('the retries call reconnect(): a subclass that overrides it decides (robust2), and one that declines is asked again later', async () => {
    let allow = false;
    const calls: number[] = [];
    class Careful extends RobustClient {
      override reconnect(): void {
        calls.push(this.options.timers.now() - T0);
        if (allow) super.reconnect();
      }
    }
    const t = setup({ random: () => 0.5 }, 'down');
    const client = new Careful({ ...t.client.options });
    client.start();
    await runFor(t.clock, 5000);
    // the retry at 0.75 s is declined; asked again after the strategy's delay, not sooner than min
    expect(calls).toEqual([750, 1750, 2750, 3750, 4750]);
    expect(client.counters.attempts).toBe(1);
    allow = true;
    await runFor(t.clock, 1000);
    expect(client.counters.attempts).toBe(2);
  });
});

describe('credentials before every attempt', () => {
  test('the hook gives each attempt a fresh token (and may pick the server); the CONNECT carries it', async () => {
    const asked: { host: string; attempts: number; code: string | undefined }[] = [];
    let n = 0;
    const t = setup(
      {
        username: 'dev',
        credentials: ({ server, attempts, error }) => {
          asked.push({ host: server.host, attempts, code: error?.code });
          return { password: `tok-${++n}`, server: n === 2 ? { host: 'b' } : undefined };
        },
      },
      'manual',
    );
    t.client.start();
    await settle();
    t.broker.socket.open();
    await settle();
    expect(t.broker.socket.take()).toContain(toHex(Uint8Array.from(utf8('tok-1'))));
    t.broker.socket.send('20 02 00 04'); // bad user name or password
    await runFor(t.clock, 1000);
    expect(t.broker.socket.options.host).toBe('b');
    const connect = await accept(t);
    expect(connect).toContain(toHex(Uint8Array.from(utf8('tok-2'))));
    expect(connect).toContain(toHex(Uint8Array.from(utf8('dev'))));
    expect(asked).toEqual([
      { host: 'a', attempts: 0, code: undefined },
      { host: 'a', attempts: 1, code: 'UMQTT_CONNACK_CREDENTIALS' },
    ]);
  });

  test('a promise: the attempt waits for it; a rejection or a throw is an issue and a failed attempt', async () => {
    let release!: (c: { password: string }) => void;
    const t = setup({ username: 'u', credentials: () => new Promise((r) => (release = r)) }, 'up');
    t.client.start();
    await runFor(t.clock, 5000);
    expect(t.client.state).toBe('connecting');
    expect(t.broker.sockets.length).toBe(0);
    release({ password: 'late' });
    await runFor(t.clock, 0);
    expect(t.client.state).toBe('online');

    let calls = 0;
    const bad = setup({
      credentials: () => {
        if (++calls === 1) throw new Error('no clock sync yet');
        return Promise.reject(new Error('token service down'));
      },
    });
    bad.client.start();
    await runFor(bad.clock, 1000); // attempts at 0 and 500 ms
    expect(bad.broker.sockets.length).toBe(0);
    expect(bad.client.issues.map((i) => [i.place, i.error.code, i.error.message])).toEqual([
      ['connect', 'UMQTT_CALLBACK_ERROR', 'credentials: Error: no clock sync yet'],
      ['connect', 'UMQTT_CALLBACK_ERROR', 'credentials: Error: token service down'],
    ]);
    expect(bad.client.counters.attempts).toBe(2);
  });
});

describe('a custom admission policy can fall back to the built-in decision', () => {
  test('per-message options reach it, and builtin() honours them: maxPerTopic, overflow, noDuplicates, queueQos0', async () => {
    const seen: unknown[] = [];
    const policy: AdmissionPolicy = (incoming, held, online, ctx) => {
      seen.push(ctx.options);
      return incoming.topic === 'mine' ? { accept: true } : builtinAdmission(incoming, held, online, ctx);
    };
    const t = setup({ policy: { admit: policy, maxMessages: 4 } });
    const r1 = t.client.publish('r', '1', { qos: 1, maxPerTopic: 1 });
    t.client.publish('r', '2', { qos: 1, maxPerTopic: 1 }); // r1 gives way
    t.client.publish('d', 'same', { qos: 1, noDuplicates: true });
    t.client.publish('d', 'same', { qos: 1, noDuplicates: true }); // a duplicate: dropped
    t.client.publish('q', 'x', { queueQos0: false }); // QoS 0 offline: dropped
    t.client.publish('mine', '1', { qos: 1 }); // the custom rule: kept, whatever the limit
    t.client.publish('mine', '2', { qos: 1 });
    expect(t.client.publish('full', 'x', { qos: 1, overflow: 'reject' })).toBe(0); // 4 held: the built-in maxMessages
    await settle();
    expect(t.statuses).toEqual([
      [r1, 'dropped', 'overflow'],
      [0, 'dropped', 'duplicate'],
      [0, 'dropped', 'offline'],
      [0, 'rejected', 'full'],
    ]);
    expect(seen[0]).toEqual({ qos: 1, maxPerTopic: 1 });
    expect(t.client.held).toBe(4);
  });

  test('builtin(options) decides with other per-message options; a three-argument policy still works', async () => {
    const t = setup({
      policy: (incoming, _held, _online, ctx) =>
        ctx.builtin(incoming.topic.startsWith('log/') ? { ...ctx.options, maxPerTopic: 2 } : undefined),
    });
    const keys = [1, 2, 3].map((i) => t.client.publish('log/x', `${i}`, { qos: 1 }));
    await settle();
    expect(t.statuses).toEqual([[keys[0], 'dropped', 'overflow']]);
    const old = setup({ policy: (_incoming, held) => ({ accept: held.length < 1, reason: 'one' }) });
    old.client.publish('a', '1', { qos: 1 });
    old.client.publish('a', '2', { qos: 1 });
    await settle();
    expect(old.statuses).toEqual([[0, 'dropped', 'one']]);
  });
});

describe('idle: anything left to do?', () => {
  test('queued and in-flight messages, subscriptions and unsubscriptions until acknowledged; onIdle when nothing is left', async () => {
    const t = setup();
    const events: string[] = [];
    t.client.onIdle = () => events.push(`idle (${t.statuses.length} statuses)`);
    expect(t.client.idle).toBe(true);
    const key = t.client.publish('a', 'x', { qos: 1 });
    t.client.subscribe('s/#', 1);
    expect(t.client.idle).toBe(false);
    t.client.start();
    await accept(t);
    const sock = t.broker.socket;
    expect(packets(sock.take()).map((p) => p.slice(0, 11))).toEqual(['82 08 00 01', '32 06 00 01']); // SUBSCRIBE 1, PUBLISH 2
    sock.send(PUBACK(2));
    await settle();
    expect(t.statuses).toEqual([[key, 'delivered', undefined]]);
    expect(t.client.idle).toBe(false); // the SUBACK is still owed
    sock.send('90 03 00 01 01');
    await settle();
    expect(t.client.idle).toBe(true);
    expect(events).toEqual(['idle (1 statuses)']);
    // an unsubscription lost with its connection is sent again; idle once UNSUBACK comes
    t.client.unsubscribe('s/#');
    await settle();
    expect(packets(sock.take()).map((p) => p.slice(0, 2))).toEqual(['a2']);
    sock.fail();
    await settle();
    expect(t.client.idle).toBe(false);
    await runFor(t.clock, 500);
    await accept(t, true);
    const unsub = packets(t.broker.socket.take());
    expect(unsub.map((p) => p.slice(0, 2))).toEqual(['a2']);
    t.broker.socket.send(`b0 02 ${unsub[0]!.slice(6, 11)}`);
    await settle();
    expect(t.client.idle).toBe(true);
    expect(events).toEqual(['idle (1 statuses)', 'idle (1 statuses)']);
  });

  test('a status reported after publish() returned comes before onIdle', async () => {
    const t = setup();
    const order: string[] = [];
    t.client.onIdle = () => order.push('idle');
    t.client.onStatus = (_k, s) => order.push(s);
    t.client.publish('a', 'x', { qos: 1, ttl: 1000 });
    await runFor(t.clock, 1000);
    expect(order).toEqual(['expired', 'idle']);
  });
});

describe('lastIssue', () => {
  test('is cleared once the connection is healthy again; issues keeps the history', async () => {
    const t = setup({}, 'down');
    t.client.start();
    await runFor(t.clock, 100);
    expect(t.client.lastIssue?.error.code).toBe('UMQTT_CONNECTION_LOST');
    t.peer = 'up';
    await runFor(t.clock, 1000, () => t.client.state === 'online');
    expect(t.client.lastIssue?.error.code).toBe('UMQTT_CONNECTION_LOST'); // not healthy yet
    await runFor(t.clock, 5000); // stableAfter
    expect(t.client.lastIssue).toBeUndefined();
    expect(t.client.issues.length).toBeGreaterThan(0);
  });
});
