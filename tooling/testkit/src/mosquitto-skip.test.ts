import { afterEach, describe, expect, it, vi } from 'vitest';
import { mosquittoOrSkip } from './mosquitto.js';
import { redisOrSkip } from './redis.js';

// Pretend no executable is installed anywhere.
vi.mock('./command.js', () => ({ findExecutable: () => undefined, run: vi.fn() }));

describe('mosquittoOrSkip without mosquitto', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('gives a reason to skip outside CI', () => {
    vi.stubEnv('CI', '');
    expect(mosquittoOrSkip()).toMatch(/mosquitto is not installed/);
  });

  it('throws in CI, where nothing may skip', () => {
    vi.stubEnv('CI', 'true');
    expect(() => mosquittoOrSkip()).toThrow(/CI is set/);
  });

  it('redis-server: a reason to skip outside CI, a failure in CI', () => {
    vi.stubEnv('CI', '');
    expect(redisOrSkip()).toMatch(/redis-server is not installed/);
    vi.stubEnv('CI', 'true');
    expect(() => redisOrSkip()).toThrow(/CI is set/);
  });
});
