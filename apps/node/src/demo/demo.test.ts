// The main job, run non-interactively as CI and pipes see it: every claim of the summary
// must hold (the demo checks them itself and returns 1 if one fails), over MQTT 3.1.1 (the
// embedded aedes broker) and over MQTT 5 (Mosquitto, stopped and started for the outage).
import { mosquittoOrSkip, mosquittoPath } from '@umqtt/testkit';
import { describe, expect, test } from 'vitest';
import { runDemo } from './index.js';

async function demo(protocolVersion: 4 | 5) {
  const lines: string[] = [];
  const code = await runDemo({
    interactive: false,
    out: (l) => lines.push(l),
    protocolVersion,
    mosquitto: mosquittoPath(),
  });
  return { code, text: lines.join('\n') };
}

function claimsHold({ code, text }: { code: number; text: string }) {
  expect(text).toMatch(/PASS {2}every alarm delivered exactly once: (\d+) of \1/);
  expect(text).toMatch(/PASS {2}button presses older than 15 s expired and reported: [1-9]/);
  expect(text).toMatch(/PASS {2}nothing lost without a status: (\d+) published, \1 final statuses, 0 without/);
  expect(text).toMatch(/broker stopped.*broker back/);
  expect(text).not.toMatch(/FAIL/);
  expect(code).toBe(0);
}

test('the demo delivers every alarm exactly once, expires stale button presses, loses nothing', async () => {
  claimsHold(await demo(4));
}, 90_000);

describe.skipIf(mosquittoOrSkip() !== undefined)('-V 5', () => {
  test('the same claims over MQTT 5, through Mosquitto', async () => {
    const run = await demo(5);
    expect(run.text).toMatch(/timeline \(MQTT 5, Mosquitto\):/);
    claimsHold(run);
  }, 90_000);

  test('a Mosquitto that is not there: a clear error at once', async () => {
    await expect(
      runDemo({ interactive: false, out: () => {}, protocolVersion: 5, mosquitto: '/nonexistent/mosquitto' }),
    ).rejects.toMatchObject({ problem: expect.stringMatching(/needs Mosquitto .* speaks MQTT 3\.1\.1 only/) });
  });
});
