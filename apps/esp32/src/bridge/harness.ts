// Builds the module an engine loads. In both kinds the device bundle under test stays an import
// by absolute path, so the engine loads it unmodified, as its own module.
// - buildHarness: src/bridge/engine.ts, the test application the host drives.
// - buildMainHarness: the firmware example src/device/main.js itself, its Moddable imports
//   ("timer", "flash", "embedded:io/socket/tcp"...) pointed at the stand-ins of natives.ts.
import { build, type Plugin } from 'esbuild';

const here = new URL('.', import.meta.url).pathname;

const common = { bundle: true, format: 'esm', platform: 'neutral', target: 'es2022', logLevel: 'silent' } as const;

function deviceBundle(bundleFile: string): Plugin {
  return {
    name: 'device-bundle',
    setup(b) {
      b.onResolve({ filter: /^umqtt$/ }, () => ({ path: bundleFile, external: true }));
    },
  };
}

/** Writes the test-application harness for `bundleFile` (an absolute path to a dist/*.js) to `outFile`. */
export async function buildHarness(bundleFile: string, outFile: string): Promise<string> {
  await build({ ...common, entryPoints: [`${here}engine.ts`], outfile: outFile, plugins: [deviceBundle(bundleFile)] });
  return outFile;
}

/** What each Moddable module main.js imports is, here. */
const MODDABLE: Record<string, string> = {
  timer: 'export { Timer as default } from "natives";',
  time: 'export { Time as default } from "natives";',
  flash: 'export { Flash as default } from "natives";',
  net: 'export { Net as default } from "natives";',
  'embedded:io/socket/tcp': 'export { TCP as default } from "natives";',
  'embedded:io/socket/udp': 'export { UDP as default } from "natives";',
  'embedded:network/dns/resolver/udp': 'export { Resolver as default } from "natives";',
};

/**
 * Writes a harness that runs `mainFile` (the firmware's main.js) with `bundleFile` as its
 * "umqtt" module and `config` as "mc/config".
 */
export async function buildMainHarness(
  bundleFile: string,
  mainFile: string,
  outFile: string,
  config: object,
): Promise<string> {
  const moddable: Plugin = {
    name: 'moddable-stand-ins',
    setup(b) {
      b.onResolve({ filter: /^natives$/ }, () => ({ path: `${here}natives.ts` }));
      b.onResolve({ filter: /^moddable-globals$/ }, () => ({ path: 'globals', namespace: 'moddable' }));
      b.onResolve({ filter: /^(mc\/config|timer|time|flash|net|embedded:.*)$/ }, (a) => ({
        path: a.path,
        namespace: 'moddable',
      }));
      b.onLoad({ filter: /.*/, namespace: 'moddable' }, (a) => {
        if (a.path === 'globals')
          return {
            contents: 'import { installModdableGlobals } from "natives"; installModdableGlobals();',
            loader: 'js',
            resolveDir: here,
          };
        if (a.path === 'mc/config')
          return {
            contents: `export default Object.freeze(${JSON.stringify(config)});`,
            loader: 'js',
            resolveDir: here,
          };
        const contents = MODDABLE[a.path];
        return contents
          ? { contents, loader: 'js', resolveDir: here }
          : { errors: [{ text: `no stand-in for the Moddable module ${a.path}` }] };
      });
    },
  };
  await build({
    ...common,
    stdin: {
      // the stand-ins first: they install handleCommand, trace and String.fromArrayBuffer
      contents: `import "moddable-globals"; import "main";`,
      resolveDir: here,
      loader: 'js',
    },
    outfile: outFile,
    plugins: [
      deviceBundle(bundleFile),
      moddable,
      { name: 'main', setup: (b) => b.onResolve({ filter: /^main$/ }, () => ({ path: mainFile })) },
    ],
  });
  return outFile;
}
