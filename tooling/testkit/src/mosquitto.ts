// Eclipse Mosquitto, started on a free loopback port with a temporary config.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable, run } from './command.js';
import { ServerProcess } from './server-process.js';
import { freePort } from './wait.js';

export interface MosquittoOptions {
  /** Users and passwords; a password file is made with mosquitto_passwd. */
  users?: Record<string, string>;
  /** Default: true without users, false with users. */
  allowAnonymous?: boolean;
  /** Keep sessions and queued messages in the temp dir, across restart(). */
  persistence?: boolean;
  /**
   * Makes the listener a TLS listener (the url is then mqtts://). `caFile` is the CA that client
   * certificates are verified against; with `requireCertificate` a client without a certificate
   * signed by it is refused in the handshake.
   */
  tls?: { certFile: string; keyFile: string; caFile?: string; requireCertificate?: boolean };
  /**
   * A second listener, on another free port, speaking MQTT over WebSocket (with the same TLS
   * settings when `tls` is given: wss://). Its address is `wsPort` / `wsUrl`.
   */
  websockets?: boolean;
  /** Lines appended to the config as they are. */
  extraConfig?: string[];
}

export interface MosquittoHandle {
  host: '127.0.0.1';
  port: number;
  url: string;
  /** The WebSocket listener's port (with `websockets`). */
  wsPort: number | undefined;
  /** ws://127.0.0.1:PORT/ or wss://... (with `websockets`). */
  wsUrl: string | undefined;
  /** Temp dir with the config, password file and persistence; removed by stop(). */
  dir: string;
  /** Stops the broker (SIGTERM, so persistence is saved) and removes the temp dir. */
  stop(): Promise<void>;
  /** Stops and starts again on the same port with the same persistence dir. */
  restart(): Promise<void>;
  /** SIGKILL: a crash (persistence not saved). start() brings it back on the same port. */
  kill(): Promise<void>;
  /** Starts it again after kill(), on the same port with the same config; nothing if it runs. */
  start(): Promise<void>;
  /** Everything the broker wrote to stderr/stdout so far. */
  log(): string;
}

/** The mosquitto executable, or undefined when it is not installed. */
export function mosquittoPath(): string | undefined {
  return findExecutable('mosquitto');
}

/** mosquitto_pub and mosquitto_sub (Debian's mosquitto-clients), or undefined when missing. */
export function mosquittoClients(): { pub: string; sub: string } | undefined {
  const pub = findExecutable('mosquitto_pub');
  const sub = findExecutable('mosquitto_sub');
  return pub && sub ? { pub, sub } : undefined;
}

/**
 * For `describe.skipIf(mosquittoClientsOrSkip())`: a reason to skip when mosquitto_pub/sub are
 * missing, undefined when they are there. In CI (`CI` set) a missing one throws.
 */
export function mosquittoClientsOrSkip(): string | undefined {
  if (mosquittoClients() !== undefined) return mosquittoOrSkip();
  const reason = 'mosquitto_pub/mosquitto_sub are not installed (Debian: apt-get install mosquitto-clients)';
  if (process.env['CI']) throw new Error(`${reason}; CI is set, so tests may not skip`);
  return reason;
}

/**
 * For `describe.skipIf(mosquittoOrSkip())`: a reason to skip when Mosquitto is missing,
 * undefined when it is there. In CI (`CI` set) a missing Mosquitto throws: nothing may skip.
 */
export function mosquittoOrSkip(): string | undefined {
  if (mosquittoPath() !== undefined) return undefined;
  const reason = 'mosquitto is not installed (Debian: apt-get install mosquitto)';
  if (process.env['CI']) throw new Error(`${reason}; CI is set, so tests may not skip`);
  return reason;
}

async function writeConfig(
  dir: string,
  port: number,
  wsPort: number | undefined,
  options: MosquittoOptions,
): Promise<string> {
  const users = Object.entries(options.users ?? {});
  const tls = options.tls;
  // Settings after a `listener` line belong to that listener.
  const tlsLines = tls
    ? [
        `certfile ${tls.certFile}`,
        `keyfile ${tls.keyFile}`,
        ...(tls.caFile !== undefined ? [`cafile ${tls.caFile}`] : []),
        ...(tls.requireCertificate ? ['require_certificate true'] : []),
      ]
    : [];
  const lines = [
    // As root, mosquitto drops to user "mosquitto", which cannot write the temp dir.
    ...(process.getuid?.() === 0 ? ['user root'] : []),
    `allow_anonymous ${options.allowAnonymous ?? users.length === 0}`,
    'log_dest stderr',
    `listener ${port} 127.0.0.1`,
    ...tlsLines,
  ];
  // Debian's build (libwebsockets) opens the WebSocket listener on IPv6 unless told otherwise.
  if (wsPort !== undefined)
    lines.push(`listener ${wsPort} 127.0.0.1`, 'protocol websockets', 'socket_domain ipv4', ...tlsLines);
  if (users.length > 0) {
    const passwd = findExecutable('mosquitto_passwd');
    if (passwd === undefined) throw new Error('startMosquitto: mosquitto_passwd not found');
    const file = join(dir, 'passwords');
    for (const [index, [user, password]] of users.entries()) {
      await run(passwd, ['-b', ...(index === 0 ? ['-c'] : []), file, user, password]);
    }
    lines.push(`password_file ${file}`);
  }
  if (options.persistence) lines.push('persistence true', `persistence_location ${dir}/`);
  lines.push(...(options.extraConfig ?? []));
  const file = join(dir, 'mosquitto.conf');
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

/** Starts Mosquitto on a free 127.0.0.1 port (another one if that was taken meanwhile). */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<MosquittoHandle> {
  const executable = mosquittoPath();
  if (executable === undefined) throw new Error('startMosquitto: mosquitto is not installed');
  const dir = await mkdtemp(join(tmpdir(), 'umqtt-mosquitto-'));
  let broker: { server: ServerProcess; port: number; wsPort: number | undefined } | undefined;
  for (let attempt = 1; broker === undefined; attempt++) {
    const port = await freePort();
    const wsPort = options.websockets ? await freePort() : undefined;
    const config = await writeConfig(dir, port, wsPort, options);
    const candidate = new ServerProcess({
      name: 'mosquitto',
      command: [executable, '-c', config],
      ports: wsPort === undefined ? [port] : [port, wsPort],
    });
    try {
      await candidate.start();
      broker = { server: candidate, port, wsPort };
    } catch (error) {
      // The free port may have been taken in between; anything else fails every time.
      if (attempt >= 3 || !/address already in use/i.test(candidate.log())) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
  const { server: started } = broker;
  const scheme = options.tls ? 'mqtts' : 'mqtt';
  const wsPort = broker.wsPort;
  let stopped = false;
  return {
    host: '127.0.0.1',
    port: broker.port,
    url: `${scheme}://127.0.0.1:${broker.port}`,
    wsPort,
    wsUrl: wsPort === undefined ? undefined : `${options.tls ? 'wss' : 'ws'}://127.0.0.1:${wsPort}/`,
    dir,
    log: () => started.log(),
    async stop() {
      stopped = true;
      await started.stop();
      await rm(dir, { recursive: true, force: true });
    },
    async restart() {
      if (stopped) throw new Error('mosquitto restart: the broker was stopped');
      await started.stop();
      await started.start();
    },
    async kill() {
      await started.kill();
    },
    async start() {
      if (stopped) throw new Error('mosquitto start: the broker was stopped');
      if (!started.running) await started.start();
    },
  };
}
