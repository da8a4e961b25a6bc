// The device build profile: the bundles a device runs carry no human texts. Every string or
// template literal with a space in it in the packages' and the glue's TypeScript sources (error
// messages, issue texts, status reasons) becomes "" before bundling (a template keeps the text of
// a caught exception, `write failed: ${describe(e)}` becomes `${describe(e)}`: what the platform
// said stays); codes such as
// UMQTT_MALFORMED, places and spec clauses have no space and stay, and so does every check: a
// device still refuses what the spec forbids, with the same code. A UmqttError whose message is
// empty takes its code as message (packages/codec/src/errors.ts), so a device log still reads
// "UMQTT_PACKET_TOO_LARGE [MQTT-3.3.2-2]"; the code's meaning is in each package's error
// catalogue (the API reference).
//
// The Node build (tsc) keeps every text; a device build with texts, for debugging, is
// `node scripts/build.mjs --messages`.
import { readFileSync } from 'node:fs';
import ts from 'typescript';

/** Whether a literal's text is for people: a space between words. */
const human = (text) => /\s/.test(text.trim()) && /[a-z]{2}/i.test(text);

/** Replaces the human texts of a TypeScript source by "" (imports and exports untouched). */
export function withoutMessages(source, fileName) {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const edits = [];
  const visit = (node) => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) return;
    if ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && human(node.text))
      edits.push([node.getStart(file), node.getEnd()]);
    else if (ts.isTemplateExpression(node)) {
      const texts = [node.head.text, ...node.templateSpans.map((s) => s.literal.text)].join(' ');
      if (human(texts)) {
        // a caught exception's own text stays (`describe(e)`, `String(e)`: what the platform or
        // the application said), the words around it go
        const causes = node.templateSpans
          .map((span) => span.expression)
          .filter((x) => ts.isCallExpression(x) && /^(describe|String)\(e\)$/.test(x.getText(file)))
          .map((x) => `\${${x.getText(file)}}`);
        edits.push([node.getStart(file), node.getEnd(), causes.length ? `\`${causes.join(' ')}\`` : '""']);
        return;
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  let out = source;
  for (const [start, end, text = '""'] of edits.reverse()) out = `${out.slice(0, start)}${text}${out.slice(end)}`;
  return out;
}

/** The sources the profile applies to: TypeScript under packages/ and apps/, tests never bundled. */
export const PROFILED = /\/(packages|apps)\/.*\.ts$/;

/**
 * The esbuild plugin of the profile: `only`, when given, limits it to that one file (to measure
 * what one module's texts cost).
 */
export function messageFree(only) {
  return {
    name: only ? `message-free:${only}` : 'message-free',
    setup(b) {
      b.onLoad({ filter: PROFILED }, (a) =>
        only === undefined || a.path === only
          ? { contents: withoutMessages(readFileSync(a.path, 'utf8'), a.path), loader: 'ts' }
          : undefined,
      );
    },
  };
}
