// The queue file of `umqtt pub --store DIR`: a FlashStore (@umqtt/store-flash) on a file-backed
// flash partition (../flash-file.ts), so messages that could not be sent yet survive the end
// of umqtt and are sent first by the next `umqtt pub --store DIR`. One umqtt at a time per
// DIR: a lock file holds the owner's pid. A file that is not a queue umqtt can read is refused
// (exit 2) unless --store-reset asks for a new one; what damage took is reported.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Store, StoreDamage } from '@umqtt/robust';
import { FlashStore } from '@umqtt/store-flash';
import { FileFlash } from '../flash-file.js';
import { usage } from './errors.js';

/** Size of a new queue file: 8 MiB of 4 KiB blocks. */
export const QUEUE_BYTES = 8 << 20;
/** Largest message (topic + payload) the queue takes; larger ones are rejected. */
export const QUEUE_MESSAGE_BYTES = 256 << 10;
const QUEUE_RECORDS = 10_000;

export interface OpenedStore {
  store: Store;
  file: string;
  /** Messages found from an earlier run. */
  leftover: number;
  /** What the queue file lost to damage (undefined: nothing). */
  damage: StoreDamage | undefined;
  close(): void;
}

/** One line about what a damaged queue file lost, for the user. */
export function damageReport(file: string, d: StoreDamage): string {
  const lost = d.lost.map((m) => `${m.key}${m.topic === undefined ? '' : ` ("${m.topic}", QoS ${m.qos})`}`);
  const shown = lost.length > 5 ? [...lost.slice(0, 5), `${lost.length - 5} more`] : lost;
  return (
    `the queue file ${file} is damaged: ${d.lost.length} message(s) lost${lost.length ? ` (key ${shown.join(', ')})` : ''}` +
    (d.places ? `; ${d.bytes} bytes in ${d.places} place(s) could not be read` : '')
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lock(file: string): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid))
        throw usage(
          `the queue in ${file.replace(/[/\\][^/\\]*$/, '')} is in use by another umqtt (pid ${pid})`,
          'give each running umqtt pub its own --store DIR',
        );
      rmSync(file, { force: true }); // left behind by a umqtt that did not exit cleanly
    }
  }
  throw usage(`cannot lock ${file}`, 'remove it if no umqtt is running');
}

/**
 * Creates `dir` and its missing parents one at a time. Not `mkdirSync(dir, { recursive: true })`:
 * on Node 20 that retries forever where a parent exists but cannot hold a directory (`/proc/x`:
 * 40,000 mkdir calls a second, never returning).
 */
function makeDir(dir: string): void {
  const missing: string[] = [];
  for (let at = resolve(dir); !existsSync(at); at = dirname(at)) {
    missing.unshift(at);
    if (dirname(at) === at) break;
  }
  for (const d of missing) mkdirSync(d);
}

/** Opens (or, with `reset`, first removes and then makes afresh) the queue file in `dir`. */
export function openQueue(dir: string, reset = false): OpenedStore {
  const file = join(dir, 'queue.flash');
  const lockFile = join(dir, 'queue.lock');
  try {
    makeDir(dir);
    lock(lockFile);
  } catch (e) {
    if ((e as { exitCode?: number }).exitCode) throw e;
    throw usage(
      `cannot use --store "${dir}" (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      'give a directory umqtt may create and write',
    );
  }
  let flash: FileFlash | undefined;
  try {
    if (reset) rmSync(file, { force: true });
    // flushed in groups: the store's `durable` says which messages are on the disk (pub reads on as they are)
    flash = existsSync(file)
      ? new FileFlash(file, { sync: 'group' })
      : new FileFlash(file, { byteLength: QUEUE_BYTES, sync: 'group' });
    const store = new FlashStore(flash, { maxRecords: QUEUE_RECORDS, maxMessageBytes: QUEUE_MESSAGE_BYTES });
    const opened = flash;
    return {
      store,
      file,
      leftover: store.count,
      damage: store.damage,
      close() {
        store.close();
        opened.close();
        rmSync(lockFile, { force: true });
      },
    };
  } catch (e) {
    flash?.close();
    rmSync(lockFile, { force: true });
    throw usage(
      `cannot open the queue file ${file}: ${(e as Error).message.split('; open it with reset')[0]}`,
      '--store-reset makes a new one (what the file holds is lost), or give another --store DIR',
    );
  }
}
