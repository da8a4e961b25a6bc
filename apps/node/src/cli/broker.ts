// `umqtt broker`: the embedded aedes broker on a port, until SIGINT/SIGTERM; with --redis, one
// node of a cluster that shares its sessions and messages through Redis.
import { startEmbeddedBroker, type EmbeddedBroker } from '../broker/embedded-broker.js';
import { flag, int, parse, str } from './args.js';
import { EXIT, explain, usage } from './errors.js';
import { BROKER_HELP } from './help.js';
import type { Io } from './io.js';

type Client = { id: string };

const OPTIONS = {
  port: { type: 'string', short: 'p' },
  host: { type: 'string', short: 'H' },
  persistence: { type: 'boolean' },
  redis: { type: 'string' },
  id: { type: 'string' },
  'ws-port': { type: 'string' },
  'ws-path': { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

export async function broker(args: string[], io: Io): Promise<number> {
  const { values: v } = parse('broker', args, OPTIONS);
  if (flag(v, 'help')) {
    io.stdout.write(BROKER_HELP);
    return EXIT.OK;
  }
  const host = str(v, 'host') ?? '127.0.0.1';
  if (host === '' || /[\s/@]/.test(host))
    throw usage(`invalid address "${host}"`, 'give an IP address or host name to listen on, e.g. -H 127.0.0.1');
  const port = int('port (-p)', str(v, 'port'), 0, 65535, 1883);
  const redis = str(v, 'redis');
  const nodeId = str(v, 'id');
  if (nodeId !== undefined && redis === undefined)
    throw usage('--id names a cluster node: it needs --redis URL', 'e.g. --redis redis://127.0.0.1:6379 --id node-1');
  // A cluster keeps sessions in Redis: that is what lets a client resume on another node.
  const persistence = flag(v, 'persistence') || redis !== undefined;
  const wsPortText = str(v, 'ws-port');
  const wsPath = str(v, 'ws-path');
  if (wsPath !== undefined && wsPortText === undefined)
    throw usage('--ws-path needs --ws-port', 'e.g. --ws-port 8080 --ws-path /mqtt');
  if (wsPath !== undefined && !wsPath.startsWith('/')) throw usage(`--ws-path must start with "/", got "${wsPath}"`);
  const ws = wsPortText === undefined ? undefined : { port: int('--ws-port', wsPortText, 0, 65535, 0), path: wsPath };
  const verbose = flag(v, 'verbose');
  const log = (line: string) => void io.stdout.write(`${line}\n`);

  let b: EmbeddedBroker;
  try {
    b = await startEmbeddedBroker({
      host,
      port,
      // Without --persistence every session is clean: a client asking to keep its session
      // (clean session off) gets a fresh one, which ends when it disconnects.
      cleanSessionsOnly: !persistence,
      ws,
      cluster: redis === undefined ? undefined : { redis, nodeId },
    });
  } catch (e) {
    throw explain(e, { host, port, tls: false });
  }
  if (verbose) {
    b.broker.on('client', (c: Client) => log(`client connected: ${c.id}`));
    b.broker.on('clientDisconnect', (c: Client) => log(`client disconnected: ${c.id}`));
    b.broker.on('clientError', (c: Client, e: Error) => log(`client error: ${c.id}: ${e.message}`));
  }
  log(`umqtt broker listening on ${b.url}`);
  if (b.wsUrl) log(`umqtt broker listening on ${b.wsUrl} (MQTT over WebSocket)`);
  if (redis !== undefined)
    log(
      `cluster node ${b.broker.id}: sessions, subscriptions, retained and in-flight messages in Redis at ${redis.replace(/\/\/[^@/]*@/, '//')}, shared with every node using it`,
    );
  else
    log(
      persistence
        ? 'sessions: persistent sessions and retained messages are kept in memory while the broker runs (not on disk: gone when it stops)'
        : 'sessions: every session is clean (--persistence keeps persistent ones); retained messages are kept in memory while the broker runs',
    );
  log('stop with Ctrl-C');
  const signal = await new Promise<string>((resolve) => {
    const stop = io.onSignal((s) => {
      stop();
      resolve(s);
    });
  });
  log(`${signal}: stopping`);
  await b.close();
  return EXIT.OK;
}
