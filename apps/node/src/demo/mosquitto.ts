// The MQTT 5 demo's broker: Eclipse Mosquitto (aedes, the embedded broker, speaks MQTT 3.1.1
// only), run as a child process on a free loopback port with a configuration of its own. Its
// outage is a stop (SIGTERM: Mosquitto saves its sessions and queued messages to its persistence
// file) and a start on the same port, which reads them back: as the embedded broker's pause()
// and resume(), the sessions outlive the outage.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect as tcpConnect, createServer } from 'node:net';
import { join } from 'node:path';
import { CliError, EXIT } from '../cli/errors.js';

/** What the demo needs of a broker: where it is, and an outage. */
export interface DemoBroker {
  readonly host: string;
  readonly port: number;
  readonly listening: boolean;
  pause(): Promise<void>;
  resume(): Promise<void>;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';

/** A port nothing listens on now (the kernel's choice). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once `port` accepts a TCP connection; rejects after `ms` or when `child` exits. */
async function accepting(port: number, child: ChildProcess, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (child.exitCode === null && child.signalCode === null) {
    const up = await new Promise<boolean>((resolve) => {
      const s = tcpConnect(port, HOST, () => resolve(true));
      s.on('error', () => resolve(false));
      s.on('close', () => s.destroy());
      s.setTimeout(500, () => s.destroy());
    });
    if (up) return;
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new CliError(
    EXIT.FAILED,
    `mosquitto did not start listening on ${HOST}:${port}`,
    'run it by hand to see why: mosquitto -v',
  );
}

/**
 * Starts Mosquitto (`command`: a path, or the name found on PATH) on a free loopback port, its
 * configuration and persistence in `dir`. Rejects with a CliError when it is not installed.
 */
export async function startDemoMosquitto(dir: string, command = 'mosquitto'): Promise<DemoBroker> {
  const port = await freePort();
  const config = join(dir, 'mosquitto.conf');
  writeFileSync(
    config,
    [
      // Started as root, Mosquitto runs as the user "mosquitto", which cannot write `dir`: no
      // persistence file, so no session would outlive the outage.
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      `listener ${port} ${HOST}`,
      'allow_anonymous true',
      'persistence true',
      `persistence_location ${dir}/`,
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  const start = async () => {
    const c = spawn(command, ['-c', config], { stdio: 'ignore' });
    child = c;
    const missing = await new Promise<boolean>((resolve) => {
      c.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ENOENT'));
      c.once('spawn', () => resolve(false));
    });
    if (missing)
      throw new CliError(
        EXIT.FAILED,
        `the MQTT 5 demo needs Mosquitto ("${command}" was not found): aedes, the embedded broker, speaks MQTT 3.1.1 only`,
        'install it (Debian: apt install mosquitto), or run the demo without -V 5',
      );
    await accepting(port, c);
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM'); // Mosquitto writes its persistence file on the way out
    });
  };
  await start();
  return {
    host: HOST,
    port,
    get listening() {
      return child !== undefined;
    },
    pause: stop,
    resume: start,
    close: stop,
  };
}
