// FlashStore: the robust client's Store on raw NOR flash, log-structured and power-cut safe.
//
// On flash (all numbers little-endian; README.md has the full picture):
//
//   block   = header (28 bytes) + data area (blockSize - 28 bytes)
//   header  = A: magic u32, erase count u32, CRC u32        written after each erase
//             B: seq u32, first u32, next key u32, CRC u32   written when the block joins the log
//   record  = commit u8, type u8, length u32, CRC u32, body  (length counts the whole record)
//
// The log is a byte stream through the data areas of physically consecutive blocks with
// consecutive `seq` (tail .. head, wrapping around the partition); a record may run on into the
// next block, whose `first` tells where the first record starting in it begins (the data area
// size when none does). A record is written with commit = 0xFF, then committed by clearing that
// byte to 0x00 (NOR can clear bits without an erase): a record counts only when committed and
// its CRC (which also covers the block's seq and the record's offset, so stale or copied bytes
// never pass) is right. (On a flash whose writes reach the medium in any order until a sync,
// `Flash.unordered`, a commit written second orders nothing: the record is written committed,
// in one write, and its CRC decides.) Messages are MSG records; progress and removal are small
// UPD and DEL records appended after them, never rewrites. Compaction copies the tail block's live messages
// (with their current state) to the head, retires the tail (clears its B header: no longer
// part of the log, even if the erase that follows is cut), erases it and writes its A header,
// so blocks are erased strictly in turn. Mount reads the headers, finds the log, replays its
// records in order, and resumes writing after the last good one.
import { UmqttError, decodeUtf8, encodeUtf8 } from '@umqtt/codec';
import type { NewMessage, Store, StoredMessage } from '@umqtt/robust';
import { crc32 } from './crc32.js';
import type { Flash, FlashSync } from './flash.js';

const MAGIC = 0x31465175; // "uQF1"
/** Bytes of a block header: A (12) + B (16). */
const HEADER = 28;
/** Bytes of a record header: commit, type, length, CRC. */
const REC = 10;
const MSG = 0x4d;
const UPD = 0x55;
const DEL = 0x44;
const UPD_LEN = REC + 11; // key u32, id u16, stage u8, attempts u32
const DEL_LEN = REC + 4; // key u32
/** MSG body: key u32, id u16, stage u8, flags u8, attempts u32, [priority f64], [expiresAt f64], topic length u16, topic, payload. */
const MSG_FIXED = REC + 14;
/**
 * Most bytes a message record adds to its topic and payload.
 *
 * @example
 * const flashBytes = messageBytes(message) + RECORD_OVERHEAD; // at most, on flash
 */
export const RECORD_OVERHEAD = MSG_FIXED + 16;
/**
 * RAM the index keeps per held message: key, location, length, size, attempts (u32 each), id (u16),
 * stage (u8).
 *
 * @example
 * const ramForIndex = 200 * INDEX_BYTES_PER_MESSAGE; // 4600 bytes for 200 held messages
 */
export const INDEX_BYTES_PER_MESSAGE = 23;
/** Room always kept for one state record, so update() and remove() never run out of it. */
const SLACK = 32;

const ZEROS = /* @__PURE__ */ new Uint8Array(16);

const get32 = (a: Uint8Array, i: number): number =>
  (a[i]! | (a[i + 1]! << 8) | (a[i + 2]! << 16) | (a[i + 3]! << 24)) >>> 0;
const get16 = (a: Uint8Array, i: number): number => a[i]! | (a[i + 1]! << 8);
function put32(a: Uint8Array, i: number, v: number): void {
  a[i] = v;
  a[i + 1] = v >>> 8;
  a[i + 2] = v >>> 16;
  a[i + 3] = v >>> 24;
}
function put16(a: Uint8Array, i: number, v: number): void {
  a[i] = v;
  a[i + 1] = v >>> 8;
}
const bytesOf = (r: Uint8Array | ArrayBuffer): Uint8Array => (r instanceof Uint8Array ? r : new Uint8Array(r));
function erased(a: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== 0xff) return false;
  return true;
}
/** Where a MSG record's topic length is: after the fixed fields and the optional priority and expiry. */
const topicAt = (r: Uint8Array): number => 22 + (r[17]! & 8 ? 8 : 0) + (r[17]! & 16 ? 8 : 0);
function full(what: string): UmqttError {
  return new UmqttError('UMQTT_STORE_FULL', `store: ${what}`, undefined, undefined, 'store');
}

