import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { redisOrSkip, startRedis } from './redis.js';
import { canConnect } from './server-process.js';

/** Sends RESP commands (inline form) and resolves with the reply once it holds `replies` lines. */
function redis(port: number, commands: string[], replies: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(commands.map((c) => `${c}\r\n`).join('')));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply to ${commands.join('; ')}: ${JSON.stringify(text)}`));
    }, 5000);
    socket.setEncoding('utf8').on('data', (s: string) => {
      text += s;
      const lines = text.split('\r\n').slice(0, -1);
      if (lines.length < replies) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(lines);
    });
    socket.on('error', reject);
  });
}

describe.skipIf(redisOrSkip() !== undefined)('startRedis', () => {
  it('comes up on a free loopback port, answers, keeps a value, and is gone after stop()', async () => {
    const r = await startRedis();
    try {
      expect(r.url).toBe(`redis://127.0.0.1:${r.port}`);
      expect(await redis(r.port, ['PING', 'SET umqtt-test 42', 'GET umqtt-test'], 4)).toEqual([
        '+PONG',
        '+OK',
        '$2',
        '42',
      ]);
      // nothing is saved to disk
      expect(await redis(r.port, ['CONFIG GET save'], 5)).toEqual(['*2', '$4', 'save', '$0', '']);
    } finally {
      await r.stop();
    }
    expect(await canConnect(r.port)).toBe(false);
  });
});
