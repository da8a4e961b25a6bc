// A Flash backed by a file, so that a Node gateway's FlashStore survives a restart: the file is
// the partition. Synchronous reads and writes at offsets (the Store interface is synchronous),
// NOR semantics kept (a write ANDs into what is there; erase writes 0xFF). The file is read and
// written in place (positioned I/O); RAM holds a small cache of 4 KiB pages (1 MiB by default),
// never the partition. Writes land in the cache and reach the file at the end of the event-loop
// turn (one pwritev for the pages a turn touched), at every sync, or when the cache needs the
// room; an erase goes to the file at once. `sync()` flushes them to the disk (fdatasync): at
// once, or, with `sync: 'group'`, the syncs that end store calls are grouped into one background
// fdatasync after the turn, and FlashStore learns by ticket when its calls are durable. A write
// or an fdatasync that fails poisons it: the pages it covered may never reach the disk, and a
// later fdatasync that succeeds would not say so (Linux reports a write-back error once and
// marks the pages clean), so every later call throws and no later ticket is reported. For
// FlashStore's speed it says `unordered` (each record is then one write, written committed) and
// lends it Node's native CRC-32.
import * as nodeFs from 'node:fs';
import { dirname } from 'node:path';
import * as zlib from 'node:zlib';
import { INVALID_ARGUMENT, UmqttError } from '@umqtt/codec';
import type { Flash, FlashSync } from '@umqtt/store-flash';
import { FLASH_CLOSED, FLASH_READ, FLASH_SYNC } from './errors.js';

/**
 * Options of {@link FileFlash}: the block size and byte length of a new partition, when writes
 * are flushed to the disk, and the RAM of its cache.
 *
 * @example
 * const options: FileFlashOptions = { byteLength: 64 << 20, blockSize: 1 << 20, sync: 'group' };
 */
export interface FileFlashOptions {
  /**
   * Bytes per erase block. Default 4096 (a file made with it keeps it: with another block size
   * the store refuses the file as a foreign partition, UMQTT_STORE_FOREIGN). A file has no erase
   * block of its own, and for a new file a larger one is much faster: FlashStore flushes the
   * file (fdatasync, at once even with `sync: 'group'`) a few times for each block its log enters
   * or compacts, and a message larger than a block spans several. Blocks of 1 to 4 MiB (the
   * partition a whole number of them, 6 at least, e.g. 64 MiB) hold thousands of messages each.
   */
  blockSize?: number | undefined;
  /**
   * Size of the partition. A new file is created with this many bytes of 0xFF (default 1 MiB);
   * an existing file must have exactly this size if it is given (a partition is never resized:
   * the store's log wraps around its end).
   */
  byteLength?: number | undefined;
  /**
   * When writes are flushed to the disk (fdatasync).
   * - `true` (default): at every `sync()`: FlashStore's `add`, `update` and `remove` are on the
   *   disk when they return (one fdatasync per call, a few more when a call compacts or opens
   *   blocks), and survive a killed process, a crash of the machine and a power cut.
   * - `'group'`: one fdatasync for many calls. The syncs that end FlashStore's calls are grouped
   *   into one fdatasync started after the event-loop turn, in the background (libuv's thread
   *   pool), while the next turns go on (turns that end while it runs share the next one);
   *   FlashStore's `durable` and `onDurable` say which calls it covered. The syncs FlashStore
   *   needs for the order of its writes, and for a QoS 2 message's add, SENT and RELEASING,
   *   happen at once. What a crash can undo: a killed process, the calls of the turn it was
   *   killed in (written to the file at the end of each turn); a crash of the machine or a power
   *   cut, the calls that `durable` does not cover yet (about one fdatasync's time). A failed
   *   fdatasync (or write) poisons the flash: `durable` stays where it was, and the next call
   *   and every later one throws `UMQTT_FLASH_SYNC`.
   * - `false`: never. The store survives the process being killed (minus the calls of the turn
   *   it was killed in), not a crash of the machine or a power cut.
   */
  sync?: boolean | 'group' | undefined;
  /**
   * RAM for the cache of the file's 4 KiB pages (default 1 MiB, at least 64 KiB): the pages the
   * log is appended to, and those read back recently (a queue draining reads its records in
   * order). Reads of 4 KiB or more go to the file directly, past the cache.
   */
  cacheBytes?: number | undefined;
  /**
   * The file calls FileFlash makes (node:fs's by default). For tests that make them fail as a
   * failing disk does; anything given must behave as node:fs does.
   */
  fs?: FileFlashFs | undefined;
}

