// Command-line parsing with node:util's parseArgs: the options every connecting command shares
// (broker address, identity, session, will, TLS), checked here so that bad input is reported
// before any connection is attempted.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { validateTopicFilter, validateTopicName, type QoS } from '@umqtt/codec';
import type { UserProperty } from '@umqtt/codec/v5';
import { parseBrokerUrl, type BrokerAddress } from '../transport/url.js';
import { CliError, usage, type Target } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

/** Options of every command that connects to a broker (pub, sub). */
export const CONNECTION_OPTIONS = {
  url: { type: 'string', short: 'L' },
  host: { type: 'string', short: 'h' },
  port: { type: 'string', short: 'p' },
  id: { type: 'string', short: 'i' },
  username: { type: 'string', short: 'u' },
  password: { type: 'string', short: 'P' },
  keepalive: { type: 'string', short: 'k' },
  'no-clean': { type: 'boolean', short: 'c' },
  'will-topic': { type: 'string' },
  'will-message': { type: 'string' },
  'will-qos': { type: 'string' },
  'will-retain': { type: 'boolean' },
  cafile: { type: 'string' },
  capath: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  insecure: { type: 'boolean' },
  'protocol-version': { type: 'string', short: 'V' },
  debug: { type: 'boolean', short: 'd' },
  verbose: { type: 'boolean' }, // umqtt's earlier name for -d
  quiet: { type: 'boolean' },
  help: { type: 'boolean' },
} as const satisfies Options;

/**
 * As mosquitto_pub/sub do, the argument after an option that takes a value is that value even
 * when it starts with "-" (`-m -5`): it is handed to parseArgs as `--name=value`.
 */
function valuesAttached(args: string[], options: Options): string[] {
  const takesValue = new Map<string, string>();
  for (const [name, o] of Object.entries(options)) {
    if (o.type !== 'string') continue;
    takesValue.set(`--${name}`, name);
    if (o.short) takesValue.set(`-${o.short}`, name);
  }
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return [...out, ...args.slice(i)];
    const name = takesValue.get(arg);
    if (name !== undefined && i + 1 < args.length) out.push(`--${name}=${args[++i]}`);
    else out.push(arg);
  }
  return out;
}

/**
 * `-D COMMAND NAME VALUE` (and `-D COMMAND user-property KEY VALUE`), as mosquitto_pub/sub take
 * MQTT 5 properties: taken out of the arguments before parseArgs (which knows options of one value).
 */
function takeProperties(args: string[]): { rest: string[]; properties: string[][] } {
  const rest: string[] = [];
  const properties: string[][] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return { rest: [...rest, ...args.slice(i)], properties };
    if (arg !== '-D' && arg !== '--property') {
      rest.push(arg);
      continue;
    }
    const n = args[i + 2] === 'user-property' ? 4 : 3;
    const p = args.slice(i + 1, i + 1 + n);
    if (p.length < n)
      throw usage(
        `${arg} needs a command, a property and its value, got "${p.join(' ')}"`,
        'e.g. -D publish message-expiry-interval 60, or -D connect user-property key value',
      );
    properties.push(p);
    i += n;
  }
  return { rest, properties };
}

/** parseArgs, with its errors turned into usage errors that say where to look. */
export function parse(
  command: string,
  args: string[],
  options: Options,
  positionals = false,
): { values: Values; positionals: string[]; properties: string[][] } {
  try {
    const { rest, properties } = takeProperties(args);
    const r = parseArgs({ args: valuesAttached(rest, options), options, strict: true, allowPositionals: positionals });
    return { values: r.values as Values, positionals: r.positionals, properties };
  } catch (e) {
    if (e instanceof CliError) throw e;
    const code = (e as { code?: string }).code;
    const message = (e as Error).message.split('\n')[0]!.replace(/\.$/, '');
    const help = `see: umqtt ${command} --help`;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw usage(message.replace(/^Unknown/, 'unknown'), help);
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      const what = /'([^']*)'/.exec(message)?.[1] ?? '';
      throw usage(
        `unexpected argument "${what}"`,
        command === 'pub' ? 'give the message with -m TEXT (quote it if it has spaces)' : help,
      );
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw usage(message.replace(/^Option/, 'option'), help);
    throw usage(message, help);
  }
}

