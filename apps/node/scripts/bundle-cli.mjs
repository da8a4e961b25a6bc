// Bundles the `umqtt` command line from sources for the end-to-end tests: src/cli/main.ts ->
// node_modules/.cache/umqtt-cli/umqtt.mjs (or the path given as the first argument), one ES
// module for Node 20. The @umqtt/* workspace packages are bundled from their sources, so the
// tests never run a stale dist/ of a library; aedes, its Redis packages and ws stay external (this package's
// dependencies, resolved from its node_modules). The published command is the tsc build
// (`pnpm build`: dist/cli/main.js), which imports the libraries as installed packages.
import { existsSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const app = fileURLToPath(new URL('../', import.meta.url));
const root = fileURLToPath(new URL('../../../', import.meta.url));
const outfile = process.argv[2] ?? `${app}node_modules/.cache/umqtt-cli/umqtt.mjs`;

/** @umqtt/<name> -> packages/<name>/src/index.ts; @umqtt/<name>/v5 -> src/v5/index.ts or src/v5.ts */
const workspaceSources = {
  name: 'umqtt-workspace-sources',
  setup(b) {
    b.onResolve({ filter: /^@umqtt\/[a-z-]+(\/v5)?$/ }, (args) => {
      const [name, sub] = args.path.slice('@umqtt/'.length).split('/');
      const src = `${root}packages/${name}/src/`;
      if (!sub) return { path: `${src}index.ts` };
      return { path: existsSync(`${src}${sub}/index.ts`) ? `${src}${sub}/index.ts` : `${src}${sub}.ts` };
    });
  },
};

await build({
  entryPoints: [`${app}src/cli/main.ts`],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['aedes', 'aedes-persistence-redis', 'mqemitter-redis', 'ws'],
  plugins: [workspaceSources],
  legalComments: 'none',
  logLevel: 'warning',
});
await chmod(outfile, 0o755);
console.log(outfile);
