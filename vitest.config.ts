import { defineConfig } from 'vitest/config';

// One vitest run over every workspace project, one summary at the end.
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'apps/*/vitest.config.ts', 'tooling/*/vitest.config.ts'],
    reporters: ['default', './tooling/config/plain-summary-reporter.ts'],
  },
});
