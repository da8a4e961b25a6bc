// The seeds of pnpm test: every one runs the real packages in a world drawn from it and checks
// every invariant; a failure prints the command that replays it and the story of the run.
import { describe, expect, test } from 'vitest';
import { explain } from './explain.js';
import { runSeed } from './scenario.js';

/**
 * Seeds that caught a bug, kept as regression cases: each failed on the libraries before the fix
 * named beside it (checked by running the seeds on the code before the fix) and passes now. They
 * run the world they were found in: the 3.1.1 one (no client drawn onto MQTT 5) unless `mqtt5`.
 */
export const REGRESSIONS: { seed: number; caught: string; mqtt5?: boolean }[] = [
  { seed: 2, caught: 'issue 13: a repeated PUBCOMP (for an id already completed) ended the connection' },
  { seed: 6, caught: "issue 13: QoS 0 reported 'delivered' instead of 'sent'" },
  { seed: 13, caught: 'issue 13: connect() never settled when the housekeeping timer fired early' },
  { seed: 55, caught: 'issue 13: a deadline re-armed at the same instant forever with fractional times' },
  { seed: 31, caught: 'issue 13: a SUBACK for an id never used ended the connection' },
  { seed: 45, caught: 'issue 13: a PUBREC for an id never used ended the connection (now answered with PUBREL)' },
  { seed: 1, caught: 'issue 13: the client went on after CONNACK session present = 1 to its clean connect' },
  { seed: 38, caught: "issue 13: QoS 2 past PUBREC reported 'delivered' after the session was lost, never routed" },
  { seed: 257, caught: 'issue 13: the same, when the broker crashed and lost its state' },
  { seed: 70, caught: 'issue 13: a peer trickling a byte every few seconds kept a dead connection alive' },
  {
    seed: 94,
    caught:
      "found #1: a timed-out QoS 2 message freed its window slot; Mosquitto's quota overrun, a loss reported delivered",
  },
  { seed: 1626, caught: 'found #6: a repeated PUBCOMP after its id went to a resent message ended the connection' },
  {
    seed: 630,
    caught:
      'issue 16: a flash device that rebooted between PUBREC and PUBREL got the message twice (no incoming QoS 2 ids on flash)',
  },
  {
    seed: 975,
    caught:
      "found #5: 'resent after the session was lost' was kept in RAM only: a reboot before PUBCOMP lost the reason",
  },
  {
    seed: 1445,
    caught:
      'found #8: the core reported an incoming QoS 2 id held after the message: a reboot while the Store recorded it handed the message over twice',
  },
  {
    seed: 6,
    mqtt5: true,
    caught: 'found #9: a publish the broker refused (MQTT 5 PUBREC 0x87) was held for good, with no final status',
  },
  {
    seed: 2,
    mqtt5: true,
    caught:
      'found #10: going past our Receive Maximum ended the connection (0x93), and Mosquitto 2.0.11 goes past it by design',
  },
];

const FROM = Number(process.env['SIM_FROM'] ?? 1);
const COUNT = Number(process.env['SIM_SEEDS'] ?? 2000);

describe('deterministic simulation', () => {
  test(`${COUNT} seeds from ${FROM} keep every invariant`, async () => {
    const failed: number[] = [];
    for (let seed = FROM; seed < FROM + COUNT; seed++) {
      const result = await runSeed(seed);
      if (!result.ok) failed.push(seed);
    }
    if (failed.length) {
      const first = await runSeed(failed[0]!, { trace: true });
      expect.fail(`${failed.length} seed(s) failed: ${failed.join(' ')}\n\n${explain(first)}`);
    }
  });

  test.each(REGRESSIONS)('regression seed $seed ($caught)', async ({ seed, mqtt5 = false }) => {
    const result = await runSeed(seed, { mqtt5 });
    if (!result.ok) expect.fail(explain(await runSeed(seed, { trace: true, mqtt5 })));
  });

  test('a seed replays exactly', async () => {
    const a = await runSeed(7);
    const b = await runSeed(7);
    expect(a.summary).toEqual(b.summary);
    expect(a.virtual).toBe(b.virtual);
  });
});
