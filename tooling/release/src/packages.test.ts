// What a user downloads: each published package packed by pnpm (as `pnpm release` would),
// then checked by publint, by are-the-types-wrong for node16 (ESM) and bundler consumers,
// and file by file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attwProblems, packedManifest, publintProblems, tarballProblems } from './checks.js';
import {
  DEPENDENCY_FIELDS,
  isLibrary,
  packPublished,
  publishedPackages,
  readTarball,
  tempDir,
  type Manifest,
} from './workspace.js';

const published = publishedPackages();
const tmp = tempDir('pack');
let tarballs = new Map<string, string>();

beforeAll(async () => {
  tarballs = await packPublished(tmp.dir);
}, 60_000);
afterAll(() => tmp.remove());

function tarball(name: string): string {
  const file = tarballs.get(name);
  if (!file) throw new Error(`${name} was not packed`);
  return file;
}

it('finds the seven published packages: six libraries and the Node package', () => {
  expect(published.map((p) => p.manifest.name).sort()).toEqual([
    '@umqtt/codec',
    '@umqtt/node',
    '@umqtt/robust',
    '@umqtt/session',
    '@umqtt/simple',
    '@umqtt/store-flash',
    '@umqtt/store-memory',
  ]);
});

describe.each(published.map((p) => [p.manifest.name, p] as const))('%s', (name, pkg) => {
  it('has the metadata a registry user relies on', () => {
    const m = pkg.manifest;
    expect(m.license).toBe('MIT');
    expect(m.type).toBe('module');
    expect(m.sideEffects).toBe(false);
    expect(m.repository).toMatchObject({ type: 'git', directory: pkg.dir });
    expect(String((m.repository as { url: string }).url)).toMatch(/^git\+https:\/\/.+\.git$/);
    expect(m.homepage).toMatch(/^https:\/\//);
    expect(m.keywords).toEqual(
      expect.arrayContaining(isLibrary(pkg) ? ['mqtt', 'iot', 'esp32', 'moddable', 'embedded'] : ['mqtt', 'iot']),
    );
    expect((m.engines as Record<string, string> | undefined)?.node).toMatch(/^>=\d+/);
    expect(m.files).toEqual(['dist', 'CHANGELOG.md']);
    // One entry per package; @umqtt/codec, @umqtt/session, @umqtt/simple and @umqtt/robust add
    // MQTT 5 as an entry of its own, so that a 3.1.1 device never bundles it (deliberate
    // exceptions: issues 17, 18).
    expect(Object.keys(m.exports as object)).toEqual(
      ['@umqtt/codec', '@umqtt/session', '@umqtt/simple', '@umqtt/robust'].includes(name)
        ? ['.', './v5', './package.json']
        : ['.', './package.json'],
    );
  });

  it('packs only dist, README.md, LICENSE, CHANGELOG.md and package.json', () => {
    const entries = readTarball(tarball(name));
    expect(tarballProblems(entries)).toEqual([]);
    const paths = entries.filter((e) => e.type === 'file').map((e) => e.path);
    expect(paths.filter((p) => !p.startsWith('dist/')).sort()).toEqual(
      ['LICENSE', 'README.md', 'package.json', ...(paths.includes('CHANGELOG.md') ? ['CHANGELOG.md'] : [])].sort(),
    );
  });

  it('leaves no workspace: protocol in the packed package.json, and pins internal ranges to the current versions', () => {
    const manifest = packedManifest(tarball(name)) as Manifest;
    expect(manifest.name).toBe(name);
    expect(manifest.version).toBe(pkg.manifest.version);
    const versions = new Map(published.map((p) => [p.manifest.name, p.manifest.version]));
    for (const field of DEPENDENCY_FIELDS) {
      for (const [dep, range] of Object.entries(manifest[field] ?? {})) {
        expect(range, `${field}.${dep}`).not.toMatch(/^workspace:/);
        const source = pkg.manifest[field]?.[dep];
        if (field !== 'devDependencies' && versions.has(dep)) {
          expect(source, `${field}.${dep} in ${pkg.dir}/package.json`).toBe('workspace:^');
          expect(range, `${field}.${dep}`).toBe(`^${versions.get(dep)}`);
        }
      }
    }
    // A library has no runtime dependencies outside the workspace; @umqtt/node only `ws`, and
    // aedes (for the embedded broker) and the Redis packages of its cluster mode as optional
    // peers, so a client-only install stays small.
    const external = Object.keys(manifest.dependencies ?? {}).filter((d) => !versions.has(d));
    expect(external).toEqual(isLibrary(pkg) ? [] : ['ws']);
    if (!isLibrary(pkg)) {
      const peers = ['aedes', 'aedes-persistence-redis', 'mqemitter-redis']; // the last two: a broker cluster
      expect(manifest.peerDependencies).toEqual(Object.fromEntries(peers.map((p) => [p, expect.any(String)])));
      expect(manifest.peerDependenciesMeta).toEqual(Object.fromEntries(peers.map((p) => [p, { optional: true }])));
    }
  });

  it('passes publint (strict: warnings count as errors)', async () => {
    expect(await publintProblems(tarball(name))).toEqual([]);
  });

  it('has types that resolve for node16 (ESM) and bundler consumers (are-the-types-wrong, esm-only)', async () => {
    expect(await attwProblems(tarball(name))).toEqual([]);
  });
});
