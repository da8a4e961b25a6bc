// `umqtt sub`: subscribe and print each message, one per line, until a count, a timeout or a
// signal.
import type { Message5 } from '@umqtt/simple/v5';
import { MemoryStore } from '@umqtt/store-memory';
import {
  CONNECTION_OPTIONS,
  connectionConfig,
  describeTarget,
  flag,
  int,
  list,
  parse,
  qos,
  str,
  topicFilter,
  type ConnectionConfig,
} from './args.js';
import { CliError, EXIT, explain, reasonName, usage } from './errors.js';
import { SUB_HELP } from './help.js';
import { parseFormat, type Formatter } from './format.js';
import { printer, type Io } from './io.js';
import { createConnector, robustClient, sessionOptions } from './net.js';
import type { QoS } from '@umqtt/codec';

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  topic: { type: 'string', short: 't', multiple: true },
  qos: { type: 'string', short: 'q' },
  'print-topic': { type: 'boolean', short: 'v' },
  json: { type: 'boolean' },
  format: { type: 'string', short: 'F' },
  'no-newline': { type: 'boolean', short: 'N' },
  'no-retained': { type: 'boolean', short: 'R' },
  count: { type: 'string', short: 'C' },
  timeout: { type: 'string', short: 'W' },
} as const;

export interface SubPlan {
  config: ConnectionConfig;
  filters: string[];
  qos: QoS;
  format: 'payload' | 'topic' | 'json' | Formatter;
  /** Write a newline after each message (not with -N). */
  newline: boolean;
  /** Skip messages with the retain flag (stale ones), as mosquitto_sub -R. */
  skipRetained: boolean;
  /** 0 = no limit. */
  count: number;
  /** Milliseconds, 0 = none. */
  timeout: number;
}