/**
 * The node:fs calls a {@link FileFlash} makes: node:fs itself, or a stand-in with the same behaviour
 * (e.g. one whose fdatasync fails, to test what a failing disk does).
 *
 * @example
 * import * as fs from 'node:fs';
 * const failing: FileFlashFs = { ...fs, fdatasync: (fd, done) => done(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })) };
 * const flash = new FileFlash(path, { sync: 'group', fs: failing });
 */
export type FileFlashFs = Pick<
  typeof nodeFs,
  | 'openSync'
  | 'closeSync'
  | 'fstatSync'
  | 'readSync'
  | 'writeSync'
  | 'writevSync'
  | 'fdatasync'
  | 'fdatasyncSync'
  | 'fsyncSync'
  | 'renameSync'
>;

/** Node's native CRC-32 (zlib.crc32: Node 20.15 and later), 10x the store's plain-code one. */
const zcrc = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** Bytes per cached page of the file. */
const PAGE = 4096;
/** 64 KiB of 0xFF: what erased bytes are compared with, and what an erase writes (made at first use). */
let ONES: Buffer | undefined;
const ones = (): Buffer => (ONES ??= Buffer.alloc(1 << 16, 0xff));

/** A page of the file in the cache; bytes [from, to) were changed since it was last written out. */
interface Page {
  data: Uint8Array;
  from: number;
  to: number;
}

const invalid = (what: string) =>
  new UmqttError({ code: INVALID_ARGUMENT, message: `file flash: ${what}`, place: 'flash' });

/** Whether `a[at, at + n)` are all 0xFF. */
function erasedAt(a: Uint8Array, at: number, n: number): boolean {
  const ff = ones();
  for (let done = 0; done < n; done += ff.length) {
    const k = Math.min(ff.length, n - done);
    if (!Buffer.from(a.buffer, a.byteOffset + at + done, k).equals(ff.subarray(0, k))) return false;
  }
  return true;
}

/**
 * A file as a flash partition.
 *
 * @example
 * const flash = new FileFlash('/var/lib/gateway/queue.flash', { byteLength: 64 << 20, blockSize: 1 << 20, sync: 'group' });
 * const store = new FlashStore(flash, { maxRecords: 100_000 });
 * store.onDurable = (key) => confirmUpTo(key); // every message added with a key up to it is on the disk
 * // ... new RobustClient({ ..., store }); at exit: client.stop(); store.close(); flash.close();
 */
export class FileFlash implements Flash {
  /** The file that holds the partition. */
  readonly path: string;
  readonly blockSize: number;
  readonly byteLength: number;
  readonly #mode: boolean | 'group';
  #fd: number | undefined;
  /** Cached pages by number, least recently used first. */
  readonly #pages = new Map<number, Page>();
  readonly #maxPages: number;
  /** The page used last (it is the most recently used in `#pages`), if still cached. */
  #last: { at: number; page: Page } | undefined;
  /** Pages changed in the cache and not yet written to the file. */
  readonly #dirty = new Set<number>();
  /** Per page: 1 when the file holds only 0xFF there (erased by us, or read so) and it is not cached dirty. */
  readonly #erased: Uint8Array;
  /** The end-of-turn write-out (and, with 'group', the start of a grouped fdatasync). */
  #immediate: ReturnType<typeof setImmediate> | undefined;
  /** Written to the file (or cached) since the last fdatasync started. */
  #unsynced = false;
  /** The ticket the next grouped fdatasync will report. */
  #ticket = 1;
  /** The highest ticket handed out. */
  #issued = 0;
  /** A grouped fdatasync is running in the background. */
  #running = false;
  /**
   * The grouped fdatasyncs' own descriptor (another open file description of the file): Linux
   * reports a write-back error once to each open file description (errseq, since 4.13), so an
   * error that a grouped fdatasync and an at-once one meet is seen by both, and neither can
   * succeed over pages the other lost.
   */
  #bgFd: number | undefined;
  /** Closed while a grouped fdatasync ran: its descriptor is closed when it has finished. */
  #closeAfter = false;
  /** Set when a write or an fdatasync failed: thrown by every call from then on. */
  #poison: UmqttError | undefined;
  readonly #fs: FileFlashFs;
  #syncs = 0;
  #writes = 0;

