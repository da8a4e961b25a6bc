import { afterEach, describe, expect, it, vi } from 'vitest';
import { mosquittoOrSkip } from './mosquitto.js';

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
});
