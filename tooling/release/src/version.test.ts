// `pnpm version-packages` (changeset version) on a throwaway copy of the workspace manifests
// and .changeset/: the pending changesets become versions and CHANGELOG entries, dependents
// are bumped, and what `pnpm pack` would publish carries the bumped internal ranges.
// Nothing is published and the repository is not touched.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  BIN,
  DEPENDENCY_FIELDS,
  expectSuccess,
  pack,
  publishedPackages,
  readTarball,
  ROOT,
  run,
  tempDir,
  workspacePackages,
  type Manifest,
} from './workspace.js';

const tmp = tempDir('version');
const copy = join(tmp.dir, 'repo');
const published = publishedPackages();
const before = new Map(published.map((p) => [p.manifest.name, p.manifest.version]));
const pendingChangesets = readdirSync(join(ROOT, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md');

/** name -> bump from the pending changesets (the highest one wins). */
function pendingBumps(): Map<string, 'major' | 'minor' | 'patch'> {
  const order = ['patch', 'minor', 'major'] as const;
  const bumps = new Map<string, (typeof order)[number]>();
  for (const file of pendingChangesets) {
    const front = /^---\n([\s\S]*?)\n---/.exec(readFileSync(join(ROOT, '.changeset', file), 'utf8'))?.[1] ?? '';
    for (const line of front.split('\n')) {
      const m = /^\s*["']?([^"':]+)["']?\s*:\s*(major|minor|patch)\s*$/.exec(line);
      if (!m) continue;
      const [, name, bump] = m as unknown as [string, string, (typeof order)[number]];
      if (order.indexOf(bump) > order.indexOf(bumps.get(name) ?? 'patch') || !bumps.has(name)) bumps.set(name, bump);
    }
  }
  return bumps;
}

function bumped(version: string, bump: 'major' | 'minor' | 'patch'): string {
  const [major, minor, patch] = version.split('.').map(Number) as [number, number, number];
  if (bump === 'major') return `${major + 1}.0.0`;
  if (bump === 'minor') return `${major}.${minor + 1}.0`;
  return `${major}.${minor}.${patch + 1}`;
}

function manifestIn(dir: string): Manifest {
  return JSON.parse(readFileSync(join(copy, dir, 'package.json'), 'utf8')) as Manifest;
}

/** Links each package's workspace dependencies into its node_modules, as `pnpm install` would. */
function linkWorkspace(): void {
  const dirs = new Map(workspacePackages(copy).map((p) => [p.manifest.name, p.dir]));
  for (const pkg of workspacePackages(copy)) {
    for (const field of DEPENDENCY_FIELDS) {
      for (const [dep, range] of Object.entries(pkg.manifest[field] ?? {})) {
        const target = dirs.get(dep);
        if (!target || !range.startsWith('workspace:')) continue;
        const link = join(copy, pkg.dir, 'node_modules', dep);
        if (existsSync(link)) continue;
        mkdirSync(dirname(link), { recursive: true });
        symlinkSync(relative(dirname(link), join(copy, target)), link);
      }
    }
  }
}

/** The package.json that `pnpm pack` would publish from the copy. */
async function packedManifest(dir: string): Promise<Manifest> {
  const out = join(tmp.dir, 'packs', `${dir.replace('/', '-')}-${Date.now()}`);
  mkdirSync(out, { recursive: true });
  const file = await pack(join(copy, dir), out);
  const entry = readTarball(file).find((e) => e.path === 'package.json');
  return JSON.parse(new TextDecoder().decode(entry!.data)) as Manifest;
}

beforeAll(() => {
  expect(pendingChangesets.length, 'pending changesets in .changeset/').toBeGreaterThan(0);
  mkdirSync(copy);
  cpSync(join(ROOT, 'package.json'), join(copy, 'package.json'));
  cpSync(join(ROOT, 'pnpm-workspace.yaml'), join(copy, 'pnpm-workspace.yaml'));
  cpSync(join(ROOT, '.changeset'), join(copy, '.changeset'), { recursive: true });
  for (const pkg of workspacePackages()) {
    mkdirSync(join(copy, pkg.dir), { recursive: true });
    for (const file of ['package.json', 'CHANGELOG.md', 'README.md', 'LICENSE']) {
      if (existsSync(join(ROOT, pkg.dir, file))) cpSync(join(ROOT, pkg.dir, file), join(copy, pkg.dir, file));
    }
  }
  linkWorkspace();
});
afterAll(() => tmp.remove());

it('changeset version turns the pending changesets into versions and CHANGELOG entries', async () => {
  const result = await run(BIN.changeset, ['version'], { cwd: copy, timeoutMs: 30_000 });
  expectSuccess(result, 'changeset version');

  const bumps = pendingBumps();
  expect(bumps.size).toBeGreaterThan(0);
  for (const pkg of published) {
    const name = pkg.manifest.name;
    const after = manifestIn(pkg.dir).version;
    const bump = bumps.get(name);
    if (!bump) continue; // may still get a patch bump as a dependent
    const expected = bumped(before.get(name)!, bump);
    expect(after, name).toBe(expected);
    const changelog = readFileSync(join(copy, pkg.dir, 'CHANGELOG.md'), 'utf8');
    expect(changelog, `${name} CHANGELOG`).toMatch(
      new RegExp(`^# ${name.replace('/', '\\/')}\\n\\n## ${expected.replace(/\./g, '\\.')}\\n`),
    );
    expect(changelog).toMatch(new RegExp(`### ${bump[0]!.toUpperCase()}${bump.slice(1)} Changes`));
  }
  // Each changeset's text ends up in a CHANGELOG, and the changeset file is consumed.
  for (const file of pendingChangesets) {
    const body = readFileSync(join(ROOT, '.changeset', file), 'utf8')
      .replace(/^---[\s\S]*?---\s*/, '')
      .trim();
    const firstLine = body.split('\n')[0]!;
    const found = published.some((p) => {
      const changelog = join(copy, p.dir, 'CHANGELOG.md');
      return existsSync(changelog) && readFileSync(changelog, 'utf8').includes(firstLine);
    });
    expect(found, `the text of .changeset/${file} in a CHANGELOG`).toBe(true);
    expect(existsSync(join(copy, '.changeset', file)), `.changeset/${file} consumed`).toBe(false);
  }
  // Private packages are not versioned (privatePackages.version: false).
  for (const pkg of workspacePackages(copy).filter((p) => p.manifest.private)) {
    expect(pkg.manifest.version, pkg.dir).toBe(workspacePackages().find((p) => p.dir === pkg.dir)!.manifest.version);
  }
  // What would be published: internal ranges follow the new versions.
  const versions = new Map(published.map((p) => [p.manifest.name, manifestIn(p.dir).version]));
  for (const pkg of published) {
    const packed = await packedManifest(pkg.dir);
    expect(packed.version).toBe(versions.get(pkg.manifest.name));
    for (const [dep, range] of Object.entries(packed.dependencies ?? {})) {
      if (versions.has(dep)) expect(range, `${pkg.manifest.name} -> ${dep}`).toBe(`^${versions.get(dep)}`);
    }
  }
}, 60_000);

it('a later minor change of @umqtt/codec bumps its dependents and their published ranges', async () => {
  const base = new Map(published.map((p) => [p.manifest.name, manifestIn(p.dir).version]));
  writeFileSync(join(copy, '.changeset/codec-feature.md'), '---\n"@umqtt/codec": minor\n---\n\nA new codec feature.\n');
  const result = await run(BIN.changeset, ['version'], { cwd: copy, timeoutMs: 30_000 });
  expectSuccess(result, 'changeset version (second round)');

  const codec = manifestIn('packages/codec').version;
  expect(codec).toBe(bumped(base.get('@umqtt/codec')!, 'minor'));
  expect(readFileSync(join(copy, 'packages/codec/CHANGELOG.md'), 'utf8')).toContain(
    `## ${codec}\n\n### Minor Changes\n\n- A new codec feature.`,
  );
  const dependents = published.filter((p) => p.manifest.dependencies?.['@umqtt/codec']);
  expect(dependents.length).toBeGreaterThan(0);
  for (const pkg of dependents) {
    const name = pkg.manifest.name;
    const version = manifestIn(pkg.dir).version;
    expect(version, name).toBe(bumped(base.get(name)!, 'patch'));
    const changelog = readFileSync(join(copy, pkg.dir, 'CHANGELOG.md'), 'utf8');
    expect(changelog, `${name} CHANGELOG`).toContain(`## ${version}\n\n### Patch Changes\n\n- Updated dependencies`);
    expect(changelog).toContain(`  - @umqtt/codec@${codec}`);
    const packed = await packedManifest(pkg.dir);
    expect(packed.dependencies?.['@umqtt/codec'], `${name} -> @umqtt/codec`).toBe(`^${codec}`);
  }
  // The source manifests keep workspace:^ (pnpm rewrites it when packing).
  for (const pkg of dependents) expect(manifestIn(pkg.dir).dependencies?.['@umqtt/codec']).toBe('workspace:^');
}, 60_000);
