import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, once, waitFor } from './wait.js';

describe('waitFor', () => {
  it('resolves with the first truthy value', async () => {
    let calls = 0;
    await expect(waitFor(() => ++calls >= 3 && 'done')).resolves.toBe('done');
    expect(calls).toBe(3);
  });

  it('rejects after the timeout, naming what it waited for', async () => {
    await expect(waitFor(() => false, { timeout: 30, message: 'the moon' })).rejects.toThrow(
      /the moon not met within 30 ms/,
    );
  });
});

describe('once', () => {
  it('resolves with the value given to the callback', async () => {
    await expect(once<number>((cb) => setTimeout(() => cb(7), 1))).resolves.toBe(7);
  });

  it('rejects when the callback is never called', async () => {
    await expect(once(() => {}, { timeout: 20 })).rejects.toThrow(/not called within 20 ms/);
  });
});

describe('freePort', () => {
  it('gives a port that can be listened on', async () => {
    const port = await freePort();
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => server.close(resolve));
    expect(port).toBeGreaterThan(0);
  });
});
