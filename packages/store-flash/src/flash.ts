// The flash a FlashStore lives on: one partition of NOR flash, shaped like Moddable's `flash`
// module (modules/files/flash: `new Flash(partitionName)` with `blockSize`, `byteLength`,
// `read(offset, byteLength)`, `write(offset, byteLength, buffer)`, `erase(sector)`).

/**
 * A partition of NOR flash. Offsets are bytes from the start of the partition.
 *
 * NOR semantics, which the store relies on and `SimulatedFlash` enforces:
 * - `erase(block)` sets every byte of block `block` (bytes `block * blockSize` up to the next
 *   block) to 0xFF;
 * - `write(offset, bytes)` can only clear bits: each stored byte becomes `old & new`. Writing
 *   0xFF leaves a byte as it is; writing over bytes already written clears more bits (the store
 *   uses this to commit a record by clearing one byte of its header).
 *
 * Mapping to Moddable's `flash` module (see `moddableFlash`): `blockSize`, `byteLength` and
 * `erase(block)` are the same; Moddable's `read(offset, byteLength)` returns an ArrayBuffer
 * (accepted here); Moddable's `write(offset, byteLength, buffer)` takes the length first and an
 * ArrayBuffer.
 *
 * @example
 * const ram = new Uint8Array(4 * 4096).fill(0xff);
 * const flash: Flash = {
 *   blockSize: 4096,
 *   byteLength: ram.length,
 *   read: (offset, length) => ram.slice(offset, offset + length),
 *   write: (offset, bytes) => bytes.forEach((b, i) => (ram[offset + i]! &= b)),
 *   erase: (block) => ram.fill(0xff, block * 4096, (block + 1) * 4096),
 * };
 */
export interface Flash {
  /** Bytes per erase block (4096 on ESP32 SPI flash). */
  readonly blockSize: number;
  /** Bytes in the partition: a whole number of blocks. */
  readonly byteLength: number;
  /** `length` bytes from `offset`, as a new Uint8Array or ArrayBuffer the caller may keep. */
  read(offset: number, length: number): Uint8Array | ArrayBuffer;
  /** Programs `bytes` at `offset` (stored = old & new). Synchronous: done when it returns. */
  write(offset: number, bytes: Uint8Array): void;
  /** Sets block `block` (0-based) to 0xFF. Synchronous: done when it returns. */
  erase(block: number): void;
  /**
   * Only for a flash whose writes and erases are buffered on their way to the medium, and may
   * reach it in any order (a file: the page cache). Without it, every write and erase is taken
   * to be durable, in order, when it returns (NOR flash on a device).
   *
   * Makes every write and erase so far durable. FlashStore calls it with `'order'` where the
   * order of its writes matters (before it retires a block whose messages it has just copied,
   * before it erases that block, after an erase, before a block header when another one is not
   * yet durable) and where what the robust client sends next depends on a change being durable
   * (a QoS 2 message's add and its SENT and RELEASING updates), and with `'call'` at the end of
   * every other `add`, `update` and `remove`. An `'order'` sync is never deferred: everything is
   * durable when it returns. A `'call'` sync may be deferred, grouping many store calls into one
   * flush: the flash then returns a ticket, a positive number (the same for the calls one flush
   * will cover, larger for later ones), and calls {@link Flash.onSynced} with it once everything
   * written before that ticket was handed out is durable. `true` (or nothing) means it is durable
   * now; `false`, deferred with no report (the store's `durable` then waits for a later sync).
   */
  sync?(why: FlashSync): boolean | number | void;
  /**
   * Set by FlashStore on a flash whose `sync('call')` may return tickets: the flash calls it with
   * a ticket once every write made before that ticket (and every earlier one) was handed out is
   * durable. Never called from inside the flash's own methods.
   */
  onSynced?: ((ticket: number) => void) | undefined;
  /**
   * Optional, with `sync`: true when writes between two syncs may reach the medium in any order
   * (a file in the page cache). A commit byte written after its record orders nothing there, so
   * FlashStore writes each record committed, in one write instead of two; its CRC decides
   * whether it counts (what already decides after a crash of such a flash).
   */
  readonly unordered?: boolean | undefined;
  /**
   * Optional: a faster CRC-32 than the store's own plain-code one (IEEE 802.3, as zlib's
   * `crc32`), e.g. a native one; FlashStore checksums record bodies with it. It must return
   * exactly what the store's CRC-32 does: continue `crc` over `bytes[start, end)` (start with 0).
   * Called as a plain function (without `this`).
   */
  crc32?: ((bytes: Uint8Array, start: number, end: number, crc: number) => number) | undefined;
}

/**
 * Why FlashStore asks for a sync: `'order'`, everything so far must be durable now (writes after
 * it must not reach the medium before those before it, nor a packet leave before them); `'call'`,
 * a store call is done and what it changed should become durable (now, or grouped with others).
 *
 * @example
 * const sync = (why: FlashSync) => (why === 'call' ? (dirty = true) : flushNow());
 */
export type FlashSync = 'order' | 'call';

/**
 * The shape of a Moddable `flash` object (`import Flash from "flash"`).
 *
 * @example
 * import Flash from 'flash'; // Moddable
 * const partition: ModdableFlash = new Flash('storage');
 * const store = new FlashStore(moddableFlash(partition));
 */
export interface ModdableFlash {
  /** Bytes per erase block (sector). */
  readonly blockSize: number;
  /** Bytes in the partition. */
  readonly byteLength: number;
  /** `byteLength` bytes from `offset`. */
  read(offset: number, byteLength: number): ArrayBuffer;
  /** Programs `byteLength` bytes of `buffer` at `offset`. */
  write(offset: number, byteLength: number, buffer: ArrayBuffer): void;
  /** Erases sector `sector` (sets it to 0xFF). */
  erase(sector: number): void;
}

/**
 * Adapts a Moddable `flash` partition to `Flash`.
 *
 * @example
 * import Flash from "flash";
 * const store = new FlashStore(moddableFlash(new Flash("storage")));
 */
export function moddableFlash(f: ModdableFlash): Flash {
  return {
    blockSize: f.blockSize,
    byteLength: f.byteLength,
    read: (offset, length) => f.read(offset, length),
    write: (offset, bytes) => f.write(offset, bytes.length, bytes.slice().buffer),
    erase: (block) => f.erase(block),
  };
}
