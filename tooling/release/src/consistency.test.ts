// Versions and internal dependency ranges stay consistent: @manypkg/cli check on the workspace
// (and on a broken copy, to show the check bites), plus the rules manypkg does not know.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import {
  BIN,
  DEPENDENCY_FIELDS,
  publishedPackages,
  ROOT,
  run,
  tempDir,
  workspacePackages,
  type Manifest,
} from './workspace.js';

const tmp = tempDir('manypkg');
afterAll(() => tmp.remove());

/**
 * A copy of the workspace manifests (all manypkg reads). The root manifest gets a `manypkg`
 * section that skips UNSORTED_DEPENDENCIES: the order of keys is cosmetic (and `pnpm add`
 * sorts anyway); every rule about versions and ranges stays on, and internal dependencies
 * must use the workspace: protocol.
 */
function manifestCopy(name: string): string {
  const copy = join(tmp.dir, name);
  mkdirSync(copy);
  const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Manifest;
  root.manypkg = { ignoredRules: ['UNSORTED_DEPENDENCIES'], workspaceProtocol: 'require' };
  writeFileSync(join(copy, 'package.json'), JSON.stringify(root, null, 2));
  cpSync(join(ROOT, 'pnpm-workspace.yaml'), join(copy, 'pnpm-workspace.yaml'));
  for (const pkg of workspacePackages()) {
    mkdirSync(join(copy, pkg.dir), { recursive: true });
    cpSync(join(ROOT, pkg.dir, 'package.json'), join(copy, pkg.dir, 'package.json'));
  }
  return copy;
}

it('passes `manypkg check` (internal ranges match versions, external ranges agree, workspace protocol)', async () => {
  const result = await run(BIN.manypkg, ['check'], { cwd: manifestCopy('ok'), timeoutMs: 30_000 });
  expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
});

it('manypkg check fails on a copy whose internal range does not match the version', async () => {
  const copy = manifestCopy('broken');
  const file = join(copy, 'packages/simple/package.json');
  const simple = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  simple.dependencies = { ...simple.dependencies, '@umqtt/codec': '^9.0.0' };
  writeFileSync(file, JSON.stringify(simple, null, 2));
  const result = await run(BIN.manypkg, ['check'], { cwd: copy, timeoutMs: 30_000 });
  expect(result.code).not.toBe(0);
  expect(`${result.stdout}${result.stderr}`).toMatch(/@umqtt\/codec/);
});

it('published packages depend on each other with workspace:^ and never on private packages at runtime', () => {
  const all = new Map(workspacePackages().map((p) => [p.manifest.name, p]));
  const problems: string[] = [];
  for (const pkg of publishedPackages()) {
    for (const field of DEPENDENCY_FIELDS) {
      for (const [dep, range] of Object.entries(pkg.manifest[field] ?? {})) {
        const target = all.get(dep);
        if (!target) continue;
        if (field !== 'devDependencies' && target.manifest.private) {
          problems.push(`${pkg.manifest.name} ${field} on private ${dep}`);
        }
        if (field !== 'devDependencies' && range !== 'workspace:^') {
          problems.push(`${pkg.manifest.name} ${field}.${dep} is ${range}, expected workspace:^`);
        }
      }
    }
  }
  expect(problems).toEqual([]);
});

it('every published package has its own version and a license file; private ones stay private', () => {
  for (const pkg of publishedPackages()) {
    expect(pkg.manifest.version, pkg.dir).toMatch(/^\d+\.\d+\.\d+(-[\w.]+)?$/);
    expect(readFileSync(join(ROOT, pkg.dir, 'LICENSE'), 'utf8')).toBe(readFileSync(join(ROOT, 'LICENSE'), 'utf8'));
  }
  const names = new Set(publishedPackages().map((p) => p.manifest.name));
  expect(names.has('@umqtt/node')).toBe(true);
  for (const pkg of workspacePackages().filter((p) => !names.has(p.manifest.name))) {
    expect(pkg.manifest.private, `${pkg.dir} must be private`).toBe(true);
  }
});
