// RobustClient keeps no map of SUBSCRIBE/UNSUBSCRIBE packet ids: each packet carries its filters
// as the session's `ref`, and the statuses bring them back. What that must keep: `idle` is false
// while one is unanswered, a timed-out one goes back to the filters to send (and a late answer to
// it changes nothing), and an aborted one is sent again on the next connection.
import { describe, expect, test } from 'vitest';
import { settle } from '@umqtt/testkit';
import { accept, packets, runFor, setup } from './harness.test-support.js';

const SUBACK = (id: number, code: number) => `90 03 00 ${id.toString(16).padStart(2, '0')} 0${code}`;

describe('subscriptions through the session core with a ref', () => {
  test('idle only once each SUBSCRIBE and UNSUBSCRIBE is answered; onSubscribed gets the filters back', async () => {
    const t = setup();
    const subscribed: [string[], number[]][] = [];
    t.client.onSubscribed = (list, granted) => subscribed.push([list.map((s) => s.topic), granted]);
    t.client.start();
    await accept(t);
    t.client.subscribe(['a', 'b'], 1);
    t.client.unsubscribe('c');
    await settle();
    expect(packets(t.broker.socket.take()).map((p) => p.slice(0, 2))).toEqual(['82', 'a2']);
    expect(t.client.idle).toBe(false);
    t.broker.socket.send('90 04 00 01 01 01');
    await settle();
    expect(subscribed).toEqual([
      [
        ['a', 'b'],
        [1, 1],
      ],
    ]);
    expect(t.client.idle).toBe(false); // the UNSUBACK is still awaited
    t.broker.socket.send('b0 02 00 02');
    await settle();
    expect(t.client.idle).toBe(true);
  });

  test('a SUBSCRIBE that times out is sent again on the next connection; its late SUBACK changes nothing', async () => {
    const t = setup({ messageTimeout: 1000, keepAlive: 0 });
    const subscribed: string[][] = [];
    t.client.onSubscribed = (list) => subscribed.push(list.map((s) => s.topic));
    t.client.start();
    await accept(t);
    t.client.subscribe('x', 1);
    await settle();
    expect(packets(t.broker.socket.take()).map((p) => p.slice(0, 2))).toEqual(['82']);
    await runFor(t.clock, 1500);
    expect(t.client.lastIssue).toBeUndefined(); // a subscription's timeout is not a message's
    expect(t.client.idle).toBe(false); // 'x' waits to be sent again
    t.broker.socket.send(SUBACK(1, 1)); // late: reported `unknown`, nothing to do
    await settle();
    expect(subscribed).toEqual([]);
    expect(t.client.idle).toBe(false);
    t.broker.socket.fail();
    await runFor(t.clock, 1000);
    await accept(t);
    const again = packets(t.broker.socket.take());
    expect(again.map((p) => p.slice(0, 2))).toEqual(['82']);
    t.broker.socket.send(SUBACK(parseInt(again[0]!.split(' ').slice(2, 4).join(''), 16), 1));
    await settle();
    expect(subscribed).toEqual([['x']]);
    expect(t.client.idle).toBe(true);
  });

  test('an UNSUBSCRIBE cut off by the connection is sent again after it', async () => {
    const t = setup();
    t.client.start();
    await accept(t);
    t.client.unsubscribe('gone/#');
    await settle();
    expect(packets(t.broker.socket.take()).map((p) => p.slice(0, 2))).toEqual(['a2']);
    t.broker.socket.fail();
    expect(t.client.idle).toBe(false);
    await runFor(t.clock, 1000);
    await accept(t, true);
    expect(packets(t.broker.socket.take()).map((p) => p.slice(0, 2))).toEqual(['a2']);
    t.broker.socket.send('b0 02 00 02');
    await settle();
    expect(t.client.idle).toBe(true);
  });
});
