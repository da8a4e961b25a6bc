// A Flash backed by a file, so that a Node gateway's FlashStore survives a restart: the file is
// the partition. Synchronous reads and writes at offsets (the Store interface is synchronous),
// NOR semantics kept (a write ANDs into what is there; erase writes 0xFF). The partition is read
// once when the file is opened and kept in RAM: reads, and the AND a write needs, never touch
// the disk. Every write and erase goes to the file (pwrite) before it returns, so a killed
// process loses nothing; `sync()`, which FlashStore calls at the end of each store call and
// wherever the order of its writes matters, flushes them to the disk (fdatasync), so what
// FlashStore reports as stored is on the disk, and a crash at any instant leaves a store that
// mounts. For FlashStore's speed it says `unordered` (each record is then one pwrite, written
// committed) and lends it Node's native CRC-32.
import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  openSync,
  readSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import * as zlib from 'node:zlib';
import { INVALID_ARGUMENT, UmqttError } from '@umqtt/codec';
import type { Flash, FlashSync } from '@umqtt/store-flash';
import { FLASH_CLOSED, FLASH_READ, FLASH_SYNC } from './errors.js';

/**
 * Options of {@link FileFlash}: the block size and byte length of a new partition, and when
 * writes are flushed to the disk.
 *
 * @example
 * const options: FileFlashOptions = { byteLength: 64 << 20, blockSize: 1 << 20, sync: 'turn' };
 */
export interface FileFlashOptions {
  /**
   * Bytes per erase block. Default 4096 (a file made with it keeps it: with another block size
   * the store refuses the file as a foreign partition, UMQTT_STORE_FOREIGN). A file has no erase
   * block of its own, and for a new file a larger one is much faster: FlashStore flushes the
   * file (fdatasync, at once even with `sync: 'turn'`) a few times for each block its log enters
   * or compacts, and a message larger than a block spans several. Blocks of 1 to 4 MiB (the
   * partition a whole number of them, 6 at least, e.g. 64 MiB) hold thousands of messages each.
   */
  blockSize?: number | undefined;
  /**
   * Size of the partition. A new file is created with this many bytes of 0xFF (default 1 MiB);
   * an existing file must have exactly this size if it is given (a partition is never resized:
   * the store's log wraps around its end). The whole partition is also held in RAM.
   */
  byteLength?: number | undefined;
  /**
   * When writes are flushed to the disk (fdatasync). Every write reaches the file (the kernel)
   * before it returns, so a killed process never loses what a store call confirmed.
   * - `true` (default): at every `sync()`: FlashStore's `add`, `update` and `remove` are on the
   *   disk when they return (one fdatasync per call, a few more when a call compacts or opens
   *   blocks), and survive a crash of the machine or a power cut.
   * - `'turn'`: the syncs FlashStore needs for the order of its writes happen at once; those
   *   that end a store call are grouped into one fdatasync started at the end of the
   *   event-loop turn (`setImmediate`), which runs in the background (libuv's thread pool)
   *   while the next turns go on; turns that end while it runs share the next one. A crash of
   *   the machine or a power cut can undo what the store calls since the start of the last
   *   completed fdatasync did (the last turn, or the few turns of one fdatasync, about a
   *   millisecond): messages accepted then are lost, messages removed then come back (sent
   *   again: a duplicate, for QoS 2 too) and their updates may be undone. Everything older is
   *   safe, and the store always mounts consistently. A failed grouped fdatasync is thrown by
   *   the next call on the flash.
   * - `false`: never. The store survives the process being killed (the kernel holds the
   *   writes), not a crash of the machine or a power cut.
   */
  sync?: boolean | 'turn' | undefined;
}

/** Node's native CRC-32 (zlib.crc32: Node 20.15 and later), 10x the store's plain-code one. */
const zcrc = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

const invalid = (what: string) =>
  new UmqttError({ code: INVALID_ARGUMENT, message: `file flash: ${what}`, place: 'flash' });

/**
 * A file as a flash partition.
 *
 * @example
 * const flash = new FileFlash('/var/lib/gateway/queue.flash', { byteLength: 4 << 20 });
 * const store = new FlashStore(flash, { maxRecords: 10_000 });
 * // ... new RobustClient({ ..., store }); at exit: client.stop(); store.close(); flash.close();
 */