  /** Called by the flash with a ticket `sync('call')` returned, once the writes before it are durable (FlashStore sets it). */
  onSynced: ((ticket: number) => void) | undefined;

  constructor(path: string, options: FileFlashOptions = {}) {
    const blockSize = options.blockSize ?? 4096;
    if (!(Number.isInteger(blockSize) && blockSize > 0))
      throw invalid(`expected a positive whole blockSize, got ${blockSize}`);
    const mode = options.sync ?? true;
    if (mode !== true && mode !== false && mode !== 'group')
      throw invalid(`sync: expected true, false or 'group', got ${String(mode)}`);
    const fs = (this.#fs = options.fs ?? nodeFs);
    this.path = path;
    this.blockSize = blockSize;
    this.#mode = mode;
    this.#maxPages = Math.max(16, Math.floor((options.cacheBytes ?? 1 << 20) / PAGE));
    let fd: number;
    let created = false;
    try {
      fd = fs.openSync(path, 'r+');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      fd = FileFlash.#create(fs, path, options.byteLength ?? 1 << 20, blockSize);
      created = true;
    }
    const size = fs.fstatSync(fd).size;
    if ((options.byteLength !== undefined && size !== options.byteLength) || size === 0 || size % blockSize) {
      fs.closeSync(fd);
      throw invalid(
        `${path} holds ${size} bytes, expected ${options.byteLength ?? 'a whole number of blocks'} (blocks of ${blockSize})`,
      );
    }
    this.byteLength = size;
    this.#fd = fd;
    this.#erased = new Uint8Array(Math.ceil(size / PAGE));
    if (created) this.#erased.fill(1);
    // what an earlier process wrote and was killed before flushing: durable before the store
    // goes on from it
    else if (mode !== false)
      try {
        fs.fdatasyncSync(fd);
      } catch (e) {
        fs.closeSync(fd);
        throw this.#failed(e, 'fdatasync');
      }
  }

  /** Writes reach the disk in any order until a sync (the page cache): FlashStore writes each record committed, in one write. */
  readonly unordered = true;

  /**
   * FlashStore computes its records' checksums with this (the same CRC-32 as its own) when the
   * platform has a native one.
   */
  readonly crc32 =
    zcrc &&
    ((bytes: Uint8Array, start: number, end: number, crc: number): number => zcrc(bytes.subarray(start, end), crc));

  /** pwrite and pwritev calls made so far (creating the file not counted). */
  get writes(): number {
    return this.#writes;
  }

  /** fdatasync calls made so far (creating the file not counted). */
  get syncs(): number {
    return this.#syncs;
  }

  /** Bytes of RAM the page cache holds now. */
  get cachedBytes(): number {
    return this.#pages.size * PAGE;
  }

  /** Creates the file erased, under a temporary name first: a partition never exists half made. */
  static #create(fs: FileFlashFs, path: string, byteLength: number, blockSize: number): number {
    if (!(Number.isInteger(byteLength) && byteLength > 0 && byteLength % blockSize === 0))
      throw invalid(`expected a byteLength that is a whole number of ${blockSize}-byte blocks, got ${byteLength}`);
    const temp = `${path}.${process.pid}.new`;
    const fd = fs.openSync(temp, 'w+');
    const ff = ones();
    for (let at = 0; at < byteLength; at += ff.length)
      fs.writeSync(fd, ff, 0, Math.min(ff.length, byteLength - at), at);
    fs.fdatasyncSync(fd);
    fs.renameSync(temp, path);
    // make the new name itself durable (POSIX; a directory cannot be opened on Windows, nor needs this)
    let dir: number | undefined;
    try {
      dir = fs.openSync(dirname(path), 'r');
      fs.fsyncSync(dir);
    } catch {
      /* best effort */
    } finally {
      if (dir !== undefined) fs.closeSync(dir);
    }
    return fd;
  }