/**
 * Options of {@link FlashStore}.
 *
 * @example
 * const store = new FlashStore(flash, { maxRecords: 200, maxMessageBytes: 1024 });
 */
export interface FlashStoreOptions {
  /**
   * Messages held at most. Each may cost up to RECORD_OVERHEAD (40) bytes of flash beyond its
   * topic and payload, and `capacity` keeps that much aside for each. Default: one per 128
   * bytes of usable flash, at most 1000.
   */
  maxRecords?: number | undefined;
  /**
   * Largest message (topic in UTF-8 plus payload) accepted. The space compaction keeps free
   * grows with it (two blocks plus the blocks one such message spans). Default: what fits in
   * one block's data area (blockSize - 68).
   */
  maxMessageBytes?: number | undefined;
}

/**
 * What a FlashStore reports about its flash (see README.md for measured figures).
 *
 * @example
 * const { usedBlocks, freeBytes, eraseCounts } = store.stats;
 * console.log(`${usedBlocks} blocks in use, ${freeBytes} bytes free, max erases ${Math.max(...eraseCounts)}`);
 */
export interface FlashStoreStats {
  /** Blocks in the partition. */
  blocks: number;
  /** Bytes per erase block. */
  blockSize: number;
  /** Blocks in the log now. */
  usedBlocks: number;
  /** Blocks kept free for compaction. */
  reserveBlocks: number;
  /** Flash bytes message records may occupy (the partition minus what compaction needs). */
  budget: number;
  /** Flash bytes the held messages' records occupy. */
  liveBytes: number;
  /** Bytes that can still be appended before compaction is needed. */
  freeBytes: number;
  /** Erases per block, as recorded in the block headers. */
  eraseCounts: number[];
  /** Blocks compacted (copied forward and erased) since the store was opened. */
  compactions: number;
  /** Records dropped because their checksum failed when read back (flash decay). */
  corrupt: number;
  /** RAM of the index: INDEX_BYTES_PER_MESSAGE per slot allocated. */
  indexBytes: number;
}

/**
 * A Store on NOR flash that survives power cuts at any instant: what `add` returned for is on
 * flash, committed; `update` and `remove` are on flash when they return. Messages live on
 * flash; RAM holds a small index (INDEX_BYTES_PER_MESSAGE bytes per message), and `messages()`
 * reads them back. Opening a store on a flash mounts it: messages held before a restart come
 * back with their keys and states. A blank or foreign partition is formatted as it is used.
 *
 * @example
 * import Flash from "flash"; // Moddable
 * const store = new FlashStore(moddableFlash(new Flash("storage")), { maxRecords: 200 });
 * const client = new RobustClient({ ..., store, policy: { maxMessages: 200 } });
 */
