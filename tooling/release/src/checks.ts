// The packaging checks, as functions that return problems (empty = fine), so that the tests
// can run them on the real tarballs and on broken fixtures alike.
import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { BIN, readTarball, run, type TarEntry } from './workspace.js';

/** Only these may be published: the build, the docs users read, the manifest. */
export function allowedInTarball(path: string): boolean {
  return (
    path === 'package.json' ||
    path === 'README.md' ||
    path === 'LICENSE' ||
    path === 'CHANGELOG.md' ||
    (path.startsWith('dist/') && /\.(js|d\.ts|js\.map|d\.ts\.map)$/.test(path))
  );
}

/** Files of a test, benchmark or fixture, wherever they are. */
export function isTestFile(path: string): boolean {
  return /(^|[/.])(test|spec|bench)\.|test-support|(^|\/)(fixtures|arbitraries)\.|(^|\/)__tests__\//.test(path);
}

/** Problems with the files of a tarball: what should not be there, what is missing, source maps. */
export function tarballProblems(entries: TarEntry[]): string[] {
  const files = new Map(entries.filter((e) => e.type === 'file').map((e) => [e.path, e]));
  const problems: string[] = [];
  for (const path of files.keys()) {
    if (!allowedInTarball(path)) problems.push(`${path} should not be published`);
    if (isTestFile(path)) problems.push(`${path} is a test file`);
  }
  for (const needed of ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts']) {
    if (!files.has(needed)) problems.push(`${needed} is missing`);
  }
  return [...problems, ...sourceMapProblems(files)];
}

/** Source maps (and sourceMappingURL comments) that point at files the tarball does not have. */
export function sourceMapProblems(files: Map<string, TarEntry>): string[] {
  const problems: string[] = [];
  const decoder = new TextDecoder();
  for (const [path, entry] of files) {
    if (path.endsWith('.js') || path.endsWith('.d.ts')) {
      const match = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(decoder.decode(entry.data));
      if (match && !match[1]!.startsWith('data:')) {
        const target = posix.normalize(posix.join(posix.dirname(path), match[1]!));
        if (!files.has(target)) problems.push(`${path} points to ${match[1]}, which is not in the tarball`);
      }
    }
    if (path.endsWith('.map')) {
      let map: { sources?: string[]; sourcesContent?: unknown[]; sourceRoot?: string };
      try {
        map = JSON.parse(decoder.decode(entry.data)) as typeof map;
      } catch {
        problems.push(`${path} is not JSON`);
        continue;
      }
      (map.sources ?? []).forEach((source, i) => {
        const target = posix.normalize(posix.join(posix.dirname(path), map.sourceRoot ?? '', source));
        const embedded = map.sourcesContent?.[i] != null;
        if (target.startsWith('..') || /^[a-z]+:/i.test(source) || posix.isAbsolute(source)) {
          problems.push(`${path} has source ${source}, outside the package`);
        } else if (!files.has(target) && !embedded) {
          problems.push(`${path} has source ${source}, which is not in the tarball and not embedded`);
        }
      });
    }
  }
  return problems;
}

/** publint on the packed tarball, warnings and suggestions included. */
export async function publintProblems(tarball: string): Promise<string[]> {
  const bytes = await readFile(tarball);
  const result = await publint({
    pack: { tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer },
    level: 'suggestion',
    strict: true,
  });
  return result.messages.map((m) => `${m.type}: ${formatMessage(m, result.pkg, { color: false }) ?? m.code}`);
}

interface AttwReport {
  analysis: {
    packageName: string;
    problems?: { kind: string; entrypoint?: string; resolutionKind?: string }[];
    entrypoints: Record<
      string,
      {
        resolutions: Record<
          string,
          { resolution?: { fileName: string }; implementationResolution?: { fileName: string } } | undefined
        >;
      }
    >;
  };
}

/**
 * are-the-types-wrong on the packed tarball with the esm-only profile: problems for node16
 * (from ESM) and bundler consumers, and the "." entry point must resolve to dist/index.d.ts
 * (types) and dist/index.js (code) for both.
 */
export async function attwProblems(tarball: string): Promise<string[]> {
  const result = await run(BIN.attw, [tarball, '--profile', 'esm-only', '--format', 'json', '--no-color'], {
    timeoutMs: 30_000,
  });
  let report: AttwReport;
  try {
    report = JSON.parse(result.stdout) as AttwReport;
  } catch {
    return [`attw printed no JSON (exit ${result.code}): ${result.stdout}\n${result.stderr}`];
  }
  const name = report.analysis.packageName;
  const problems = (report.analysis.problems ?? [])
    .filter((p) => !p.resolutionKind || p.resolutionKind === 'node16-esm' || p.resolutionKind === 'bundler')
    .map((p) => `${p.kind} at ${p.entrypoint ?? '?'} for ${p.resolutionKind ?? 'all'}`);
  const root = report.analysis.entrypoints['.'];
  if (!root) problems.push('no "." entry point');
  for (const kind of ['node16-esm', 'bundler']) {
    const r = root?.resolutions[kind];
    if (r?.resolution?.fileName !== `/node_modules/${name}/dist/index.d.ts`) {
      problems.push(`${kind}: types resolve to ${r?.resolution?.fileName ?? 'nothing'}, not dist/index.d.ts`);
    }
    if (r?.implementationResolution?.fileName !== `/node_modules/${name}/dist/index.js`) {
      problems.push(
        `${kind}: code resolves to ${r?.implementationResolution?.fileName ?? 'nothing'}, not dist/index.js`,
      );
    }
  }
  if (result.code !== 0 && !problems.length) problems.push(`attw exited with ${result.code}: ${result.stderr}`);
  return problems;
}

/** The package.json inside a tarball. */
export function packedManifest(tarball: string): Record<string, unknown> {
  const entry = readTarball(tarball).find((e) => e.path === 'package.json');
  if (!entry) throw new Error(`${tarball} has no package.json`);
  return JSON.parse(new TextDecoder().decode(entry.data)) as Record<string, unknown>;
}