export class FileFlash implements Flash {
  /** The file that holds the partition. */
  readonly path: string;
  readonly blockSize: number;
  readonly byteLength: number;
  readonly #mode: boolean | 'turn';
  /** The partition as the file holds it (the kernel's view: written, maybe not yet flushed). */
  #image: Uint8Array;
  #fd: number | undefined;
  /** Written since the last fdatasync started. */
  #dirty = false;
  /** 0xFF bytes to compare a write's target with (memcmp), grown as needed. */
  #ones = Buffer.alloc(0);
  /** A grouped fdatasync waiting for the end of the turn. */
  #pending: ReturnType<typeof setImmediate> | undefined;
  /** A grouped fdatasync running in the background: its file descriptor. */
  #running: number | undefined;
  /** closed while a grouped fdatasync ran: the descriptor is closed when it has finished. */
  #closeAfter = false;
  /** What a grouped fdatasync threw, for the next call. */
  #error: unknown;
  /** A write or erase failed part way: the file may differ from the image, read it again. */
  #stale = false;
  #syncs = 0;
  #writes = 0;

  constructor(path: string, options: FileFlashOptions = {}) {
    const blockSize = options.blockSize ?? 4096;
    if (!(Number.isInteger(blockSize) && blockSize > 0))
      throw invalid(`expected a positive whole blockSize, got ${blockSize}`);
    this.path = path;
    this.blockSize = blockSize;
    this.#mode = options.sync ?? true;
    let fd: number;
    let created = false;
    try {
      fd = openSync(path, 'r+');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      fd = FileFlash.#create(path, options.byteLength ?? 1 << 20, blockSize);
      created = true;
    }
    const size = fstatSync(fd).size;
    if ((options.byteLength !== undefined && size !== options.byteLength) || size === 0 || size % blockSize) {
      closeSync(fd);
      throw invalid(
        `${path} holds ${size} bytes, expected ${options.byteLength ?? 'a whole number of blocks'} (blocks of ${blockSize})`,
      );
    }
    this.byteLength = size;
    this.#fd = fd;
    this.#image = new Uint8Array(size);
    if (created) this.#image.fill(0xff);
    else this.#load();
  }

  /** Writes reach the disk in any order until a sync (the page cache): FlashStore writes each record committed, in one pwrite. */
  readonly unordered = true;

  /**
   * FlashStore computes its records' checksums with this (the same CRC-32 as its own) when the
   * platform has a native one.
   */
  readonly crc32 =
    zcrc &&
    ((bytes: Uint8Array, start: number, end: number, crc: number): number => zcrc(bytes.subarray(start, end), crc));

  /** pwrite calls made so far (creating the file not counted). */
  get writes(): number {
    return this.#writes;
  }

  /** fdatasync calls made so far (creating the file not counted). */
  get syncs(): number {
    return this.#syncs;
  }

