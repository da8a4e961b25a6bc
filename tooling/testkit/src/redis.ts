// redis-server (Debian's package), started on a free loopback port with nothing saved to disk:
// the shared state of a clustered aedes (mqemitter-redis, aedes-persistence-redis) in tests.
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable } from './command.js';
import { ServerProcess } from './server-process.js';
import { freePort } from './wait.js';

export interface RedisHandle {
  port: number;
  /** `redis://127.0.0.1:PORT`. */
  url: string;
  /** Stops it (SIGTERM) and removes its temp dir. */
  stop(): Promise<void>;
  /** Everything it wrote so far. */
  log(): string;
  /** Runs one command (`'LLEN', 'key'`) and resolves with its reply in RESP, as Redis wrote it. */
  command(...args: string[]): Promise<string>;
}

/** Sends one command in RESP and resolves with the whole reply (read until the server pauses). */
function command(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = connect({ host: '127.0.0.1', port }, () =>
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`),
    );
    let timer = setTimeout(() => fail(new Error(`redis: no reply to ${args[0]}`)), 5000);
    const fail = (e: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(e);
    };
    socket.setEncoding('utf8').on('data', (s: string) => {
      text += s;
      clearTimeout(timer);
      // a reply may come in several chunks: done once nothing more arrives for a moment
      timer = setTimeout(() => {
        socket.destroy();
        resolve(text);
      }, 20);
    });
    socket.on('error', fail);
  });
}

/** The redis-server executable, or undefined when it is not installed. */
export function redisPath(): string | undefined {
  return findExecutable('redis-server');
}

/**
 * For `describe.skipIf(redisOrSkip())`: a reason to skip when redis-server is missing, undefined
 * when it is there. In CI (`CI` set) a missing one throws: nothing may skip.
 */
export function redisOrSkip(): string | undefined {
  if (redisPath() !== undefined) return undefined;
  const reason = 'redis-server is not installed (Debian: apt-get install redis-server)';
  if (process.env['CI']) throw new Error(`${reason}; CI is set, so tests may not skip`);
  return reason;
}

/** Starts redis-server on a free 127.0.0.1 port (another one if that was taken meanwhile). */
export async function startRedis(): Promise<RedisHandle> {
  const executable = redisPath();
  if (executable === undefined) throw new Error('startRedis: redis-server is not installed');
  const dir = await mkdtemp(join(tmpdir(), 'umqtt-redis-'));
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const server = new ServerProcess({
      name: 'redis-server',
      // No config file: every setting on the command line; no snapshots, no append-only file.
      command: [
        executable,
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        '--protected-mode',
        'yes',
      ],
      ports: [port],
      ready: /Ready to accept connections/,
    });
    try {
      await server.start();
    } catch (error) {
      // The free port may have been taken in between; anything else fails every time.
      if (attempt >= 3 || !/address already in use/i.test(server.log())) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
      continue;
    }
    return {
      port,
      url: `redis://127.0.0.1:${port}`,
      log: () => server.log(),
      command: (...args) => command(port, args),
      async stop() {
        await server.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
}
