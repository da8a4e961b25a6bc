// End to end: the command bundled from sources, spawned as a user would run it (see
// cli.test-support.ts), against Mosquitto and against `umqtt broker`.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freePort,
  generateCertificates,
  mosquittoOrSkip,
  startMosquitto,
  waitFor,
  type Certificates,
  type MosquittoHandle,
} from '@umqtt/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  keep,
  oneLine,
  start,
  subscribed,
  umqtt,
  umqttBroker,
  uniqueTopic,
  useCli,
  type Running,
} from './cli.test-support.js';

useCli('cli-e2e');

describe('umqtt --help and usage', () => {
  it.each([['pub'], ['sub'], ['broker'], ['demo']])('umqtt %s --help prints its usage and exits 0', async (command) => {
    const { code, stdout, stderr } = await umqtt([command, '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain(`Usage: umqtt ${command}`);
    expect(stderr).toBe('');
  });

  it('umqtt --help lists the commands and exit codes; no command is a usage error', async () => {
    const help = await umqtt(['--help']);
    expect(help.code).toBe(0);
    for (const word of ['pub', 'sub', 'broker', 'demo', 'Exit codes']) expect(help.stdout).toContain(word);
    const none = await umqtt([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage:');
  });

  it('an unknown command or option is one line and exit 2', async () => {
    const cmd = await umqtt(['publish']);
    expect(cmd.code).toBe(2);
    expect(oneLine(cmd.stderr)).toMatch(/unknown command "publish".*pub, sub, broker, demo/);
    const opt = await umqtt(['sub', '-t', 'a', '--colour']);
    expect(opt.code).toBe(2);
    expect(oneLine(opt.stderr)).toMatch(/unknown option '--colour'.*umqtt sub --help/);
  });
});

describe('bad input: one line naming the problem, exit 2, nothing connects', () => {
  const cases: [string, string[], RegExp][] = [
    [
      'an invalid URL (scheme)',
      ['pub', '-L', 'http://127.0.0.1', '-t', 'a', '-m', 'x'],
      /invalid URL.*unsupported scheme.*mqtt:\/\//,
    ],
    [
      'an invalid URL (port)',
      ['pub', '-L', 'mqtt://127.0.0.1:70000', '-t', 'a', '-m', 'x'],
      /invalid URL.*bad port "70000"/,
    ],
    ['a URL without scheme', ['sub', '-L', '127.0.0.1:1883', '-t', 'a'], /invalid URL.*no scheme/],
    [
      'a wildcard topic given to pub (#)',
      ['pub', '-t', 'sensors/#', '-m', 'x'],
      /topic "sensors\/#" contains a wildcard.*umqtt sub/,
    ],
    ['a wildcard topic given to pub (+)', ['pub', '-t', 'sensors/+/t', '-m', 'x'], /wildcard/],
    ['QoS 3', ['pub', '-t', 'a', '-m', 'x', '-q', '3'], /QoS \(-q\) must be 0, 1 or 2, got "3"/],
    ['QoS -1', ['sub', '-t', 'a', '--qos=-1'], /QoS \(-q\) must be 0, 1 or 2, got "-1"/],
    ['pub without -t', ['pub', '-m', 'x'], /missing topic.*-t TOPIC/],
    ['sub without -t', ['sub'], /missing topic.*-t FILTER/],
    ['pub without a message', ['pub', '-t', 'a'], /missing message.*-m TEXT.*-s/],
    ['an invalid filter', ['sub', '-t', 'a/#/b'], /topic filter "a\/#\/b" is not valid/],
    ['a bad port', ['pub', '-p', 'http', '-t', 'a', '-m', 'x'], /port \(-p\) must be a whole number from 1 to 65535/],
    ['-c without -i', ['sub', '-t', 'a', '-c'], /-c .* needs a client id.*-i ID/],
    ['a password without user', ['pub', '-P', 'pw', '-t', 'a', '-m', 'x'], /password was given without a user name/],
    [
      'a missing CA file',
      ['pub', '--cafile', '/nonexistent/ca.pem', '-t', 'a', '-m', 'x'],
      /cannot read --cafile "\/nonexistent\/ca.pem" \(ENOENT\)/,
    ],
    [
      'a missing -f file',
      ['pub', '-f', '/nonexistent/msg', '-t', 'a'],
      /cannot read -f "\/nonexistent\/msg" \(ENOENT\)/,
    ],
    [
      'TLS options with mqtt://',
      ['pub', '-L', 'mqtt://127.0.0.1', '--insecure', '-t', 'a', '-m', 'x'],
      /TLS options given with the plain URL.*mqtts:\/\//,
    ],
    ['a positional message', ['pub', '-t', 'a', 'hello'], /unexpected argument "hello".*-m TEXT/],
  ];
  it.each(cases)('%s', async (_name, args, expected) => {
    const { code, stderr, stdout } = await umqtt(args);
    expect(code).toBe(2);
    expect(oneLine(stderr)).toMatch(expected);
    expect(stderr).toMatch(/^umqtt (pub|sub): /);
    expect(stdout).toBe('');
  });
});

describe('cannot connect: exit 3', () => {
  it('unknown host (a name under .invalid never resolves)', async () => {
    const { code, stderr } = await umqtt(['pub', '-h', 'no-such-broker.invalid', '-t', 'a', '-m', 'x']);
    expect(code).toBe(3);
    expect(oneLine(stderr)).toMatch(
      /cannot resolve host "no-such-broker\.invalid" \((ENOTFOUND|EAI_AGAIN)\); check the host name/,
    );
  });

  it('refused connection (a free port with nothing listening), in a URL too', async () => {
    const port = await freePort();
    const pub = await umqtt(['pub', '-p', String(port), '-t', 'a', '-m', 'x']);
    expect(pub.code).toBe(3);
    expect(oneLine(pub.stderr)).toMatch(
      new RegExp(
        `connection refused by 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\); is a broker running there\\?.*umqtt broker -p ${port}`,
      ),
    );
    const sub = await umqtt(['sub', '-L', `mqtt://127.0.0.1:${port}`, '-t', 'a']);
    expect(sub.code).toBe(3);
    expect(oneLine(sub.stderr)).toMatch(/connection refused/);
  });

  it('-d (--debug) adds connection details and the stack trace', async () => {
    const port = await freePort();
    const { code, stderr } = await umqtt(['pub', '-d', '-p', String(port), '-t', 'a', '-m', 'x']);
    expect(code).toBe(3);
    expect(stderr).toContain(`connecting to mqtt://127.0.0.1:${port}`);
    expect(stderr).toContain('connection refused');
    expect(stderr).toMatch(/^\s+at /m);
  });
});

/** pub -> sub through one broker, each QoS, retained, stdin lines, JSON. */
function pubSubSuite(url: () => string, brokerName: string) {
  it.each([0, 1, 2])(`QoS %i through ${brokerName}`, async (q) => {
    const topic = uniqueTopic(`qos${q}`);
    const sub = await subscribed(['-L', url(), '-t', topic, '-q', String(q), '-C', '1', '--json']);
    const pub = await umqtt(['pub', '-L', url(), '-t', topic, '-q', String(q), '-m', `hello at QoS ${q}`]);
    expect(pub).toMatchObject({ code: 0, stderr: '' });
    expect(await sub.exited).toBe(0);
    expect(JSON.parse(sub.stdout)).toEqual({ topic, payload: `hello at QoS ${q}`, qos: q, retain: false });
  });

  it(`a retained message reaches a subscriber that comes later (${brokerName})`, async () => {
    const topic = uniqueTopic('retained');
    expect(await umqtt(['pub', '-L', url(), '-t', topic, '-q', '1', '-r', '-m', 'door open'])).toMatchObject({
      code: 0,
    });
    const sub = await umqtt(['sub', '-L', url(), '-t', topic, '-q', '1', '-C', '1', '--json', '-W', '10']);
    expect(sub.code).toBe(0);
    expect(JSON.parse(sub.stdout)).toEqual({ topic, payload: 'door open', qos: 1, retain: true });
    // -n -r clears it: a later subscriber gets nothing and times out (exit 5).
    expect(await umqtt(['pub', '-L', url(), '-t', topic, '-r', '-n'])).toMatchObject({ code: 0 });
    const none = await umqtt(['sub', '-L', url(), '-t', topic, '-C', '1', '-W', '1']);
    expect(none.code).toBe(5);
    expect(none.stdout).toBe('');
    expect(oneLine(none.stderr)).toMatch(/timed out after 1 s with 0 of 1 message/);
  });

  it.each([0, 1, 2])(`stdin lines, each a message, in order, at QoS %i (${brokerName}, sub -v)`, async (q) => {
    const topic = uniqueTopic('lines');
    const lines = ['first line', 'second: with spaces', '', 'ünïcødé ✓', 'last'];
    const sub = await subscribed(['-L', url(), '-t', `${topic}/#`, '-q', String(q), '-C', String(lines.length), '-v']);
    const pub = await umqtt(['pub', '-L', url(), '-t', `${topic}/x`, '-q', String(q), '-l'], `${lines.join('\n')}\n`);
    expect(pub).toMatchObject({ code: 0, stderr: '' });
    expect(await sub.exited).toBe(0);
    expect(sub.stdout).toBe(lines.map((l) => `${topic}/x ${l}\n`).join(''));
  });

  it(`JSON output: binary payloads as base64, -f sends a file (${brokerName})`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'umqtt-e2e-'));
    try {
      const bytes = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x41, 0x0a]);
      await writeFile(join(dir, 'blob'), bytes);
      const topic = uniqueTopic('binary');
      const sub = await subscribed(['-L', url(), '-t', topic, '-q', '1', '-C', '2', '--json']);
      expect(await umqtt(['pub', '-L', url(), '-t', topic, '-q', '1', '-f', join(dir, 'blob')])).toMatchObject({
        code: 0,
      });
      expect(await umqtt(['pub', '-L', url(), '-t', topic, '-q', '1', '-m', '{"t":21.5}'])).toMatchObject({ code: 0 });
      expect(await sub.exited).toBe(0);
      const [binary, text] = sub.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(binary).toEqual({ topic, payload: bytes.toString('base64'), base64: true, qos: 1, retain: false });
      expect(Buffer.from(binary.payload, 'base64')).toEqual(bytes);
      expect(text).toEqual({ topic, payload: '{"t":21.5}', qos: 1, retain: false });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

describe.skipIf(mosquittoOrSkip() !== undefined)('through Mosquitto', () => {
  let broker: MosquittoHandle;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(async () => {
    await broker?.stop();
  });
  pubSubSuite(() => broker.url, 'Mosquitto');

  it('a subscription at a lower QoS gets the message at that QoS (retained too)', async () => {
    const topic = uniqueTopic('downgrade');
    expect(await umqtt(['pub', '-L', broker.url, '-t', topic, '-q', '2', '-r', '-m', 'm'])).toMatchObject({ code: 0 });
    const sub = await umqtt(['sub', '-L', broker.url, '-t', topic, '-q', '0', '-C', '1', '--json', '-W', '10']);
    expect(JSON.parse(sub.stdout)).toMatchObject({ qos: 0, retain: true });
  });
});

describe('through umqtt broker', () => {
  let broker: { r: Running; port: number };
  let url: string;
  beforeAll(async () => {
    // Started here, not per test: afterEach kills what each test started, so start it outside that set.
    broker = await umqttBroker();
    keep(broker.r);
    url = `mqtt://127.0.0.1:${broker.port}`;
  });
  afterAll(async () => {
    broker?.r.child.kill('SIGTERM');
    expect(await broker?.r.exited).toBe(0);
  });
  pubSubSuite(() => url, 'umqtt broker');
});

describe('umqtt broker', () => {
  it('prints where it listens, says persistence is in memory, and exits 0 on SIGTERM and SIGINT', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const { r } = await umqttBroker(['--persistence']);
      expect(r.stdout).toMatch(/in memory.*not on disk/);
      r.child.kill(signal);
      expect(await r.exited).toBe(0);
      expect(r.stdout).toContain(`${signal}: stopping`);
    }
  });

  it('--persistence keeps a persistent session: messages sent while the subscriber was away', async () => {
    const { port } = await umqttBroker(['--persistence']);
    const url = `mqtt://127.0.0.1:${port}`;
    const topic = uniqueTopic('session');
    const id = `e2e-${process.pid}-${Date.now()}`;
    // Subscribe with a kept session, then leave (the -W timeout ends it: exit 5).
    expect((await umqtt(['sub', '-L', url, '-t', topic, '-q', '1', '-c', '-i', id, '-W', '1'])).code).toBe(5);
    expect(await umqtt(['pub', '-L', url, '-t', topic, '-q', '1', '-m', 'while you were away'])).toMatchObject({
      code: 0,
    });
    const back = await umqtt(['sub', '-L', url, '-t', topic, '-q', '1', '-c', '-i', id, '-C', '1', '-W', '10']);
    expect(back).toMatchObject({ code: 0, stdout: 'while you were away\n' });
  });

  it('without --persistence every session is clean', async () => {
    const { r, port } = await umqttBroker();
    expect(r.stdout).toContain('every session is clean');
    const url = `mqtt://127.0.0.1:${port}`;
    const topic = uniqueTopic('clean');
    const id = `e2e-clean-${process.pid}`;
    expect((await umqtt(['sub', '-L', url, '-t', topic, '-q', '1', '-c', '-i', id, '-W', '1'])).code).toBe(5);
    expect((await umqtt(['pub', '-L', url, '-t', topic, '-q', '1', '-m', 'lost'])).code).toBe(0);
    const back = await umqtt(['sub', '-L', url, '-t', topic, '-q', '1', '-c', '-i', id, '-C', '1', '-W', '1']);
    expect(back).toMatchObject({ code: 5, stdout: '' });
  });

  it('sub exits 0 on SIGINT; when the broker stops it says so and keeps trying, as mosquitto_sub', async () => {
    const { r: b, port } = await umqttBroker();
    const first = await subscribed(['-p', String(port), '-t', 'a']);
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    const second = await subscribed(['-p', String(port), '-t', 'a']);
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    await waitFor(() => /reconnecting/.test(second.stderr), { message: 'sub says it reconnects' });
    expect(second.stderr).toMatch(
      new RegExp(
        `^umqtt sub: connection to 127\\.0\\.0\\.1:${port} lost after 0 message\\(s\\): the broker closed the connection; reconnecting`,
        'm',
      ),
    );
    expect(second.child.exitCode).toBe(null);
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  });

  it('the last will: published when a client dies, not after a normal exit', async () => {
    const { port } = await umqttBroker();
    const will = uniqueTopic('will');
    const watcher = await subscribed(['-p', String(port), '-t', will, '-q', '1', '-C', '1', '-v']);
    const willOptions = ['--will-topic', will, '--will-message', 'gone', '--will-qos', '1'];
    // A pub that ends normally sends DISCONNECT: no will.
    expect(await umqtt(['pub', '-p', String(port), '-t', 'x', '-m', 'y', '-q', '1', ...willOptions])).toMatchObject({
      code: 0,
    });
    // A sub that is killed does not: the broker publishes its will.
    const victim = await subscribed(['-p', String(port), '-t', 'x', ...willOptions]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(watcher.stdout).toBe('');
    victim.child.kill('SIGKILL');
    expect(await watcher.exited).toBe(0);
    expect(watcher.stdout).toBe(`${will} gone\n`);
  });

  it('a port in use is one line and exit 3; a bad port is exit 2', async () => {
    const { port } = await umqttBroker();
    const busy = await umqtt(['broker', '-p', String(port)]);
    expect(busy.code).toBe(3);
    expect(oneLine(busy.stderr)).toMatch(
      new RegExp(`127\\.0\\.0\\.1:${port} is already in use; choose another port with -p`),
    );
    const bad = await umqtt(['broker', '-p', '65536']);
    expect(bad.code).toBe(2);
    expect(oneLine(bad.stderr)).toMatch(/port \(-p\) must be a whole number from 0 to 65535/);
  });
});

describe('pub --store: lines piped in while the broker is down are delivered later', () => {
  let forwarder: Server | undefined;
  const sockets = new Set<Socket>();
  afterEach(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => (forwarder ? forwarder.close(() => resolve()) : resolve()));
    forwarder = undefined;
  });

  it('queues while nothing listens (ECONNREFUSED), delivers every line in order once the broker is reachable', async () => {
    const { port: brokerPort } = await umqttBroker();
    const topic = uniqueTopic('store');
    const lines = ['alarm 1', 'alarm 2', 'alarm 3', 'alarm 4'];
    const sub = await subscribed(['-p', String(brokerPort), '-t', topic, '-q', '1', '-C', String(lines.length)]);
    // The publisher's broker address: nothing listens there yet.
    const port = await freePort();
    const dir = await mkdtemp(join(tmpdir(), 'umqtt-e2e-store-'));
    try {
      const pub = start(
        ['pub', '-p', String(port), '-t', topic, '-q', '1', '-l', '--store', dir],
        `${lines.join('\n')}\n`,
      );
      await waitFor(() => pub.stderr.includes('waiting for the broker'), { timeout: 10_000, message: 'pub waiting' });
      expect(pub.stderr).toMatch(/waiting for the broker: connection refused by 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
      await new Promise((resolve) => setTimeout(resolve, 300)); // the lines are read meanwhile
      expect(sub.stdout).toBe('');
      // The broker's address comes up (a forwarder to the running broker).
      forwarder = createServer((client) => {
        const upstream = connect({ host: '127.0.0.1', port: brokerPort });
        sockets.add(client).add(upstream);
        client.pipe(upstream).pipe(client);
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
      });
      await new Promise<void>((resolve) => forwarder!.listen(port, '127.0.0.1', resolve));
      expect(await pub.exited).toBe(0);
      expect(await sub.exited).toBe(0);
      expect(sub.stdout).toBe(lines.map((l) => `${l}\n`).join(''));
      expect(pub.stderr).toMatch(/connected to mqtt:\/\/127\.0\.0\.1:\d+; sending 4 queued message\(s\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('killed (SIGKILL) while lines stream in: every line it reported on the disk is sent by the next run, in order, once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'umqtt-e2e-store-'));
    try {
      const topic = uniqueTopic('killed');
      const down = await freePort();
      const pub = start(['pub', '-p', String(down), '-t', topic, '-q', '1', '-l', '-d', '--store', dir]);
      // lines as fast as it takes them (it holds 500 while the broker is down, reading on only as
      // earlier lines are on the disk)
      const stdin = pub.child.stdin!;
      let written = 0;
      const feed = (): void => {
        while (written < 2000) if (!stdin.write(`m${++written}\n`)) return void stdin.once('drain', feed);
      };
      feed();
      const reported = () =>
        Math.max(0, ...[...pub.stderr.matchAll(/on the disk: (\d+) message/g)].map((m) => Number(m[1])));
      await waitFor(() => reported() >= 150, { timeout: 10_000, message: 'lines on the disk' });
      pub.child.kill('SIGKILL');
      expect(await pub.exited).toBe('SIGKILL');
      const durable = reported();
      // the next run sends what the file kept (at least every line reported), then its own message
      const { port } = await umqttBroker();
      const sub = await subscribed(['-p', String(port), '-t', topic, '-q', '1']);
      const next = await umqtt(['pub', '-p', String(port), '-t', topic, '-q', '1', '-m', 'last', '--store', dir]);
      expect(next.code).toBe(0);
      const left = Number(/(\d+) message\(s\) left in .*queue\.flash by an earlier run/.exec(next.stderr)?.[1]);
      expect(left).toBeGreaterThanOrEqual(durable);
      expect(left).toBeLessThanOrEqual(written);
      // it read on only while fewer than 256 lines read were not yet on the disk (its stderr, a
      // pipe, is written synchronously: what it reported was reported before it read on)
      expect(left - durable).toBeLessThanOrEqual(256);
      await waitFor(() => sub.stdout.endsWith('last\n'), { timeout: 10_000, message: 'the last message' });
      expect(sub.stdout).toBe(
        [...Array.from({ length: left }, (_, i) => `m${i + 1}`), 'last'].map((l) => `${l}\n`).join(''),
      );
      console.log(
        `pub --store killed: ${durable} line(s) reported on the disk, ${left} kept, of ${written} written to its input`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('Ctrl-C while waiting keeps the messages in the queue file; the next run sends them first (exit 130, then 0)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'umqtt-e2e-store-'));
    try {
      const topic = uniqueTopic('leftover');
      const down = await freePort();
      const pub = start(['pub', '-p', String(down), '-t', topic, '-q', '1', '-l', '--store', dir], 'a\nb\n');
      await waitFor(() => pub.stderr.includes('waiting for the broker'), { timeout: 10_000, message: 'pub waiting' });
      await new Promise((resolve) => setTimeout(resolve, 300)); // the lines are read meanwhile
      // A second umqtt on the same queue is turned away while the first runs.
      const second = await umqtt(['pub', '-p', String(down), '-t', topic, '-m', 'x', '--store', dir]);
      expect(second.code).toBe(2);
      expect(oneLine(second.stderr)).toMatch(/is in use by another umqtt \(pid \d+\)/);
      pub.child.kill('SIGINT');
      expect(await pub.exited).toBe(130);
      expect(pub.stderr.trimEnd().split('\n').at(-1)).toMatch(
        /interrupted: 2 of 2 message\(s\) not delivered yet, kept in .*queue\.flash/,
      );

      const { port } = await umqttBroker();
      const sub = await subscribed(['-p', String(port), '-t', topic, '-q', '1', '-C', '3']);
      const next = await umqtt(['pub', '-p', String(port), '-t', topic, '-q', '1', '-m', 'c', '--store', dir]);
      expect(next.code).toBe(0);
      expect(next.stderr).toMatch(/2 message\(s\) left in .*queue\.flash by an earlier run are sent first/);
      expect(await sub.exited).toBe(0);
      expect(sub.stdout).toBe('a\nb\nc\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(mosquittoOrSkip() !== undefined)('refused by the broker: exit 4', () => {
  let broker: MosquittoHandle;
  beforeAll(async () => {
    broker = await startMosquitto({ users: { alice: 'wonderland' } });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('the right user name and password connect', async () => {
    const ok = await umqtt([
      'pub',
      '-L',
      `mqtt://alice:wonderland@127.0.0.1:${broker.port}`,
      '-t',
      'a',
      '-m',
      'x',
      '-q',
      '1',
    ]);
    expect(ok).toMatchObject({ code: 0, stderr: '' });
    const flags = await umqtt([
      'pub',
      '-p',
      String(broker.port),
      '-u',
      'alice',
      '-P',
      'wonderland',
      '-t',
      'a',
      '-m',
      'x',
    ]);
    expect(flags).toMatchObject({ code: 0, stderr: '' });
  });

  it('a wrong password is refused (CONNACK 4 or 5), naming the credentials', async () => {
    const { code, stderr } = await umqtt([
      'pub',
      '-p',
      String(broker.port),
      '-u',
      'alice',
      '-P',
      'wrong',
      '-t',
      'a',
      '-m',
      'x',
    ]);
    expect(code).toBe(4);
    // Mosquitto answers a wrong password with 5 (not authorized), others with 4.
    expect(oneLine(stderr)).toMatch(
      /refused the connection: (bad user name or password \(CONNACK 4\)|not authorized \(CONNACK 5\)); .*(-u\/-P|user name and password)/,
    );
  });

  it('no credentials are refused', async () => {
    const { code, stderr } = await umqtt(['sub', '-p', String(broker.port), '-t', 'a']);
    expect(code).toBe(4);
    expect(oneLine(stderr)).toMatch(/refused the connection: .*CONNACK [45]/);
  });

  it('pub --store does not retry a refusal forever', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'umqtt-e2e-store-'));
    try {
      const { code, stderr } = await umqtt([
        'pub',
        '-p',
        String(broker.port),
        '-u',
        'alice',
        '-P',
        'wrong',
        '-t',
        'a',
        '-m',
        'x',
        '-q',
        '1',
        '--store',
        dir,
      ]);
      expect(code).toBe(4);
      expect(oneLine(stderr)).toMatch(/refused the connection.*1 of 1 message\(s\) not delivered yet, kept in/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(mosquittoOrSkip() !== undefined)('TLS', () => {
  let certs: Certificates;
  let broker: MosquittoHandle;
  beforeAll(async () => {
    certs = await generateCertificates();
    broker = await startMosquitto({ tls: { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile } });
  });
  afterAll(async () => {
    await broker?.stop();
    await certs?.remove();
  });

  it('connects and delivers with the right CA (mqtts:// URL and --cafile)', async () => {
    const topic = uniqueTopic('tls');
    const sub = await subscribed(['-L', broker.url, '--cafile', certs.caFile, '-t', topic, '-q', '1', '-C', '1']);
    const pub = await umqtt([
      'pub',
      '-p',
      String(broker.port),
      '--cafile',
      certs.caFile,
      '-t',
      topic,
      '-q',
      '1',
      '-m',
      'secret',
    ]);
    expect(pub).toMatchObject({ code: 0, stderr: '' });
    expect(await sub.exited).toBe(0);
    expect(sub.stdout).toBe('secret\n');
  });

  it.each([
    ['no CA (the private CA is not trusted by default)', () => [] as string[]],
    ['another CA', () => ['--cafile', certs.otherCaFile]],
  ])('a certificate that fails verification: %s (exit 3)', async (_name, extra) => {
    const { code, stderr } = await umqtt(['pub', '-L', broker.url, ...extra(), '-t', 'a', '-m', 'x']);
    expect(code).toBe(3);
    expect(oneLine(stderr)).toMatch(
      /TLS: the broker's certificate failed verification \(UNABLE_TO_VERIFY_LEAF_SIGNATURE: .*\); .*--cafile FILE.*--insecure/,
    );
  });

  it('a name the certificate does not carry', async () => {
    const { code, stderr } = await umqtt([
      'pub',
      '-L',
      `mqtts://127.0.0.2:${broker.port}`,
      '--cafile',
      certs.caFile,
      '-t',
      'a',
      '-m',
      'x',
    ]);
    // 127.0.0.2 is loopback on Linux; elsewhere the connection may be refused instead.
    expect(code).toBe(3);
    expect(oneLine(stderr)).toMatch(/does not carry the name "127\.0\.0\.2"|connection refused/);
  });

  it('--insecure connects without verifying, and warns on stderr', async () => {
    const { code, stderr } = await umqtt(['pub', '-L', broker.url, '--insecure', '-t', 'a', '-m', 'x', '-q', '1']);
    expect(code).toBe(0);
    expect(oneLine(stderr)).toMatch(/warning: --insecure: the broker's certificate is NOT verified/);
  });

  it('plain MQTT to the TLS port fails with a hint about TLS', async () => {
    const { code, stderr } = await umqtt(['pub', '-p', String(broker.port), '-t', 'a', '-m', 'x']);
    expect([3, 5]).toContain(code);
    expect(oneLine(stderr)).toMatch(/mqtts:\/\//);
  });
});

describe('pub --store: a damaged queue file', () => {
  const lines = Array.from({ length: 10 }, (_, i) => `message-${String(i).padStart(2, '0')}|`);
  let topic: string;
  let image: Uint8Array;
  let port: number;
  let dir: string;
  let broker: Awaited<ReturnType<typeof umqttBroker>>;
  beforeAll(async () => {
    // a queue file as umqtt leaves it: 10 QoS 1 messages queued while the broker was away, Ctrl-C
    topic = uniqueTopic('damage');
    dir = await mkdtemp(join(tmpdir(), 'umqtt-e2e-damage-'));
    const down = await freePort();
    const pub = start(
      ['pub', '-p', String(down), '-t', topic, '-q', '1', '-l', '--store', dir],
      lines.join('\n') + '\n',
    );
    await waitFor(() => pub.stderr.includes('waiting for the broker'), { timeout: 10_000, message: 'pub waiting' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    pub.child.kill('SIGINT');
    expect(await pub.exited).toBe(130);
    image = new Uint8Array(await readFile(join(dir, 'queue.flash')));
    broker = await umqttBroker();
    keep(broker.r); // kept for all the tests of this group
    port = broker.port;
  }, 30_000);
  afterAll(async () => {
    broker.r.child.kill('SIGKILL');
    await broker.r.exited;
    await rm(dir, { recursive: true, force: true });
  });

  /** Where message `i`'s record starts in the queue file (its payload is unique). */
  const recordOf = (i: number) => {
    const at = Buffer.from(image).indexOf(lines[i]!);
    expect(at).toBeGreaterThan(0);
    return at - 28 - Buffer.byteLength(topic); // commit, type, length, key, flags, topic length, topic, 2 CRCs, id, stage, attempts
  };
  /** Runs `umqtt pub --store` on the file changed by `change`, with a subscriber expecting `receive`. */
  async function run(change: (file: Uint8Array) => Uint8Array, receive: string[], extra: string[] = []) {
    await writeFile(join(dir, 'queue.flash'), change(image.slice()));
    const sub = receive.length
      ? await subscribed(['-p', String(port), '-t', topic, '-q', '1', '-C', String(receive.length)])
      : undefined;
    const pub = await umqtt(['pub', '-p', String(port), '-t', topic, '-q', '1', '-m', 'new', '--store', dir, ...extra]);
    if (sub) {
      expect(await sub.exited).toBe(0);
      expect(sub.stdout).toBe(receive.map((l) => `${l}\n`).join(''));
    }
    return pub;
  }
  const all = [...lines, 'new'];
  const without = (i: number) => all.filter((_, j) => j !== i);

  it('a flipped payload byte costs that message only: reported with its key, topic and QoS, exit 1; the next run is clean', async () => {
    const pub = await run((f) => {
      f[recordOf(4) + 28 + Buffer.byteLength(topic) + 3]! ^= 0x10;
      return f;
    }, without(4));
    expect(pub.stderr).toContain(
      `umqtt pub: warning: the queue file ${join(dir, 'queue.flash')} is damaged: 1 message(s) lost (key 5 ("${topic}", QoS 1)); ${28 + Buffer.byteLength(topic) + 11} bytes in 1 place(s) could not be read\n`,
    );
    expect(pub.code).toBe(1);
    expect(pub.stderr.trimEnd().split('\n').at(-1)).toMatch(
      /1 of 11 message\(s\) not delivered: 1 dropped \(damaged in the store\)/,
    );
    // the loss was reported: the next run neither reports it again nor fails
    const sub = await subscribed(['-p', String(port), '-t', topic, '-q', '1', '-C', '1']);
    const next = await umqtt(['pub', '-p', String(port), '-t', topic, '-q', '1', '-m', 'again', '--store', dir]);
    expect([next.code, next.stderr]).toEqual([0, '']);
    expect(await sub.exited).toBe(0);
    expect(sub.stdout).toBe('again\n');
  });

  it('a damaged length field: the records after it are read on; the lost one is reported by its key', async () => {
    const pub = await run((f) => {
      f[recordOf(6) + 3]! ^= 0x01;
      return f;
    }, without(6));
    expect(pub.stderr).toMatch(
      /is damaged: 1 message\(s\) lost \(key 7\); \d+ bytes in 1 place\(s\) could not be read/,
    );
    expect(pub.code).toBe(1);
  });

  it('a damaged block header (one of its two copies): nothing lost, exit 0', async () => {
    const pub = await run((f) => {
      f[16]! ^= 0x04; // block 0's `first`
      return f;
    }, all);
    expect(pub.code).toBe(0);
    expect(pub.stderr).toMatch(/^umqtt pub: 10 message\(s\) left in \S+ by an earlier run are sent first\n$/);
  });

  it('the last message damaged: reported (the file was closed, its log ends with a marker)', async () => {
    const pub = await run((f) => {
      f[recordOf(9) + 28 + Buffer.byteLength(topic) + 2]! ^= 0x80;
      return f;
    }, without(9));
    expect(pub.stderr).toContain(`is damaged: 1 message(s) lost (key 10 ("${topic}", QoS 1))`);
    expect(pub.code).toBe(1);
  });

  it.each([
    [
      'an 8 MiB text file',
      () => new TextEncoder().encode('not a queue\n'.repeat(699_051)).subarray(0, 8 << 20),
      /store: expected a umqtt queue or erased flash, got other data in block 0$/,
    ],
    [
      'a zeroed file',
      () => new Uint8Array(8 << 20),
      /store: expected a umqtt queue or erased flash, got other data in block 0$/,
    ],
    [
      'a file cut short',
      () => image.slice(0, 5000),
      /holds 5000 bytes, expected a whole number of blocks \(blocks of 4096\)$/,
    ],
  ])('%s is refused and left as it is (exit 2); --store-reset makes a new queue', async (_, make, why) => {
    const bytes = make();
    const refused = await run(() => bytes, []);
    expect(refused.code).toBe(2);
    const line = oneLine(refused.stderr);
    expect(line).toMatch(/^umqtt pub: cannot open the queue file \S+queue\.flash: /);
    expect(line.split('; ')[0]).toMatch(why);
    expect(line).toMatch(
      /; --store-reset makes a new one \(what the file holds is lost\), or give another --store DIR$/,
    );
    expect(Buffer.from(bytes).equals(await readFile(join(dir, 'queue.flash')))).toBe(true); // left as it was
    const reset = await run(() => bytes, ['new'], ['--store-reset']);
    expect(reset.code).toBe(0);
    expect(reset.stderr).toMatch(/^umqtt pub: --store-reset: a new queue file \S+queue\.flash\n$/);
  });

  it('--store-reset without --store is a usage error', async () => {
    const r = await umqtt(['pub', '-t', 'a', '-m', 'x', '--store-reset']);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toMatch(/--store-reset needs --store DIR/);
  });
});
