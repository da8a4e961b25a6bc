// The house rules a machine can check. Formatting is Prettier's (`pnpm format`); this config
// keeps only rules about code, on top of typescript-eslint's recommended set.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '**/.turbo/**', 'docs/api/**', 'bench-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      // `a && b()` and `x ? f() : g()` as statements are idiomatic in callbacks here
      '@typescript-eslint/no-unused-expressions': ['error', { allowShortCircuit: true, allowTernary: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      'no-constant-condition': ['error', { checkLoops: false }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  // Build and measurement scripts run on Node.
  { files: ['**/*.mjs', '**/scripts/**'], languageOptions: { globals: globals.node } },
  // The device's own code runs in Moddable's XS, which has `trace`.
  { files: ['apps/esp32/src/device/**/*.js'], languageOptions: { globals: { trace: 'readonly' } } },
  // The bridge hands values across an engine boundary (XS, QuickJS) that has no static types.
  { files: ['apps/esp32/src/bridge/**'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
);
