// Where the bytes of a device bundle go, module by module, and what its error messages cost.
//
// - minified: the bytes each source file contributes to the minified bundle (esbuild's
//   metafile, bytesInOutput); gzip does not add up per file, so the gzipped share is estimated
//   as the bundle's gzipped size times the file's share of the minified bytes.
// - messages: what the device profile (device-profile.mjs) saves in that file, gzipped: the
//   bundle is built with its texts, then with that one file's human texts replaced by "".
//   "All at once" is the difference between the bundle with texts and the device bundle.
import { gzipSync } from 'node:zlib';
import { resolve } from 'node:path';
import { PROFILED, messageFree } from './device-profile.mjs';

/**
 * The per-file table of one bundle. `bundleWith(plugins)` builds it (minified, with a metafile)
 * and returns `{ code, metafile }`; `root` is the repository root, for short names.
 */
export async function moduleTable(bundleWith, root) {
  const base = await bundleWith([]);
  const gz = (code) => gzipSync(code, { level: 9 }).length;
  const total = gz(base.code);
  const output = Object.values(base.metafile.outputs)[0];
  const files = Object.entries(output.inputs)
    .filter(([, i]) => i.bytesInOutput > 0)
    .map(([path, i]) => ({ path, minified: i.bytesInOutput }));
  const minifiedTotal = files.reduce((n, f) => n + f.minified, 0);
  const rows = [];
  for (const f of files) {
    const abs = resolve(f.path); // metafile paths are relative to the working directory
    let messages = 0;
    if (PROFILED.test(abs)) messages = total - gz((await bundleWith([messageFree(abs)])).code);
    rows.push({
      module: (abs.startsWith(root) ? abs.slice(root.length) : abs).replace(/^(packages|apps)\//, ''),
      minified: f.minified,
      gzipped: Math.round((total * f.minified) / minifiedTotal),
      messages,
    });
  }
  rows.sort((a, b) => b.minified - a.minified);
  const allMessages = total - gz((await bundleWith([messageFree()])).code);
  return { total, rows, allMessages };
}

/** The table as text. */
export function formatModuleTable(name, { total, rows, allMessages }) {
  const lines = [`${name}.js: ${total} B gzipped; per module (gzipped share estimated from the minified bytes):`];
  lines.push(`  ${'module'.padEnd(42)} ${'minified'.padStart(8)} ${'~gzipped'.padStart(8)} ${'messages'.padStart(8)}`);
  for (const r of rows)
    lines.push(
      `  ${r.module.padEnd(42)} ${String(r.minified).padStart(8)} ${String(r.gzipped).padStart(8)} ${String(r.messages || '-').padStart(8)}`,
    );
  const all = rows.reduce((n, r) => n + r.messages, 0);
  lines.push(
    `  (messages: gzipped bytes saved if that module's texts were empty; summed ${all} B, all at once ${allMessages} B)`,
  );
  return lines.join('\n');
}
