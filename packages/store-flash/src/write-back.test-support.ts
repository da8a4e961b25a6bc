// Test support: a flash whose writes are buffered, like a file in the page cache (apps/node's
// FileFlash). Writes and erases change what reads see at once, but reach the "disk" only at a
// sync; until then each sector of the disk may end up holding any one of the contents the sector
// had since the last sync (the disk writes back dirty sectors whenever and in whatever order it
// likes, and a power cut stops it anywhere). A power cut here loses exactly that: `crash()`
// picks, per sector touched since the last sync, one of those versions at random, including the
// write or erase the cut interrupted. No vitest import.
import type { Flash, FlashSync } from './flash.js';
import { PowerLoss } from './simulated-flash.js';
import { prng } from './workload.test-support.js';

export interface WriteBackFlashOptions {
  blockSize: number;
  blocks: number;
  /** Bytes the disk writes atomically (default 16: smaller than the 512-byte sectors of disks, to tear more). */
  sector?: number;
  /** Defer `sync('call')` until `endTurn()` (returning a ticket reported then), like FileFlash with `sync: 'group'`. */
  turn?: boolean;
  /** Reported as `Flash.unordered` (FlashStore then writes each record committed, in one write). */
  unordered?: boolean;
  /** Initial content of the disk (a crash image). */
  bytes?: Uint8Array;
}

export class WriteBackFlash implements Flash {
  readonly blockSize: number;
  readonly byteLength: number;
  readonly options: WriteBackFlashOptions;
  readonly unordered: boolean;
  /** Writes, erases, syncs and turn ends: what `cutPowerAfter` counts. */
  operations = 0;
  /** Syncs that flushed something (or would have). */
  flushes = 0;
  /** Writes and erases. */
  writes = 0;
  powered = true;
  onSynced: ((ticket: number) => void) | undefined;
  /** The ticket of the next grouped sync. */
  #ticket = 1;
  #budget = Infinity;
  readonly #sector: number;
  /** What reads see (the kernel's view). */
  readonly #mem: Uint8Array;
  /** What is durable. */
  readonly #disk: Uint8Array;
  /** Each write (its bytes) or erase (undefined) since the last flush, in order: replayed by crash(). */
  readonly #since: [offset: number, length: number, bytes: Uint8Array | undefined][] = [];

  constructor(options: WriteBackFlashOptions) {
    this.options = options;
    this.blockSize = options.blockSize;
    this.byteLength = options.blockSize * options.blocks;
    this.unordered = options.unordered ?? false;
    this.#sector = options.sector ?? 16;
    this.#disk = new Uint8Array(this.byteLength).fill(0xff);
    if (options.bytes) this.#disk.set(options.bytes);
    this.#mem = this.#disk.slice();
  }

  /** After `n` more writes, erases or syncs, the next one is cut (a write or erase may have partly reached the disk; a sync did not happen). */
  cutPowerAfter(n: number): void {
    this.#budget = n;
  }

  /** Writes or erases not yet durable. */
  get dirty(): boolean {
    return this.#since.length > 0;
  }

  read(offset: number, length: number): Uint8Array {
    this.#on();
    return this.#mem.slice(offset, offset + length);
  }

  write(offset: number, bytes: Uint8Array): void {
    const torn = this.#spend();
    for (let i = 0; i < bytes.length; i++) this.#mem[offset + i]! &= bytes[i]!;
    this.#changed(offset, bytes.length, bytes.slice(), torn);
  }

  erase(block: number): void {
    const torn = this.#spend();
    this.#mem.fill(0xff, block * this.blockSize, (block + 1) * this.blockSize);
    this.#changed(block * this.blockSize, this.blockSize, undefined, torn);
  }

  sync(why: FlashSync): boolean | number {
    if (this.#spend()) throw new PowerLoss(`sync (${why})`);
    if (this.options.turn && why === 'call') return this.#ticket;
    this.#flush();
    return true;
  }

  /** The end of an event-loop turn: the grouped sync of FileFlash's `sync: 'group'`, then its ticket reported. */
  endTurn(): void {
    if (this.#spend()) throw new PowerLoss('end of turn');
    this.#flush();
    this.onSynced?.(this.#ticket++);
  }

  /** The disk after a power cut now: per dirty sector, one of its versions since the last sync (or the synced one), chosen by `seed`. */
  crash(seed: number): WriteBackFlash {
    const r = prng(seed);
    const disk = this.#disk.slice();
    // sector -> its contents after each write or erase since the last flush (sectors in the order
    // they were first written), from the writes replayed on the durable contents
    const S = this.#sector;
    const mem = disk.slice();
    const sectors = new Map<number, Uint8Array[]>();
    for (const [offset, length, bytes] of this.#since) {
      if (bytes) for (let i = 0; i < length; i++) mem[offset + i]! &= bytes[i]!;
      else mem.fill(0xff, offset, offset + length);
      for (let s = Math.floor(offset / S); s * S < offset + length; s++) {
        let list = sectors.get(s);
        if (!list) sectors.set(s, (list = []));
        list.push(mem.slice(s * S, (s + 1) * S));
      }
    }
    for (const [s, versions] of sectors) {
      const pick = Math.floor(r() * (versions.length + 1));
      if (pick) disk.set(versions[pick - 1]!, s * this.#sector);
    }
    return new WriteBackFlash({ ...this.options, bytes: disk });
  }

  #flush(): void {
    if (this.#since.length) this.flushes++;
    this.#disk.set(this.#mem);
    this.#since.length = 0;
  }

  #changed(offset: number, length: number, bytes: Uint8Array | undefined, torn: boolean): void {
    this.#since.push([offset, length, bytes]);
    this.writes++;
    if (torn) throw new PowerLoss(`write or erase of ${length} bytes at ${offset}`);
  }

  #on(): void {
    if (!this.powered) throw new PowerLoss('the power is off');
  }

  /** Counts an operation; true when it is the one the cut interrupts (then the power is off). */
  #spend(): boolean {
    this.#on();
    this.operations++;
    if (this.#budget <= 0) {
      this.powered = false;
      return true;
    }
    this.#budget--;
    return false;
  }
}
