// A NOR flash partition in RAM for tests: enforces NOR semantics, counts erases per block, and
// can lose power at any step. Exported from the package so device tests (apps/esp32) can run
// a FlashStore on it; a device bundle that does not import it does not contain it.
import { INVALID_ARGUMENT, UmqttError } from '@umqtt/codec';
import { POWER_LOSS } from './errors.js';
import type { Flash } from './flash.js';

/**
 * Thrown by a SimulatedFlash when its power fails, and by every call after that.
 *
 * @example
 * flash.cutPowerAfter(10);
 * try { workload(store); } catch (e) { if (!(e instanceof PowerLoss)) throw e; } // code POWER_LOSS
 */
export class PowerLoss extends UmqttError {
  /**
   * @param what - the operation that lost power
   */
  constructor(what: string) {
    super({ code: POWER_LOSS, message: `simulated power loss: ${what}`, place: 'flash' });
  }
}

/**
 * Options of {@link SimulatedFlash}.
 *
 * @example
 * const flash = new SimulatedFlash({ blockSize: 4096, blocks: 8, seed: 42 });
 */
export interface SimulatedFlashOptions {
  /** Bytes per erase block. Default 4096. */
  blockSize?: number | undefined;
  /** Number of blocks. Default 16. */
  blocks?: number | undefined;
  /** Seed of the PRNG that decides how a cut operation tears. Default 1. */
  seed?: number | undefined;
  /** Initial content (copied), e.g. a `snapshot()`. Default: erased (all 0xFF). */
  bytes?: Uint8Array | undefined;
}

/**
 * What the operation cut by the power loss did to the flash.
 *
 * @example
 * if (flash.cut?.op === 'erase') console.log(`erase of block at ${flash.cut.offset} left it ${flash.cut.kept}`);
 */
export interface Cut {
  /** The operation cut: a write or an erase. */
  op: 'write' | 'erase';
  /** Offset of the write, or of the block erased. */
  offset: number;
  /** Bytes the write wanted to program, or the block size. */
  length: number;
  /** write: bytes programmed completely (the next one may be partly programmed); erase: how the block was left. */
  kept: number | 'untouched' | 'prefix' | 'suffix' | 'mixed' | 'erased' | 'random';
}

/** mulberry32: small, fast, seeded, good enough for tests. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A NOR flash partition in RAM.
 *
 * - NOR: `write` stores `old & new` (a 1 written over a 0 stays 0); `erase` sets a block to 0xFF.
 * - Power cuts: after `cutPowerAfter(n)`, `n` more writes/erases succeed; the next write
 *   programs only a prefix of its bytes (the byte after the prefix may be partly programmed,
 *   the rest is unchanged) and the next erase leaves the block in an undefined state (untouched,
 *   erased up to or from a random point, a mix of old, erased and random bytes, all random, or
 *   fully erased), chosen by the
 *   seeded PRNG; that operation and every later call (reads too) throw `PowerLoss`.
 * - `clone()` gives a powered flash with the same bytes, to mount again after a cut.
 *
 * @example
 * const flash = new SimulatedFlash({ blockSize: 4096, blocks: 16 });
 * flash.cutPowerAfter(100);
 * try { workload(new FlashStore(flash)); } catch (e) { if (!(e instanceof PowerLoss)) throw e; }
 * const store = new FlashStore(flash.clone()); // what survived
 */
export class SimulatedFlash implements Flash {
  /** Bytes per erase block. */
  readonly blockSize: number;
  /** Bytes in the partition. */
  readonly byteLength: number;
  /** Erases per block, torn ones included. */
  readonly eraseCounts: Uint32Array;
  /** Write and erase calls that changed (or may have changed) the flash. */
  operations = 0;
  /** write() calls. */
  writes = 0;
  /** erase() calls. */
  erases = 0;
  /** read() calls. */
  reads = 0;
  /** Writes and erases still allowed before the power fails; Infinity = never. */
  powerBudget = Infinity;
  /** False after the power failed. */
  powered = true;
  /** The operation the power cut tore, once it happened. */
  cut: Cut | undefined;
  readonly #mem: Uint8Array;
  readonly #seed: number;
  #random: () => number;

