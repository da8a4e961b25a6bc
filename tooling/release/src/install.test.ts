// What a new user does first: `npm install` the packages into a project of their own (here: a
// temporary directory outside the workspace, from the packed tarballs, offline), then either
// `import { connect } from '@umqtt/node'` in plain JavaScript, or the libraries with a socket
// adapter of their own, and publish/subscribe against a broker; also the `umqtt` command the
// install puts in node_modules/.bin. Type-checks consumers with TypeScript's node16 and bundler
// resolution against the installed packages.
import { existsSync, mkdirSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAedes, type AedesHandle } from '@umqtt/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BIN, cleanEnv, expectSuccess, packPublished, ROOT, run, tempDir } from './workspace.js';

const tmp = tempDir('scratch');
/** The workspace's installed copy of ws (a dependency of @umqtt/node). */
const WS_DIR = join(ROOT, 'apps/node/node_modules/ws');
const project = join(tmp.dir, 'project');
let broker: AedesHandle | undefined;

beforeAll(async () => {
  if (project.startsWith(`${ROOT}/`)) throw new Error('the scratch project must be outside the workspace');
  const tarballDir = join(tmp.dir, 'tarballs');
  mkdirSync(tarballDir);
  mkdirSync(project);
  const tarballs = await packPublished(tarballDir);
  // The one registry dependency (@umqtt/node's `ws`) comes from the workspace's installed copy,
  // packed as the registry serves it, so the install needs no network.
  const ws = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', tarballDir, realpathSync(WS_DIR)], {
    cwd: tmp.dir,
    timeoutMs: 30_000,
  });
  expectSuccess(ws, 'npm pack of the workspace copy of ws');
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'umqtt-scratch', version: '1.0.0', private: true, type: 'module' }, null, 2),
  );
  // No registry: the tarballs have no runtime dependencies outside themselves.
  const install = await run(
    'npm',
    [
      'install',
      '--offline',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      '--cache',
      join(tmp.dir, 'npm-cache'),
      ...tarballs.values(),
      join(tarballDir, ws.stdout.trim().split('\n').pop()!),
    ],
    { cwd: project, timeoutMs: 60_000, env: cleanEnv({ npm_config_userconfig: join(tmp.dir, 'npmrc') }) },
  );
  expectSuccess(install, 'npm install of the packed tarballs');
  writeFileSync(join(project, 'pubsub.mjs'), PUBSUB_SCRIPT);
  writeFileSync(join(project, 'node-example.mjs'), NODE_EXAMPLE);
  writeFileSync(join(project, 'consumer.ts'), CONSUMER_TS);
  writeFileSync(join(project, 'consumer-node.ts'), CONSUMER_NODE_TS);
}, 90_000);

afterAll(async () => {
  await broker?.close();
  tmp.remove();
});

it('installs every published package from its tarball, with its dist, outside the workspace', () => {
  for (const name of ['codec', 'session', 'simple', 'robust', 'store-memory', 'store-flash', 'node']) {
    expect(existsSync(join(project, 'node_modules/@umqtt', name, 'dist/index.js')), name).toBe(true);
  }
  // Nothing else came along: the seven, and ws for @umqtt/node (aedes is an optional peer).
  expect(readdirSync(join(project, 'node_modules')).filter((n) => !n.startsWith('.'))).toEqual(['@umqtt', 'ws']);
  expect(readdirSync(join(project, 'node_modules/@umqtt')).sort()).toEqual([
    'codec',
    'node',
    'robust',
    'session',
    'simple',
    'store-flash',
    'store-memory',
  ]);
  expect(existsSync(join(project, 'node_modules/.bin/umqtt'))).toBe(true);
});

it('runs a plain-JavaScript program that imports @umqtt/node: connect, publish QoS 1, receive, end', async () => {
  broker ??= await startAedes();
  const result = await run(process.execPath, ['node-example.mjs', broker.url], { cwd: project, timeoutMs: 20_000 });
  expectSuccess(result, 'node node-example.mjs');
  expect(JSON.parse(result.stdout.trim().split('\n').pop()!)).toEqual({
    kind: 'simple',
    granted: [1],
    status: 'delivered',
    received: { topic: 'scratch/node/greeting', payload: 'hello from @umqtt/node', qos: 1, isBuffer: true },
    state: 'closed',
    exports: { FileFlash: 'function', nodeTimers: 'object', parseBrokerUrl: 8883, startEmbeddedBroker: 'function' },
  });
}, 30_000);

it('runs the installed umqtt command: pub to the broker; broker says it needs aedes', async () => {
  broker ??= await startAedes();
  const umqtt = join(project, 'node_modules/.bin/umqtt');
  const pub = await run(umqtt, ['pub', '-L', broker.url, '-t', 'scratch/cli', '-m', 'hi', '-q', '1'], {
    cwd: project,
    timeoutMs: 20_000,
  });
  expectSuccess(pub, 'umqtt pub');
  const help = await run(umqtt, ['--help'], { cwd: project });
  expectSuccess(help, 'umqtt --help');
  expect(help.stdout).toMatch(/umqtt pub/);
  const brokerRun = await run(umqtt, ['broker', '-p', '0'], { cwd: project, timeoutMs: 20_000 });
  expect(brokerRun.code).not.toBe(0);
  expect(brokerRun.stderr).toContain('npm install aedes');
}, 60_000);

