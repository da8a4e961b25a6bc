// The packaging checks must be able to fail: run them on a deliberately broken package.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { allowedInTarball, attwProblems, isTestFile, publintProblems, tarballProblems } from './checks.js';
import { pack, readTarball, tempDir } from './workspace.js';

const tmp = tempDir('broken');
let tarball = '';

beforeAll(async () => {
  const dir = join(tmp.dir, 'broken');
  mkdirSync(join(dir, 'dist'), { recursive: true });
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({
      name: '@fixture/broken',
      version: '1.0.0',
      type: 'module',
      // types after default, and no index.d.ts at all
      exports: { '.': { default: './dist/index.js', types: './dist/index.d.ts' } },
      files: ['dist', 'src'],
    }),
  );
  writeFileSync(join(dir, 'dist/index.js'), 'export const x = 1;\n//# sourceMappingURL=index.js.map\n');
  writeFileSync(
    join(dir, 'dist/index.js.map'),
    JSON.stringify({ version: 3, sources: ['../../outside.ts'], mappings: '' }),
  );
  writeFileSync(join(dir, 'src/index.ts'), 'export const x = 1;\n');
  writeFileSync(join(dir, 'src/index.test.ts'), 'test\n');
  mkdirSync(join(tmp.dir, 'out'));
  tarball = await pack(dir, join(tmp.dir, 'out'));
}, 30_000);
afterAll(() => tmp.remove());

it.each([
  ['dist/index.js', true, false],
  ['dist/index.d.ts', true, false],
  ['dist/index.js.map', true, false],
  ['CHANGELOG.md', true, false],
  ['src/index.ts', false, false],
  ['dist/parser.test.js', true, true],
  ['dist/workload.test-support.js', true, true],
  ['dist/fixtures.js', true, true],
  ['dist/codec.bench.js', true, true],
  ['tsconfig.json', false, false],
  ['dist/index.ts', false, false],
])('%s: allowed %s, test file %s', (path, allowed, test) => {
  expect(allowedInTarball(path)).toBe(allowed);
  expect(isTestFile(path)).toBe(test);
});

it('tarballProblems reports sources, tests, missing files and a source map pointing outside', () => {
  const problems = tarballProblems(readTarball(tarball));
  expect(problems).toEqual(
    expect.arrayContaining([
      'src/index.ts should not be published',
      'src/index.test.ts should not be published',
      'src/index.test.ts is a test file',
      'README.md is missing',
      'LICENSE is missing',
      'dist/index.d.ts is missing',
      'dist/index.js.map has source ../../outside.ts, outside the package',
    ]),
  );
});

it('publint finds the broken exports', async () => {
  const problems = await publintProblems(tarball);
  expect(problems.length).toBeGreaterThan(0);
  expect(problems.join('\n')).toMatch(/types/);
});

it('are-the-types-wrong finds that the types do not resolve', async () => {
  const problems = await attwProblems(tarball);
  expect(problems).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^node16-esm: types resolve to/),
      expect.stringMatching(/^bundler: types resolve to/),
    ]),
  );
});
