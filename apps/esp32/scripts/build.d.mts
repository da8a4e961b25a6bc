// Types of build.mjs, for the tests that import it.
export interface Bundle {
  name: string;
  file: string | undefined;
  code: Uint8Array;
  raw: number;
  minified: number;
  gzipped: number;
  budget: number;
  target: number;
}
export const BUDGETS: Readonly<Record<string, { budget: number; target: number }>>;
export const FORBIDDEN: readonly string[];
export const MANGLED: readonly string[];
export function violations(code: string, metafile?: unknown): string[];
export function entries(): string[];
export function buildBundles(options?: { outdir?: string; messages?: boolean }): Promise<Bundle[]>;
export function sizeTable(bundles: Bundle[]): string;
