// `umqtt pub`: one message, a file, or one message per line of standard input. Without
// --store, one connection (@umqtt/simple): a broker that cannot be reached is an error at once.
// With --store, the robust client (@umqtt/robust): messages wait in the store while the broker
// is down and are sent when it is back; every message ends with one final status.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { QoS } from '@umqtt/codec';
import type { FinalStatus } from '@umqtt/robust';
import { MqttClient, type Issue, type Status } from '@umqtt/simple';
import type { Publish5Options } from '@umqtt/simple/v5';
import {
  CONNECTION_OPTIONS,
  connectionConfig,
  describeTarget,
  flag,
  parse,
  qos,
  str,
  topicName,
  type ConnectionConfig,
} from './args.js';
import { CliError, EXIT, explain, reasonName, usage } from './errors.js';
import { PUB_HELP } from './help.js';
import { Signal, printer, type Io } from './io.js';
import { closeGracefully, createConnector, robustClient, sessionOptions, type Connector } from './net.js';
import { damageReport, openQueue } from './store.js';

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  topic: { type: 'string', short: 't' },
  message: { type: 'string', short: 'm' },
  file: { type: 'string', short: 'f' },
  stdin: { type: 'boolean', short: 's' }, // the whole of standard input, one message (as mosquitto_pub)
  lines: { type: 'boolean', short: 'l' }, // one message per line of standard input (as mosquitto_pub)
  'null-message': { type: 'boolean', short: 'n' },
  qos: { type: 'string', short: 'q' },
  retain: { type: 'boolean', short: 'r' },
  store: { type: 'string' },
  'store-reset': { type: 'boolean' },
} as const;

/** Largest packet sent or received: MQTT's own limit (the broker may have a lower one). */
/** Robust mode: stop reading input while this many messages are held (the policy keeps twice as many). */
const HOLD_LIMIT = 500;
/**
 * Robust mode: at most this many lines read and not yet on the disk. The queue file flushes in
 * groups (one fdatasync for many messages): the next line is read only as earlier ones become
 * durable, so a crash loses at most this many lines that were taken from the input.
 */
const DURABLE_AHEAD = 256;

interface Source {
  messages: AsyncIterable<string | Uint8Array>;
  close(): void;
}

interface PubPlan {
  config: ConnectionConfig;
  topic: string;
  qos: QoS;
  retain: boolean;
  store: string | undefined;
  storeReset: boolean;
  source: (io: Io) => Source;
}

/** Checks the command line; throws a usage error naming the first problem. */
export function planPub(args: string[]): PubPlan | 'help' {
  const { values: v, properties } = parse('pub', args, OPTIONS);
  if (flag(v, 'help')) return 'help';
  const config = connectionConfig(v, properties);
  const topic = str(v, 'topic') ?? config.urlTopic;
  if (topic === undefined)
    throw usage('missing topic: give it with -t TOPIC (or in the URL: -L mqtt://host/TOPIC)', 'see: umqtt pub --help');
  const message = str(v, 'message');
  const file = str(v, 'file');
  const whole = flag(v, 'stdin') || file === '-';
  const lines = flag(v, 'lines');
  const empty = flag(v, 'null-message');
  const given = [
    message !== undefined && '-m',
    file !== undefined && '-f',
    flag(v, 'stdin') && '-s',
    lines && '-l',
    empty && '-n',
  ].filter(Boolean);
  if (given.length === 0)
    throw usage(
      'missing message: give one of -m TEXT, -f FILE, -s (all of stdin), -l (each line of stdin) or -n (empty)',
      'see: umqtt pub --help',
    );
  if (given.length > 1) throw usage(`give only one message source, got ${given.join(' and ')}`);
  const plan: PubPlan = {
    topic: topicName(topic),
    qos: qos('-q', str(v, 'qos')),
    retain: flag(v, 'retain'),
    store: str(v, 'store'),
    storeReset: flag(v, 'store-reset'),
    config,
    source: () => fixed(message ?? ''),
  };
  if (plan.store === '') throw usage('--store needs a directory', 'e.g. --store ./umqtt-queue');
  if (plan.storeReset && plan.store === undefined) throw usage('--store-reset needs --store DIR');
  if (plan.store !== undefined && Object.keys(config.properties.publish).length)
    throw usage(
      '-D publish properties with --store are not supported: the queue file keeps topic, payload and QoS only',
      'leave out the -D publish properties, or publish without --store',
    );
  if (whole) {
    plan.source = (io) => stdinWhole(io);
  } else if (file !== undefined) {
    let data: Uint8Array;
    try {
      data = new Uint8Array(readFileSync(file));
    } catch (e) {
      throw usage(
        `cannot read -f "${file}" (${(e as { code?: string }).code ?? (e as Error).message})`,
        'check the file name',
      );
    }
    plan.source = () => fixed(data);
  } else if (lines) {
    plan.source = (io) => stdinLines(io);
  }
  return plan;
}

