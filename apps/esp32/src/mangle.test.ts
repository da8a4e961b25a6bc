// The device build shortens the property names in MANGLED (scripts/build.mjs): safe only while
// none of them is a name the bundles' users or the Moddable natives see. This walks, with the
// TypeScript checker, every type reachable from what the bundles export (classes with their
// constructor options, methods, callbacks and what those are given, errors, results) and from
// the device glue's declarations of the natives it calls, and collects every property name on
// the way; MANGLED must share none of them.
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';
import { MANGLED, entries } from '../scripts/build.mjs';

const app = fileURLToPath(new URL('../', import.meta.url));

/**
 * Options whose values a device bundle's user cannot make, only the bundle itself: their names
 * are public, the types behind them are not walked. `protocol` (ClientOptions) takes a session
 * core, a parser and a CONNECT encoder, which no device bundle exports; MqttClient5 passes the
 * MQTT 5 ones from inside its own bundle.
 */
const INSIDE = new Set(['protocol']);

/** Every property name reachable from the exports of these files. */
function publicNames(files: string[]): Set<string> {
  const config = ts.getParsedCommandLineOfConfigFile(
    `${app}tsconfig.json`,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  )!;
  const program = ts.createProgram(files, config.options);
  const checker = program.getTypeChecker();
  const names = new Set<string>();
  const seen = new Set<ts.Type>();
  const fromLib = (t: ts.Type) =>
    (t.getSymbol()?.declarations ?? []).some((d) => program.isSourceFileDefaultLibrary(d.getSourceFile()));
  const visit = (t: ts.Type): void => {
    if (seen.has(t)) return;
    seen.add(t);
    if (t.isUnionOrIntersection()) return t.types.forEach(visit);
    if (t.flags & ts.TypeFlags.Object && (t as ts.TypeReference).target)
      checker.getTypeArguments(t as ts.TypeReference).forEach(visit);
    const lib = fromLib(t); // a platform type's member names count, its members' types are not walked
    for (const p of checker.getPropertiesOfType(t)) {
      names.add(p.name);
      if (!lib && !INSIDE.has(p.name)) visit(checker.getTypeOfSymbol(p));
    }
    if (lib) return;
    for (const s of [...t.getCallSignatures(), ...t.getConstructSignatures()]) {
      for (const p of s.getParameters()) visit(checker.getTypeOfSymbol(p));
      visit(s.getReturnType());
    }
    const index = checker.getIndexInfosOfType(t);
    for (const i of index) visit(i.type);
  };
  // and every member name of the platform's own types (Array, Uint8Array, Promise, Map...): esbuild
  // would shorten `list.push` as readily as `session.due`
  for (const source of program.getSourceFiles())
    if (program.isSourceFileDefaultLibrary(source))
      source.forEachChild(function members(node: ts.Node): void {
        if ((ts.isPropertySignature(node) || ts.isMethodSignature(node)) && ts.isIdentifier(node.name))
          names.add(node.name.text);
        node.forEachChild(members);
      });
  for (const file of files) {
    const source = program.getSourceFile(file)!;
    const module = checker.getSymbolAtLocation(source)!;
    for (const symbol of checker.getExportsOfModule(module)) {
      const s = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      if (s.flags & ts.SymbolFlags.Value) visit(checker.getTypeOfSymbol(s));
      if (s.flags & ts.SymbolFlags.Type) visit(checker.getDeclaredTypeOfSymbol(s));
    }
  }
  return names;
}

describe('device bundles: the shortened property names are internal only', () => {
  const files = [
    ...entries().map((name) => `${app}src/entries/${name}.ts`),
    `${app}src/device/index.ts`, // the natives' declarations the glue calls (socket, DNS, timers)
    `${app}src/device/moddable.ts`,
  ];
  const names = publicNames(files);

  test('the walk reaches the public API: options, callbacks and what they get, errors, natives', () => {
    for (const name of [
      'maxUnacked', // ClientOptions, inherited from SessionOptions
      'onMessage',
      'topic', // Message, given to onMessage
      'reasonCode', // UmqttError, in Issue
      'priority', // robust's publish options
      'blockSize', // the Flash a FlashStore is given
      'onReadable', // the Moddable TCP socket's options
      'incoming', // the Store interface a RobustClient's options hold
      'ref', // PublishOptions
      'bytes', // StoreDamage
      'push', // Array, from the platform's types
      'subarray', // Uint8Array
    ])
      expect(names, name).toContain(name);
  });

  test('no name in MANGLED is a public one', () => {
    expect(MANGLED.filter((name) => names.has(name))).toEqual([]);
  });
});
