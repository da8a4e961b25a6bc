// Where the bytes of a device bundle go, module by module, and what its error messages cost.
//
// - minified: the bytes each source file contributes to the minified bundle (esbuild's
//   metafile, bytesInOutput); gzip does not add up per file, so the gzipped share is estimated
//   as the bundle's gzipped size times the file's share of the minified bytes.
// - messages: what the bundle would lose, gzipped, if that file's human-readable texts were
//   empty: every string or template literal with a space in it (error messages, issue texts;
//   codes such as UMQTT_MALFORMED and spec clauses have none) is replaced by "" before
//   bundling, one file at a time. An upper bound of what a device build profile without message
//   texts would save there (it keeps codes, places and clauses).
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import ts from 'typescript';

/** Replaces the human texts of a TypeScript source by "". */
export function withoutMessages(source, fileName) {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const edits = [];
  const human = (text) => /\s/.test(text.trim()) && /[a-z]{2}/i.test(text);
  const visit = (node) => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) return;
    if ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && human(node.text))
      edits.push([node.getStart(file), node.getEnd()]);
    else if (ts.isTemplateExpression(node)) {
      const texts = [node.head.text, ...node.templateSpans.map((s) => s.literal.text)].join(' ');
      if (human(texts)) {
        edits.push([node.getStart(file), node.getEnd()]);
        return;
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  let out = source;
  for (const [start, end] of edits.reverse()) out = `${out.slice(0, start)}""${out.slice(end)}`;
  return out;
}

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
    if (/\/packages\/|\/apps\//.test(abs) && abs.endsWith('.ts')) {
      const stripped = withoutMessages(readFileSync(abs, 'utf8'), abs);
      const plugin = {
        name: 'no-messages',
        setup(b) {
          b.onLoad({ filter: /\.ts$/ }, (a) => (a.path === abs ? { contents: stripped, loader: 'ts' } : undefined));
        },
      };
      messages = total - gz((await bundleWith([plugin])).code);
    }
    rows.push({
      module: (abs.startsWith(root) ? abs.slice(root.length) : abs).replace(/^(packages|apps)\//, ''),
      minified: f.minified,
      gzipped: Math.round((total * f.minified) / minifiedTotal),
      messages,
    });
  }
  rows.sort((a, b) => b.minified - a.minified);
  const stripAll = {
    name: 'no-messages-at-all',
    setup(b) {
      b.onLoad({ filter: /\/(packages|apps)\/.*\.ts$/ }, (a) => ({
        contents: withoutMessages(readFileSync(a.path, 'utf8'), a.path),
        loader: 'ts',
      }));
    },
  };
  const allMessages = total - gz((await bundleWith([stripAll])).code);
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
