// What a new user does first: `npm install` the packages into a project of their own (here: a
// temporary directory outside the workspace, from the packed tarballs, offline), write a small
// socket adapter for Node, and publish/subscribe against a broker. Also type-checks a consumer
// with TypeScript's node16 and bundler resolution against the installed packages.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAedes, type AedesHandle } from '@umqtt/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BIN, cleanEnv, expectSuccess, packPublished, ROOT, run, tempDir } from './workspace.js';

const tmp = tempDir('scratch');
const project = join(tmp.dir, 'project');
let broker: AedesHandle | undefined;

beforeAll(async () => {
  if (project.startsWith(`${ROOT}/`)) throw new Error('the scratch project must be outside the workspace');
  const tarballDir = join(tmp.dir, 'tarballs');
  mkdirSync(tarballDir);
  mkdirSync(project);
  const tarballs = await packPublished(tarballDir);
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
    ],
    { cwd: project, timeoutMs: 60_000, env: cleanEnv({ npm_config_userconfig: join(tmp.dir, 'npmrc') }) },
  );
  expectSuccess(install, 'npm install of the packed tarballs');
  writeFileSync(join(project, 'pubsub.mjs'), PUBSUB_SCRIPT);
  writeFileSync(join(project, 'consumer.ts'), CONSUMER_TS);
}, 90_000);

afterAll(async () => {
  await broker?.close();
  tmp.remove();
});

it('installs every published package from its tarball, with its dist, outside the workspace', () => {
  for (const name of ['codec', 'simple', 'robust', 'store-memory', 'store-flash']) {
    expect(existsSync(join(project, 'node_modules/@umqtt', name, 'dist/index.js')), name).toBe(true);
  }
  // Nothing else came along: no runtime dependencies beyond the five.
  expect(readdirSync(join(project, 'node_modules')).filter((n) => !n.startsWith('.'))).toEqual(['@umqtt']);
  expect(readdirSync(join(project, 'node_modules/@umqtt')).sort()).toEqual([
    'codec',
    'robust',
    'simple',
    'store-flash',
    'store-memory',
  ]);
});

it('publishes and receives a message through aedes with @umqtt/simple and @umqtt/codec from the tarballs', async () => {
  broker = await startAedes();
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
  'type-checks a consumer against the installed packages (moduleResolution %s)',
  async (resolution) => {
    const config = {
      compilerOptions: {
        noEmit: true,
        strict: true,
        exactOptionalPropertyTypes: true,
        skipLibCheck: false,
        target: 'ES2022',
        lib: ['ES2022'],
        types: [],
        module: resolution === 'node16' ? 'node16' : 'esnext',
        moduleResolution: resolution,
      },
      files: ['consumer.ts'],
    };
    writeFileSync(join(project, `tsconfig.${resolution}.json`), JSON.stringify(config, null, 2));
    const args = ['-p', `tsconfig.${resolution}.json`];
    const result = await run(BIN.tsc, args, { cwd: project, timeoutMs: 30_000 });
    expectSuccess(result, `tsc (${resolution})`);
  },
  40_000,
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
