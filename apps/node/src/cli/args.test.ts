// The command line's checks and error mapping, without processes or sockets.
import { UmqttError } from '@umqtt/codec';
import { describe, expect, it } from 'vitest';
import { SocketClosedError } from '../transport/adapt.js';
import { connectionConfig, describeTarget, parse, CONNECTION_OPTIONS } from './args.js';
import { Readable } from 'node:stream';
import { CliError, EXIT, cutLong, errorLine, explain, explainSocketError } from './errors.js';
import { parseFormat } from './format.js';
import type { Io } from './io.js';
import { planPub } from './pub.js';
import { formatMessage, planSub } from './sub.js';

const config = (...args: string[]) => {
  const { values, properties } = parse('pub', args, CONNECTION_OPTIONS);
  return connectionConfig(values, properties);
};
const usageOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CliError);
    expect((e as CliError).exitCode).toBe(EXIT.USAGE);
    return (e as CliError).message;
  }
  throw new Error('expected a usage error');
};
const usageOf2 = (f: () => unknown): CliError => {
  try {
    f();
  } catch (e) {
    return e as CliError;
  }
  throw new Error('expected an error');
};
const target = { host: 'broker.example', port: 8883, tls: true };

describe('connection options', () => {
  it('defaults to 127.0.0.1:1883, clean session, keepalive 60, no TLS', () => {
    expect(config()).toMatchObject({
      host: '127.0.0.1',
      port: 1883,
      tls: false,
      clean: true,
      keepAlive: 60,
      clientId: '',
    });
  });

  it('takes a URL with credentials; -u/-P override them; the password never shows', () => {
    const c = config('-L', 'mqtts://al%20ice:s3cret@broker.example');
    expect(c).toMatchObject({ host: 'broker.example', port: 8883, tls: true, username: 'al ice', password: 's3cret' });
    expect(describeTarget(c)).toBe('mqtts://al%20ice@broker.example:8883');
    expect(config('-L', 'mqtt://a:b@h:1', '-u', 'x', '-P', 'y')).toMatchObject({ username: 'x', password: 'y' });
  });

  it('takes ws:// and wss:// URLs: WebSocket at the path, default ports 80 and 443', () => {
    const ws = config('-L', 'ws://h/mqtt?a=1');
    expect(ws).toMatchObject({ scheme: 'ws', host: 'h', port: 80, tls: false, websocket: true, path: '/mqtt?a=1' });
    expect(describeTarget(ws)).toBe('ws://h:80/mqtt?a=1');
    const wss = config('-L', 'wss://u@h:8443', '--insecure');
    expect(wss).toMatchObject({ scheme: 'wss', port: 8443, tls: true, websocket: true, path: '/', insecure: true });
    expect(describeTarget(wss)).toBe('wss://u@h:8443/');
    expect(config('-L', 'mqtt://h/x')).toMatchObject({ scheme: 'mqtt', websocket: false });
  });

  it('TLS options turn TLS on with -h, defaulting to port 8883', () => {
    expect(config('-h', 'b', '--insecure')).toMatchObject({ host: 'b', port: 8883, tls: true, insecure: true });
  });

  it('will, keepalive, persistent session', () => {
    expect(
      config(
        '-i',
        'dev',
        '-c',
        '-k',
        '5',
        '--will-topic',
        'w',
        '--will-message',
        'gone',
        '--will-qos',
        '1',
        '--will-retain',
      ),
    ).toMatchObject({
      clientId: 'dev',
      clean: false,
      keepAlive: 5,
      will: { topic: 'w', payload: 'gone', qos: 1, retain: true },
    });
  });

  it('-V 5 (or mqttv5) with -D properties, as mosquitto takes them', () => {
    const c = config(
      ...['-V', 'mqttv5', '-D', 'publish', 'user-property', 'unit', 'C', '-D', 'publish', 'user-property', 'k', 'v'],
      ...['-D', 'publish', 'correlation-data', 'r1', '-D', 'publish', 'payload-format-indicator', '1'],
      ...['--property', 'connect', 'session-expiry-interval', '3600', '-D', 'will', 'will-delay-interval', '5'],
    );
    expect(c.version).toBe(5);
    expect(c.properties).toEqual({
      connect: { sessionExpiryInterval: 3600 },
      publish: {
        userProperties: [
          ['unit', 'C'],
          ['k', 'v'],
        ],
        correlationData: new Uint8Array(Buffer.from('r1')),
        payloadFormatIndicator: true,
      },
      subscribe: {},
      disconnect: {},
      will: { willDelayInterval: 5 },
    });
    expect(config('-V', '311').version).toBe(4);
    expect(config().version).toBe(4);
  });

  it.each([
    [['-L', 'mqtt://h', '-p', '1'], /either as -L URL or as -h HOST/],
    [['-L', 'http://h'], /invalid URL.*unsupported scheme "http:".*ws:\/\//],
    [['-L', 'ws://h', '--cafile', 'ca.crt'], /TLS options given with the plain URL "ws:\/\/h".*wss:\/\//],
    [['-h', 'mqtt://h'], /invalid host/],
    [['-p', '0'], /port \(-p\) must be a whole number from 1 to 65535, got "0"/],
    [['-k', '-1'], /keepalive \(-k\) must be a whole number from 0 to 65535, got "-1"/],
    [['-V', 'mqttv31'], /MQTT 3.1 \(-V 31\) is not supported/],
    [['-V', '4'], /-V \(protocol version\) must be 311, mqttv311, 5 or mqttv5, got "4"/],
    [['-D', 'publish', 'content-type', 'x'], /-D \(MQTT 5 properties\) needs MQTT 5.*-V 5/],
    [['-V', '5', '-D', 'publish', 'topic-alias', '1'], /-D publish topic-alias: not a property publish takes here/],
    [['-V', '5', '-D', 'auth', 'x', '1'], /-D auth: not a command that takes properties/],
    [['-V', '5', '-D', 'publish', 'message-expiry-interval', 'soon'], /must be a whole number/],
    [['-V', '5', '-D', 'publish', 'user-property', 'k'], /-D needs a command, a property and its value/],
    [['--capath', '/nonexistent-umqtt-dir'], /cannot read --capath "\/nonexistent-umqtt-dir" \(ENOENT\)/],
    [['-k', 'x'], /keepalive \(-k\) must be a whole number/],
    [['-c'], /needs a client id/],
    [['-P', 'p'], /password was given without a user name/],
    [['--will-message', 'm'], /without --will-topic/],
    [['--will-topic', 'a/+'], /will topic "a\/\+" contains a wildcard/],
    [['--will-topic', 'w', '--will-qos', '3'], /QoS \(--will-qos\) must be 0, 1 or 2/],
    [['--cert', 'c.pem'], /--cert and --key go together/],
  ])('%j is a usage error', (args, expected) => {
    expect(usageOf(() => config(...args))).toMatch(expected);
  });
});

describe('pub and sub plans', () => {
  it('pub needs a topic without wildcards and exactly one message source', () => {
    expect(planPub(['-t', 'a/b', '-m', 'x', '-q', '2', '-r'])).toMatchObject({
      topic: 'a/b',
      qos: 2,
      retain: true,
      store: undefined,
    });
    expect(planPub(['--help'])).toBe('help');
    expect(usageOf(() => planPub(['-m', 'x']))).toMatch(/missing topic/);
    expect(usageOf(() => planPub(['-t', 'a']))).toMatch(/missing message/);
    expect(usageOf(() => planPub(['-t', 'a', '-m', 'x', '-s']))).toMatch(/only one message source, got -m and -s/);
    expect(usageOf(() => planPub(['-t', 'a', '-s', '-l']))).toMatch(/only one message source, got -s and -l/);
    expect(usageOf(() => planPub(['-t', 'a/#', '-m', 'x']))).toMatch(/wildcard/);
    expect(usageOf(() => planPub(['-t', '', '-m', 'x']))).toMatch(/topic is empty/);
    expect(usageOf(() => planPub(['-t', 'a', '-m', 'x', '-q', '1.5']))).toMatch(/QoS/);
    expect(usageOf(() => planPub(['-t', 'a', '-m', 'x', '--store', '']))).toMatch(/--store needs a directory/);
  });

  it('as mosquitto: the argument after an option is its value even when it starts with "-"', () => {
    expect(planPub(['-t', 'a', '-m', '-5'])).toMatchObject({ topic: 'a' });
    expect(
      parse('pub', ['-m', '-5', '--message', '--x', '-t', '-'], {
        message: { type: 'string', short: 'm' },
        topic: { type: 'string', short: 't' },
      }).values,
    ).toEqual({
      message: '--x',
      topic: '-',
    });
    expect(usageOf(() => planPub(['-t', 'a', '-m']))).toMatch(/argument missing/);
  });

  it('the topic may come from the URL path (mqtt:// only: in ws:// the path is the endpoint)', () => {
    expect(planPub(['-L', 'mqtt://h:1884/sensors/kit%20chen', '-m', 'x'])).toMatchObject({ topic: 'sensors/kit chen' });
    expect(planPub(['-L', 'mqtt://h/from-url', '-t', 'given', '-m', 'x'])).toMatchObject({ topic: 'given' });
    expect(planSub(['-L', 'mqtts://h/a/%23', '-t', 'b/+'])).toMatchObject({ filters: ['b/+', 'a/#'] });
    expect(usageOf(() => planSub(['-L', 'ws://h/mqtt']))).toMatch(/missing topic/);
  });

  it('-s reads all of standard input, -l each line, -f - standard input', async () => {
    const io = (input: string | Buffer) => ({ stdin: Readable.from([Buffer.from(input)]) }) as unknown as Io;
    const all = async (args: string[], input: string | Buffer) => {
      const plan = planPub(['-t', 'a', ...args]);
      if (plan === 'help') throw new Error('help');
      const out: string[] = [];
      for await (const m of plan.source(io(input)).messages) out.push(Buffer.from(m).toString('latin1'));
      return out;
    };
    expect(await all(['-s'], 'one\ntwo\n')).toEqual(['one\ntwo\n']);
    expect(await all(['-f', '-'], Buffer.from([0xff, 0x00, 0x0a]))).toEqual(['\xff\x00\n']);
    expect(await all(['-l'], 'one\r\ntwo\n\nthree')).toEqual(['one', 'two', '', 'three']);
  });

  it('sub: -N, -R, and -F is one of the output formats', () => {
    expect(planSub(['-t', 'a', '-N', '-R'])).toMatchObject({ newline: false, skipRetained: true, format: 'payload' });
    expect(planSub(['-t', 'a'])).toMatchObject({ newline: true, skipRetained: false });
    expect(typeof (planSub(['-t', 'a', '-F', '%t %p']) as { format: unknown }).format).toBe('function');
    expect(usageOf(() => planSub(['-t', 'a', '-F', '%t', '-v']))).toMatch(/-v and -F do not go together/);
    expect(usageOf(() => planSub(['-t', 'a', '-F', '%t %m']))).toMatch(/-F: unknown sequence "%m"/);
    expect(usageOf(() => planSub(['-t', 'a', '-F', '@Q']))).toMatch(/-F: unknown sequence "@Q"/);
  });

  it('sub takes several filters, a count and a timeout', () => {
    expect(planSub(['-t', 'a/#', '-t', '+/b', '-C', '3', '-W', '2', '--json'])).toMatchObject({
      filters: ['a/#', '+/b'],
      count: 3,
      timeout: 2000,
      format: 'json',
    });
    expect(usageOf(() => planSub(['-t', 'a', '-C', '0']))).toMatch(/count \(-C\) must be a whole number from 1/);
    expect(usageOf(() => planSub(['-t', 'a', '-v', '--json']))).toMatch(/--json and -v do not go together/);
    expect(usageOf(() => planSub(['-t', 'a+']))).toMatch(/topic filter "a\+" is not valid/);
  });
});

describe('message output', () => {
  const m = (payload: Uint8Array) => ({ topic: 't', payload, qos: 1 as const, retain: true });
  it('json: UTF-8 text as is, anything else base64 with a flag', () => {
    expect(formatMessage(m(new TextEncoder().encode('hé "x"\n')), 'json')).toBe(
      '{"topic":"t","payload":"hé \\"x\\"\\n","qos":1,"retain":true}',
    );
    expect(formatMessage(m(new Uint8Array([0xff, 0])), 'json')).toBe(
      '{"topic":"t","payload":"/wA=","base64":true,"qos":1,"retain":true}',
    );
  });
  it('raw payload bytes, or topic and payload', () => {
    expect(Buffer.from(formatMessage(m(new Uint8Array([0xff, 0x41])), 'payload') as Uint8Array)).toEqual(
      Buffer.from([0xff, 0x41]),
    );
    expect(Buffer.from(formatMessage(m(new TextEncoder().encode('v')), 'topic') as Uint8Array).toString()).toBe('t v');
  });
});

describe('-F output format (mosquitto_sub)', () => {
  const at = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
  const m = { topic: 'a/b', payload: new TextEncoder().encode('hi "x"'), qos: 1 as const, retain: true };
  const show = (format: string, message: typeof m = m) => {
    const out = parseFormat(format)(message, at);
    return Buffer.isBuffer(out) ? out.toString('latin1') : out;
  };
  it.each([
    ['%t %p', 'a/b hi "x"'],
    ['%q%r %l', '11 6'],
    ['[%6t][%-6t][%.2t][%06l]', '[   a/b][a/b   ][a/][000006]'],
    ['%x', '686920227822'],
    [String.raw`%%t\t\\.\n`, '%t\t\\.\n'],
    ['%U', `${Math.floor(at.getTime() / 1000)}.678000000`],
    ['@@@N', '@678000000'],
    ['%j', '{"tst":"2026-01-02T03:04:05.678Z","topic":"a/b","qos":1,"retain":1,"payloadlen":6,"payload":"hi \\"x\\""}'],
  ])('%s', (format, expected) => {
    expect(show(format)).toBe(expected);
  });
  it('%X is upper-case hex', () => {
    expect(show('%x %X', { ...m, payload: Uint8Array.of(0xab, 0x0c) })).toBe('ab0c AB0C');
  });
  it('%I is local ISO-8601 time with its offset; %j a payload that is not UTF-8 as base64', () => {
    expect(show('%I')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:05[+-]\d{4}$/);
    expect(show('%j', { ...m, payload: Uint8Array.of(0xff, 0) })).toMatch(
      /"payloadlen":2,"payload":"\/wA=","base64":true}$/,
    );
  });
  it('%J puts a JSON payload in as it is, and refuses one that is not JSON', () => {
    expect(show('%J', { ...m, payload: new TextEncoder().encode('{"t": 21.5}') })).toMatch(/"payload":\{"t":21.5\}\}$/);
    expect(show('%J')).toEqual({
      error: 'the payload of the message on topic "a/b" is not valid JSON (-F %J); skipped',
    });
  });
});

