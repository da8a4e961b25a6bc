// The seeds of pnpm test: every one runs the real packages in a world drawn from it and checks
// every invariant; a failure prints the command that replays it and the story of the run.
import { describe, expect, test } from 'vitest';
import { explain } from './explain.js';
import { runSeed } from './scenario.js';

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

  test('a seed replays exactly', async () => {
    const a = await runSeed(7);
    const b = await runSeed(7);
    expect(a.summary).toEqual(b.summary);
    expect(a.virtual).toBe(b.virtual);
  });
});
