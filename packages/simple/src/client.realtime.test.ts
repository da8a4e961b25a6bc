// On real Node timers and real sockets: the platform fires timers a millisecond or two before
// performance.now() reaches their due time, which a fake clock never does. Every connect settles,
// as on a device. (The keepalive rules themselves are the session's: packages/session's
// keepalive.test.ts; a trickling peer at byte level: client.hostile.test.ts.)
import { createServer, type Server, type Socket as NetSocket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { createTcpSocketFactory, nodeTimers } from '../../../apps/node/src/transport/index.ts';
import { MqttClient } from './index.js';

const servers: Server[] = [];
const peers: NetSocket[] = [];

/** A TCP server on a free loopback port that accepts and then does what `onConnection` says. */
async function server(onConnection: (s: NetSocket) => void): Promise<number> {
  const srv = createServer((s) => {
    peers.push(s);
    s.on('error', () => undefined);
    onConnection(s);
  });
  servers.push(srv);
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return (srv.address() as { port: number }).port;
}

afterEach(async () => {
  for (const p of peers.splice(0)) p.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('real timers (Node)', () => {
  test('a broker that accepts TCP and never sends CONNACK: every connect() rejects in time (40 in a row)', async () => {
    const port = await server(() => undefined); // silent
    const connectTimeout = 20;
    const late: number[] = [];
    for (let i = 0; i < 40; i++) {
      const client = new MqttClient({
        socket: createTcpSocketFactory(),
        timers: nodeTimers,
        host: '127.0.0.1',
        port,
        connectTimeout,
      });
      const start = performance.now();
      // a bound far beyond the deadline: if connect() hangs, this says so instead of the test timing out
      const hang = new Promise<string>((resolve) => setTimeout(() => resolve('hung'), 2000).unref());
      const outcome = await Promise.race([
        client.connect().then(
          () => 'resolved',
          (e: { code: string }) => e.code,
        ),
        hang,
      ]);
      expect(outcome).toBe('UMQTT_CONNECT_TIMEOUT');
      late.push(performance.now() - start - connectTimeout);
    }
    expect(Math.min(...late)).toBeGreaterThanOrEqual(-0.5); // never (meaningfully) before the deadline
    expect(Math.max(...late)).toBeLessThan(500);
  });
});
