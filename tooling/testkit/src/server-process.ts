// A server the tests run as a separate process (mosquitto, redis-server, a `umqtt broker` node):
// spawned so the kernel kills it if the test process dies, its output kept, started once its
// ports accept connections, stopped with SIGTERM (SIGKILL if it does not exit in time), or
// killed outright to play a crashed machine.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { findExecutable } from './command.js';

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const LOG_LIMIT = 1 << 20;

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills any server still running when the test process exits. Installed on first start. */
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:port now. */
export function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

export interface ServerProcessOptions {
  /** Named in errors: "mosquitto on port 1234 exited". */
  name: string;
  /** The executable and its arguments. */
  command: [string, ...string[]];
  /** Ports (on 127.0.0.1) that must accept connections before start() resolves. */
  ports: number[];
  /** Extra environment variables. */
  env?: Record<string, string> | undefined;
  /** Also wait until the output says this (a server that listens before it is ready). */
  ready?: RegExp | undefined;
}

/** One server process, started and stopped as often as a test wants, on the same ports. */
export class ServerProcess {
  #child: ChildProcess | undefined;
  #log = '';

  constructor(readonly options: ServerProcessOptions) {}

  /** Everything the process wrote to stdout and stderr so far (the last MiB), over all its runs. */
  log(): string {
    return this.#log;
  }

  /** Whether a run is alive. */
  get running(): boolean {
    const c = this.#child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  /** The pid of the current run. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Spawns the process and resolves once its ports accept connections (and `ready` was printed). */
  async start(): Promise<void> {
    const command = [...this.options.command];
    // Linux: the kernel kills the server if this process dies without stopping it (a test
    // runner may end its workers with a signal, and then no 'exit' handler runs).
    const setpriv = findExecutable('setpriv');
    if (setpriv !== undefined) command.unshift(setpriv, '--pdeathsig', 'KILL', '--');
    const [file, ...args] = command as [string, ...string[]];
    const child = spawn(file, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: this.options.env ? { ...process.env, ...this.options.env } : process.env,
    });
    this.#child = child;
    live.add(child);
    installExitHook();
    const logStart = this.#log.length;
    const append = (chunk: Buffer) => {
      this.#log = (this.#log + chunk.toString('utf8')).slice(-LOG_LIMIT);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    let exited = false;
    child.once('exit', () => {
      exited = true;
      live.delete(child);
    });
    child.once('error', (error) => {
      exited = true;
      append(Buffer.from(`spawn failed: ${error.message}\n`));
    });

    const { ready, ports } = this.options;
    const deadline = performance.now() + START_TIMEOUT_MS;
    while (!exited && performance.now() < deadline) {
      let up = ready === undefined || ready.test(this.#log.slice(Math.min(logStart, this.#log.length)));
      for (const port of ports) up = up && (await canConnect(port));
      if (up) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await this.stop();
    const why = exited ? 'exited' : `did not listen within ${START_TIMEOUT_MS} ms`;
    throw new Error(`${this.options.name} on port ${ports.join(', ')} ${why}. Its log:\n${this.#log}`);
  }

  /** SIGTERM, then SIGKILL if it does not exit in time. */
  stop(): Promise<void> {
    return this.#end('SIGTERM');
  }

  /** SIGKILL: a crash, nothing saved, no goodbye to anyone. Resolves once the process is gone. */
  kill(): Promise<void> {
    return this.#end('SIGKILL');
  }

  async #end(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
}