export const str = (v: Values, name: string): string | undefined => v[name] as string | undefined;
export const flag = (v: Values, name: string): boolean => v[name] === true;
export const list = (v: Values, name: string): string[] => (v[name] as string[] | undefined) ?? [];

/** An integer option within [min, max]. */
export function int(name: string, text: string | undefined, min: number, max: number, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\s*\d+\s*$/.test(text) || Number(text) < min || Number(text) > max)
    throw usage(`${name} must be a whole number from ${min} to ${max}, got "${text}"`);
  return Number(text);
}

/** A QoS option: 0, 1 or 2. */
export function qos(name: string, text: string | undefined, fallback: QoS = 0): QoS {
  if (text === undefined) return fallback;
  if (!/^[012]$/.test(text.trim()))
    throw usage(
      `QoS (${name}) must be 0, 1 or 2, got "${text}"`,
      'MQTT has three QoS levels: 0 at most once, 1 at least once, 2 exactly once',
    );
  return Number(text) as QoS;
}

/** A topic to publish to: no wildcards. */
export function topicName(topic: string, what = 'topic'): string {
  if (topic === '') throw usage(`the ${what} is empty`, 'give a topic such as sensors/kitchen/temperature');
  if (/[+#]/.test(topic))
    throw usage(
      `${what} "${topic}" contains a wildcard (+ or #)`,
      'messages are published to one exact topic; wildcards are for subscribing (umqtt sub)',
    );
  try {
    validateTopicName(topic);
  } catch (e) {
    throw usage(`${what} "${topic}" is not valid: ${(e as Error).message}`);
  }
  return topic;
}

/** A topic filter to subscribe to. */
export function topicFilter(filter: string): string {
  if (filter === '')
    throw usage('the topic filter is empty', 'give a filter such as sensors/# or sensors/+/temperature');
  try {
    validateTopicFilter(filter);
  } catch (e) {
    throw usage(
      `topic filter "${filter}" is not valid: ${(e as Error).message}`,
      '+ must fill a whole level (a/+/b) and # must be the last level (a/#)',
    );
  }
  return filter;
}

/** -V: the protocol version, as mosquitto names it: 4 (MQTT 3.1.1, the default) or 5. */
export function protocolVersion(text: string | undefined): 4 | 5 {
  if (text === undefined || /^(mqttv)?311$/i.test(text)) return 4;
  if (/^(mqttv)?5$/i.test(text)) return 5;
  if (/^(mqttv)?31$/i.test(text))
    throw usage(
      'MQTT 3.1 (-V 31) is not supported: umqtt speaks MQTT 3.1.1 and 5',
      'leave -V out, or give -V 311 or -V 5',
    );
  throw usage(
    `-V (protocol version) must be 311, mqttv311, 5 or mqttv5, got "${text}"`,
    'umqtt speaks MQTT 3.1.1 and 5',
  );
}

/** MQTT 5 properties by the command they go with (`-D`), as the client's options name them. */
export interface Properties5 {
  connect: Record<string, unknown>;
  publish: Record<string, unknown>;
  subscribe: Record<string, unknown>;
  disconnect: Record<string, unknown>;
  will: Record<string, unknown>;
}

/** What -D takes, by command: mosquitto's property name -> [the client's name, its kind]. */
const PROPERTY_NAMES: Readonly<Record<string, Readonly<Record<string, [string, 'int' | 'text' | 'bytes' | 'bool']>>>> =
  {
    connect: {
      'session-expiry-interval': ['sessionExpiryInterval', 'int'],
      'receive-maximum': ['receiveMaximum', 'int'],
      'request-problem-information': ['requestProblemInformation', 'bool'],
      'request-response-information': ['requestResponseInformation', 'bool'],
    },
    publish: {
      'message-expiry-interval': ['messageExpiryInterval', 'int'],
      'content-type': ['contentType', 'text'],
      'response-topic': ['responseTopic', 'text'],
      'correlation-data': ['correlationData', 'bytes'],
      'payload-format-indicator': ['payloadFormatIndicator', 'bool'],
    },
    subscribe: { 'subscription-identifier': ['subscriptionIdentifier', 'int'] },
    disconnect: { 'session-expiry-interval': ['sessionExpiryInterval', 'int'] },
    will: {
      'will-delay-interval': ['willDelayInterval', 'int'],
      'message-expiry-interval': ['messageExpiryInterval', 'int'],
      'content-type': ['contentType', 'text'],
      'response-topic': ['responseTopic', 'text'],
      'correlation-data': ['correlationData', 'bytes'],
      'payload-format-indicator': ['payloadFormatIndicator', 'bool'],
    },
  };

/** The -D properties, checked: a command and a property it takes, a value of the property's kind. */
export function properties5(list: string[][]): Properties5 {
  const out: Properties5 = { connect: {}, publish: {}, subscribe: {}, disconnect: {}, will: {} };
  for (const [command, name, value, second] of list as [string, string, string, string?][]) {
    const table = PROPERTY_NAMES[command];
    if (!table)
      throw usage(
        `-D ${command}: not a command that takes properties`,
        `give one of ${Object.keys(PROPERTY_NAMES).join(', ')}`,
      );
    const into = out[command as keyof Properties5];
    if (name === 'user-property') {
      ((into.userProperties ??= []) as UserProperty[]).push([value, second!]);
      continue;
    }
    const known = table[name];
    if (!known)
      throw usage(
        `-D ${command} ${name}: not a property ${command} takes here`,
        `give one of ${[...Object.keys(table), 'user-property'].join(', ')}`,
      );
    const [key, kind] = known;
    into[key] =
      kind === 'int'
        ? int(`-D ${command} ${name}`, value, 0, 4_294_967_295, 0)
        : kind === 'bool'
          ? int(`-D ${command} ${name}`, value, 0, 1, 0) === 1
          : kind === 'bytes'
            ? new Uint8Array(Buffer.from(value, 'utf8'))
            : value;
  }
  return out;
}

/** --capath: every certificate (PEM) in the files of a directory, as mosquitto's --capath. */
function readCaPath(dir: string): Buffer {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (e) {
    throw usage(`cannot read --capath "${dir}" (${(e as { code?: string }).code ?? (e as Error).message})`);
  }
  const pems: Buffer[] = [];
  for (const name of names) {
    const file = join(dir, name);
    try {
      if (!statSync(file).isFile()) continue;
      const text = readFileSync(file);
      if (text.includes('-----BEGIN CERTIFICATE-----')) pems.push(text, Buffer.from('\n'));
    } catch {
      // unreadable entries are not certificates for us
    }
  }
  if (!pems.length)
    throw usage(
      `--capath "${dir}" holds no PEM certificate`,
      'give a directory of CA certificates (PEM), or --cafile FILE',
    );
  return Buffer.concat(pems);
}

function readPem(option: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw usage(
      `cannot read ${option} "${file}" (${(e as { code?: string }).code ?? (e as Error).message})`,
      'check the file name',
    );
  }
}

export interface ConnectionConfig extends Target {
  /** 4 (MQTT 3.1.1) or 5, from -V. */
  version: 4 | 5;
  /** MQTT 5 properties from -D, by command (empty with -V 311). */
  properties: Properties5;
  /** mqtt, mqtts, ws or wss. */
  scheme: BrokerAddress['scheme'];
  /** MQTT over WebSocket (a ws:// or wss:// URL), at `path`. */
  websocket: boolean;
  /** The WebSocket endpoint's path and query (from the URL). */
  path: string;
  clientId: string;
  username?: string | undefined;
  password?: string | undefined;
  keepAlive: number;
  clean: boolean;
  will?: { topic: string; payload: string; qos: QoS; retain: boolean } | undefined;
  /** TLS material (PEM) and verification. */
  ca?: Buffer | undefined;
  /** A topic in the URL's path (`-L mqtt://host/topic`), as mosquitto takes it. */
  urlTopic?: string | undefined;
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
  insecure: boolean;
  verbose: boolean;
}

/** The connection settings from the shared options (and -D properties); throws a usage error naming a bad one. */
export function connectionConfig(v: Values, list: string[][] = []): ConnectionConfig {
  const url = str(v, 'url');
  const tlsOptionGiven =
    ['cafile', 'capath', 'cert', 'key'].some((o) => str(v, o) !== undefined) || flag(v, 'insecure');
  const version = protocolVersion(str(v, 'protocol-version'));
  if (list.length && version !== 5) throw usage('-D (MQTT 5 properties) needs MQTT 5', 'add -V 5 (or -V mqttv5)');
  const properties = properties5(list);
  let host = '127.0.0.1';
  let port: number | undefined;
  let tls = tlsOptionGiven;
  let websocket = false;
  let path = '/';
  let urlTopic: string | undefined;
  let username: string | undefined;
  let password: string | undefined;
  if (url !== undefined) {
    if (str(v, 'host') !== undefined || str(v, 'port') !== undefined)
      throw usage('give the broker either as -L URL or as -h HOST / -p PORT, not both');
    let address;
    try {
      address = parseBrokerUrl(url);
    } catch (e) {
      throw usage(
        `invalid URL: ${(e as Error).message}`,
        'expected e.g. mqtt://host:1883, mqtts://host:8883, ws://host:8080/mqtt or mqtt://user:password@host',
      );
    }
    if (tlsOptionGiven && !address.tls)
      throw usage(`TLS options given with the plain URL "${url}"`, 'use mqtts:// (or wss://) for TLS');
    ({ host, port, tls, websocket, path } = address);
    // mqtt://host/topic names a topic; in ws://host/path the path is the WebSocket endpoint.
    const topic = websocket ? '' : decodeURIComponent(path.replace(/[?#].*$/, '').slice(1));
    if (topic !== '') urlTopic = topic;
    username = address.username;
    password = address.password;
  } else {
    const h = str(v, 'host');
    if (h !== undefined) {
      if (h === '' || /[\s/@]/.test(h) || h.includes('://'))
        throw usage(
          `invalid host "${h}"`,
          'give a host name or IP address with -h, or a whole URL with -L mqtt://host:port',
        );
      host = h.replace(/^\[(.*)\]$/, '$1');
    }
    port = int('port (-p)', str(v, 'port'), 1, 65535, tls ? 8883 : 1883);
  }
  username = str(v, 'username') ?? username;
  password = str(v, 'password') ?? password;
  if (password !== undefined && username === undefined && version !== 5)
    throw usage(
      'a password was given without a user name',
      'MQTT 3.1.1 needs a user name with a password: add -u NAME (or use MQTT 5: -V 5)',
    );

  const clean = !flag(v, 'no-clean');
  const clientId = str(v, 'id') ?? '';
  if (!clean && clientId === '')
    throw usage('-c (keep the session) needs a client id', 'the broker finds the session by client id: add -i ID');
  if (clientId.length > 65535) throw usage('the client id is too long');

  let will: ConnectionConfig['will'];
  const willTopic = str(v, 'will-topic');
  if (willTopic !== undefined) {
    will = {
      topic: topicName(willTopic, 'will topic'),
      payload: str(v, 'will-message') ?? '',
      qos: qos('--will-qos', str(v, 'will-qos')),
      retain: flag(v, 'will-retain'),
    };
  } else if (str(v, 'will-message') !== undefined || str(v, 'will-qos') !== undefined || flag(v, 'will-retain')) {
    throw usage('will options were given without --will-topic', 'add --will-topic TOPIC');
  }

  const cert = str(v, 'cert');
  const key = str(v, 'key');
  if ((cert === undefined) !== (key === undefined))
    throw usage('--cert and --key go together', 'a client certificate needs its private key (and the other way round)');
  const cafile = str(v, 'cafile');
  const capath = str(v, 'capath');
  const cas = [cafile === undefined ? undefined : readPem('--cafile', cafile), capath && readCaPath(capath)];
  const ca = cas.filter((b): b is Buffer => b !== undefined && b !== '');
  return {
    version,
    properties,
    scheme: websocket ? (tls ? 'wss' : 'ws') : tls ? 'mqtts' : 'mqtt',
    host,
    port: port!,
    tls,
    websocket,
    path,
    clientId,
    username,
    password,
    keepAlive: int('keepalive (-k)', str(v, 'keepalive'), 0, 65535, 60),
    clean,
    will,
    ca: ca.length ? Buffer.concat(ca) : undefined,
    urlTopic,
    cert: cert === undefined ? undefined : readPem('--cert', cert),
    key: key === undefined ? undefined : readPem('--key', key),
    insecure: flag(v, 'insecure'),
    verbose: flag(v, 'debug') || flag(v, 'verbose'),
  };
}

/** How the target is shown in messages (never with the password). */
export function describeTarget(c: ConnectionConfig): string {
  const host = c.host.includes(':') ? `[${c.host}]` : c.host;
  const user = c.username !== undefined ? `${encodeURIComponent(c.username)}@` : '';
  return `${c.scheme}://${user}${host}:${c.port}${c.websocket ? c.path : ''}`;
}
