// @umqtt/robust over @umqtt/store-flash on a file (@umqtt/node's FileFlash), in two columns:
// FileFlash's default (one fdatasync per store call: what add() returned is on the disk) and
// its opt-in `sync: 'group'` (one background fdatasync for the calls of a turn or more: the
// store's `durable` says which calls it covered; a QoS 2 message's steps are flushed at once).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Store } from '@umqtt/robust';
import { FlashStore } from '@umqtt/store-flash';
import { FileFlash } from '@umqtt/node';
import { BIG_WINDOW, type Kind } from '../common.js';
import { robustKind } from './robust.js';

/**
 * The file flash store with `sync` as FileFlash's option. Its partition goes in the directory
 * main.ts made for this process (BENCH_TMPDIR) and removes when the process ends, however it
 * ends.
 */
export function flashKind(id: string, label: string, sync: true | 'group'): Kind {
  const open = (count: number, room = 0): Store => {
    const dir = mkdtempSync(join(process.env['BENCH_TMPDIR'] ?? tmpdir(), 'flash-'));
    return openFlashStore(join(dir, 'queue.flash'), count, room, sync);
  };
  return robustKind(id, label, open);
}

/**
 * Blocks of the bench's partition: 4 MiB. A file has no erase block of its own, and each block
 * the log enters or compacts costs FlashStore a few ordering fdatasync calls, so a block holds
 * many records (16 of the largest message here), as packages/store-flash/README.md recommends
 * for a file.
 */
const BLOCK = 4 << 20;

/**
 * A flash file big enough for `count` queued 64-byte messages and at least 5,000 records (more
 * than the largest window of the run, BIG_WINDOW, holds in flight), with room for twice `room`
 * bytes of payload in flight (the log needs free blocks to compact into), at least 64 MiB.
 */
function openFlashStore(path: string, count: number, room: number, sync: true | 'group'): Store {
  const records = Math.max(count, 5 * BIG_WINDOW);
  const byteLength = Math.ceil((records * 160 + Math.max(64 << 20, 2 * room)) / BLOCK) * BLOCK;
  const flash = new FileFlash(path, { byteLength, blockSize: BLOCK, sync });
  const store = new FlashStore(flash, { maxRecords: records, maxMessageBytes: 300 * 1024 });
  const close = store.close.bind(store);
  store.close = () => {
    close();
    flash.close();
  };
  return store;
}