it('publishes and receives a message through aedes with @umqtt/simple and @umqtt/codec from the tarballs', async () => {
  broker ??= await startAedes();
  const result = await run(process.execPath, ['pubsub.mjs', String(broker.port)], { cwd: project, timeoutMs: 20_000 });
  expectSuccess(result, 'node pubsub.mjs');
  const report = JSON.parse(result.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  expect(report).toEqual({
    subscribed: [1],
    received: { topic: 'scratch/sensors/42', payload: '21.5', qos: 1, matches: true },
    status: 'delivered',
    imports: { robust: 'function', memoryStore: 'function', flashStore: 'function', umqttError: true },
  });
}, 30_000);

it.each(['node16', 'bundler'] as const)(
  'type-checks consumers against the installed packages (moduleResolution %s)',
  async (resolution) => {
    const compilerOptions = {
      noEmit: true,
      strict: true,
      exactOptionalPropertyTypes: true,
      skipLibCheck: false,
      target: 'ES2022',
      lib: ['ES2022'],
      types: [] as string[],
      module: resolution === 'node16' ? 'node16' : 'esnext',
      moduleResolution: resolution,
    };
    // The libraries need no Node types; @umqtt/node's consumer has them (the workspace's @types/node).
    const configs = {
      [`tsconfig.${resolution}.json`]: { compilerOptions, files: ['consumer.ts'] },
      [`tsconfig.node.${resolution}.json`]: {
        compilerOptions: { ...compilerOptions, types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')] },
        files: ['consumer-node.ts'],
      },
    };
    for (const [file, config] of Object.entries(configs)) {
      writeFileSync(join(project, file), JSON.stringify(config, null, 2));
      const result = await run(BIN.tsc, ['-p', file], { cwd: project, timeoutMs: 30_000 });
      expectSuccess(result, `tsc -p ${file}`);
    }
  },
  60_000,
);

/** The first program of a new user on Node: an inline node:net adapter, two clients, one message. */
const PUBSUB_SCRIPT = String.raw`
import { connect } from 'node:net';
import { MqttClient } from '@umqtt/simple';
import { topicMatches, UmqttError } from '@umqtt/codec';
import { RobustClient } from '@umqtt/robust';
import { MemoryStore } from '@umqtt/store-memory';
import { FlashStore } from '@umqtt/store-flash';

const port = Number(process.argv[2]);
const deadline = setTimeout(() => {
  console.error('no message within 10 s');
  process.exit(2);
}, 10_000);

const timers = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle),
};

// node:net -> the ECMA-419 style socket @umqtt/simple expects.
function tcp(options) {
  const socket = connect({ host: options.host, port: options.port });
  const chunks = [];
  let pending = 0;
  let done = false;
  const room = () => socket.writableHighWaterMark - socket.writableLength;
  const fail = (error) => {
    if (done) return;
    done = true;
    options.onError(error ?? new Error('closed'));
  };
  socket.setNoDelay(true);
  socket.on('connect', () => done || options.onWritable(room()));
  socket.on('drain', () => done || options.onWritable(room()));
  socket.on('data', (chunk) => {
    if (done) return;
    chunks.push(chunk);
    pending += chunk.length;
    options.onReadable(pending);
  });
  socket.on('error', fail);
  socket.on('close', () => fail());
  return {
    read() {
      if (chunks.length === 0) return undefined;
      const bytes = Buffer.concat(chunks.splice(0));
      pending = 0;
      return bytes;
    },
    write(bytes) {
      socket.write(Buffer.from(bytes));
      return room();
    },
    close() {
      done = true;
      socket.end();
    },
  };
}

const options = { socket: tcp, timers, host: '127.0.0.1', port };
const subscriber = new MqttClient({ ...options, clientId: 'scratch-sub' });
const publisher = new MqttClient({ ...options, clientId: 'scratch-pub' });
const result = {};

const received = new Promise((resolve) => {
  subscriber.onMessage = ({ topic, payload, qos }) => {
    result.received = { topic, payload: new TextDecoder().decode(payload), qos, matches: topicMatches('scratch/sensors/+', topic) };
    resolve();
  };
});
const subscribed = new Promise((resolve, reject) => {
  subscriber.onStatus = (id, status, granted) => (status === 'delivered' ? resolve(granted) : reject(new Error(status)));
});
const delivered = new Promise((resolve) => {
  publisher.onStatus = (id, status) => {
    if (status === 'delivered' || status === 'timeout' || status === 'aborted') resolve(status);
  };
});

await subscriber.connect();
subscriber.subscribe('scratch/sensors/+', 1);
result.subscribed = await subscribed;
await publisher.connect();
publisher.publish('scratch/sensors/42', '21.5', { qos: 1 });
await received;
result.status = await delivered;

let umqttError = false;
try {
  publisher.publish('scratch/#', 'wildcards are not topics');
} catch (e) {
  umqttError = e instanceof UmqttError && e.code === 'UMQTT_INVALID_TOPIC';
}
result.imports = {
  robust: typeof RobustClient,
  memoryStore: typeof MemoryStore,
  flashStore: typeof FlashStore,
  umqttError,
};

publisher.disconnect();
subscriber.disconnect();
clearTimeout(deadline);
console.log(JSON.stringify(result));
`;

/** A consumer's TypeScript: every package's main types, resolved from node_modules. */
const CONSUMER_TS = String.raw`
import { encodePublish, Parser, clientDecoders, topicMatches, UmqttError, type Packet, type QoS } from '@umqtt/codec';
import * as v5 from '@umqtt/codec/v5';
import { MqttClient, type ClientOptions, type Socket, type SocketFactory, type Status, type Timers } from '@umqtt/simple';
import { RobustClient, PRESETS, type FinalStatus, type Store } from '@umqtt/robust';
import { MemoryStore } from '@umqtt/store-memory';
import { FlashStore, SimulatedFlash } from '@umqtt/store-flash';

declare const timers: Timers;
declare const socket: SocketFactory;
const qos: QoS = 1;
const bytes: Uint8Array = encodePublish({ type: 3, topic: 'a/b', payload: new Uint8Array([1]), qos, id: 1 });
const parser = new Parser(clientDecoders);
const bytes5: Uint8Array = v5.encodePublish({ type: 3, topic: 'a/b', payload: bytes, qos, id: 1, properties: { messageExpiryInterval: 60 } });
const parser5 = new v5.Parser(v5.clientDecoders);
const packet5: v5.Packet | undefined = parser5.read();
const packet: Packet | undefined = undefined;
const matches: boolean = topicMatches('a/+', 'a/b');
const options: ClientOptions = { socket, timers, host: 'localhost' };
const client = new MqttClient(options);
client.onStatus = (id: number, status: Status) => void [id, status];
const memory: Store = new MemoryStore({ capacity: 1024 });
const flash: Store = new FlashStore(new SimulatedFlash({ blocks: 4 }));
const robust = new RobustClient({ socket, timers, servers: [{ host: 'localhost' }], store: memory, policy: PRESETS.temperature });
const status: FinalStatus = 'delivered';
const error: UmqttError | undefined = undefined as UmqttError | undefined;
const unused: Socket | undefined = undefined;
export { bytes, parser, packet, matches, client, flash, robust, status, error, unused, bytes5, packet5 };
`;

/** What a new user writes after `npm install @umqtt/node`: plain JavaScript, nothing copied. */
const NODE_EXAMPLE = String.raw`
import { connect, FileFlash, nodeTimers, parseBrokerUrl, startEmbeddedBroker } from '@umqtt/node';

const deadline = setTimeout(() => {
  console.error('not done within 10 s');
  process.exit(2);
}, 10_000);

const client = connect(process.argv[2], { clientId: 'scratch-node' });
const received = new Promise((resolve) => {
  client.onMessage = ({ topic, payload, qos }) =>
    resolve({ topic, payload: payload.toString(), qos, isBuffer: Buffer.isBuffer(payload) });
});
const granted = await client.subscribe('scratch/node/#', 1);
const status = await client.publish('scratch/node/greeting', 'hello from @umqtt/node', { qos: 1 });
const message = await received;
await client.end();
clearTimeout(deadline);
console.log(
  JSON.stringify({
    kind: client.kind,
    granted,
    status,
    received: message,
    state: client.client.state,
    exports: {
      FileFlash: typeof FileFlash,
      nodeTimers: typeof nodeTimers,
      parseBrokerUrl: parseBrokerUrl('mqtts://h').port,
      startEmbeddedBroker: typeof startEmbeddedBroker,
    },
  }),
);
`;

/** A TypeScript consumer of @umqtt/node: its types resolve without aedes or @types/ws installed. */
const CONSUMER_NODE_TS = String.raw`
import { connect, FileFlash, startEmbeddedBroker, type ConnectOptions, type NodeClient, type NodeMessage, type PublishResult, type RobustNodeClient, type SimpleNodeClient } from '@umqtt/node';
import { FlashStore } from '@umqtt/store-flash';

const options: ConnectOptions = { clientId: 'typed', keepAlive: 30, alpn: ['mqtt'], reconnect: process.env['R'] === '1' };
const either: NodeClient = connect('mqtts://localhost', options);
const simple: SimpleNodeClient = connect('mqtt://localhost', { clientId: 'typed', keepAlive: 30 });
const robust: RobustNodeClient = connect('wss://localhost/mqtt', { store: new FlashStore(new FileFlash('q.flash')) });
simple.onMessage = (m: NodeMessage) => void m.payload.toString('utf8');
const result: Promise<PublishResult> = robust.publish('a', Buffer.from('b'), { qos: 1, ttl: 1000 });
const broker = startEmbeddedBroker({ port: 0, ws: { port: 0 } }).then((b) => b.wsUrl);
export { result, broker, either };
`;