describe('error mapping', () => {
  const sock = (code: string, message = code) => Object.assign(new Error(message), { code });
  it.each([
    ['ENOTFOUND', EXIT.CANNOT_CONNECT, /cannot resolve host "broker.example"/],
    ['EAI_AGAIN', EXIT.CANNOT_CONNECT, /cannot resolve host/],
    ['ECONNREFUSED', EXIT.CANNOT_CONNECT, /connection refused by broker.example:8883.*umqtt broker -p 8883/],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', EXIT.CANNOT_CONNECT, /TLS: .*failed verification.*--cafile FILE.*--insecure/],
    ['SELF_SIGNED_CERT_IN_CHAIN', EXIT.CANNOT_CONNECT, /--cafile/],
    ['CERT_HAS_EXPIRED', EXIT.CANNOT_CONNECT, /CERT_HAS_EXPIRED/],
    ['ERR_TLS_CERT_ALTNAME_INVALID', EXIT.CANNOT_CONNECT, /does not carry the name "broker.example"/],
    ['EPROTO', EXIT.CANNOT_CONNECT, /TLS handshake .* failed.*is it a TLS port/],
    ['ECONNRESET', EXIT.CANNOT_CONNECT, /reset the connection before answering CONNECT/],
    ['EHOSTUNREACH', EXIT.CANNOT_CONNECT, /cannot reach broker.example:8883/],
    ['EADDRINUSE', EXIT.CANNOT_CONNECT, /already in use/],
  ])('%s', (code, exit, expected) => {
    const e = explainSocketError(sock(code), target)!;
    expect(e.exitCode).toBe(exit);
    expect(e.message).toMatch(expected);
  });

  it('a peer that closes before CONNACK', () => {
    expect(explainSocketError(new SocketClosedError(), { ...target, tls: false })!.message).toMatch(
      /closed the connection before answering CONNECT.*mqtts:\/\//,
    );
  });

  it('CONNACK refusals are exit 4, naming the credentials', () => {
    const refused = (code: string, rc: number) =>
      explain(new UmqttError({ code, message: 'refused', reasonCode: rc, place: 'connect' }), target);
    expect(refused('UMQTT_CONNACK_CREDENTIALS', 4)).toMatchObject({ exitCode: EXIT.REFUSED });
    expect(refused('UMQTT_CONNACK_CREDENTIALS', 4).message).toMatch(
      /bad user name or password \(CONNACK 4\); check -u\/-P/,
    );
    expect(refused('UMQTT_CONNACK_NOT_AUTHORIZED', 5).message).toMatch(/not authorized \(CONNACK 5\)/);
    expect(refused('UMQTT_CONNACK_IDENTIFIER', 2).message).toMatch(/client id rejected.*-i/);
  });

  it('connection lost while connecting uses the socket error; after connecting it is exit 1', () => {
    const lost = (place: string) =>
      new UmqttError({ code: 'UMQTT_CONNECTION_LOST', message: 'connection lost: ECONNREFUSED', place });
    expect(explain(lost('connect'), target, sock('ECONNREFUSED')).exitCode).toBe(EXIT.CANNOT_CONNECT);
    const after = explain(lost('read'), target, new SocketClosedError(), 7);
    expect(after.exitCode).toBe(EXIT.FAILED);
    expect(after.message).toMatch(
      /^connection to broker.example:8883 lost after 7 message\(s\): the broker closed the connection;/,
    );
    expect(explain(lost('read'), target, sock('ECONNRESET')).message).toMatch(
      /lost: the connection was reset \(ECONNRESET\)/,
    );
    expect(
      explain(new UmqttError({ code: 'UMQTT_CONNECT_TIMEOUT', message: 'no CONNACK within 10000 ms' }), target)
        .exitCode,
    ).toBe(EXIT.TIMEOUT);
  });

  it('a protocol error: MQTT 5 names the reason code umqtt disconnected with', () => {
    const broke = (code: string, reasonCode?: number) =>
      explain(new UmqttError({ code, message: 'bad', reasonCode, place: 'read' }), target);
    expect(broke('UMQTT_PROTOCOL_ERROR').message).toBe(
      'the broker broke the MQTT protocol: bad; is it an MQTT 3.1.1 broker?',
    );
    expect(broke('UMQTT_PROTOCOL_ERROR', 0x93).message).toMatch(
      /^the broker broke the MQTT protocol: bad; umqtt disconnected with 0x93 \(receive maximum exceeded\);/,
    );
    expect(broke('UMQTT_PACKET_TOO_LARGE', 0x95)).toMatchObject({
      exitCode: EXIT.FAILED,
      message: expect.stringMatching(/disconnected with 0x95 \(packet too large\)/),
    });
  });

  it('long values are cut in messages, saying how long they were', () => {
    const topic = 'a'.repeat(70_000);
    const line = errorLine(
      'pub',
      usageOf2(() => planPub(['-t', `${topic}#`, '-m', 'x'])),
    );
    expect(line.length).toBeLessThan(300);
    expect(line).toMatch(/topic "a{80}\.\.\." \(70001 characters\) contains a wildcard/);
    expect(cutLong('"short" stays')).toBe('"short" stays');
  });

  it('anything else is exit 1 and one line', () => {
    const e = explain(new Error('boom\nsecond line'), undefined);
    expect(e.exitCode).toBe(EXIT.FAILED);
    expect(errorLine('pub', e)).toBe(
      'umqtt pub: unexpected error: boom second line; run with --verbose for the stack trace, and please report it',
    );
  });
});