  /**
   * An erased (or `options.bytes`) partition of `blocks` blocks of `blockSize` bytes.
   *
   * @param options - {@link SimulatedFlashOptions}
   */
  constructor(options: SimulatedFlashOptions = {}) {
    const blockSize = options.blockSize ?? 4096;
    const blocks = options.blocks ?? 16;
    if (!(blockSize > 0 && Number.isInteger(blockSize) && blocks > 0 && Number.isInteger(blocks)))
      throw new UmqttError({
        code: INVALID_ARGUMENT,
        message: `flash geometry: expected whole positive blockSize and blocks, got ${blockSize} x ${blocks}`,
      });
    this.blockSize = blockSize;
    this.byteLength = blockSize * blocks;
    this.eraseCounts = new Uint32Array(blocks);
    this.#mem = new Uint8Array(this.byteLength).fill(0xff);
    if (options.bytes) this.#mem.set(options.bytes.subarray(0, this.byteLength));
    this.#seed = options.seed ?? 1;
    this.#random = prng(this.#seed);
  }

  /** After `n` more writes or erases, the next one is cut. */
  cutPowerAfter(n: number, seed = this.#seed): void {
    this.powerBudget = n;
    this.#random = prng(seed);
  }

  read(offset: number, length: number): Uint8Array {
    this.#check(offset, length);
    this.reads++;
    return this.#mem.slice(offset, offset + length);
  }

  write(offset: number, bytes: Uint8Array): void {
    this.#check(offset, bytes.length);
    const mem = this.#mem;
    let n = bytes.length;
    const torn = this.#spend();
    if (torn) {
      n = Math.floor(this.#random() * (n + 1));
      this.cut = { op: 'write', offset, length: bytes.length, kept: n };
      // the byte after the prefix may be partly programmed: some of its 0 bits reached
      if (n < bytes.length) mem[offset + n]! &= bytes[n]! | ((this.#random() * 256) | 0);
    }
    for (let i = 0; i < n; i++) mem[offset + i]! &= bytes[i]!;
    this.writes++;
    if (torn) throw new PowerLoss(`write of ${bytes.length} bytes at ${offset} kept ${n}`);
  }

  erase(block: number): void {
    if (!(Number.isInteger(block) && block >= 0 && block * this.blockSize < this.byteLength))
      throw new UmqttError({
        code: INVALID_ARGUMENT,
        message: `erase: expected a block from 0 to ${this.byteLength / this.blockSize - 1}, got ${block}`,
      });
    const torn = this.#spend();
    const start = block * this.blockSize;
    const part = this.#mem.subarray(start, start + this.blockSize);
    this.eraseCounts[block]!++;
    this.erases++;
    if (!torn) {
      part.fill(0xff);
      return;
    }
    const r = this.#random;
    const how = (['untouched', 'prefix', 'suffix', 'mixed', 'erased', 'random'] as const)[Math.floor(r() * 6)]!;
    if (how === 'prefix') part.fill(0xff, 0, Math.floor(r() * part.length));
    else if (how === 'suffix') part.fill(0xff, Math.floor(r() * part.length));
    else if (how === 'mixed')
      for (let i = 0; i < part.length; i++) {
        const x = r();
        if (x < 0.4) part[i] = 0xff;
        else if (x < 0.6) part[i] = (r() * 256) | 0;
      }
    else if (how === 'erased') part.fill(0xff);
    else if (how === 'random') for (let i = 0; i < part.length; i++) part[i] = (r() * 256) | 0;
    this.cut = { op: 'erase', offset: start, length: this.blockSize, kept: how };
    throw new PowerLoss(`erase of block ${block} left it ${how}`);
  }

  /** A copy of every byte. */
  snapshot(): Uint8Array {
    return this.#mem.slice();
  }

  /** A powered flash with the same geometry, bytes and erase counts (the device after a reboot). */
  clone(seed = this.#seed): SimulatedFlash {
    const copy = new SimulatedFlash({
      blockSize: this.blockSize,
      blocks: this.byteLength / this.blockSize,
      seed,
      bytes: this.#mem,
    });
    copy.eraseCounts.set(this.eraseCounts);
    return copy;
  }

  /** Counts a write or erase; true when it is the one the power cut tears. */
  #spend(): boolean {
    if (!this.powered) throw new PowerLoss('the power is off');
    this.operations++;
    if (this.powerBudget <= 0) {
      this.powered = false;
      return true;
    }
    this.powerBudget--;
    return false;
  }

  #check(offset: number, length: number): void {
    if (!this.powered) throw new PowerLoss('the power is off');
    if (!(
      Number.isInteger(offset) &&
      Number.isInteger(length) &&
      offset >= 0 &&
      length >= 0 &&
      offset + length <= this.byteLength
    ))
      throw new UmqttError({
        code: INVALID_ARGUMENT,
        message: `flash access: expected a range inside 0..${this.byteLength}, got ${length} bytes at ${offset}`,
      });
  }
}