export function planSub(args: string[]): SubPlan | 'help' {
  const { values: v, properties } = parse('sub', args, OPTIONS);
  if (flag(v, 'help')) return 'help';
  const config = connectionConfig(v, properties);
  const filters = [...list(v, 'topic'), ...(config.urlTopic === undefined ? [] : [config.urlTopic])];
  if (!filters.length)
    throw usage(
      'missing topic: give at least one filter with -t FILTER (or in the URL: -L mqtt://host/FILTER)',
      'e.g. -t "sensors/#"; see: umqtt sub --help',
    );
  const formats = [flag(v, 'json') && '--json', flag(v, 'print-topic') && '-v', str(v, 'format') !== undefined && '-F'];
  const chosen = formats.filter(Boolean);
  if (chosen.length > 1) throw usage(`${chosen.join(' and ')} do not go together`, 'each sets the output format');
  const custom = str(v, 'format');
  return {
    filters: filters.map(topicFilter),
    qos: qos('-q', str(v, 'qos')),
    format:
      custom !== undefined
        ? parseFormat(custom)
        : flag(v, 'json')
          ? 'json'
          : flag(v, 'print-topic')
            ? 'topic'
            : 'payload',
    newline: !flag(v, 'no-newline'),
    skipRetained: flag(v, 'no-retained'),
    count: int('count (-C)', str(v, 'count'), 1, Number.MAX_SAFE_INTEGER, 0),
    timeout: int('timeout (-W)', str(v, 'timeout'), 1, 2_147_483, 0) * 1000,
    config,
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** MQTT 5 properties as JSON: correlation data (bytes) in base64. */
function jsonProperties(p: NonNullable<Message5['properties']>): Record<string, unknown> {
  const { correlationData, ...rest } = p;
  return correlationData ? { ...rest, correlationData: Buffer.from(correlationData).toString('base64') } : rest;
}

/** One line of output for a message (without the newline). */
export function formatMessage(
  m: Pick<Message5, 'topic' | 'payload' | 'qos' | 'retain' | 'properties'>,
  format: SubPlan['format'],
  now = new Date(),
): Uint8Array | string | { error: string } {
  if (typeof format === 'function') return format(m, now);
  if (format === 'json') {
    let text: string | undefined;
    try {
      text = utf8.decode(m.payload);
    } catch {
      text = undefined;
    }
    const payload =
      text ?? Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength).toString('base64');
    return JSON.stringify({
      topic: m.topic,
      payload,
      ...(text === undefined && { base64: true }),
      qos: m.qos,
      retain: m.retain,
      ...(m.properties && { properties: jsonProperties(m.properties) }), // MQTT 5
    });
  }
  const payload = Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
  return format === 'topic' ? Buffer.concat([Buffer.from(`${m.topic} `), payload]) : payload;
}

export async function sub(args: string[], io: Io): Promise<number> {
  const plan = planSub(args);
  if (plan === 'help') {
    io.stdout.write(SUB_HELP);
    return EXIT.OK;
  }
  const c = plan.config;
  const say = printer(io, 'sub');
  if (c.insecure)
    say.warn(
      "--insecure: the broker's certificate is NOT verified; anyone on the network path can pretend to be the broker",
    );
  const log = c.verbose ? say.note : undefined;
  const connector = createConnector(c, log);
  // A session that survives the broker (as mosquitto_sub): reconnects with backoff and
  // subscribes again when the broker kept no session. Nothing is published: the store stays empty.
  const client = robustClient(c, {
    ...sessionOptions(c, connector, log),
    clean: c.clean,
    servers: [{ host: c.host, port: c.port }],
    store: new MemoryStore({ capacity: 1024 }),
    backoff: { min: 500, max: 10_000 },
  });

  let received = 0;
  let finish!: (outcome: number | CliError) => void;
  const done = new Promise<number | CliError>((resolve) => (finish = resolve));
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (plan.timeout)
    timer = setTimeout(() => {
      const got = plan.count ? `${received} of ${plan.count} message(s)` : `${received} message(s)`;
      finish(
        new CliError(
          EXIT.TIMEOUT,
          `timed out after ${plan.timeout / 1000} s with ${got}`,
          plan.count ? 'is anyone publishing to the topic? A longer -W may help' : undefined,
        ),
      );
    }, plan.timeout);
  const stopSignals = io.onSignal(() => finish(EXIT.OK));
  const onStdoutError = (e: NodeJS.ErrnoException) => finish(e.code === 'EPIPE' ? EXIT.OK : explain(e, undefined));
  io.stdout.on('error', onStdoutError);

  client.onMessage = (m) => {
    if (plan.count && received >= plan.count) return;
    if (plan.skipRetained && m.retain) return; // stale: not printed, not counted (as mosquitto_sub -R)
    received++;
    const line = formatMessage(m, plan.format);
    if (typeof line === 'object' && !(line instanceof Uint8Array)) say.warn(line.error);
    else {
      io.stdout.write(line);
      if (plan.newline) io.stdout.write('\n');
    }
    if (plan.count && received >= plan.count) finish(EXIT.OK);
  };
  let subscribedOnce = false;
  client.onSubscribed = (list, granted) => {
    // 0x80 in MQTT 3.1.1; in MQTT 5 any code of 0x80 or more, said in words: (0x87 (not authorized))
    const no = (i: number) => granted[i] === undefined || granted[i]! >= 0x80;
    const why = (i: number) => (c.version === 5 ? ` with ${reasonName(granted[i] ?? 0x80)}` : '');
    log?.(
      `subscribed: ${list.map((s, i) => `${s.topic} (${no(i) ? `refused${why(i)}` : `QoS ${granted[i]}`})`).join(', ')}`,
    );
    if (subscribedOnce) return;
    subscribedOnce = true;
    const refused = list.flatMap((s, i) => (no(i) ? [`${s.topic}${why(i)}`] : []));
    if (refused.length === list.length)
      finish(
        new CliError(
          EXIT.REFUSED,
          `the broker refused the subscription to ${refused.join(', ')}`,
          "this user may not read those topics: check the broker's access control or -u/-P",
        ),
      );
    else if (refused.length)
      say.warn(`the broker refused the subscription to ${refused.join(', ')}; listening to the others`);
  };
  let online = false;
  let lost = '';
  client.onState = (state) => {
    if (state === 'online') {
      log?.(`connected to ${describeTarget(c)}`);
      if (lost) say.note(`connected to ${describeTarget(c)} again`);
      online = true;
      lost = '';
      return;
    }
    if (state !== 'offline') return;
    const issue = client.lastIssue;
    const why = explain(issue?.error ?? new Error('closed'), c, connector.lastError(), online ? received : undefined);
    // The first connection, a refusal, or a certificate problem: retrying would not help.
    if (!online && !lost) return finish(why);
    if (why.exitCode === EXIT.REFUSED || /^TLS/.test(why.problem)) return finish(why);
    if (online) {
      online = false;
      lost = why.problem;
      say.note(`${why.problem}; reconnecting, the subscription is kept (Ctrl-C to stop)`);
    }
  };

  try {
    log?.(`connecting to ${describeTarget(c)}${c.clientId ? ` as "${c.clientId}"` : ''}`);
    client.subscribe(plan.filters.map((topic) => ({ topic, qos: plan.qos })));
    client.start();
    const outcome = await done;
    if (timer) clearTimeout(timer);
    await connector.drained();
    client.stop();
    await connector.drained();
    if (outcome instanceof CliError) throw outcome;
    return outcome;
  } finally {
    if (timer) clearTimeout(timer);
    stopSignals();
    io.stdout.off('error', onStdoutError);
    client.stop();
  }
}
