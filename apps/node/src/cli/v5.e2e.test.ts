// `umqtt pub` and `umqtt sub` in MQTT 5 (-V 5, -D properties) against Mosquitto 2.0: properties
// arrive, refusals show their reason codes, -D without -V 5 is a usage error.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mosquittoOrSkip, startMosquitto, type MosquittoHandle } from '@umqtt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneLine, subscribed, umqtt, uniqueTopic, useCli } from './cli.test-support.js';

useCli('v5-e2e');

describe.skipIf(mosquittoOrSkip() !== undefined)('umqtt -V 5 against Mosquitto', () => {
  let broker: MosquittoHandle;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'umqtt-cli5-'));
    const acl = join(dir, 'acl');
    await writeFile(acl, 'topic readwrite umqtt-e2e/#\n');
    broker = await startMosquitto({ extraConfig: [`acl_file ${acl}`] });
  });
  afterAll(async () => {
    await broker?.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const at = () => ['-p', String(broker.port)];

  it('-D properties go out with the message and sub --json shows them', async () => {
    const topic = uniqueTopic('v5');
    const sub = await subscribed([...at(), '-V', '5', '-t', topic, '-C', '1', '--json', '-W', '10']);
    const pub = await umqtt([
      'pub',
      ...at(),
      '-V',
      'mqttv5',
      '-t',
      topic,
      '-m',
      '21.5',
      '-q',
      '1',
      '-D',
      'publish',
      'user-property',
      'unit',
      'C',
      '-D',
      'publish',
      'content-type',
      'text/plain',
      '-D',
      'publish',
      'message-expiry-interval',
      '60',
      '-D',
      'publish',
      'correlation-data',
      'req-1',
      '-D',
      'connect',
      'session-expiry-interval',
      '0',
    ]);
    expect([pub.code, pub.stderr]).toEqual([0, '']);
    expect(await sub.exited).toBe(0);
    const line = JSON.parse(sub.stdout) as { payload: string; properties: Record<string, unknown> };
    expect(line.payload).toBe('21.5');
    expect(line.properties).toMatchObject({
      userProperties: [['unit', 'C']],
      contentType: 'text/plain',
      correlationData: Buffer.from('req-1').toString('base64'),
    });
    expect(line.properties.messageExpiryInterval).toBeLessThanOrEqual(60);
  });

  it('a publish the ACL refuses: exit 4, the reason code in words', async () => {
    const r = await umqtt(['pub', ...at(), '-V', '5', '-t', 'not/allowed', '-m', 'x', '-q', '1']);
    expect(r.code).toBe(4);
    expect(oneLine(r.stderr)).toMatch(/1 of 1 message\(s\) refused by the broker: 1 with 0x87 \(not authorized\)/);
  });

  it('-D without -V 5, and -D publish properties with --store, are usage errors (exit 2)', async () => {
    const a = await umqtt(['pub', ...at(), '-t', 'a', '-m', 'x', '-D', 'publish', 'content-type', 'x']);
    expect([a.code, oneLine(a.stderr)]).toEqual([2, expect.stringMatching(/-D \(MQTT 5 properties\) needs MQTT 5/)]);
    const b = await umqtt([
      'pub',
      ...at(),
      '-V',
      '5',
      '-t',
      'a',
      '-m',
      'x',
      '-D',
      'publish',
      'content-type',
      'x',
      '--store',
      dir,
    ]);
    expect([b.code, oneLine(b.stderr)]).toEqual([
      2,
      expect.stringMatching(/-D publish properties with --store are not supported/),
    ]);
  });

  it('--store on MQTT 5: the robust client delivers; an ACL refusal ends rejected with its reason code', async () => {
    const topic = uniqueTopic('v5-store');
    const sub = await subscribed([...at(), '-V', '5', '-t', topic, '-C', '1', '-W', '10']);
    const ok = await umqtt([
      'pub',
      ...at(),
      '-V',
      '5',
      '-t',
      topic,
      '-m',
      'kept',
      '-q',
      '1',
      '--store',
      join(dir, 'q1'),
    ]);
    expect([ok.code, ok.stderr]).toEqual([0, '']);
    expect(await sub.exited).toBe(0);
    expect(sub.stdout.trim()).toBe('kept');
    const no = await umqtt([
      'pub',
      ...at(),
      '-V',
      '5',
      '-t',
      'not/allowed',
      '-m',
      'x',
      '-q',
      '1',
      '--store',
      join(dir, 'q2'),
    ]);
    expect(no.code).not.toBe(0);
    expect(oneLine(no.stderr)).toMatch(/rejected.*0x87/i);
  });
});