function fixed(payload: string | Uint8Array): Source {
  return {
    messages: (async function* () {
      yield payload;
    })(),
    close() {},
  };
}

/** All of standard input as one message (binary is fine), once it ends. */
function stdinWhole(io: Io): Source {
  const chunks: Buffer[] = [];
  return {
    messages: (async function* () {
      try {
        for await (const chunk of io.stdin) chunks.push(chunk as Buffer);
      } catch (e) {
        if (io.stdin.destroyed) return; // closed by us (a signal): nothing to send
        throw e;
      }
      yield new Uint8Array(Buffer.concat(chunks));
    })(),
    close: () => io.stdin.destroy(),
  };
}

function stdinLines(io: Io): Source {
  const rl = createInterface({ input: io.stdin, crlfDelay: Infinity, terminal: false });
  return { messages: rl, close: () => rl.close() };
}

export async function pub(args: string[], io: Io): Promise<number> {
  const plan = planPub(args);
  if (plan === 'help') {
    io.stdout.write(PUB_HELP);
    return EXIT.OK;
  }
  const c = plan.config;
  const say = printer(io, 'pub');
  if (c.insecure)
    say.warn(
      "--insecure: the broker's certificate is NOT verified; anyone on the network path can pretend to be the broker",
    );
  const log = c.verbose ? say.note : undefined;
  const connector = createConnector(c, log);
  return plan.store === undefined ? pubOnce(plan, io, connector, log) : pubRobust(plan, io, connector, log);
}

