import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
for (const names of process.argv.slice(2)) {
  const r = await build({
    stdin: {
      contents:
        names === '*'
          ? `export * from './packages/codec/src/index.ts'`
          : `export {${names}} from './packages/codec/src/index.ts'`,
      resolveDir: process.cwd(),
      loader: 'ts',
    },
    bundle: true,
    minify: true,
    format: 'esm',
    write: false,
    target: 'es2022',
  });
  const t = r.outputFiles[0].contents;
  console.log(names, t.length, gzipSync(t, { level: 9 }).length);
}
