// The API reference: `pnpm run docs` runs TypeDoc with the root typedoc.json (validation on,
// warnings are errors). This test runs the same configuration into a temporary JSON file, so
// an undocumented export, a broken {@link} or a missing @example fails the suite. A numeric
// constant (a packet type, a flag, a size) needs only its one-line description: an example of
// `CONNECT = 1` teaches nothing its description does not.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { BIN, ROOT, run, tempDir } from './workspace.js';

const tmp = tempDir('docs');
afterAll(() => tmp.remove());

interface Reflection {
  id?: number;
  name: string;
  readme?: { kind: string; text: string; tag?: string; target?: unknown }[];
  variant?: string;
  kind: number;
  type?: { type: string; value?: unknown };
  comment?: { blockTags?: { tag: string }[]; summary?: { text: string }[] };
  signatures?: Reflection[];
  children?: Reflection[];
}

/** TypeDoc's ReflectionKind values used below. */
const KIND = { Module: 2, Variable: 32, Reference: 4194304 } as const;

let project: Reflection | undefined;

it('builds the API reference from the src/index.ts of every published package without a warning (all exports documented)', async () => {
  const out = join(tmp.dir, 'api.json');
  const result = await run(
    BIN.typedoc,
    ['--options', join(ROOT, 'typedoc.json'), '--json', out, '--logLevel', 'Warn'],
    {
      timeoutMs: 60_000,
    },
  );
  // eslint-disable-next-line no-control-regex -- the escape starts the terminal's colour codes
  const log = `${result.stdout}\n${result.stderr}`.replace(/\x1b\[[0-9;]*m/g, '');
  const warnings = log.split('\n').filter((l) => /\[(warning|error)\]/.test(l));
  expect(warnings, 'TypeDoc warnings and errors').toEqual([]);
  expect(result.code, log).toBe(0);
  project = JSON.parse(readFileSync(out, 'utf8')) as Reflection;
  expect(project.children?.map((m) => m.name).sort()).toEqual([
    '@umqtt/codec',
    '@umqtt/codec/v5', // the MQTT 5 entry of @umqtt/codec
    '@umqtt/node',
    '@umqtt/robust',
    '@umqtt/robust/v5', // the robust client on MQTT 5
    '@umqtt/session',
    '@umqtt/session/v5', // the MQTT 5 session
    '@umqtt/simple',
    '@umqtt/simple/v5', // the MQTT 5 client
    '@umqtt/store-flash',
    '@umqtt/store-memory',
  ]);
}, 70_000);

/** A constant whose type is one number (`export const CONNECT = 1`). */
const isNumericConstant = (item: Reflection): boolean =>
  item.kind === KIND.Variable && item.type?.type === 'literal' && typeof item.type.value === 'number';

it('gives every exported class, function, interface, type and non-numeric constant a short @example', () => {
  expect(project, 'the API reference was built').toBeDefined();
  const missing: string[] = [];
  for (const module of project!.children ?? []) {
    expect(module.kind).toBe(KIND.Module);
    for (const item of module.children ?? []) {
      if (item.kind === KIND.Reference) continue; // re-export of something documented elsewhere
      if (isNumericConstant(item)) continue; // documented by its description (checked by TypeDoc)
      const comments = [item.comment, ...(item.signatures ?? []).map((s) => s.comment)];
      if (!comments.some((c) => c?.blockTags?.some((t) => t.tag === '@example')))
        missing.push(`${module.name}: ${item.name}`);
    }
  }
  expect(missing, 'exports without @example').toEqual([]);
});

it('counts numeric constants as such: the packet types are exempt, string codes are not', () => {
  expect(project, 'the API reference was built').toBeDefined();
  const codec = project!.children!.find((m) => m.name === '@umqtt/codec')!;
  const byName = (name: string) => codec.children!.find((c) => c.name === name)!;
  expect(isNumericConstant(byName('CONNECT'))).toBe(true);
  expect(isNumericConstant(byName('SUBACK_FAILURE'))).toBe(true);
  expect(isNumericConstant(byName('MALFORMED'))).toBe(false);
  expect(isNumericConstant(byName('encodePublish'))).toBe(false);
});

it('opens on an index page that explains the packages and links each to its API and its README', () => {
  expect(project, 'the API reference was built').toBeDefined();
  const parts = project!.readme ?? [];
  const text = parts.map((p) => p.text).join('');
  const linked = new Set(parts.filter((p) => p.tag === '@link').map((p) => p.target));
  for (const module of project!.children ?? []) {
    expect(linked, `a link to the API of ${module.name}`).toContain(module.id);
    const dir = module.name === '@umqtt/node' ? 'apps/node' : `packages/${module.name.split('/')[1]}`;
    expect(text, `a link to the README of ${module.name}`).toContain(
      `https://github.com/umqtt/umqtt/tree/main/${dir}#`,
    );
  }
});