/** One connection: connect, publish everything, wait for every acknowledgement, disconnect. */
async function pubOnce(plan: PubPlan, io: Io, connector: Connector, log?: (line: string) => void): Promise<number> {
  const c = plan.config;
  const client = new MqttClient({
    ...sessionOptions(c, connector, log),
    host: c.host,
    port: c.port,
  });
  const changed = new Signal();
  const pending = new Set<number>();
  const tally: Partial<Record<Status, number>> = {};
  /** MQTT 5: the reason codes of refused messages, how many of each. */
  const refusals = new Map<number, number>();
  let total = 0;
  let closed: CliError | undefined;
  let interrupted = false;
  let source: Source | undefined;
  client.onStatus = (id, status, codes) => {
    if (status === 'received') return;
    pending.delete(id);
    tally[status] = (tally[status] ?? 0) + 1;
    if (status === 'refused') for (const rc of codes ?? []) refusals.set(rc, (refusals.get(rc) ?? 0) + 1);
    changed.fire();
  };
  client.onWritable = () => changed.fire();
  client.onClose = (e) => {
    closed = explain(e ?? new Error('closed'), c, connector.lastError());
    source?.close();
    changed.fire();
  };
  const stopSignals = io.onSignal(() => {
    interrupted = true;
    source?.close();
    changed.fire();
  });
  try {
    log?.(`connecting to ${describeTarget(c)}${c.clientId ? ` as "${c.clientId}"` : ''}`);
    try {
      const present = await client.connect();
      log?.(`connected (session present: ${present ? 'yes' : 'no'})`);
    } catch (e) {
      throw explain(e, c, connector.lastError());
    }
    source = plan.source(io);
    const publishOptions: Publish5Options = {
      qos: plan.qos,
      retain: plan.retain,
      properties: c.version === 5 ? c.properties.publish : undefined,
    };
    for await (const payload of source.messages) {
      // (also re-checked every 100 ms: a socket that drains with nothing left to write does
      // not call onWritable, see the report on packages/simple/src/client.ts #flush)
      while (!client.writable && client.state === 'connected' && !interrupted) await changed.wait(100);
      if (client.state !== 'connected' || interrupted) break;
      let id: number;
      try {
        id = client.publish(plan.topic, payload, publishOptions);
      } catch (e) {
        throw explain(e, c, connector.lastError());
      }
      total++;
      if (id) pending.add(id);
    }
    while (pending.size && client.state === 'connected' && !interrupted) await changed.wait();
    const unconfirmed = () => `${pending.size + (tally.aborted ?? 0)} of ${total} message(s) without confirmation`;
    if (interrupted) throw new CliError(EXIT.INTERRUPTED, `interrupted: ${unconfirmed()}`);
    if (closed)
      throw new CliError(closed.exitCode, `${closed.problem}; ${unconfirmed()}`, closed.hint, closed.original);
    if (tally.refused)
      throw new CliError(
        EXIT.REFUSED,
        `${tally.refused} of ${total} message(s) refused by the broker: ${[...refusals]
          .map(([rc, n]) => `${n} with ${reasonName(rc)}`)
          .join(', ')}`,
        refusals.has(0x87)
          ? 'the broker does not let this client publish there: check its ACL, or -u/-P'
          : 'the reason codes say why (MQTT 5)',
      );
    if (tally.timeout)
      throw new CliError(
        EXIT.TIMEOUT,
        `${tally.timeout} of ${total} message(s) were not acknowledged in time`,
        'the broker may be overloaded; try again',
      );
    log?.(`${total} message(s) ${plan.qos ? 'acknowledged' : 'written'}; disconnecting`);
    await closeGracefully(client, connector);
    return EXIT.OK;
  } finally {
    stopSignals();
    source?.close();
    if (client.state === 'connected' || client.state === 'connecting') client.close();
  }
}

/** Where a robust client records the problems of a connection (not those of the queue file). */
const CONNECTION_PLACES = new Set(['connect', 'read', 'write', 'keepalive', 'ping', 'disconnect', 'reconnect']);

/** The latest problem of the connection, not of the queue: what the robust client waits out. */
function connectionIssue(issues: readonly Issue[]): Issue | undefined {
  for (let i = issues.length - 1; i >= 0; i--) if (CONNECTION_PLACES.has(issues[i]!.place)) return issues[i];
  return undefined;
}

/** A store's refusal in words (the queue file's own message), instead of its code alone. */
function storeReason(reason: string, issues: readonly Issue[]): string {
  if (!reason.startsWith('UMQTT_STORE')) return reason;
  const issue = [...issues].reverse().find((i) => i.error.code === reason);
  return issue ? `the queue file refused it: ${issue.error.message}` : `the queue file refused it (${reason})`;
}

