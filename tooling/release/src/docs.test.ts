// The API reference: `pnpm run docs` runs TypeDoc with the root typedoc.json (validation on,
// warnings are errors). This test runs the same configuration into a temporary JSON file, so
// an undocumented export, a broken {@link} or a missing @example fails the suite.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { BIN, ROOT, run, tempDir } from './workspace.js';

const tmp = tempDir('docs');
afterAll(() => tmp.remove());

interface Reflection {
  name: string;
  variant?: string;
  kind: number;
  comment?: { blockTags?: { tag: string }[]; summary?: { text: string }[] };
  signatures?: Reflection[];
  children?: Reflection[];
}

/** TypeDoc's ReflectionKind values used below. */
const KIND = { Module: 2, Reference: 4194304 } as const;

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
    '@umqtt/session',
    '@umqtt/simple',
    '@umqtt/store-flash',
    '@umqtt/store-memory',
  ]);
}, 70_000);

it('gives every exported class, function, constant, interface and type a short @example', () => {
  expect(project, 'the API reference was built').toBeDefined();
  const missing: string[] = [];
  for (const module of project!.children ?? []) {
    expect(module.kind).toBe(KIND.Module);
    for (const item of module.children ?? []) {
      if (item.kind === KIND.Reference) continue; // re-export of something documented elsewhere
      const comments = [item.comment, ...(item.signatures ?? []).map((s) => s.comment)];
      if (!comments.some((c) => c?.blockTags?.some((t) => t.tag === '@example')))
        missing.push(`${module.name}: ${item.name}`);
    }
  }
  expect(missing, 'exports without @example').toEqual([]);
});
