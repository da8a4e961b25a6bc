// Shared vitest settings. Each package's vitest.config.ts calls packageProject(name),
// so turbo can run and cache one package at a time, while the root config runs them all
// in one vitest process with one summary.
import { fileURLToPath } from 'node:url';
import { defineProject } from 'vitest/config';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Tests import workspace packages from their sources, so no build is needed to test. */
export const sourceAliases = {
  '@umqtt/codec/v5': `${root}packages/codec/src/v5/index.ts`, // before '@umqtt/codec', which would match it as a prefix
  '@umqtt/codec': `${root}packages/codec/src/index.ts`,
  '@umqtt/session/v5': `${root}packages/session/src/v5.ts`,
  '@umqtt/session': `${root}packages/session/src/index.ts`,
  '@umqtt/simple/v5': `${root}packages/simple/src/v5.ts`,
  '@umqtt/simple': `${root}packages/simple/src/index.ts`,
  '@umqtt/robust/v5': `${root}packages/robust/src/v5.ts`,
  '@umqtt/robust': `${root}packages/robust/src/index.ts`,
  '@umqtt/store-memory': `${root}packages/store-memory/src/index.ts`,
  '@umqtt/store-flash': `${root}packages/store-flash/src/index.ts`,
  '@umqtt/node': `${root}apps/node/src/index.ts`,
  '@umqtt/testkit': `${root}tooling/testkit/src/index.ts`,
};

export function packageProject(name: string, timeoutMs = 20_000) {
  return defineProject({
    resolve: { alias: sourceAliases },
    test: {
      name,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: timeoutMs,
      hookTimeout: timeoutMs,
    },
  });
}

/**
 * A package's fake-clock suites once more, with the FakeClock's timers given a platform's habits
 * (`UMQTT_CLOCK`: node fires early and late, moddable on coarse ticks; see tooling/testkit).
 */
export function habitsProject(name: string, include: string[], habits: 'node' | 'moddable' | 'fractional') {
  return {
    root: `${root}packages/${name}`,
    resolve: { alias: sourceAliases },
    test: { name: `${name} (${habits} timers)`, include, env: { UMQTT_CLOCK: habits } },
  };
}
