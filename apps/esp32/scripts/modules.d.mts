// Types of modules.mjs, for the size test.
export interface ModuleRow {
  module: string;
  minified: number;
  gzipped: number;
  messages: number;
}
export function moduleTable(
  bundleWith: (plugins: object[]) => Promise<{ code: Uint8Array; metafile: object }>,
  root: string,
): Promise<{ total: number; rows: ModuleRow[]; allMessages: number }>;
export function formatModuleTable(
  name: string,
  table: { total: number; rows: ModuleRow[]; allMessages: number },
): string;