export class FlashStore implements Store {
  /** The flash partition the store lives on. */
  readonly flash: Flash;
  /** Largest `bytes` (topics and payloads) the store can hold, from the partition size and `maxRecords`. */
  readonly capacity: number;
  /** Messages held at most (the option, or its default). */
  readonly maxRecords: number;
  /** Largest message (UTF-8 topic plus payload) accepted (the option, or its default). */
  readonly maxMessageBytes: number;
  readonly #B: number;
  readonly #N: number;
  /** Data bytes per block. */
  readonly #C: number;
  readonly #reserve: number;
  readonly #budget: number;
  readonly #seq: Uint32Array;
  /** Erase counts from the A headers; -1 where none is readable. */
  readonly #erases: Int32Array;
  /** 1 when a block is known to be erased beyond a valid A header. */
  readonly #clean: Uint8Array;
  #head = -1;
  #tail = 0;
  #used = 0;
  /** Write position in the head's data area; C = full (the next record opens a new block). */
  #wp = 0;
  #nextSeq = 1;
  #nextKey = 1;
  /** Flash bytes of the held messages' records. */
  #live = 0;
  #bytes = 0;
  #closed = false;
  /** A flash call failed: the RAM view may be wrong, mount again before the next change. */
  #failed = false;
  #compactions = 0;
  #corrupt = 0;
  #cache: Map<number, Uint8Array> | undefined;
  readonly #tmp = new Uint8Array(16);
  readonly #f64 = new DataView(new ArrayBuffer(8));
  // the index, in key order
  #n = 0;
  #keys = new Uint32Array(0);
  #locs = new Uint32Array(0);
  #lens = new Uint32Array(0);
  #sizes = new Uint32Array(0);
  #tries = new Uint32Array(0);
  #ids = new Uint16Array(0);
  #stages = new Uint8Array(0);

