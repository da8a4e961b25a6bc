// FileFlash on a disk that fails: a write-back error (fdatasync fails) must never let a later
// flush that succeeds advance FlashStore's `durable` over pages the disk lost. The file calls are
// node:fs's own, on a real file, through FileFlash's `fs` option; around them `FailingDisk` keeps
// what the disk under the page cache holds, as Linux (4.13 and later) does when write-back fails:
//
// - the real file plays the page cache: reads see every write at once;
// - `disk` is what a power cut leaves: each 4 KiB page as the last successful fdatasync wrote it;
// - an fdatasync the test makes fail writes none of the dirty pages and leaves them clean: ext4
//   and XFS clear the dirty bit of a page whose write-back failed, so no later fdatasync writes it
//   again (Rebello et al., "Can Applications Recover from fsync Failures?", USENIX ATC 2020, §4;
//   the PostgreSQL "fsyncgate" thread, 2018);
// - the error is reported once to each open file description that was open when it happened, and
//   a later fdatasync through the same one succeeds (errseq_t: lib/errseq.c and
//   file_check_and_advance_wb_err() in mm/filemap.c; Documentation/filesystems/vfs.rst, "fsync").
import * as fs from 'node:fs';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { RobustClient, SENT, type FinalStatus, type NewMessage } from '@umqtt/robust';
import { FlashStore } from '@umqtt/store-flash';
import { waitFor } from '@umqtt/testkit';
import { FileFlash, type FileFlashFs } from './flash-file.js';
import { nodeTimers, createTcpSocketFactory } from './transport/index.js';