  read(offset: number, length: number): Uint8Array {
    this.#check(offset, length);
    const out = new Uint8Array(length);
    if (length < PAGE) {
      // small reads (records, headers) through the cache: a queue draining reads on in order
      for (let done = 0; done < length;) {
        const at = offset + done;
        const p = Math.floor(at / PAGE);
        const o = at - p * PAGE;
        const n = Math.min(length - done, PAGE - o);
        out.set(this.#page(p).data.subarray(o, o + n), done);
        done += n;
      }
      return out;
    }
    // large reads (a mount's whole blocks, erased checks) past the cache: cached pages copied,
    // erased pages filled, the rest read from the file in runs
    let run = -1;
    const end = offset + length;
    for (let p = Math.floor(offset / PAGE); p * PAGE < end; p++) {
      const from = Math.max(offset, p * PAGE);
      const to = Math.min(end, (p + 1) * PAGE);
      const pg = this.#pages.get(p);
      if (!pg && !this.#erased[p]) {
        if (run < 0) run = from;
        continue;
      }
      if (run >= 0) this.#readFile(out, run - offset, from - run, run);
      run = -1;
      if (pg) out.set(pg.data.subarray(from - p * PAGE, to - p * PAGE), from - offset);
      else out.fill(0xff, from - offset, to - offset);
    }
    if (run >= 0) this.#readFile(out, run - offset, end - run, run);
    return out;
  }

  write(offset: number, bytes: Uint8Array): void {
    this.#check(offset, bytes.length);
    for (let done = 0; done < bytes.length;) {
      const at = offset + done;
      const p = Math.floor(at / PAGE);
      const o = at - p * PAGE;
      const n = Math.min(bytes.length - done, PAGE - o);
      const pg = this.#page(p);
      const d = pg.data;
      if (n > 32 && erasedAt(d, o, n))
        d.set(bytes.subarray(done, done + n), o); // erased & x = x (memcpy)
      else for (let i = 0; i < n; i++) d[o + i]! &= bytes[done + i]!;
      this.#touched(p, pg, o, o + n);
      done += n;
    }
  }

  erase(block: number): void {
    if (!(Number.isInteger(block) && block >= 0 && (block + 1) * this.blockSize <= this.byteLength))
      throw invalid(`erase: expected a block from 0 to ${this.byteLength / this.blockSize - 1}, got ${block}`);
    this.#check(0, 0);
    const start = block * this.blockSize;
    const end = start + this.blockSize;
    // whole pages: forgotten by the cache (erased bytes need no RAM) and written as 0xFF at once
    const first = Math.ceil(start / PAGE);
    const last = Math.min(Math.floor(end / PAGE), this.#erased.length); // pages [first, last) lie inside
    for (let p = first; p < last && p * PAGE < this.byteLength; p++) {
      this.#pages.delete(p);
      this.#dirty.delete(p);
      this.#erased[p] = 1;
      if (this.#last?.at === p) this.#last = undefined;
    }
    const a = Math.min(first * PAGE, end);
    const b = Math.max(a, Math.min(last * PAGE, end));
    this.#unsynced = true;
    const ff = ones();
    this.#io('pwrite', () => {
      for (let at = a; at < b; this.#writes++)
        at += this.#fs.writeSync(this.#fd!, ff, 0, Math.min(ff.length, b - at), at);
    });
    // the ends of the block that share a page with a neighbour: through the cache
    for (const [from, to] of [
      [start, a],
      [b, end],
    ] as const)
      if (to > from) {
        const p = Math.floor(from / PAGE);
        const pg = this.#page(p);
        pg.data.fill(0xff, from - p * PAGE, to - p * PAGE);
        this.#touched(p, pg, from - p * PAGE, to - p * PAGE);
      }
  }

  /**
   * Makes the writes so far durable (see the `sync` option): at once, or, for `'call'` with
   * `sync: 'group'`, with the grouped fdatasync after this turn: then it returns that one's
   * ticket, reported to `onSynced` when it is done. If a write or an fdatasync fails (here or in
   * the background) the flash is poisoned: that ticket and no later one is ever reported, and this
   * call and every later one (read, write, erase, sync) throw UmqttError `UMQTT_FLASH_SYNC` naming
   * the first failure. Close it and open the file again to go on from what the file holds.
   */
  sync(why: FlashSync = 'order'): boolean | number {
    this.#check(0, 0);
    if (this.#mode === false) return true; // never flushed (written to the file at the end of the turn)
    if (this.#mode === 'group' && why === 'call') {
      if (!this.#unsynced && !this.#dirty.size) return this.#running ? this.#ticket - 1 : true;
      this.#issued = this.#ticket;
      this.#later();
      return this.#issued;
    }
    this.#writeOut();
    if (!this.#unsynced && !this.#running) return true;
    // at once; this also covers what a grouped fdatasync is still flushing, and every ticket handed out
    this.#flush(this.#fd!);
    if (this.#issued >= this.#ticket) this.#ticket = this.#issued + 1; // FlashStore knows: nothing to report
    return true;
  }

  /**
   * Writes what the cache holds back, flushes what a grouped sync still waits for, then closes the
   * file; later calls throw. A poisoned flash (see `sync`) is closed as it is: nothing written,
   * nothing reported.
   */
  close(): void {
    if (this.#fd === undefined) return;
    const fd = this.#fd;
    let done = 0;
    try {
      if (this.#immediate) {
        clearImmediate(this.#immediate);
        this.#immediate = undefined;
      }
      if (this.#poison) return;
      this.#writeOut();
      if (this.#mode !== false && (this.#unsynced || this.#running)) this.#flush(fd);
      if (this.#issued >= this.#ticket) done = this.#ticket = this.#issued + 1;
    } finally {
      this.#fd = undefined;
      this.#pages.clear();
      this.#last = undefined;
      this.#dirty.clear();
      this.#fs.closeSync(fd);
      // a grouped fdatasync still uses its descriptor: it is closed when that ends
      if (this.#running) this.#closeAfter = true;
      else if (this.#bgFd !== undefined) this.#fs.closeSync(this.#bgFd);
    }
    if (done) this.#report(done - 1);
  }

  /** Page `p`, from the cache or loaded into it (evicting the least recently used). */
  #page(p: number): Page {
    const last = this.#last;
    if (last && last.at === p) return last.page; // the page the log is being appended to, again
    const pages = this.#pages;
    let pg = pages.get(p);
    if (pg) {
      pages.delete(p); // most recently used: to the end
      pages.set(p, pg);
      this.#last = { at: p, page: pg };
      return pg;
    }
    if (pages.size >= this.#maxPages) this.#evict();
    const len = Math.min(PAGE, this.byteLength - p * PAGE);
    pg = { data: new Uint8Array(len), from: PAGE, to: 0 };
    if (this.#erased[p]) pg.data.fill(0xff);
    else this.#readFile(pg.data, 0, len, p * PAGE);
    pages.set(p, pg);
    this.#last = { at: p, page: pg };
    return pg;
  }

  /** Makes room in the cache: the least recently used quarter goes (written to the file first, if changed). */
  #evict(): void {
    const dirty = [];
    let n = Math.max(1, this.#maxPages >> 2);
    for (const [p] of this.#pages) {
      if (n-- <= 0) break;
      if (this.#dirty.has(p)) dirty.push(p);
    }
    if (dirty.length) this.#writeOut(dirty);
    n = Math.max(1, this.#maxPages >> 2);
    for (const p of this.#pages.keys()) {
      if (n-- <= 0) break;
      this.#pages.delete(p);
    }
    this.#last = undefined;
  }

  /** Page `p`'s bytes [from, to) were changed in the cache: written to the file later. */
  #touched(p: number, pg: Page, from: number, to: number): void {
    if (from < pg.from) pg.from = from;
    if (to > pg.to) pg.to = to;
    this.#dirty.add(p);
    this.#erased[p] = 0;
    this.#unsynced = true;
    this.#later();
  }

  /** Schedules the end-of-turn write-out (and, with 'group', the grouped fdatasync). */
  #later(): void {
    this.#immediate ??= setImmediate(() => {
      this.#immediate = undefined;
      if (this.#poison) return;
      try {
        this.#writeOut();
      } catch {
        return; // poisoned: the next call throws it
      }
      if (this.#issued >= this.#ticket && !this.#running) this.#background();
    });
  }

  /** Starts the grouped fdatasync for the tickets handed out so far. */
  #background(): void {
    if (this.#fd === undefined) return;
    let fd = this.#bgFd;
    if (fd === undefined)
      try {
        fd = this.#bgFd = this.#fs.openSync(this.path, 'r+');
      } catch (e) {
        return void this.#failed(e, 'open'); // no ticket reported from now on
      }
    const ticket = this.#ticket++;
    this.#running = true;
    this.#unsynced = false; // writes from now on wait for the next one
    this.#fs.fdatasync(fd, (e) => {
      this.#running = false;
      if (e)
        this.#failed(e, 'fdatasync'); // this ticket and every later one: never reported
      else this.#syncs++;
      if (this.#closeAfter) {
        this.#closeAfter = false;
        this.#fs.closeSync(fd);
      } else if (!this.#poison && this.#issued >= this.#ticket && !this.#immediate) this.#background(); // asked for while it ran
      if (!this.#poison) this.#report(ticket);
    });
  }

  #report(ticket: number): void {
    try {
      this.onSynced?.(ticket);
    } catch {
      // the store's handler: it does not throw; nothing to do if it did
    }
  }

  /** Writes the changed pages (all, or those listed) to the file, adjacent ones in one pwritev. */
  #writeOut(only?: number[]): void {
    const dirty = this.#dirty;
    if (!dirty.size) return;
    const list = (only ?? [...dirty]).sort((x, y) => x - y);
    this.#io('pwritev', () => {
      for (let i = 0; i < list.length;) {
        const p0 = list[i]!;
        const first = this.#pages.get(p0)!;
        const at = p0 * PAGE + first.from;
        const parts = [first.data.subarray(first.from, first.to)];
        let last = first;
        let j = i + 1;
        // runs of adjacent pages changed end to start: one call
        for (; j < list.length && list[j] === list[j - 1]! + 1 && last.to === PAGE; j++) {
          const pg = this.#pages.get(list[j]!)!;
          if (pg.from) break;
          parts.push(pg.data.subarray(0, pg.to));
          last = pg;
        }
        this.#writeAll(parts, at);
        for (let k = i; k < j; k++) {
          const pg = this.#pages.get(list[k]!)!;
          pg.from = PAGE;
          pg.to = 0;
          dirty.delete(list[k]!);
        }
        i = j;
      }
    });
  }

  /** pwritev of `parts` at `at`, until every byte is written. */
  #writeAll(parts: Uint8Array[], at: number): void {
    let n = parts.reduce((a, b) => a + b.length, 0);
    while (n > 0) {
      const w = this.#fs.writevSync(this.#fd!, parts, at);
      this.#writes++;
      n -= w;
      at += w;
      // a short write: go on from where it stopped
      for (let skip = w; skip > 0 && parts.length;) {
        const head = parts[0]!;
        if (head.length <= skip) {
          skip -= head.length;
          parts.shift();
        } else {
          parts[0] = head.subarray(skip);
          skip = 0;
        }
      }
    }
  }

  /** `length` bytes of the file at `position` into `out[at...]`. */
  #readFile(out: Uint8Array, at: number, length: number, position: number): void {
    // a read that fails changes nothing: the cache keeps what it holds (and what it must still write)
    for (let got = 0; got < length;) {
      const n = this.#fs.readSync(this.#fd!, out, at + got, length - got, position + got);
      if (n <= 0)
        throw new UmqttError({
          code: FLASH_READ,
          message: `file flash: ${this.path} ended at ${position + got}`,
          place: 'flash',
        });
      got += n;
    }
  }

  /** A write to the file (`what`, the call): if it throws, the flash is poisoned (see `sync`). */
  #io(what: string, f: () => void): void {
    try {
      f();
    } catch (e) {
      throw this.#failed(e, what);
    }
  }

  /**
   * A write or an fdatasync failed: the pages it covered may never reach the disk, and the kernel
   * reports that once (a later fdatasync succeeds without them), so the flash is poisoned for good:
   * the error every later call throws, naming this first cause.
   */
  #failed(cause: unknown, what: string): UmqttError {
    return (this.#poison ??= new UmqttError({
      code: FLASH_SYNC,
      message: `file flash: ${what} of ${this.path} failed (${String(cause)}): what was written since the last good fdatasync may not be on the disk; close it and open the file again`,
      place: 'flash',
    }));
  }

  #flush(fd: number): void {
    this.#io('fdatasync', () => this.#fs.fdatasyncSync(fd));
    this.#unsynced = false;
    this.#syncs++;
  }

  #check(offset: number, length: number): void {
    if (this.#fd === undefined)
      throw new UmqttError({
        code: FLASH_CLOSED,
        message: `file flash: ${this.path} is closed`,
        place: 'flash',
      });
    if (this.#poison) throw this.#poison;
    if (!(
      Number.isInteger(offset) &&
      Number.isInteger(length) &&
      offset >= 0 &&
      length >= 0 &&
      offset + length <= this.byteLength
    ))
      throw invalid(`expected a range inside 0..${this.byteLength}, got ${length} bytes at ${offset}`);
  }
}
