// Bundles the `umqtt` command line: src/cli/main.ts -> dist/umqtt.mjs, one executable ES
// module for Node 20. The @umqtt/* workspace packages are bundled from their sources (so the
// build never uses a stale dist/); aedes stays external: it is a dependency of this package.
import { chmod } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const app = fileURLToPath(new URL('../', import.meta.url));
const root = fileURLToPath(new URL('../../../', import.meta.url));
const outfile = `${app}dist/umqtt.mjs`;

/** @umqtt/<name> -> packages/<name>/src/index.ts */
const workspaceSources = {
  name: 'umqtt-workspace-sources',
  setup(b) {
    b.onResolve({ filter: /^@umqtt\/[a-z-]+$/ }, (args) => ({
      path: `${root}packages/${args.path.slice('@umqtt/'.length)}/src/index.ts`,
    }));
  },
};

const result = await build({
  entryPoints: [`${app}src/cli/main.ts`],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  banner: { js: '#!/usr/bin/env node' },
  external: ['aedes'],
  plugins: [workspaceSources],
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});
await chmod(outfile, 0o755);
const bytes = result.metafile.outputs[Object.keys(result.metafile.outputs)[0]].bytes;
console.log(`built ${outfile} (${(bytes / 1024).toFixed(1)} KiB)`);
