// @umqtt/robust over @umqtt/store-flash on a file (apps/node/src/flash-file.ts). Both are being
// written elsewhere; when they are missing or fail to load, this kind is "not yet" and its
// column says why. BENCH_FLASH_SYNC=turn measures FileFlash's opt-in `sync: 'turn'` (one
// fdatasync per event-loop turn; the column's label says so) instead of the default (one per
// store call).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Store } from '@umqtt/robust';
import type { Kind } from '../common.js';
import { robustKind } from './robust.js';

const ID = 'robust-flash';
const SYNC = process.env['BENCH_FLASH_SYNC'] === 'turn' ? 'turn' : true;
const LABEL = SYNC === 'turn' ? "umqtt robust (file flash store, sync: 'turn')" : 'umqtt robust (file flash store)';
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const FLASH_FILE = join(root, 'apps/node/src/flash-file.ts');
const STORE_FLASH = join(root, 'packages/store-flash/src/index.ts');

function notYet(why: string): Kind {
  return {
    id: ID,
    label: LABEL,
    unavailable: `not yet: ${why}`,
    open: () => Promise.reject(new Error(why)),
  };
}

type Ctor = new (...args: never[]) => unknown;

/** Loads the file flash and the flash store; "not yet" when either is missing or broken. */
export async function flashKind(): Promise<Kind> {
  if (!existsSync(FLASH_FILE)) return notYet('apps/node/src/flash-file.ts does not exist yet');
  if (!existsSync(STORE_FLASH)) return notYet('packages/store-flash/src/index.ts does not exist yet');
  let file: Record<string, unknown>;
  let store: Record<string, unknown>;
  try {
    file = (await import(pathToFileURL(FLASH_FILE).href)) as Record<string, unknown>;
    store = (await import(pathToFileURL(STORE_FLASH).href)) as Record<string, unknown>;
  } catch (e) {
    return notYet(`loading the file flash store failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  const FileFlash = file['FileFlash'] as Ctor | undefined;
  const FlashStore = store['FlashStore'] as Ctor | undefined;
  if (typeof FileFlash !== 'function' || typeof FlashStore !== 'function')
    return notYet(`expected FileFlash in apps/node/src/flash-file.ts and FlashStore in @umqtt/store-flash; found ${Object.keys(file).join(', ') || 'nothing'}`);
  let dir: string | undefined;
  const open = (count: number): Store => {
    dir = mkdtempSync(join(tmpdir(), 'umqtt-bench-flash-'));
    return openFlashStore(FileFlash, FlashStore, join(dir, 'queue.flash'), count);
  };
  // Check once that it opens at all.
  try {
    open(0).close();
  } catch (e) {
    return notYet(`opening a file flash store failed: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
  return robustKind(ID, LABEL, open, () => dir && rmSync(dir, { recursive: true, force: true }));
}

/** A flash file big enough for `count` queued 64-byte messages (or the burst's window). */
function openFlashStore(FileFlash: Ctor, FlashStore: Ctor, path: string, count: number): Store {
  const records = Math.max(count, 1000);
  const byteLength = Math.ceil((records * 160 + (64 << 20)) / 4096) * 4096;
  const flash = new (FileFlash as unknown as new (path: string, options: { byteLength: number; blockSize: number; sync: boolean | 'turn' }) => { close?(): void })(path, { byteLength, blockSize: 4096, sync: SYNC });
  const store = new (FlashStore as unknown as new (flash: unknown, options: { maxRecords: number; maxMessageBytes: number }) => Store)(flash, {
    maxRecords: records,
    maxMessageBytes: 300 * 1024,
  });
  const close = store.close.bind(store);
  store.close = () => {
    close();
    flash.close?.();
  };
  return store;
}
