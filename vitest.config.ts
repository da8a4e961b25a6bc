import { defineConfig } from 'vitest/config';
import { habitsProject } from './tooling/config/vitest.shared.ts';

// One vitest run over every workspace project, one summary at the end. Simple's fake-clock suites
// (byte-level and hostile-peer) and robust's run again under real platforms' timer habits (early,
// late, coarse ticks).
export default defineConfig({
  test: {
    projects: [
      'packages/*/vitest.config.ts',
      'apps/*/vitest.config.ts',
      'tooling/*/vitest.config.ts',
      habitsProject('simple', ['src/client.test.ts', 'src/client.hostile.test.ts'], 'node'),
      habitsProject('simple', ['src/client.test.ts', 'src/client.hostile.test.ts'], 'moddable'),
      habitsProject('robust', ['src/client.test.ts', 'src/policy.test.ts', 'src/v5.test.ts'], 'moddable'),
    ],
    reporters: ['default', './tooling/config/plain-summary-reporter.ts'],
  },
});