/** Robust mode: messages wait in the store while the broker is away; each ends with one final status. */
async function pubRobust(plan: PubPlan, io: Io, connector: Connector, log?: (line: string) => void): Promise<number> {
  const c = plan.config;
  const say = printer(io, 'pub');
  const queue = openQueue(plan.store!, plan.storeReset);
  const store = queue.store;
  if (plan.storeReset) say.note(`--store-reset: a new queue file ${queue.file}`);
  // (each lost message gets its final status, dropped, from the robust client: exit 1)
  if (queue.damage) say.warn(damageReport(queue.file, queue.damage));
  if (queue.leftover) say.note(`${queue.leftover} message(s) left in ${queue.file} by an earlier run are sent first`);
  const client = robustClient(c, {
    ...sessionOptions(c, connector, log),
    servers: [{ host: c.host, port: c.port }],
    store,
    policy: { maxMessages: 2 * HOLD_LIMIT, maxBytes: store.capacity },
    backoff: { min: 500, max: 10_000 },
  });
  const changed = new Signal();
  const tally: Partial<Record<FinalStatus, number>> = {};
  const reasons = new Map<string, number>();
  let published = queue.leftover + (queue.damage?.lost.length ?? 0);
  let finished = 0;
  // keys of the messages read from the input and not yet durable, oldest first (from `head`)
  const undurable: number[] = [];
  let head = 0;
  let onDisk = 0;
  const settle = (): void => {
    const d = store.durable ?? Infinity;
    const from = head;
    while (head < undurable.length && undurable[head]! <= d) head++;
    if (head === from) return;
    onDisk += head - from;
    log?.(`on the disk: ${onDisk} message(s) read`);
    if (head * 2 > undurable.length) {
      undurable.splice(0, head);
      head = 0;
    }
  };
  store.onDurable = () => {
    settle();
    changed.fire();
  };
  let fatal: CliError | undefined;
  let interrupted = false;
  let lastProblem = '';
  let source: Source | undefined;
  client.onStatus = (_key, status, reason) => {
    finished++;
    tally[status] = (tally[status] ?? 0) + 1;
    if (status !== 'delivered' && status !== 'sent') {
      const why = `${status}${reason ? ` (${storeReason(reason, client.issues)})` : ''}`;
      reasons.set(why, (reasons.get(why) ?? 0) + 1);
    }
    changed.fire();
  };
  client.onState = (state) => {
    log?.(`state: ${state}`);
    if (state === 'online') {
      if (lastProblem) say.note(`connected to ${describeTarget(c)}; sending ${client.held} queued message(s)`);
      lastProblem = '';
    }
    // 'closed' comes only from our stop(): nothing to wait for then.
    if (state !== 'offline') return;
    const issue = connectionIssue(client.issues); // (the store's damage report was printed above)
    if (!issue) return;
    const why = explain(issue.error, c, connector.lastError());
    // A refusal or a certificate problem does not go away by retrying.
    if (why.exitCode === EXIT.REFUSED || /^TLS/.test(why.problem)) {
      fatal = why;
      source?.close();
      changed.fire();
      return;
    }
    if (why.problem !== lastProblem) {
      lastProblem = why.problem;
      say.note(`waiting for the broker: ${why.problem}; retrying, messages are queued meanwhile (Ctrl-C to give up)`);
    }
  };
  const stopSignals = io.onSignal(() => {
    interrupted = true;
    source?.close();
    changed.fire();
  });
  log?.(`connecting to ${describeTarget(c)}${c.clientId ? ` as "${c.clientId}"` : ''}`);
  client.start();
  try {
    source = plan.source(io);
    for await (const payload of source.messages) {
      if (fatal || interrupted) break;
      let key: number;
      try {
        key = client.publish(plan.topic, payload, { qos: plan.qos, retain: plan.retain, latestRetained: false });
      } catch (e) {
        throw explain(e, c);
      }
      published++;
      if (key > 0) undurable.push(key); // (sent at once, or refused: nothing to wait for)
      settle();
      while (
        (client.held >= HOLD_LIMIT || store.bytes >= store.capacity / 2 || undurable.length - head >= DURABLE_AHEAD) &&
        !fatal &&
        !interrupted
      )
        await changed.wait();
    }
    while (finished < published && !fatal && !interrupted) await changed.wait();
    const open = published - finished;
    const kept = `${open} of ${published} message(s) not delivered yet, kept in ${queue.file} for the next umqtt pub --store`;
    if (fatal) throw new CliError(fatal.exitCode, `${fatal.problem}; ${kept}`, fatal.hint, fatal.original);
    if (interrupted) throw new CliError(EXIT.INTERRUPTED, `interrupted: ${kept}`);
    const failed = published - (tally.delivered ?? 0) - (tally.sent ?? 0);
    if (failed) {
      const why = [...reasons].map(([r, n]) => `${n} ${r}`).join(', ');
      throw new CliError(
        EXIT.FAILED,
        `${failed} of ${published} message(s) not delivered: ${why}`,
        'see umqtt pub --help for the queue limits',
      );
    }
    log?.(`${published} message(s) delivered; disconnecting`);
    await connector.drained();
    client.stop();
    await connector.drained();
    return EXIT.OK;
  } finally {
    stopSignals();
    source?.close();
    client.stop();
    queue.close();
  }
}
