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

/**
 * Functions of the packages whose listed arguments (by position) only make up a message text,
 * which this profile leaves out: at each call the profile passes 0 instead, so what computes
 * them (a quoted topic, a byte count, a type name) leaves the bundle too. Keyed by the file that
 * declares the function (under packages/ or apps/) and its name; a call is matched through the
 * imports of the file it is in, so another function of the same name is left alone.
 * apps/esp32/src/size.test.ts checks that each is still declared with those parameters.
 */
export const MESSAGE_ARGUMENTS = Object.freeze({
  // fail(code, what, expected, got, clause?, reasonCode?): `${what}: expected ${expected}, got ${got}`
  'packages/codec/src/errors.ts#fail': [1, 2, 3],
  // bad(what, expected, got, clause?) -> fail(code, what, expected, got, clause)
  'packages/codec/src/encode.ts#bad': [0, 1, 2],
  'packages/codec/src/parser.ts#bad': [0, 1, 2],
  // (in validateTopicFilter) bad(expected, clause) -> fail(code, 'topic filter', expected, quoted(t), clause)
  'packages/codec/src/topic.ts#bad': [0],
  // nul(at) -> fail(INVALID_UTF8, 'MQTT string', 'no U+0000', `U+0000 at ${at}`, '1.5.3-2')
  'packages/codec/src/utf8.ts#nul': [0],
});

/** `file` relative to the repository (packages/... or apps/...), or undefined. */
const repoPath = (file) => /(?:^|\/)((?:packages|apps)\/.*)$/.exec(file.replaceAll('\\', '/'))?.[1];

/** Local name -> `<declaring file>#<name>` for the functions of MESSAGE_ARGUMENTS this file declares or imports. */
function messageFunctions(file, fileName) {
  const here = repoPath(fileName);
  const found = new Map();
  if (!here) return found;
  const dir = here.slice(0, here.lastIndexOf('/') + 1);
  for (const key of Object.keys(MESSAGE_ARGUMENTS))
    if (key.startsWith(`${here}#`)) found.set(key.slice(here.length + 1), key);
  for (const statement of file.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
    const spec = statement.moduleSpecifier.text;
    if (!spec.startsWith('.')) continue;
    const parts = `${dir}${spec.replace(/\.js$/, '.ts')}`.split('/');
    const path = [];
    for (const part of parts)
      if (part === '..') path.pop();
      else if (part !== '.') path.push(part);
    const bindings = statement.importClause?.namedBindings;
    if (bindings && ts.isNamedImports(bindings))
      for (const e of bindings.elements) {
        const key = `${path.join('/')}#${(e.propertyName ?? e.name).text}`;
        if (key in MESSAGE_ARGUMENTS) found.set(e.name.text, key);
      }
  }
  return found;
}

/** Whether a literal's text is for people: a space between words. */
const human = (text) => /\s/.test(text.trim()) && /[a-z]{2}/i.test(text);

/** Replaces the human texts of a TypeScript source by "" (imports and exports untouched). */
export function withoutMessages(source, fileName) {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const edits = [];
  const functions = messageFunctions(file, fileName);
  const visit = (node) => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) return;
    const key = ts.isCallExpression(node) && ts.isIdentifier(node.expression) && functions.get(node.expression.text);
    if (key) {
      // a call whose message arguments become 0 (the rest is visited as usual)
      const dropped = MESSAGE_ARGUMENTS[key];
      node.arguments.forEach((arg, i) => {
        if (dropped.includes(i)) edits.push([arg.getStart(file), arg.getEnd(), '0']);
        else visit(arg);
      });
      return;
    }
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
