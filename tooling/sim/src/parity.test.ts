// The broker model against the real Mosquitto 2.0.11: the scripted exchanges of parity.ts (MQTT
// 3.1.1 and MQTT 5), step by step, over real TCP to a Mosquitto the test starts (with an ACL file
// that denies what the model's ACL denies) and over the model; each connection must receive the
// same bytes at every step, and be closed at the same steps.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mosquittoOrSkip, startMosquitto, type MosquittoHandle } from '@umqtt/testkit';
import { ACL_FILE, SCRIPT, SCRIPT5, describeStep, modelRunner, play, tcpRunner, type Step } from './parity.js';

describe.skipIf(mosquittoOrSkip())('the broker model and Mosquitto 2.0.11', () => {
  let mosquitto: MosquittoHandle;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'umqtt-sim-acl-'));
    const acl = join(dir, 'acl');
    await writeFile(acl, ACL_FILE);
    mosquitto = await startMosquitto({ extraConfig: [`acl_file ${acl}`] });
  });
  afterAll(async () => {
    await mosquitto?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const same = async (script: Step[]) => {
    const model = await play(modelRunner(), script);
    const real = await play(tcpRunner(mosquitto.port), script);
    for (let i = 0; i < script.length; i++) expect(model[i], describeStep(i, script)).toEqual(real[i]);
  };

  test('a scripted MQTT 3.1.1 exchange gives the same bytes per connection at every step', () => same(SCRIPT));

  test('a scripted MQTT 5 exchange gives the same bytes per connection at every step', () => same(SCRIPT5), 30_000);
});
