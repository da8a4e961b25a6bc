// What an XS machine holds, read from an xsnap snapshot, and what it would take on an ESP32.
//
// xsnap (the XS build of npm @agoric/xsnap, 64-bit) writes its whole heap in a snapshot after a
// full garbage collection (xs/sources/xsSnapshot.c, fxWriteSnapshot): the atom HEAP holds every
// live slot, the atom BLOC every live chunk. So a snapshot is an exact count of the slots and
// chunk bytes in use, as XS on a device counts them.
//
// 64-bit to 32-bit (ESP32):
// - a slot is 32 bytes on 64-bit (next pointer 8, kind/flag/ID 8, value 16) and 16 on 32-bit
//   (4, 4, 8): the count stays, the bytes halve;
// - a chunk has a header (txChunk: its size and a pointer) of 16 bytes on 64-bit, 8 on 32-bit,
//   and its data rounded up to 8 bytes, 4 on 32-bit. What the data is depends on the slot that
//   owns the chunk, so each chunk is classified by walking the slots that point at it:
//   - strings and keys: the same characters (measured to their NUL);
//   - ArrayBuffer data, BigInt digits, RegExp code, host data: the same bytes;
//   - byte code: the same (XS byte code holds no pointers);
//   - the elements of an Array, arguments and a generator's stack: slots, 32 -> 16 bytes each;
//   - the tables of Map, Set and the global object: pointers, 8 -> 4 bytes each.
//   The rounding of 64-bit data to 8 bytes is kept except for strings: at most 4 bytes too many
//   per chunk, an upper bound.
// Slot layout read here: xs/sources/xsAll.h (txSlot, mx32bitID as xsnap builds it) and the kinds
// of its enum; chunk pointers in a snapshot are the chunk's offset in BLOC plus the header
// (fxMeasureChunk / fxProjectChunk).

const SLOT = 32;
const HEADER = 16;

const STRING = 5;
const BIGINT = 8;
const ARGUMENTS_SLOPPY = 14;
const ARGUMENTS_STRICT = 15;
const ARRAY = 16;
const ARRAY_BUFFER = 17;
const CODE = 19;
const GLOBAL = 25;
const HOST = 26;
const MAP = 27;
const REGEXP = 32;
const SET = 33;
const KEY = 43;
const STACK = 47;

export type ChunkKind = 'string' | 'bytes' | 'code' | 'slots' | 'table';

export interface XsMemory {
  /** Slots in use. */
  slots: number;
  /** Bytes of chunks in use, as xsnap (64-bit) holds them. */
  chunks64: number;
  /** The same chunks on a 32-bit device. */
  chunks32: number;
  /** Chunk bytes by what they hold, 32-bit. */
  chunksByKind: Record<ChunkKind, number>;
  /** slots x 16 + chunks32: what the machine takes on an ESP32. */
  bytes32: number;
  /**
   * bytes32 without the byte code chunks: what a device holds when the module is preloaded.
   * Loaded at run time (as here), XS copies a function's byte code into a chunk of its own for
   * each function instance it makes (closures too); preloaded, the byte code stays in flash.
   */
  preloaded32: number;
}

/** Reads the atoms of a snapshot: name -> payload. */
function atoms(snapshot: Uint8Array): Map<string, Uint8Array> {
  const view = new DataView(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);
  const out = new Map<string, Uint8Array>();
  const name = (p: number) => String.fromCharCode(...snapshot.subarray(p, p + 4));
  if (name(4) !== 'XS_M') throw new Error('not an XS snapshot');
  for (let p = 8; p + 8 <= snapshot.length;) {
    const size = view.getUint32(p);
    out.set(name(p + 4), snapshot.subarray(p + 8, p + size));
    p += size;
  }
  return out;
}

/** Slots, chunk bytes (64- and 32-bit) in use in the machine a snapshot holds. */
export function measureSnapshot(snapshot: Uint8Array): XsMemory {
  const a = atoms(snapshot);
  const bloc = a.get('BLOC')!;
  const heap = a.get('HEAP')!;
  const stack = a.get('STAC')!;
  const blocView = new DataView(bloc.buffer, bloc.byteOffset, bloc.byteLength);
  const kinds = new Map<number, ChunkKind>(); // chunk data offset -> kind

  const pointer = (v: DataView, p: number) => Number(v.getBigUint64(p, true));
  const visitSlots = (bytes: Uint8Array) => {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let p = 0; p + SLOT <= bytes.length; p += SLOT) visitSlot(v, p);
  };
  const mark = (at: number, kind: ChunkKind) => {
    if (!at || kinds.has(at)) return;
    kinds.set(at, kind);
    if (kind === 'slots') {
      const size = blocView.getInt32(at - HEADER, true);
      visitSlots(bloc.subarray(at, at - HEADER + size)); // the elements may own chunks too
    }
  };
  function visitSlot(v: DataView, p: number): void {
    const kind = v.getInt8(p + 8);
    const first = () => pointer(v, p + 16);
    switch (kind) {
      case STRING:
      case KEY:
        return mark(first(), 'string');
      case BIGINT:
      case ARRAY_BUFFER:
      case HOST:
        return mark(first(), 'bytes');
      case REGEXP:
        mark(first(), 'bytes');
        return mark(pointer(v, p + 24), 'bytes');
      case CODE:
        return mark(first(), 'code');
      case ARGUMENTS_SLOPPY:
      case ARGUMENTS_STRICT:
      case ARRAY:
      case STACK:
        return mark(first(), 'slots');
      case GLOBAL:
      case MAP:
      case SET:
        return mark(first(), 'table');
    }
  }
  visitSlots(stack);
  visitSlots(heap);

  const chunksByKind: Record<ChunkKind, number> = { string: 0, bytes: 0, code: 0, slots: 0, table: 0 };
  let chunks32 = 0;
  for (let p = 0; p + HEADER <= bloc.length;) {
    const size = blocView.getInt32(p, true);
    if (size < HEADER || p + size > bloc.length) throw new Error(`snapshot: bad chunk at ${p}`);
    const data = size - HEADER;
    const kind = kinds.get(p + HEADER);
    if (!kind) throw new Error(`snapshot: a chunk no slot owns at ${p}`);
    let bytes: number;
    if (kind === 'slots') bytes = (data / SLOT) * 16;
    else if (kind === 'table') bytes = (data / 8) * 4;
    else if (kind === 'string') {
      const end = bloc.indexOf(0, p + HEADER);
      bytes = (end - (p + HEADER) + 1 + 3) & ~3;
    } else bytes = data;
    chunksByKind[kind] += 8 + bytes;
    chunks32 += 8 + bytes;
    p += size;
  }
  const slots = heap.length / SLOT;
  const bytes32 = slots * 16 + chunks32;
  return { slots, chunks64: bloc.length, chunks32, chunksByKind, bytes32, preloaded32: bytes32 - chunksByKind.code };
}

/** `b - a`, field by field. */
export function minus(b: XsMemory, a: XsMemory): XsMemory {
  const chunksByKind = { ...b.chunksByKind };
  for (const k of Object.keys(chunksByKind) as ChunkKind[]) chunksByKind[k] -= a.chunksByKind[k];
  return {
    slots: b.slots - a.slots,
    chunks64: b.chunks64 - a.chunks64,
    chunks32: b.chunks32 - a.chunks32,
    chunksByKind,
    bytes32: b.bytes32 - a.bytes32,
    preloaded32: b.preloaded32 - a.preloaded32,
  };
}
