import { describe, expect, it } from 'vitest';
import { nodeTimers } from './timers.js';

describe('nodeTimers', () => {
  it('fires a timeout after its delay, on a monotonic clock', async () => {
    const start = nodeTimers.now();
    const firedAt = await new Promise<number>((resolve) => nodeTimers.setTimeout(() => resolve(nodeTimers.now()), 20));
    expect(firedAt - start).toBeGreaterThanOrEqual(19);
  });

  it('clearTimeout cancels', async () => {
    let fired = false;
    nodeTimers.clearTimeout(nodeTimers.setTimeout(() => (fired = true), 1));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fired).toBe(false);
  });
});
