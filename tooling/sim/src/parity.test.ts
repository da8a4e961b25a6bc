// The broker model against the real Mosquitto 2.0.11: the scripted exchange of parity.ts, step by
// step, over real TCP to a Mosquitto the test starts and over the model; each connection must
// receive the same bytes at every step, and be closed at the same steps.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mosquittoOrSkip, startMosquitto, type MosquittoHandle } from '@umqtt/testkit';
import { SCRIPT, describeStep, modelRunner, play, tcpRunner } from './parity.js';

describe.skipIf(mosquittoOrSkip())('the broker model and Mosquitto 2.0.11', () => {
  let mosquitto: MosquittoHandle;
  beforeAll(async () => {
    mosquitto = await startMosquitto();
  });
  afterAll(async () => {
    await mosquitto?.stop();
  });

  test('a scripted exchange gives the same bytes per connection at every step', async () => {
    const model = await play(modelRunner());
    const real = await play(tcpRunner(mosquitto.port));
    for (let i = 0; i < SCRIPT.length; i++) {
      expect(model[i], describeStep(i)).toEqual(real[i]);
    }
  });
});
