// Failover across a real broker cluster: three `umqtt broker --redis` nodes (the command bundled
// from sources, each its own process) sharing a redis-server started on a loopback port. A
// robust publisher and a robust subscriber, each with the three nodes as `servers`, stream
// thousands of QoS 1 and QoS 2 messages while the nodes are killed (SIGKILL) and restarted in
// turn, at points drawn from a printed seed. Replay a schedule with UMQTT_CLUSTER_SEED=<seed>.
import { redisOrSkip, seeded, ServerProcess, startRedis, waitFor, freePort, type RedisHandle } from '@umqtt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledCli } from '../cli/cli.test-support.js';
import { FailoverWorkload, reusedIds, underTwoIds } from './failover.test-support.js';

const NODES = 3;
const TOTAL = 6000;
const RATE = 1000; // messages per second: the kills fall while the stream runs
const KILLS = 3;

describe.skipIf(redisOrSkip() !== undefined)('a cluster of umqtt broker --redis nodes', () => {
  let redis: RedisHandle;
  let bin: string;
  const nodes: { server: ServerProcess; port: number; name: string }[] = [];

  beforeAll(async () => {
    [bin, redis] = await Promise.all([bundledCli('cluster'), startRedis()]);
    for (let i = 1; i <= NODES; i++) {
      const port = await freePort();
      const name = `node-${i}`;
      const server = new ServerProcess({
        name: `umqtt broker ${name}`,
        command: [process.execPath, bin, 'broker', '-p', String(port), '--redis', redis.url, '--id', name],
        ports: [port],
        ready: /stop with Ctrl-C/,
      });
      nodes.push({ server, port, name });
    }
    await Promise.all(nodes.map((n) => n.server.start()));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.server.stop()));
    await redis?.stop();
  });

  it('a message published on one node reaches a subscriber on another', async () => {
    const w = new FailoverWorkload(20, [nodes[0]!.port], [nodes[1]!.port]);
    try {
      await w.start();
      await waitFor(() => w.received.count.size === 20 && w.settled === 20, {
        timeout: 10_000,
        message: '20 messages',
      });
      expect(w.tally(1).missing).toEqual([]);
      expect(w.tally(2).missing).toEqual([]);
    } finally {
      w.stop();
    }
  });

  it('tells a client on another node that its session is there, if the session has a subscription', async () => {
    // aedes answers CONNACK with session present only when it finds subscriptions of the
    // client ([MQTT-3.2.2-2] asks it for any kept session): a publisher that subscribes to
    // nothing is told "no session" wherever it reconnects, though Redis holds its QoS 2 state.
    const [a, b] = [nodes[0]!.port, nodes[1]!.port];
    for (const subscribes of [false, true]) {
      const w = new FailoverWorkload(0, [a, b], [b]);
      try {
        await w.start({ subscribePublisher: subscribes });
        await waitFor(() => w.pub.connacks.length === 1);
        if (subscribes) await waitFor(() => w.pub.client.issues.length === 0 && w.pub.connacks.length === 1);
        await new Promise((resolve) => setTimeout(resolve, 100)); // the SUBSCRIBE is in Redis
        w.pub.client.stop();
        w.pub.client.options.servers.reverse(); // the next connection goes to the other node
        w.pub.client.start();
        await waitFor(() => w.pub.connacks.length === 2, { message: 'reconnected' });
        expect(w.pub.connacks.map((c) => [c.port, c.sessionPresent])).toEqual([
          [a, false],
          [b, subscribes],
        ]);
      } finally {
        w.stop();
      }
    }
  });

  it(`streams ${TOTAL} QoS 1/2 messages while the nodes are killed and restarted in turn`, async () => {
    const seed = Number(process.env['UMQTT_CLUSTER_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
    console.log(
      `cluster failover seed=${seed} (replay the schedule: UMQTT_CLUSTER_SEED=${seed} npx vitest run --project node src/broker/cluster.e2e.test.ts)`,
    );
    const random = seeded(seed);
    const ports = nodes.map((n) => n.port);
    const name = (port: number) => nodes.find((x) => x.port === port)?.name;
    // The publisher starts on node-1, the subscriber on node-2: messages cross nodes.
    const w = new FailoverWorkload(TOTAL, ports, [...ports.slice(1), ports[0]!], RATE);
    const kills: { node: string; at: number }[] = [];
    const t0 = performance.now();
    const listLength = async () => Number(/:(\d+)/.exec(await redis.command('LLEN', `outgoing:${w.prefix}-sub`))?.[1]);
    let stuck = 0;
    let drains = 0;
    let leftInList = 0;
    try {
      await w.start({ subscribePublisher: true });
      let victim = Math.floor(random() * NODES);
      for (let k = 0; k < KILLS; k++) {
        // at a time drawn in the k-th of KILLS + 1 slices of the stream, past its first half
        const at = t0 + ((k + 0.5 + random() * 0.5) * 1000 * TOTAL) / RATE / (KILLS + 1);
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - performance.now())));
        const node = nodes[victim]!;
        kills.push({ node: node.name, at: performance.now() });
        await node.server.kill();
        await new Promise((resolve) => setTimeout(resolve, 50 + random() * 450));
        await node.server.start();
        victim = (victim + 1) % NODES;
      }
      await waitFor(() => w.settled === TOTAL, { timeout: 30_000, message: 'every message settled' });
      for (let last = -1; w.copies !== last;) {
        last = w.copies;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      stuck = TOTAL - w.received.count.size;
      // What the cluster still holds for the subscriber comes with its next connections: each
      // reads at most 1001 entries of its outgoing list in Redis (maxSessionDelivery), dead
      // entries included (see the README).
      while (drains < 10 && (await listLength()) > 0) {
        const before = w.copies;
        const length = await listLength();
        await w.reconnectSubscriber();
        drains++;
        if (w.copies === before && (await listLength()) === length) break;
      }
      leftInList = await listLength();
    } finally {
      w.stop();
    }
    const q1 = w.tally(1);
    const q2 = w.tally(2);
    const p = w.published;
    // A loss is aedes' to explain only if the message was in flight when a node died: published
    // before the kill, its acknowledgement not long before it (aedes acknowledges a QoS 1
    // message before it is in Redis) or after it.
    // (The runs measured for the README saw at most 250 ms; a loaded CI machine gets a second.)
    const GRACE_MS = 1000;
    const atKill = (n: number) => kills.some((k) => p.publishedAt[n]! <= k.at && p.ackedAt[n]! >= k.at - GRACE_MS);
    // A QoS 2 message that reached the subscriber under a packet id still awaiting PUBREL for
    // another message is one the subscriber must not deliver [MQTT-4.3.3-2]: the node that sent
    // it reused an id of the session (aedes numbers ids per connection, from a random start).
    const reused = reusedIds(w.sub.wire.qos2);
    const twice = underTwoIds(w.sub.wire.qos2);
    const onWire = new Set(w.sub.wire.qos2.map((e) => ('seq' in e ? e.seq : -1)));
    const unexplained = [...q1.missing, ...q2.missing].filter((n) => !atKill(n) && !reused.has(n));
    const summary = {
      seed,
      seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
      kills: kills.map((k) => `${k.node}@${Math.round(k.at - t0)}ms`),
      publisher: w.pub.connacks.map((c) => `${name(c.port)}${c.sessionPresent ? '+session' : ''}`),
      subscriber: w.sub.connacks.map((c) => `${name(c.port)}${c.sessionPresent ? '+session' : ''}`),
      publishBeforeConnack: w.sub.wire.connackNotFirst,
      qos1: {
        sent: q1.sent,
        lost: q1.missing.length,
        lostAtKill: q1.missing.filter(atKill).length,
        duplicated: q1.duplicated.length,
      },
      qos2: {
        sent: q2.sent,
        lost: q2.missing.length,
        lostAtKill: q2.missing.filter(atKill).length,
        lostToReusedId: q2.missing.filter((n) => reused.has(n)).length,
        lostNeverSentToSubscriber: q2.missing.filter((n) => !onWire.has(n)).length,
        duplicated: q2.duplicated.length,
        duplicatedSentUnderTwoIds: q2.duplicated.filter((n) => twice.has(n)).length,
      },
      notYetDeliveredAfterStream: stuck,
      subscriberReconnectsToDrain: drains,
      deadEntriesLeftInOutgoingList: leftInList,
    };
    console.log(`cluster failover: ${JSON.stringify(summary)}`);
    // umqtt's side: one final status each, every one delivered (the broker acknowledged it)
    expect(p.statuses.every((c) => c === 1)).toBe(true);
    expect(p.status.every((s) => s === 'delivered')).toBe(true);
    // each client failed over at least once and found its session on the new node
    for (const side of [w.pub, w.sub]) {
      expect(side.connacks.length).toBeGreaterThan(1);
      expect(side.connacks.slice(1).every((c) => c.sessionPresent && c.returnCode === 0)).toBe(true);
    }
    // The cluster's side, as measured (README). The subscriber delivers a QoS 2 message twice
    // only when the broker sent it under two packet ids (as two messages); losses happen only
    // to messages in flight at a kill, or sent under an id the session still held.
    expect(q2.duplicated.filter((n) => !twice.has(n))).toEqual([]);
    expect(unexplained).toEqual([]);
    expect(q1.missing.length + q2.missing.length).toBeLessThan(TOTAL / 20);
  }, 90_000);
});
