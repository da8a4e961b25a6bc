// A Flash backed by a file, so that a Node gateway's FlashStore survives a restart: the file is
// the partition. Synchronous reads and writes at offsets (the Store interface is synchronous),
// NOR semantics kept (a write ANDs into what is there; erase writes 0xFF), and each write and
// erase flushed to the disk (fdatasync) before it returns, so what FlashStore reports as stored
// is on the disk, in the order the store wrote it.
import { closeSync, fdatasyncSync, fstatSync, fsyncSync, openSync, readSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { UmqttError } from '@umqtt/codec';
import type { Flash } from '@umqtt/store-flash';

export interface FileFlashOptions {
  /** Bytes per erase block. Default 4096. */
  blockSize?: number | undefined;
  /**
   * Size of the partition. A new file is created with this many bytes of 0xFF (default 1 MiB);
   * an existing file must have exactly this size if it is given (a partition is never resized:
   * the store's log wraps around its end).
   */
  byteLength?: number | undefined;
  /**
   * Flush every write and erase to the disk before returning (default true). Without it the
   * store survives the process being killed (the kernel holds the writes) but not a crash of
   * the machine or a power cut.
   */
  sync?: boolean | undefined;
}

const invalid = (what: string) => new UmqttError('UMQTT_INVALID_ARGUMENT', `file flash: ${what}`, undefined, undefined, 'flash');

/**
 * A file as a flash partition.
 *
 * @example
 * const flash = new FileFlash('/var/lib/gateway/queue.flash', { byteLength: 4 << 20 });
 * const store = new FlashStore(flash, { maxRecords: 10_000 });
 * // ... new RobustClient({ ..., store }); at exit: client.stop(); store.close(); flash.close();
 */
export class FileFlash implements Flash {
  readonly path: string;
  readonly blockSize: number;
  readonly byteLength: number;
  readonly #sync: boolean;
  #fd: number | undefined;

  constructor(path: string, options: FileFlashOptions = {}) {
    const blockSize = options.blockSize ?? 4096;
    if (!(Number.isInteger(blockSize) && blockSize > 0)) throw invalid(`expected a positive whole blockSize, got ${blockSize}`);
    this.path = path;
    this.blockSize = blockSize;
    this.#sync = options.sync ?? true;
    let fd: number;
    try {
      fd = openSync(path, 'r+');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      fd = FileFlash.#create(path, options.byteLength ?? 1 << 20, blockSize);
    }
    const size = fstatSync(fd).size;
    if ((options.byteLength !== undefined && size !== options.byteLength) || size === 0 || size % blockSize) {
      closeSync(fd);
      throw invalid(`${path} holds ${size} bytes, expected ${options.byteLength ?? 'a whole number of blocks'} (blocks of ${blockSize})`);
    }
    this.byteLength = size;
    this.#fd = fd;
  }

  /** Creates the file erased, under a temporary name first: a partition never exists half made. */
  static #create(path: string, byteLength: number, blockSize: number): number {
    if (!(Number.isInteger(byteLength) && byteLength > 0 && byteLength % blockSize === 0))
      throw invalid(`expected a byteLength that is a whole number of ${blockSize}-byte blocks, got ${byteLength}`);
    const temp = `${path}.${process.pid}.new`;
    const fd = openSync(temp, 'w+');
    const chunk = new Uint8Array(Math.min(byteLength, 1 << 16)).fill(0xff);
    for (let at = 0; at < byteLength; at += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, byteLength - at), at);
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
    const fd = this.#check(offset, length);
    const out = new Uint8Array(length);
    for (let got = 0; got < length; ) {
      const n = readSync(fd, out, got, length - got, offset + got);
      if (n <= 0) throw new UmqttError('UMQTT_FLASH_READ', `file flash: ${this.path} ended at ${offset + got}`, undefined, undefined, 'flash');
      got += n;
    }
    return out;
  }

  write(offset: number, bytes: Uint8Array): void {
    const next = this.read(offset, bytes.length);
    for (let i = 0; i < next.length; i++) next[i]! &= bytes[i]!;
    this.#put(offset, next);
  }

  erase(block: number): void {
    if (!(Number.isInteger(block) && block >= 0 && (block + 1) * this.blockSize <= this.byteLength))
      throw invalid(`erase: expected a block from 0 to ${this.byteLength / this.blockSize - 1}, got ${block}`);
    this.#put(block * this.blockSize, new Uint8Array(this.blockSize).fill(0xff));
  }

  /** Closes the file; later calls throw. */
  close(): void {
    if (this.#fd === undefined) return;
    closeSync(this.#fd);
    this.#fd = undefined;
  }

  #put(offset: number, bytes: Uint8Array): void {
    const fd = this.#check(offset, bytes.length);
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, offset + done);
    if (this.#sync) fdatasyncSync(fd);
  }

  #check(offset: number, length: number): number {
    if (this.#fd === undefined) throw new UmqttError('UMQTT_FLASH_CLOSED', `file flash: ${this.path} is closed`, undefined, undefined, 'flash');
    if (!(Number.isInteger(offset) && Number.isInteger(length) && offset >= 0 && length >= 0 && offset + length <= this.byteLength))
      throw invalid(`expected a range inside 0..${this.byteLength}, got ${length} bytes at ${offset}`);
    return this.#fd;
  }
}
