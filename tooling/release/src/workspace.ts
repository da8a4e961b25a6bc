// Shared helpers of the release checks: where the workspace is, which packages are published,
// packing them with pnpm, reading a tarball, running a command with a time limit.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

/** The workspace root, with a trailing-slash-free path. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

/** Binaries installed by the workspace (root) and by this package. */
export const BIN = {
  changeset: join(ROOT, 'node_modules/.bin/changeset'),
  typedoc: join(ROOT, 'node_modules/.bin/typedoc'),
  tsc: join(ROOT, 'node_modules/.bin/tsc'),
  attw: join(ROOT, 'tooling/release/node_modules/.bin/attw'),
  manypkg: join(ROOT, 'tooling/release/node_modules/.bin/manypkg'),
};

export interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  [key: string]: unknown;
}

export interface WorkspacePackage {
  /** Path relative to the workspace root, e.g. `packages/codec`. */
  dir: string;
  manifest: Manifest;
}

export const DEPENDENCY_FIELDS = [
  'dependencies',
  'devDependencies',
  'peerDependencies',
  'optionalDependencies',
] as const;

/** Every workspace package (packages/*, apps/*, tooling/*) that has a package.json. */
export function workspacePackages(root = ROOT): WorkspacePackage[] {
  const found: WorkspacePackage[] = [];
  for (const group of ['packages', 'apps', 'tooling']) {
    const groupDir = join(root, group);
    if (!existsSync(groupDir)) continue;
    for (const name of readdirSync(groupDir).sort()) {
      const file = join(groupDir, name, 'package.json');
      if (!existsSync(file)) continue;
      found.push({ dir: `${group}/${name}`, manifest: JSON.parse(readFileSync(file, 'utf8')) as Manifest });
    }
  }
  return found;
}

/** The packages users install from the registry: packages/* and apps/* that are not private (the libraries and @umqtt/node). */
export function publishedPackages(root = ROOT): WorkspacePackage[] {
  return workspacePackages(root).filter((p) => !p.dir.startsWith('tooling/') && !p.manifest.private);
}

/** Libraries: the published packages under packages/ (no platform code, no runtime dependencies outside the workspace). */
export const isLibrary = (pkg: WorkspacePackage): boolean => pkg.dir.startsWith('packages/');

/** Throws a message that says what to do when a package has not been built. */
export function requireDist(pkg: WorkspacePackage): void {
  const entry = join(ROOT, pkg.dir, 'dist/index.js');
  if (!existsSync(entry) || !existsSync(join(ROOT, pkg.dir, 'dist/index.d.ts'))) {
    throw new Error(
      `${pkg.manifest.name} is not built (${pkg.dir}/dist/index.js or index.d.ts is missing). ` +
        'Run `pnpm build` (the root `pnpm test` builds first) before the release checks.',
    );
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * The environment for a child process, without the npm_* and pnpm settings that `pnpm test`
 * exports (they would make npm inside a scratch project behave like the workspace).
 */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|pnpm_)/i.test(key) || key === 'INIT_CWD' || key === 'PNPM_SCRIPT_SRC_DIR') continue;
    env[key] = value;
  }
  return { ...env, NO_COLOR: '1', FORCE_COLOR: '0', ...extra };
}

/** Runs a command without blocking the event loop (an in-process broker keeps answering). */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd ?? ROOT,
        env: options.env ?? cleanEnv(),
        timeout: options.timeoutMs ?? 30_000,
        killSignal: 'SIGKILL',
        maxBuffer: 32 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        let code = 0;
        if (error) {
          const e = error as NodeJS.ErrnoException & { code?: unknown; killed?: boolean; signal?: string };
          code = typeof e.code === 'number' ? e.code : 1;
          if (e.killed || e.signal)
            stderr += `\n[killed by ${e.signal ?? 'timeout'} after ${options.timeoutMs ?? 30_000} ms]`;
          else if (typeof e.code === 'string') stderr += `\n[${e.code}: ${e.message}]`;
        }
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Fails with the command's output when it did not exit with 0. */
export function expectSuccess(result: RunResult, what: string): void {
  if (result.code !== 0) {
    throw new Error(`${what} failed (exit ${result.code}):\n${result.stdout}\n${result.stderr}`.trim());
  }
}

/** A fresh temporary directory, removed by the returned function. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `umqtt-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `pnpm pack` of one package into `dest`; returns the tarball's path. */
export async function pack(packageDir: string, dest: string): Promise<string> {
  const before = new Set(readdirSync(dest));
  const result = await run('pnpm', ['pack', '--pack-destination', dest], { cwd: packageDir, timeoutMs: 30_000 });
  expectSuccess(result, `pnpm pack in ${packageDir}`);
  const created = readdirSync(dest).filter((f) => f.endsWith('.tgz') && !before.has(f));
  if (created.length !== 1)
    throw new Error(`pnpm pack in ${packageDir} made ${created.length} tarballs: ${created.join(', ')}`);
  return join(dest, created[0]!);
}

/** Packs every published package (built first) into `dest`; name -> tarball path. */
export async function packPublished(dest: string): Promise<Map<string, string>> {
  const tarballs = new Map<string, string>();
  for (const pkg of publishedPackages()) {
    requireDist(pkg);
    tarballs.set(pkg.manifest.name, await pack(join(ROOT, pkg.dir), dest));
  }
  return tarballs;
}

export interface TarEntry {
  /** Path inside the tarball without the leading `package/`. */
  path: string;
  type: 'file' | 'directory' | 'other';
  data: Uint8Array;
}

/** Reads a .tgz (ustar, as npm and pnpm write it) into its entries. */
export function readTarball(file: string): TarEntry[] {
  const bytes = gunzipSync(readFileSync(file));
  const entries: TarEntry[] = [];
  const text = (start: number, length: number) => {
    const slice = bytes.subarray(start, start + length);
    const end = slice.indexOf(0);
    return new TextDecoder().decode(end === -1 ? slice : slice.subarray(0, end));
  };
  let offset = 0;
  let longName: string | undefined;
  while (offset + 512 <= bytes.length) {
    if (bytes.subarray(offset, offset + 512).every((b) => b === 0)) break;
    const name = text(offset, 100);
    const size = parseInt(text(offset + 124, 12).trim() || '0', 8);
    const typeFlag = String.fromCharCode(bytes[offset + 156] ?? 0);
    const prefix = text(offset + 345, 155);
    const data = bytes.subarray(offset + 512, offset + 512 + size);
    offset += 512 + Math.ceil(size / 512) * 512;
    if (typeFlag === 'L') {
      longName = new TextDecoder().decode(data).replace(/\0+$/, '');
      continue;
    }
    if (typeFlag === 'x' || typeFlag === 'g') continue; // pax headers
    const full = longName ?? (prefix ? `${prefix}/${name}` : name);
    longName = undefined;
    const path = full.replace(/^package\//, '');
    const type = typeFlag === '0' || typeFlag === '\0' ? 'file' : typeFlag === '5' ? 'directory' : 'other';
    entries.push({ path, type, data });
  }
  return entries;
}
