// The command side by side with mosquitto_pub and mosquitto_sub (Debian's mosquitto-clients
// 2.0.11) on the same tasks against Mosquitto: the same options give the same messages and the
// same output; umqtt's exit codes are those its README documents.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  generateCertificates,
  mosquittoClients,
  mosquittoClientsOrSkip,
  startMosquitto,
  waitFor,
  type Certificates,
  type MosquittoHandle,
} from '@umqtt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  keep,
  oneLine,
  program,
  start,
  startProgram,
  subscribed,
  umqtt,
  umqttBroker,
  uniqueTopic,
  useCli,
  type Running,
} from './cli.test-support.js';

useCli('mosquitto-clients-e2e');

describe.skipIf(mosquittoClientsOrSkip() !== undefined)('side by side with mosquitto_pub and mosquitto_sub', () => {
  const tools = mosquittoClients()!;
  let broker: MosquittoHandle;
  let seq = 0;
  beforeAll(async () => {
    broker = await startMosquitto({ websockets: true, extraConfig: ['log_type all'] });
  });
  afterAll(() => broker?.stop());

  const at = () => ['-p', String(broker.port)];
  const mosquittoPub = (args: string[], input = '') => program(tools.pub, [...at(), ...args], input);
  const mosquittoSub = (args: string[]) => program(tools.sub, [...at(), '-W', '10', ...args]);
  const umqttPub = (args: string[], input = '') => umqtt(['pub', ...at(), ...args], input);
  const umqttSub = (args: string[]) => umqtt(['sub', ...at(), '-W', '10', ...args]);

  /** A subscriber of either tool that has its SUBACK (as Mosquitto's log says); `-L URL` instead of -p with `url`. */
  async function listening(tool: 'umqtt' | 'mosquitto', args: string[], url?: string): Promise<Running> {
    const id = `side-${process.pid}-${seq++}`;
    const all = [...(url ? ['-L', url] : at()), '-W', '10', '-i', id, ...args];
    const r = tool === 'umqtt' ? start(['sub', ...all]) : startProgram(tools.sub, all);
    await waitFor(() => broker.log().includes(`Sending SUBACK to ${id}`), { timeout: 10_000, message: `${id} SUBACK` });
    return r;
  }

  /** What each subscriber prints for the retained message on `topic`, with the same options. */
  async function bothPrint(topic: string, options: string[]) {
    const [mine, theirs] = await Promise.all([
      umqttSub(['-t', topic, '-C', '1', ...options]),
      mosquittoSub(['-t', topic, '-C', '1', ...options]),
    ]);
    expect([mine.code, theirs.code]).toEqual([0, 0]);
    return { mine: mine.stdout, theirs: theirs.stdout };
  }

  it.each([0, 1, 2])('a message published by each at QoS %i arrives the same (-m, -r, -m -5)', async (q) => {
    for (const message of ['hello "there"', '-5']) {
      const [a, b] = [uniqueTopic('umqtt-pub'), uniqueTopic('mosquitto-pub')];
      expect((await umqttPub(['-t', a, '-m', message, '-q', String(q), '-r'])).code).toBe(0);
      expect((await mosquittoPub(['-t', b, '-m', message, '-q', String(q), '-r'])).code).toBe(0);
      const format = ['-F', '%p|%l|%r', '-q', '2'];
      const [x, y] = await Promise.all([
        mosquittoSub(['-t', a, '-C', '1', ...format]),
        mosquittoSub(['-t', b, '-C', '1', ...format]),
      ]);
      expect(x.stdout).toBe(`${message}|${message.length}|1\n`);
      expect(x.stdout).toBe(y.stdout);
    }
  });

  it.each([
    [['-s'], ['-s'], 1],
    [['-f', '-'], ['-s'], 1],
    [['-l'], ['-l'], 4],
  ])('umqtt pub %j reads standard input as mosquitto_pub %j', async (mine, theirs, count) => {
    const input = 'first line\nsecond line\n\nlast\n';
    const [a, b] = [uniqueTopic('a'), uniqueTopic('b')];
    const subs = await Promise.all(
      [a, b].map((t) => listening('mosquitto', ['-t', t, '-C', String(count), '-F', '[%p]', '-q', '1'])),
    );
    expect((await umqttPub(['-t', a, '-q', '1', ...mine], input)).code).toBe(0);
    expect((await mosquittoPub(['-t', b, '-q', '1', ...theirs], input)).code).toBe(0);
    expect(await Promise.all(subs.map((s) => s.exited))).toEqual([0, 0]);
    expect(subs[0]!.stdout).toBe(count === 1 ? `[${input}]\n` : '[first line]\n[second line]\n[]\n[last]\n');
    expect(subs[0]!.stdout).toBe(subs[1]!.stdout);
  });

  it.each([
    [[] as string[]],
    [['-v']],
    [['-N']],
    [['-F', '%t|%p|%q|%r|%l|%x|%X']],
    [['-F', '[%20t][%-12l][%.4t][%05l]']],
    [['-v', '-q', '1']],
  ])('umqtt sub prints what mosquitto_sub prints with %j', async (options) => {
    const topic = uniqueTopic('out');
    await mosquittoPub(['-t', topic, '-m', 'payload "quoted"\tand tab', '-r', '-q', '1']);
    const { mine, theirs } = await bothPrint(topic, options);
    expect(mine).toBe(theirs);
    expect(mine.length).toBeGreaterThan(0);
  });

  it('-R skips the stale (retained) message and prints the next, as mosquitto_sub -R', async () => {
    const topic = uniqueTopic('stale');
    await mosquittoPub(['-t', topic, '-m', 'stale', '-r']);
    const subs = await Promise.all([
      listening('umqtt', ['-t', topic, '-C', '1', '-R']),
      listening('mosquitto', ['-t', topic, '-C', '1', '-R']),
    ]);
    await mosquittoPub(['-t', topic, '-m', 'fresh']);
    expect(await Promise.all(subs.map((s) => s.exited))).toEqual([0, 0]);
    expect(subs.map((s) => s.stdout)).toEqual(['fresh\n', 'fresh\n']);
  });

  it('-L mqtt://host:port/topic takes the topic from the URL, as mosquitto does', async () => {
    const topic = uniqueTopic('url');
    const url = `mqtt://127.0.0.1:${broker.port}/${topic}`;
    expect((await umqtt(['pub', '-L', url, '-m', 'by url', '-r'])).code).toBe(0);
    const [mine, theirs] = await Promise.all([
      umqtt(['sub', '-L', url, '-C', '1', '-W', '10']),
      program(tools.sub, ['-L', url, '-C', '1', '-W', '10']),
    ]);
    expect([mine.stdout, theirs.stdout]).toEqual(['by url\n', 'by url\n']);
  });

  it('over WebSocket: umqtt pub and sub on ws://, mosquitto_sub on TCP gets the same', async () => {
    const topic = uniqueTopic('ws');
    const ws = broker.wsUrl!;
    const tcp = await listening('mosquitto', ['-t', topic, '-C', '2', '-v']);
    const sub = await listening('umqtt', ['-t', topic, '-C', '2', '-v'], ws);
    expect((await umqtt(['pub', '-L', `${ws}mqtt`, '-t', topic, '-m', 'one', '-q', '1'])).code).toBe(0);
    expect((await umqtt(['pub', '-L', ws, '-t', topic, '-l', '-q', '2'], 'two\n')).code).toBe(0);
    expect(await Promise.all([tcp.exited, sub.exited])).toEqual([0, 0]);
    expect(sub.stdout).toBe(`${topic} one\n${topic} two\n`);
    expect(tcp.stdout).toBe(sub.stdout);
  });

  it('-d prints connection details, --quiet prints nothing, --version its version, -V 311 is accepted', async () => {
    const debug = await umqttPub(['-d', '-t', uniqueTopic('d'), '-m', 'x', '-V', 'mqttv311']);
    expect(debug.code).toBe(0);
    expect(debug.stderr).toMatch(/connecting to mqtt:\/\/127\.0\.0\.1:\d+/);
    const quiet = await umqtt(['pub', '--quiet', '-p', '1', '-t', 'a', '-m', 'x']);
    expect(quiet).toMatchObject({ code: 3, stderr: '' });
    const version = await umqtt(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^umqtt \d+\.\d+\.\d+ \(@umqtt\/node\), MQTT 3\.1\.1 and 5\n$/);
  });

  it('exit codes as the README says: 2 for -V 31 and a bad -F, 5 for sub -W, 1 for a connection lost midway', async () => {
    expect(oneLine((await umqttPub(['-V', '31', '-t', 'a', '-m', 'x'])).stderr)).toMatch(/MQTT 3.1 .*not supported/);
    const badFormat = await umqttSub(['-t', 'a', '-F', '%m']);
    expect(badFormat.code).toBe(2);
    expect((await umqttSub(['-t', uniqueTopic('silent'), '-W', '1'])).code).toBe(5);
  });

  it('a connection lost after messages flowed says so, not "before answering CONNECT"', async () => {
    const { r: b, port } = await umqttBroker();
    const topic = uniqueTopic('lost');
    const sub = await subscribed(['-p', String(port), '-t', topic, '-C', '2']);
    const pub = start(['pub', '-p', String(port), '-t', topic, '-l', '-q', '1']);
    pub.child.stdin!.write('one\ntwo\n');
    expect(await sub.exited).toBe(0); // both arrived: the publisher is connected
    b.child.kill('SIGTERM');
    await b.exited;
    pub.child.stdin!.write('three\n');
    expect(await pub.exited).toBe(1);
    expect(oneLine(pub.stderr)).toMatch(
      new RegExp(
        `connection to 127\\.0\\.0\\.1:${port} lost: the broker closed the connection; \\d of 2 message\\(s\\) without confirmation`,
      ),
    );
  });

  it('--store on a path that cannot be a directory fails at once with exit 2', async () => {
    const started = performance.now();
    const r = await umqttPub(['-t', 'a', '-m', 'x', '--store', '/proc/umqtt-cannot-be-here']);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toMatch(/cannot use --store "\/proc\/umqtt-cannot-be-here" \(ENOENT\)/);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('--store: a successful run says nothing; a message larger than the queue takes is a store refusal, not a wait', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'umqtt-store-'));
    try {
      const ok = await umqttPub(['-t', uniqueTopic('store'), '-m', 'x', '-q', '1', '--store', dir]);
      expect(ok).toMatchObject({ code: 0, stderr: '' });
      const big = await umqttPub(['-t', uniqueTopic('store'), '-s', '-q', '1', '--store', dir], 'x'.repeat(300_000));
      expect(big.code).toBe(1);
      expect(oneLine(big.stderr)).toMatch(
        /1 of 1 message\(s\) not delivered: 1 rejected \(the queue file refused it: store: expected a message of at most 262144 bytes/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a 70,000-byte topic is not echoed whole', async () => {
    const r = await umqttPub(['-t', `${'t'.repeat(70_000)}/#`, '-m', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr.length).toBeLessThan(400);
    expect(r.stderr).toMatch(/\(70002 characters\)/);
  });
});

describe.skipIf(mosquittoClientsOrSkip() !== undefined)('a broker restart under umqtt sub and mosquitto_sub', () => {
  const tools = mosquittoClients()!;
  let broker: MosquittoHandle;
  beforeAll(async () => {
    broker = await startMosquitto({ persistence: true, extraConfig: ['log_type all'] });
  });
  afterAll(() => broker?.stop());

  it.each([
    ['a kept session (-c -i), QoS 2: what was sent while the broker was down arrives once', ['-c'], true],
    ['a clean session: subscribed again after the restart', [], false],
  ])(
    '%s',
    async (_name, session, queued) => {
      const topic = uniqueTopic('restart');
      const id = (tool: string) => `restart-${tool}-${process.pid}-${session.length}`;
      const common = (tool: string) => [
        '-p',
        String(broker.port),
        '-t',
        topic,
        '-q',
        '2',
        '-v',
        '-C',
        '3',
        '-i',
        id(tool),
        ...session,
      ];
      const mine = start(['sub', '-W', '30', ...common('umqtt')]);
      const theirs = startProgram(tools.sub, ['-W', '30', ...common('mosquitto')]);
      const subacks = () =>
        broker
          .log()
          .split('\n')
          .filter((l) => /Sending SUBACK to restart-/.test(l)).length;
      await waitFor(
        () =>
          broker.log().includes(`Sending SUBACK to ${id('umqtt')}`) &&
          broker.log().includes(`Sending SUBACK to ${id('mosquitto')}`),
        {
          timeout: 10_000,
        },
      );
      const pub = (m: string) => program(tools.pub, ['-p', String(broker.port), '-t', topic, '-q', '2', '-m', m]);
      expect((await pub('before')).code).toBe(0);
      await waitFor(() => mine.stdout.includes('before') && theirs.stdout.includes('before'));
      const before = subacks();
      await broker.restart();
      if (queued) {
        // Published before either reconnects: the kept sessions hold it for them.
        expect((await pub('while away')).code).toBe(0);
      }
      if (!queued) await waitFor(() => subacks() >= before + 2, { timeout: 15_000, message: 'both subscribed again' });
      expect((await pub('after')).code).toBe(0);
      if (!queued) expect((await pub('third')).code).toBe(0);
      expect(await Promise.all([mine.exited, theirs.exited])).toEqual([0, 0]);
      const lines = queued ? ['before', 'while away', 'after'] : ['before', 'after', 'third'];
      expect(mine.stdout).toBe(lines.map((l) => `${topic} ${l}\n`).join(''));
      expect(mine.stdout).toBe(theirs.stdout);
      // (Mosquitto's SIGTERM may close or reset the connection)
      expect(mine.stderr).toMatch(
        /lost after 1 message\(s\): the (broker closed the connection|connection was reset \(ECONNRESET\)); reconnecting/,
      );
    },
    60_000,
  );
});

describe.skipIf(mosquittoClientsOrSkip() !== undefined)('--capath, as mosquitto_pub --capath', () => {
  let certs: Certificates;
  let broker: MosquittoHandle;
  let dir: string;
  beforeAll(async () => {
    certs = await generateCertificates();
    broker = await startMosquitto({ tls: { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile } });
    dir = await mkdtemp(join(tmpdir(), 'umqtt-capath-'));
    await writeFile(join(dir, 'ca.pem'), certs.caCert);
    await writeFile(join(dir, 'notes.txt'), 'not a certificate');
  });
  afterAll(async () => {
    await broker?.stop();
    await certs?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('trusts the CA certificates in the directory; an empty one is a usage error', async () => {
    const args = ['pub', '-L', `mqtts://localhost:${broker.port}`, '-t', 'a', '-m', 'x', '-q', '1'];
    expect(await umqtt([...args, '--capath', dir])).toMatchObject({ code: 0, stderr: '' });
    const empty = await mkdtemp(join(tmpdir(), 'umqtt-capath-empty-'));
    try {
      expect(oneLine((await umqtt([...args, '--capath', empty])).stderr)).toMatch(/holds no PEM certificate/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

describe('umqtt broker --ws-port', () => {
  it('accepts MQTT over WebSocket beside TCP', async () => {
    const { r } = await umqttBroker(['--ws-port', '0', '--ws-path', '/mqtt']);
    keep(r);
    try {
      const ws = /listening on (ws:\/\/127\.0\.0\.1:\d+\/mqtt)/.exec(r.stdout)?.[1];
      expect(ws).toBeDefined();
      const tcp = /listening on mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(r.stdout)![1]!;
      const topic = uniqueTopic('broker-ws');
      expect((await umqtt(['pub', '-L', ws!, '-t', topic, '-m', 'over ws', '-r'])).code).toBe(0);
      const sub = await umqtt(['sub', '-p', tcp, '-t', topic, '-C', '1', '-W', '10']);
      expect(sub).toMatchObject({ code: 0, stdout: 'over ws\n' });
    } finally {
      r.child.kill('SIGTERM');
      expect(await r.exited).toBe(0);
    }
  });
});