const dir = mkdtempSync(join(tmpdir(), 'umqtt-disk-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const PAGE = 4096;
// blocks of 64 KiB: the messages of a test stay in one block (opening a block flushes at once)
const GEOMETRY = { blockSize: 64 << 10, byteLength: 16 * (64 << 10) };
const OPTIONS = { maxRecords: 200 };

const msg = (i: number, qos: 0 | 1 | 2 = 1): NewMessage => ({
  topic: `disk/${i}`,
  payload: new Uint8Array(700).fill(i & 255),
  qos,
  retain: false,
  priority: 0,
  expiresAt: 0,
});

/** node:fs over one partition file, with the disk under its page cache modelled (see the top). */
class FailingDisk {
  readonly path: string;
  /** What a power cut leaves of the file. */
  readonly disk: Uint8Array;
  /** fdatasync calls made (either kind), and how many of them failed. */
  calls = 0;
  failed = 0;
  /** Pages written since they were last flushed (or dropped by a failed flush). */
  readonly #dirty = new Set<number>();
  /** The file's write-back error sequence, and what each open file description has seen of it. */
  #errseq = 0;
  readonly #seen = new Map<number, number>();
  /** fdatasync calls still to fail, from the next one. */
  #fail = 0;

  constructor(path: string) {
    this.path = path;
    this.disk = new Uint8Array(readFileSync(path)); // what the creating FileFlash flushed
  }

  /** The next `n` fdatasync calls fail with EIO (the pages they would write are lost). */
  failNext(n = 1): void {
    this.#fail = n;
  }

  /** The disk's contents as a file of their own: what a machine that lost power now would find. */
  afterPowerCut(): string {
    const path = join(dir, `cut${files++}.flash`);
    writeFileSync(path, this.disk);
    return path;
  }

  readonly fs: FileFlashFs = {
    ...fs,
    openSync: ((path: fs.PathLike, flags: fs.OpenMode, mode?: fs.Mode) => {
      const fd = fs.openSync(path, flags, mode);
      if (path === this.path) this.#seen.set(fd, this.#errseq); // sees errors from now on
      return fd;
    }) as typeof fs.openSync,
    closeSync: (fd: number) => {
      this.#seen.delete(fd);
      fs.closeSync(fd);
    },
    writeSync: ((fd: number, buffer: Uint8Array, offset: number, length: number, position: number) => {
      const n = fs.writeSync(fd, buffer, offset, length, position);
      this.#wrote(fd, position, n);
      return n;
    }) as typeof fs.writeSync,
    writevSync: (fd: number, buffers: readonly NodeJS.ArrayBufferView[], position?: number | null) => {
      const n = fs.writevSync(fd, buffers, position ?? undefined);
      this.#wrote(fd, position ?? 0, n);
      return n;
    },
    fdatasyncSync: (fd: number) => {
      const e = this.#flush(fd);
      if (e) throw e;
      fs.fdatasyncSync(fd);
    },
    fdatasync: ((fd: number, callback: (e: NodeJS.ErrnoException | null) => void) => {
      const e = this.#flush(fd); // the pages it writes are taken now, as the kernel does when it starts
      fs.fdatasync(fd, (real) => callback(e ?? real));
    }) as typeof fs.fdatasync,
  };

  #wrote(fd: number, at: number, n: number): void {
    if (!this.#seen.has(fd)) return;
    for (let p = Math.floor(at / PAGE); p * PAGE < at + n; p++) this.#dirty.add(p);
  }

  /** One fdatasync through `fd`: writes the dirty pages to the disk, or fails and loses them; the error it reports, if any. */
  #flush(fd: number): NodeJS.ErrnoException | undefined {
    this.calls++;
    if (!this.#seen.has(fd)) return undefined; // not the partition
    if (this.#fail > 0) {
      this.#fail--;
      this.failed++;
      this.#dirty.clear(); // marked clean, never written
      this.#errseq++;
    } else {
      const file = readFileSync(this.path);
      for (const p of this.#dirty) this.disk.set(file.subarray(p * PAGE, (p + 1) * PAGE), p * PAGE);
      this.#dirty.clear();
    }
    // each open file description is told of an error once
    if (this.#seen.get(fd)! < this.#errseq) {
      this.#seen.set(fd, this.#errseq);
      return Object.assign(new Error(`EIO: i/o error, fdatasync`), { errno: -5, code: 'EIO', syscall: 'fdatasync' });
    }
    return undefined;
  }
}

/** A new partition file (made by FileFlash on node:fs), then opened on a FailingDisk. */
function open(sync: true | 'group') {
  const path = join(dir, `p${files++}.flash`);
  new FileFlash(path, GEOMETRY).close();
  const disk = new FailingDisk(path);
  const flash = new FileFlash(path, { blockSize: GEOMETRY.blockSize, sync, fs: disk.fs });
  const store = new FlashStore(flash, OPTIONS);
  return { disk, flash, store };
}

/** Every message whose key `durable` covered must be on the disk after a power cut. */
function keysAfterPowerCut(disk: FailingDisk): Set<number> {
  const flash = new FileFlash(disk.afterPowerCut(), { blockSize: GEOMETRY.blockSize });
  const store = new FlashStore(flash, OPTIONS);
  const keys = new Set(store.messages().map((m) => m.key));
  store.close();
  flash.close();
  return keys;
}

const FLASH_SYNC = expect.objectContaining({
  name: 'UmqttError',
  code: 'UMQTT_FLASH_SYNC',
  place: 'flash',
  message: expect.stringMatching(/fdatasync of .* failed \(Error: EIO: i\/o error, fdatasync\)/),
});
const turn = () => new Promise((r) => setImmediate(r));

describe('FileFlash on a failing disk (node:fs with a modelled write-back error)', () => {
  test("sync: 'group': a failed background fdatasync poisons the flash; durable never passes it, though a later fdatasync would succeed", async () => {
    const { disk, flash, store } = open('group');
    const reported: number[] = [];
    store.onDurable = (d) => reported.push(d);
    const before: number[] = [];
    for (let i = 0; i < 10; i++) before.push(store.add(msg(i)));
    await waitFor(() => store.durable === before[9]);
    // the next grouped fdatasync fails: the pages of these 10 messages never reach the disk
    disk.failNext(1);
    const lost: number[] = [];
    for (let i = 10; i < 20; i++) lost.push(store.add(msg(i)));
    const failedAt = disk.calls;
    await waitFor(() => disk.failed === 1 && disk.calls > failedAt);
    await turn();
    // the application goes on as it would, turn after turn (what it is told is checked below)
    const errors: unknown[] = [];
    for (let i = 20; i < 30; i++) {
      try {
        store.add(msg(i));
      } catch (e) {
        errors.push(e);
      }
      await turn();
    }
    await new Promise((r) => setTimeout(r, 20)); // time for any later grouped fdatasync to end
    // a power cut now: every message durable covers is on the disk
    const kept = keysAfterPowerCut(disk);
    for (let k = 1; k <= store.durable; k++) expect(kept.has(k), `message ${k}, durable ${store.durable}`).toBe(true);
    expect(lost.filter((k) => !kept.has(k)).length, 'the disk lost pages').toBeGreaterThan(0);
    expect(store.durable).toBe(before[9]);
    expect(reported).toEqual([before[9]]);
    // every call after the failure failed, typed, naming the cause
    expect(errors).toHaveLength(10);
    for (const e of errors) expect(e).toEqual(FLASH_SYNC);
    expect(() => store.update(before[0]!, 1, SENT, 1)).toThrow(FLASH_SYNC);
    expect(() => store.remove(before[1]!)).toThrow(FLASH_SYNC);
    expect(() => store.messages()).toThrow(FLASH_SYNC);
    expect(() => store.incoming(7, true)).toThrow(FLASH_SYNC);
    expect(() => flash.sync('order')).toThrow(FLASH_SYNC);
    expect(() => flash.read(0, 16)).toThrow(FLASH_SYNC);
    flash.close(); // a poisoned flash closes without writing or reporting anything
    expect(store.durable).toBe(before[9]);
    console.log(
      `failed grouped fdatasync: durable stayed at ${store.durable}; ${lost.filter((k) => !kept.has(k)).length} of the 10 messages added before the failure were lost by the disk; every later call threw UMQTT_FLASH_SYNC`,
    );
  });

  test('an fdatasync that fails while a grouped one runs is seen by both descriptors: neither reports success over the lost pages', async () => {
    const { disk, flash, store } = open('group');
    const first = store.add(msg(1));
    await waitFor(() => store.durable === first);
    store.add(msg(2)); // its grouped fdatasync starts after this turn, on the flash's second descriptor
    await turn();
    disk.failNext(1); // the at-once fdatasync of the QoS 2 add below fails
    expect(() => store.add(msg(3, 2))).toThrow(FLASH_SYNC);
    await new Promise((r) => setTimeout(r, 20));
    expect(store.durable).toBe(first);
    flash.close();
  });

  test('sync: true: an fdatasync that fails in a call throws from it, and every later call throws', () => {
    const { disk, flash, store } = open(true);
    const keys = [store.add(msg(1)), store.add(msg(2))];
    expect(store.durable).toBe(keys[1]);
    disk.failNext(1);
    expect(() => store.add(msg(3))).toThrow(FLASH_SYNC);
    expect(() => store.add(msg(4))).toThrow(FLASH_SYNC); // the next fdatasync would succeed: not tried
    expect(() => store.remove(keys[0]!)).toThrow(FLASH_SYNC);
    expect(store.durable).toBe(keys[1]);
    const kept = keysAfterPowerCut(disk);
    expect(keys.every((k) => kept.has(k))).toBe(true);
    flash.close();
    // opened again: what the file holds (the page cache had the message the failed flush lost)
    const again = new FileFlash(flash.path, { blockSize: GEOMETRY.blockSize });
    const reopened = new FlashStore(again, OPTIONS);
    expect(reopened.count).toBeGreaterThanOrEqual(2);
    reopened.close();
    again.close();
  });

  test("the robust client surfaces it: a publish after the failure is 'rejected' with the code, and the issue is recorded", async () => {
    const { disk, flash, store } = open('group');
    const client = new RobustClient({
      socket: createTcpSocketFactory(),
      timers: nodeTimers,
      servers: [{ host: '127.0.0.1', port: 1 }], // never started: publishes are queued in the store
      clientId: 'disk-errors',
      store,
    });
    const statuses: [number, FinalStatus, string | undefined][] = [];
    client.onStatus = (key, status, reason) => statuses.push([key, status, reason]);
    client.publish('a/b', 'one', { qos: 1 });
    await waitFor(() => store.durable === 1);
    disk.failNext(1);
    client.publish('a/b', 'two', { qos: 1 });
    await waitFor(() => disk.failed === 1);
    await turn();
    client.publish('a/b', 'three', { qos: 1 });
    await waitFor(() => statuses.length === 1).catch((e) => {
      throw new Error(
        `${(e as Error).message}: ${JSON.stringify({ statuses, issues: client.issues.map((i) => String(i.error)), failed: disk.failed })}`,
      );
    });
    expect(statuses).toEqual([[0, 'rejected', 'UMQTT_FLASH_SYNC']]);
    expect(client.issues.at(-1)).toMatchObject({ place: 'publish', error: FLASH_SYNC });
    expect(store.durable).toBe(1);
    client.stop();
    flash.close();
  });
});