  /** Creates the file erased, under a temporary name first: a partition never exists half made. */
  static #create(path: string, byteLength: number, blockSize: number): number {
    if (!(Number.isInteger(byteLength) && byteLength > 0 && byteLength % blockSize === 0))
      throw invalid(`expected a byteLength that is a whole number of ${blockSize}-byte blocks, got ${byteLength}`);
    const temp = `${path}.${process.pid}.new`;
    const fd = openSync(temp, 'w+');
    const chunk = new Uint8Array(Math.min(byteLength, 1 << 16)).fill(0xff);
    for (let at = 0; at < byteLength; at += chunk.length)
      writeSync(fd, chunk, 0, Math.min(chunk.length, byteLength - at), at);
    fdatasyncSync(fd);
    renameSync(temp, path);
    // make the new name itself durable (POSIX; a directory cannot be opened on Windows, nor needs this)
    let dir: number | undefined;
    try {
      dir = openSync(dirname(path), 'r');
      fsyncSync(dir);
    } catch {
      /* best effort */
    } finally {
      if (dir !== undefined) closeSync(dir);
    }
    return fd;
  }

  read(offset: number, length: number): Uint8Array {
    this.#check(offset, length);
    return this.#image.slice(offset, offset + length);
  }

  write(offset: number, bytes: Uint8Array): void {
    const n = bytes.length;
    this.#check(offset, n);
    const image = this.#image;
    if (n > 32 && this.#erased(offset, n))
      image.set(bytes, offset); // erased & x = x (memcpy)
    else for (let i = 0; i < n; i++) image[offset + i]! &= bytes[i]!;
    this.#put(offset, n);
  }

  erase(block: number): void {
    if (!(Number.isInteger(block) && block >= 0 && (block + 1) * this.blockSize <= this.byteLength))
      throw invalid(`erase: expected a block from 0 to ${this.byteLength / this.blockSize - 1}, got ${block}`);
    this.#check(0, 0);
    this.#image.fill(0xff, block * this.blockSize, (block + 1) * this.blockSize);
    this.#put(block * this.blockSize, this.blockSize);
  }

  /**
   * Flushes the writes made so far to the disk (see the `sync` option): at once, or, for
   * `'call'` with `sync: 'turn'`, at the end of this event-loop turn (then it returns false).
   */
  sync(why: FlashSync = 'order'): boolean {
    this.#check(0, 0);
    if ((!this.#dirty && this.#running === undefined) || this.#mode === false) return true;
    if (this.#mode === 'turn' && why === 'call') {
      this.#pending ??= setImmediate(() => {
        this.#pending = undefined;
        this.#background();
      });
      return false;
    }
    // at once; this also covers what a background fdatasync is still flushing
    this.#flush(this.#fd!);
    return true;
  }

  /** Starts the grouped fdatasync, unless one runs: then it starts again when that one ends. */
  #background(): void {
    const fd = this.#fd;
    if (fd === undefined || !this.#dirty || this.#running !== undefined) return;
    this.#running = fd;
    this.#dirty = false; // writes from now on wait for the next one
    fdatasync(fd, (e) => {
      this.#running = undefined;
      if (e) {
        this.#error ??= e;
        this.#dirty = true;
      } else this.#syncs++;
      if (this.#closeAfter) {
        this.#closeAfter = false;
        closeSync(fd);
      } else if (!e && this.#dirty && !this.#pending) this.#background(); // written while it ran
    });
  }

  /** Flushes what a grouped sync still waits for, then closes the file; later calls throw. */
  close(): void {
    if (this.#fd === undefined) return;
    const fd = this.#fd;
    try {
      if (this.#pending) {
        clearImmediate(this.#pending);
        this.#pending = undefined;
      }
      if (this.#mode === 'turn' && (this.#dirty || this.#running !== undefined)) this.#flush(fd);
    } finally {
      this.#fd = undefined;
      // a background fdatasync still uses the descriptor: it is closed when that ends
      if (this.#running === undefined) closeSync(fd);
      else this.#closeAfter = true;
    }
  }

  /** Reads the whole file into the image. */
  #load(): void {
    const out = this.#image;
    for (let got = 0; got < out.length;) {
      const n = readSync(this.#fd!, out, got, out.length - got, got);
      if (n <= 0)
        throw new UmqttError({
          code: FLASH_READ,
          message: `file flash: ${this.path} ended at ${got}`,
          place: 'flash',
        });
      got += n;
    }
    this.#stale = false;
  }

  /** Whether the image's bytes [offset, offset + length) are all 0xFF. */
  #erased(offset: number, length: number): boolean {
    if (this.#ones.length < length) this.#ones = Buffer.alloc(Math.max(length, 4096), 0xff);
    const image = this.#image;
    return Buffer.from(image.buffer, image.byteOffset + offset, length).equals(this.#ones.subarray(0, length));
  }

  /** Writes the image's bytes [offset, offset + length) to the file. */
  #put(offset: number, length: number): void {
    const fd = this.#fd!;
    this.#dirty = true;
    try {
      for (let done = 0; done < length; this.#writes++)
        done += writeSync(fd, this.#image, offset + done, length - done, offset + done);
    } catch (e) {
      this.#stale = true;
      throw e;
    }
  }

  #flush(fd: number): void {
    fdatasyncSync(fd);
    this.#dirty = false;
    this.#syncs++;
  }

  #check(offset: number, length: number): number {
    if (this.#fd === undefined)
      throw new UmqttError({
        code: FLASH_CLOSED,
        message: `file flash: ${this.path} is closed`,
        place: 'flash',
      });
    if (this.#error !== undefined) {
      const cause = this.#error;
      this.#error = undefined;
      this.#stale = true;
      throw new UmqttError({
        code: FLASH_SYNC,
        message: `file flash: flushing ${this.path} to the disk failed: ${String(cause)}`,
        place: 'flash',
      });
    }
    if (this.#stale) this.#load();
    if (!(
      Number.isInteger(offset) &&
      Number.isInteger(length) &&
      offset >= 0 &&
      length >= 0 &&
      offset + length <= this.byteLength
    ))
      throw invalid(`expected a range inside 0..${this.byteLength}, got ${length} bytes at ${offset}`);
    return this.#fd;
  }
}
