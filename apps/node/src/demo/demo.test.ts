// The main job, run non-interactively as CI and pipes see it: every claim of the summary
// must hold (the demo checks them itself and returns 1 if one fails).
import { expect, test } from 'vitest';
import { runDemo } from './index.js';

test('the demo delivers every alarm exactly once, expires stale button presses, loses nothing', async () => {
  const lines: string[] = [];
  const code = await runDemo({ interactive: false, out: (l) => lines.push(l) });
  const text = lines.join('\n');
  expect(text).toMatch(/PASS {2}every alarm delivered exactly once: (\d+) of \1/);
  expect(text).toMatch(/PASS {2}button presses older than 15 s expired and reported: [1-9]/);
  expect(text).toMatch(/PASS {2}nothing lost without a status: (\d+) published, \1 final statuses, 0 without/);
  expect(text).toMatch(/broker stopped.*broker back/);
  expect(text).not.toMatch(/FAIL/);
  expect(code).toBe(0);
}, 90_000);
