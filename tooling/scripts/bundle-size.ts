// Bundle-size measurement shared by the packages' size-budget tests: an entry snippet is
// bundled from TypeScript sources with esbuild (bundle, minify, tree-shaking, ESM, ES2022),
// then gzipped at level 9. Workspace imports (`@umqtt/<name>`) resolve to `src/index.ts` (and a
// subpath `@umqtt/<name>/<sub>` to `src/<sub>/index.ts` or `src/<sub>.ts`), so
// no build is needed and the measured code is exactly what a device bundler would keep.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';

const root = fileURLToPath(new URL('../../', import.meta.url));

const workspaceSources: Plugin = {
  name: 'umqtt-workspace-sources',
  setup(b) {
    // `@umqtt/<name>` and a subpath export `@umqtt/<name>/<sub>` (src/<sub>/index.ts)
    b.onResolve({ filter: /^@umqtt\/[\w.-]+(\/[\w.-]+)?$/ }, (args) => {
      const [name, sub] = args.path.slice('@umqtt/'.length).split('/');
      for (const dir of ['packages', 'tooling'])
        for (const path of [
          `${root}${dir}/${name}/src/${sub ? `${sub}/` : ''}index.ts`,
          `${root}${dir}/${name}/src/${sub}.ts`,
        ])
          if (existsSync(path)) return { path };
      return undefined;
    });
  },
};

/** The minified bundle of `entrySource` (TypeScript), imports resolved from `resolveDir`. */
export async function bundle(entrySource: string, resolveDir: string): Promise<Uint8Array> {
  const result = await build({
    stdin: { contents: entrySource, resolveDir, loader: 'ts', sourcefile: 'entry.ts' },
    bundle: true,
    minify: true,
    treeShaking: true,
    format: 'esm',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    plugins: [workspaceSources],
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error('esbuild produced no output');
  return file.contents;
}

/**
 * Size in bytes of `entrySource` bundled, minified and tree-shaken, and then gzipped (level 9).
 *
 * @example await measureBundle(`export { encodePublish } from '@umqtt/codec'`, process.cwd())
 */
export async function measureBundle(
  entrySource: string,
  resolveDir: string,
): Promise<{ minified: number; gzipped: number }> {
  const code = await bundle(entrySource, resolveDir);
  return { minified: code.length, gzipped: gzipSync(code, { level: 9 }).length };
}