  /**
   * Mounts the store on `flash`: replays the log (messages held before a restart come back with
   * their keys and states), or formats a blank or foreign partition as it is used.
   *
   * @param flash - the partition, e.g. `moddableFlash(new Flash('storage'))` or a {@link SimulatedFlash}
   * @param options - {@link FlashStoreOptions}
   */
  constructor(flash: Flash, options: FlashStoreOptions = {}) {
    this.flash = flash;
    const B = (this.#B = flash.blockSize);
    const N = (this.#N = Math.floor(flash.byteLength / B));
    const C = (this.#C = B - HEADER);
    this.maxMessageBytes = options.maxMessageBytes ?? C - RECORD_OVERHEAD;
    // A compaction step copies what starts in the tail: up to a block plus one record running
    // on; one more block absorbs what a power cut wastes (the rest of the head is abandoned).
    this.#reserve = 2 + Math.ceil((this.maxMessageBytes + RECORD_OVERHEAD - 1) / C);
    this.#budget = (N - this.#reserve - 1) * C - SLACK;
    this.maxRecords = options.maxRecords ?? Math.max(1, Math.min(1000, Math.floor(this.#budget / 128)));
    this.capacity = this.#budget - this.maxRecords * RECORD_OVERHEAD;
    if (!(
      C >= 64 &&
      this.maxMessageBytes > 0 &&
      this.#budget >= this.maxMessageBytes + RECORD_OVERHEAD &&
      this.capacity > 0
    ))
      throw new UmqttError(
        'UMQTT_INVALID_ARGUMENT',
        `flash store: expected room for ${this.maxRecords} messages of up to ${this.maxMessageBytes} bytes, got ${N} blocks of ${B} bytes (${this.#reserve} kept for compaction)`,
        undefined,
        undefined,
        'store',
      );
    this.#seq = new Uint32Array(N);
    this.#erases = new Int32Array(N);
    this.#clean = new Uint8Array(N);
    this.#mount();
  }

  get count(): number {
    return this.#n;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Figures about the flash: blocks used and reserved, bytes live and free, erase counts, compactions. */
  get stats(): FlashStoreStats {
    return {
      blocks: this.#N,
      blockSize: this.#B,
      usedBlocks: this.#used,
      reserveBlocks: this.#reserve,
      budget: this.#budget,
      liveBytes: this.#live,
      freeBytes: Math.max(0, this.#room() - this.#reserve * this.#C),
      eraseCounts: Array.from(this.#erases, (n) => Math.max(n, 0)),
      compactions: this.#compactions,
      corrupt: this.#corrupt,
      indexBytes: this.#keys.length * INDEX_BYTES_PER_MESSAGE,
    };
  }

  add(m: NewMessage): number {
    this.#ready();
    const topic = encodeUtf8(m.topic);
    const size = topic.length + m.payload.length; // messageBytes(m), from the bytes at hand
    if (this.#n >= this.maxRecords) throw full(`expected fewer than ${this.maxRecords} messages, got ${this.#n}`);
    if (this.#bytes + size > this.capacity)
      throw full(`expected room for ${size} bytes, got ${this.capacity - this.#bytes} of ${this.capacity} free`);
    if (size > this.maxMessageBytes || topic.length > 0xffff)
      throw full(`expected a message of at most ${this.maxMessageBytes} bytes (topic in UTF-8 + payload), got ${size}`);
    const hasP = !Object.is(m.priority, 0);
    const hasE = !Object.is(m.expiresAt, 0);
    let p = MSG_FIXED - 2 + (hasP ? 8 : 0) + (hasE ? 8 : 0);
    const rec = new Uint8Array(p + 2 + size);
    // capacity keeps RECORD_OVERHEAD aside per record, so this only holds if that reckoning is wrong
    if (this.#live + rec.length > this.#budget)
      throw full(
        `expected room for a ${rec.length}-byte record, got ${this.#budget - this.#live} of ${this.#budget} bytes of flash free`,
      );
    this.#ensure(rec.length);
    const key = this.#nextKey++;
    if (key > 0xffffffff) throw full('keys used up');
    rec[1] = MSG;
    put32(rec, 2, rec.length);
    put32(rec, 10, key);
    rec[17] = m.qos | (m.retain ? 4 : 0) | (hasP ? 8 : 0) | (hasE ? 16 : 0);
    const f = this.#f64;
    p = 22;
    for (const [has, v] of [
      [hasP, m.priority],
      [hasE, m.expiresAt],
    ] as const)
      if (has) {
        f.setFloat64(0, v, true);
        for (let i = 0; i < 8; i++) rec[p++] = f.getUint8(i);
      }
    put16(rec, p, topic.length);
    rec.set(topic, p + 2);
    rec.set(m.payload, p + 2 + topic.length);
    const loc = this.#append(rec);
    const j = this.#slot(key);
    this.#locs[j] = loc;
    this.#lens[j] = rec.length;
    this.#sizes[j] = size;
    this.#live += rec.length;
    this.#bytes += size;
    this.#sync('call');
    return key;
  }

  update(key: number, id: number, stage: number, attempts: number): void {
    this.#ready();
    let j = this.#find(key);
    if (j < 0 || (this.#ids[j] === id && this.#stages[j] === stage && this.#tries[j] === attempts)) return;
    this.#ensure(UPD_LEN);
    j = this.#find(key); // compaction may have dropped a corrupt record
    if (j < 0) return;
    const r = new Uint8Array(UPD_LEN);
    r[1] = UPD;
    put32(r, 2, UPD_LEN);
    put32(r, 10, key);
    put16(r, 14, id);
    r[16] = stage;
    put32(r, 17, attempts);
    this.#append(r);
    this.#ids[j] = id;
    this.#stages[j] = stage;
    this.#tries[j] = attempts;
    this.#sync('call');
  }

  remove(key: number): void {
    this.#ready();
    if (this.#find(key) < 0) return;
    this.#ensure(DEL_LEN);
    const r = new Uint8Array(DEL_LEN);
    r[1] = DEL;
    put32(r, 2, DEL_LEN);
    put32(r, 10, key);
    const j = this.#find(key);
    if (j < 0) return;
    this.#append(r);
    this.#drop(j);
    this.#sync('call');
  }

  /**
   * The payload of a held message, read from flash (undefined for an unknown key, or a record
   * that no longer checks out, which is then dropped as `messages()` drops it). With it, `@umqtt/robust` keeps held messages in RAM without
   * their payloads and reads each back when it sends it.
   */
  payload(key: number): Uint8Array | undefined {
    if (this.#failed) this.#remount();
    const j = this.#find(key);
    if (j < 0) return undefined;
    const r = this.#load(j);
    if (!r) return void this.#drop(j); // decayed: gone, as messages() would find it
    const p = topicAt(r);
    return r.subarray(p + 2 + get16(r, p));
  }

  messages(): StoredMessage[] {
    if (this.#failed) this.#remount();
    const out: StoredMessage[] = [];
    const f = this.#f64;
    for (let j = 0; j < this.#n; j++) {
      const r = this.#load(j);
      if (!r) {
        this.#drop(j--);
        continue;
      }
      const flags = r[17]!;
      let p = 22;
      const num = (has: number): number => {
        if (!has) return 0;
        for (let i = 0; i < 8; i++) f.setUint8(i, r[p++]!);
        return f.getFloat64(0, true);
      };
      const priority = num(flags & 8);
      const expiresAt = num(flags & 16);
      const t = get16(r, p);
      p += 2;
      out.push({
        key: this.#keys[j]!,
        topic: decodeUtf8(r, p, p + t, true),
        payload: r.subarray(p + t),
        qos: (flags & 3) as 0 | 1 | 2,
        retain: (flags & 4) !== 0,
        priority,
        expiresAt,
        id: this.#ids[j]!,
        stage: this.#stages[j]!,
        attempts: this.#tries[j]!,
      });
    }
    return out;
  }

  close(): void {
    this.#closed = true;
  }

  // ---- the log ---------------------------------------------------------------------------

  #ready(): void {
    if (this.#closed) throw new UmqttError('UMQTT_STORE_CLOSED', 'the store is closed', undefined, undefined, 'store');
    if (this.#failed) this.#remount();
  }

  #remount(): void {
    this.#mount();
    this.#failed = false;
  }

  /** Bytes that can be appended without erasing anything: the rest of the head and the free blocks. */
  #room(): number {
    return (this.#head < 0 ? 0 : this.#C - this.#wp) + (this.#N - this.#used) * this.#C;
  }

  /** Compacts until `n` bytes fit without touching the blocks compaction needs. */
  #ensure(n: number): void {
    for (let steps = 0; this.#room() - this.#reserve * this.#C < n; steps++) {
      if (this.#used < 2 || steps > this.#N) throw full(`no room for ${n} bytes of flash even after compaction`);
      this.#compact();
    }
  }

  /** Copies the tail block's live messages to the head, then retires and erases the tail. */
  #compact(): void {
    const t = this.#tail;
    const B = this.#B;
    for (let j = 0; j < this.#n; j++) {
      if (Math.floor(this.#locs[j]! / B) !== t) continue;
      if (this.#room() < this.#lens[j]!) throw full('no room to compact');
      const r = this.#load(j);
      if (!r) {
        this.#drop(j--);
        continue;
      }
      put16(r, 14, this.#ids[j]!);
      r[16] = this.#stages[j]!;
      put32(r, 18, this.#tries[j]!);
      this.#locs[j] = this.#append(r);
    }
    this.#sync('order'); // the copies are durable before their originals leave the log
    this.#io(() => this.flash.write(t * B + 12, ZEROS)); // retire: seq 0 and a bad CRC
    this.#sync('order'); // retired before any of it is erased (a half-erased block must not be in the log)
    this.#erase(t, this.#erases[t]!);
    this.#tail = (t + 1) % this.#N;
    this.#used--;
    this.#compactions++;
  }

  /**
   * Writes a record at the end of the log (its commit byte and CRC are set here), then commits
   * it; returns where it starts. On an `unordered` flash it is written committed: see the top.
   */
  #append(r: Uint8Array): number {
    const B = this.#B;
    const C = this.#C;
    if (this.#head < 0 || this.#wp >= C) this.#open(0);
    const at = this.#head * B + HEADER + this.#wp;
    r[0] = this.flash.unordered ? 0 : 0xff;
    put32(r, 6, this.#crc(r, this.#seq[this.#head]!, this.#wp));
    for (let done = 0; ;) {
      const n = Math.min(r.length - done, C - this.#wp);
      const chunk = r.subarray(done, (done += n));
      const to = this.#head * B + HEADER + this.#wp;
      this.#io(() => this.flash.write(to, chunk));
      this.#wp += n;
      if (done === r.length) break;
      this.#open(Math.min(r.length - done, C));
    }
    if (r[0]) this.#io(() => this.flash.write(at, ZEROS.subarray(0, 1))); // commit
    return at;
  }

  /** Adds the next block to the log (erasing it first if needed); `first` = where its first record starts. */
  #open(first: number): void {
    const N = this.#N;
    if (this.#used >= N) throw full('no free block');
    const b = this.#head < 0 ? this.#tail : (this.#head + 1) % N;
    if (!this.#clean[b]) {
      const B = this.#B;
      const d = this.#read(b * B, 12);
      const a = get32(d, 0) === MAGIC && get32(d, 8) === crc32(d, 0, 8);
      const count = a ? get32(d, 4) : -1;
      if (!((a || erased(d)) && this.#blank(b * B + 12, B - 12))) this.#erase(b, count);
      else if (!a) this.#writeA(b, count);
    }
    const h = this.#tmp;
    put32(h, 0, this.#nextSeq);
    put32(h, 4, first);
    put32(h, 8, this.#nextKey);
    put32(h, 12, crc32(h, 0, 12, MAGIC ^ b));
    this.#clean[b] = 0;
    // Everything before a block joins the log is durable first: only the head block can hold
    // writes a crash may lose (a crash costs at most that block, like a cut on a device), and block
    // headers become durable in log order (a later one alone would cut the log off before it).
    this.#sync('order');
    this.#io(() => this.flash.write(b * this.#B + 12, h));
    this.#seq[b] = this.#nextSeq++;
    if (this.#head < 0) this.#tail = b;
    this.#head = b;
    this.#used++;
    this.#wp = 0;
  }

  /** Erases block `b`, then records its erase count (`count` erases before this one; -1: unknown). */
  #erase(b: number, count: number): void {
    this.#clean[b] = 0;
    this.#io(() => this.flash.erase(b));
    this.#writeA(b, (count < 0 ? this.#estimate() : count) + 1);
    this.#sync('order'); // erased for good before the block is used again
  }

  /** Writes block `b`'s A header with its erase count (-1: unknown, take the others' lowest). */
  #writeA(b: number, count: number): void {
    if (count < 0) count = this.#estimate();
    const a = this.#tmp.subarray(0, 12);
    put32(a, 0, MAGIC);
    put32(a, 4, count);
    put32(a, 8, crc32(a, 0, 8));
    this.#io(() => this.flash.write(b * this.#B, a));
    this.#erases[b] = count;
    this.#clean[b] = 1;
  }

  /** For a count lost with its header (a cut right after an erase): the lowest known, since blocks are erased in turn. */
  #estimate(): number {
    return Math.max(
      0,
      this.#erases.reduce((x, y) => (y >= 0 && (x < 0 || y < x) ? y : x), -1),
    );
  }

  /** Asks a flash that buffers its writes to make them durable (see `Flash.sync`). */
  #sync(why: FlashSync): void {
    const flash = this.flash;
    if (flash.sync) this.#io(() => flash.sync!(why));
  }

  /** A flash call; if it throws, the next change mounts again first. */
  #io<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      this.#failed = true;
      throw e;
    }
  }

  /** Whether `len` bytes from physical `at` (inside one block) are erased, read 4 KiB at a time: a large block (a file's) is never read whole into RAM. */
  #blank(at: number, len: number): boolean {
    for (let n = 0; n < len; n += 4096) if (!erased(this.#read(at + n, Math.min(4096, len - n)))) return false;
    return true;
  }

  /** `len` bytes from physical `at`, running on through the data areas of the following blocks. */
  #read(at: number, len: number): Uint8Array {
    const B = this.#B;
    const out = new Uint8Array(len);
    for (let got = 0; got < len;) {
      const b = Math.floor(at / B);
      const n = Math.min(len - got, B - (at - b * B));
      const cache = this.#cache;
      if (cache) {
        let d = cache.get(b);
        if (!d) {
          if (cache.size > 1) cache.delete(cache.keys().next().value!);
          cache.set(b, (d = this.#io(() => bytesOf(this.flash.read(b * B, B)))));
        }
        out.set(d.subarray(at - b * B, at - b * B + n), got);
      } else
        out.set(
          this.#io(() => bytesOf(this.flash.read(at, n))),
          got,
        );
      got += n;
      at = ((b + 1) % this.#N) * B + HEADER;
    }
    return out;
  }

  /** CRC of a record starting at data offset `off` of the block with `seq`. */
  #crc(r: Uint8Array, seq: number, off: number): number {
    const s = this.#tmp;
    put32(s, 0, seq);
    put32(s, 4, off);
    // the body with the flash's own CRC-32 if it has a faster one
    return (this.flash.crc32 ?? crc32)(r, REC, r.length, crc32(r, 1, 6, crc32(s, 0, 8)));
  }

  /** Message `j`'s record read back, or undefined if it fails its checksum. */
  #load(j: number): Uint8Array | undefined {
    const at = this.#locs[j]!;
    const b = Math.floor(at / this.#B);
    const r = this.#read(at, this.#lens[j]!);
    if (r[0] === 0 && get32(r, 6) === this.#crc(r, this.#seq[b]!, at - b * this.#B - HEADER)) return r;
    this.#corrupt++;
    return undefined;
  }

  // ---- mount -----------------------------------------------------------------------------

  #mount(): void {
    const B = this.#B;
    const C = this.#C;
    const N = this.#N;
    const seq = this.#seq;
    const first = new Uint32Array(N);
    const keys = new Uint32Array(N);
    let head = -1;
    let next = 0;
    let top = 0;
    for (let b = 0; b < N; b++) {
      const h = this.#read(b * B, HEADER);
      this.#clean[b] = 0;
      this.#erases[b] = get32(h, 0) === MAGIC && get32(h, 8) === crc32(h, 0, 8) ? get32(h, 4) : -1;
      seq[b] = get32(h, 24) === crc32(h, 12, 24, MAGIC ^ b) ? get32(h, 12) : 0;
      first[b] = get32(h, 16);
      keys[b] = get32(h, 20);
      if (seq[b]! > top) top = seq[(head = b)]!;
    }
    // the log: the newest block and the consecutive ones before it
    let tail = head;
    let used = head < 0 ? 0 : 1;
    for (let p = (tail - 1 + N) % N; used < N && seq[p] && seq[p] === seq[tail]! - 1; p = (p - 1 + N) % N) {
      tail = p;
      used++;
    }
    for (let i = 0; i < used; i++) next = Math.max(next, keys[(tail + i) % N]!);
    this.#head = head;
    this.#tail = head < 0 ? 0 : tail;
    this.#used = used;
    this.#nextSeq = top + 1;
    // replay
    // replay, straight into the index (no per-message objects: mount needs no more RAM than the index)
    this.#n = this.#live = this.#bytes = 0;
    let i = 0;
    let off = used ? first[tail]! : C;
    let endI = -1;
    let endOff = 0;
    this.#cache = new Map();
    try {
      while (i < used) {
        const r = off < C ? this.#scan(i, off, first) : 0;
        if (typeof r === 'number') {
          if (r) off += r;
          else if (++i < used) off = first[(tail + i) % N]!;
          continue;
        }
        const at = ((tail + i) % N) * B + HEADER + off;
        const key = get32(r, 2 + 8);
        next = Math.max(next, key + 1);
        let j = this.#find(key);
        if (r[1] === MSG) {
          if (j < 0) j = this.#slot(key);
          else this.#live -= this.#lens[j]!;
          this.#bytes -= this.#sizes[j]!;
          const p = topicAt(r);
          this.#locs[j] = at;
          this.#live += this.#lens[j] = r.length;
          this.#bytes += this.#sizes[j] = r.length - p - 2; // topic (UTF-8) and payload: messageBytes
          this.#ids[j] = get16(r, 14);
          this.#stages[j] = r[16]!;
          this.#tries[j] = get32(r, 18);
        } else if (j >= 0) {
          if (r[1] === DEL) this.#drop(j);
          else {
            this.#ids[j] = get16(r, 14);
            this.#stages[j] = r[16]!;
            this.#tries[j] = get32(r, 17);
          }
        }
        const s = off + r.length;
        endI = i += Math.floor(s / C);
        endOff = off = s % C;
      }
      // resume after the last good record, if the rest of the head is erased; else in a new block
      let p = !used || endI === used ? C : endI === used - 1 ? endOff : first[head]!;
      if (p < C && !this.#blank(head * B + HEADER + p, C - p)) p = C;
      this.#wp = p;
    } finally {
      this.#cache = undefined;
    }
    this.#nextKey = Math.max(next, 1);
  }

  /**
   * The committed, intact record starting at data offset `off` of the log's block `i`; else
   * how far to skip: a bad record that claims to end inside this block is stepped over (a decayed
   * record costs only itself; what a torn write leaves is last in its block anyway), anything
   * else ends the block (0). A record that runs on into later blocks must end where the last of
   * them says its first record starts (`first`; the data area size for the blocks in between), as
   * #append makes it: else it is what a crash left at the end of the head, committed but cut off
   * by a block header that never reached the flash, and the block was used again since.
   */
  #scan(i: number, off: number, first: Uint32Array): Uint8Array | number {
    const C = this.#C;
    const b = (this.#tail + i) % this.#N;
    const at = b * this.#B + HEADER + off;
    const left = (this.#used - i) * C - off; // bytes from here to the end of the log
    if (left < REC) return 0;
    const h = this.#read(at, REC);
    const len = get32(h, 2);
    const type = h[1];
    if (len > left || (type === MSG ? len < MSG_FIXED : len !== (type === UPD ? UPD_LEN : type === DEL ? DEL_LEN : -1)))
      return 0;
    const r = this.#read(at, len);
    let ok = r[0] === 0 && get32(r, 6) === this.#crc(r, this.#seq[b]!, off);
    if (ok && type === MSG) {
      const p = 22 + (r[17]! & 8 ? 8 : 0) + (r[17]! & 16 ? 8 : 0);
      ok = p + 2 <= len && p + 2 + get16(r, p) <= len && (r[17]! & 3) < 3;
    }
    for (let k = 1, end = off + len; ok && end > k * C; k++) ok = first[(b + k) % this.#N] === Math.min(end - k * C, C);
    return ok ? r : off + len <= C ? len : 0;
  }

  // ---- the index -------------------------------------------------------------------------

  #find(key: number): number {
    let lo = 0;
    let hi = this.#n - 1;
    const keys = this.#keys;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const k = keys[mid]!;
      if (k === key) return mid;
      if (k < key) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** A new slot for `key` (absent), in key order, zeroed; at the end when `key` is the largest. */
  #slot(key: number): number {
    const n = this.#n;
    let j = n;
    while (j && this.#keys[j - 1]! > key) j--; // only compaction copies arrive out of order
    if (n === this.#keys.length) this.#grow(Math.min(Math.max(this.maxRecords, n + 1), Math.max(8, n * 2)));
    for (const a of this.#arrays()) {
      a.copyWithin(j + 1, j, n);
      a[j] = 0;
    }
    this.#keys[j] = key;
    this.#n++;
    return j;
  }

  #arrays(): (Uint32Array | Uint16Array | Uint8Array)[] {
    return [this.#keys, this.#locs, this.#lens, this.#sizes, this.#tries, this.#ids, this.#stages];
  }

  #grow(size: number): void {
    const n = this.#n;
    const re = <T extends Uint32Array | Uint16Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a.subarray(0, n));
      return b;
    };
    const u32 = (k: number) => new Uint32Array(k);
    this.#keys = re(this.#keys, u32);
    this.#locs = re(this.#locs, u32);
    this.#lens = re(this.#lens, u32);
    this.#sizes = re(this.#sizes, u32);
    this.#tries = re(this.#tries, u32);
    this.#ids = re(this.#ids, (k) => new Uint16Array(k));
    this.#stages = re(this.#stages, (k) => new Uint8Array(k));
  }

  /** Forgets slot `j`. */
  #drop(j: number): void {
    this.#live -= this.#lens[j]!;
    this.#bytes -= this.#sizes[j]!;
    const n = this.#n--;
    for (const a of this.#arrays()) a.copyWithin(j, j + 1, n);
  }
}
