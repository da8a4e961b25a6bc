// FlashStore: the robust client's Store on raw NOR flash, log-structured, power-cut safe, and
// readable past damage.
//
// On flash, format 2 (all numbers little-endian; README.md has the full picture):
//
//   block   = A (12) + B (16) + data area (blockSize - 44) + B again (16, the block's last bytes)
//   A       = magic "uQF2" u32, erase count u32, CRC u32       written after each erase
//   B       = seq u32, first u32, low key u32, CRC u32          written (twice) when the block joins the log
//   message = commit u8, type u8, length u32, key u32, flags u8, topic length u16, topic, header CRC u32,
//             body CRC u32, id u16, stage u8, attempts u32, [priority f64], [expiresAt f64], payload
//   update  = commit u8, type u8, length u32, key u32, id u16, stage u8, attempts u32, CRC u32
//   remove  = commit u8, type u8, length u32, key u32, CRC u32
//   skip    = commit u8, type u8, length u32, bytes skipped u32 (+ 2^31: damage before it was reported),
//             keys accounted u32, next key u32, CRC u32
//   incoming = commit u8, type u8, length u32, key u32 (0), packet id u16, held u8, CRC u32
//
// A's CRC is XORed with the block size, and B's CRC starts from MAGIC ^ block number ^ block
// size: a partition read with another block size than it was written with has no header that
// checks out (it is refused, never mounted in part).
//
// The log is a byte stream through the data areas of physically consecutive blocks with
// consecutive `seq` (tail .. head, wrapping around the partition); a record may run on into the
// next block, whose `first` tells where the first record starting in it begins (the data area
// size when none does). A record is written with commit = 0xFF, then committed by clearing that
// byte to 0x00 (NOR can clear bits without an erase). Its header CRC covers the block's seq and
// the record's offset (stale or copied bytes never pass), its type, length, key and, for a
// message, its flags and topic; a message's body CRC covers the rest. So a record whose body is
// damaged still tells its length (the next record is found) and its key, topic and QoS (what is
// lost is known); past a record whose header is damaged, the reader looks for the next header
// that checks out, byte by byte. (On a flash whose writes reach the medium in any order until a
// sync, `Flash.unordered`, a commit written second orders nothing: the record is written
// committed, in one write, and its CRCs decide.) Messages are MSG records; progress and removal
// are small UPD and DEL records appended after them, never rewrites; an incoming QoS 2 packet id
// held until PUBREL is an INC record (held), and its release another (released). Compaction copies the tail
// block's live messages (with their current state, marked as copies) and the INC records of the
// ids still held to the head, retires the
// tail (zeroes both copies of its B header: no longer part of the log, even if the erase that
// follows is cut), erases it and writes its A header, so blocks are erased strictly in turn.
// Mount reads the headers, refuses a partition that is not a queue of this format, finds the log
// (a block whose two B copies are both damaged is placed by its neighbours), replays its records
// in order, reports what it could not read, and resumes writing after the last good record, or
// after what a cut write left there (the first record written then is a SKIP saying how many
// bytes before it are such leftovers, so no later mount takes them for damage).
import { INVALID_ARGUMENT, UmqttError, decodeUtf8, encodeUtf8, type QoS } from '@umqtt/codec';
import type { LostMessage, NewMessage, Store, StoreDamage, StoredMessage } from '@umqtt/session';
import { crc32 } from './crc32.js';
import { STORE_CLOSED, STORE_DAMAGED, STORE_FOREIGN, STORE_FULL, STORE_VERSION } from './errors.js';
import type { Flash, FlashSync } from './flash.js';
import {
  VERSION,
  MAGIC,
  FAMILY,
  HEADER,
  TRAILER,
  MSG,
  UPD,
  DEL,
  SKIP,
  INC,
  UPD_LEN,
  DEL_LEN,
  SKIP_LEN,
  MSG_FIXED,
  COMMIT,
  TYPE,
  LENGTH,
  KEY,
  MSG_FLAGS,
  MSG_TOPIC_LENGTH,
  MSG_TOPIC,
  MSG_BODY,
  BODY_ID,
  BODY_STAGE,
  BODY_ATTEMPTS,
  BODY_EXTRAS,
  UPD_ID,
  UPD_STAGE,
  UPD_ATTEMPTS,
  UPD_CRC,
  DEL_CRC,
  SKIP_BYTES,
  SKIP_ACCOUNTED,
  SKIP_NEXT_KEY,
  SKIP_CRC,
  INC_LEN,
  INC_ID,
  INC_HELD,
  INC_CRC,
  QOS_MASK,
  RETAIN,
  HAS_PRIORITY,
  HAS_EXPIRY,
  COPY,
  REPORTED,
} from './layout.js';

/**
 * Most bytes a message record adds to its topic and payload.
 *
 * @example
 * const flashBytes = messageBytes(message) + RECORD_OVERHEAD; // at most, on flash
 */
export const RECORD_OVERHEAD = MSG_FIXED + 16;
/**
 * RAM the index keeps per held message: key, location, length, size, attempts (u32 each), id (u16),
 * stage and QoS (u8 each).
 *
 * @example
 * const ramForIndex = 200 * INDEX_BYTES_PER_MESSAGE; // 4800 bytes for 200 held messages
 */
export const INDEX_BYTES_PER_MESSAGE = 24;
/** Room always kept for one state record (and a SKIP before it), so update() and remove() never run out of it. */
const SLACK = 48;

const ZEROS = /* @__PURE__ */ new Uint8Array(TRAILER);

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
  let i = 0;
  // four bytes at a time where aligned (a large block's blankness check reads megabytes)
  if (!(a.byteOffset & 3))
    for (const w = new Uint32Array(a.buffer, a.byteOffset, a.length >> 2); i < w.length; i++)
      if (w[i] !== 0xffffffff) return false;
  for (i *= 4; i < a.length; i++) if (a[i] !== 0xff) return false;
  return true;
}
/** Where a record's header CRC is: after a message's topic; the last 4 bytes of the others. */
const headerEnd = (r: Uint8Array): number =>
  r[TYPE] === MSG
    ? MSG_TOPIC + get16(r, MSG_TOPIC_LENGTH)
    : r[TYPE] === UPD
      ? UPD_CRC
      : r[TYPE] === SKIP
        ? SKIP_CRC
        : r[TYPE] === INC
          ? INC_CRC
          : DEL_CRC;
/** A record type this format has. */
const known = (t: number | undefined): boolean => t === MSG || t === UPD || t === DEL || t === SKIP || t === INC;
/** Where a message record's body (id, stage, attempts, [priority], [expiresAt], payload) starts. */
const bodyAt = (r: Uint8Array): number => MSG_BODY + get16(r, MSG_TOPIC_LENGTH);
function fail(code: string, what: string): UmqttError {
  return new UmqttError({ code, message: `store: ${what}`, place: 'store' });
}
const full = (what: string) => fail(STORE_FULL, what);

/**
 * Options of {@link FlashStore}.
 *
 * @example
 * const store = new FlashStore(flash, { maxRecords: 200, maxMessageBytes: 1024 });
 */
export interface FlashStoreOptions {
  /**
   * Messages held at most. Each may cost up to RECORD_OVERHEAD (44) bytes of flash beyond its
   * topic and payload, and `capacity` keeps that much aside for each. Default: one per 128
   * bytes of usable flash, at most 1000.
   */
  maxRecords?: number | undefined;
  /**
   * Largest message (topic in UTF-8 plus payload) accepted. The space compaction keeps free
   * grows with it (two blocks plus the blocks one such message spans). Default: what fits in
   * one block's data area (blockSize - 88).
   */
  maxMessageBytes?: number | undefined;
  /**
   * Start afresh: every block that is not erased is erased first, whatever it holds (a queue
   * of this or another format version, a damaged one, foreign data); the messages it held are
   * lost and not reported. Without it, a partition that is not a queue of this format is refused
   * (`UMQTT_STORE_FOREIGN`, `UMQTT_STORE_VERSION`, `UMQTT_STORE_DAMAGED`) and left as it is.
   */
  reset?: boolean | undefined;
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
  /** Records dropped because their checksum failed when read back after the store was opened (flash decay); what mount found is in `damage`. */
  corrupt: number;
  /** RAM of the index: INDEX_BYTES_PER_MESSAGE per slot allocated. */
  indexBytes: number;
}

/** A stretch of the log that could not be read, found while mounting. */
interface Bad {
  /** Bytes. */
  len: number;
  /** The key, when the record's header is readable (a message's body failed its CRC). */
  key?: number;
  /** Its topic and QoS (a message's header is readable). */
  lost?: LostMessage | undefined;
  /** The record is committed (only what a cut write left can be uncommitted). */
  committed?: boolean;
  /** Stream position where it starts. */
  at: number;
  /** Erased bytes where a record should start: on a flash with `sync`, a write that never reached it. */
  unwritten?: boolean;
  /** A message first written there (not a copy made by compaction). */
  original?: boolean;
}

/**
 * A Store on NOR flash that survives power cuts at any instant: what `add` returned for is on
 * flash, committed; `update` and `remove` are on flash when they return. On a flash that groups
 * its syncs (a file with `sync: 'group'`) a call is durable later, when `durable` reaches it
 * (`onDurable` tells), except a QoS 2 message's add and its SENT and RELEASING updates, which are
 * durable when they return. Messages live on
 * flash; RAM holds a small index (INDEX_BYTES_PER_MESSAGE bytes per message), and `messages()`
 * reads them back. Opening a store on a flash mounts it: messages held before a restart come
 * back with their keys and states, and what damage took is reported in `damage`. An erased
 * partition is formatted as it is used; one that holds anything else than a queue of this
 * format is refused with a UmqttError, unless `reset` is given.
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
  /**
   * What mounting found damaged when the store was opened, undefined when nothing was: the
   * messages it lost (with key, and topic and QoS where their header was readable; a lost message
   * leaves `lost` when `remove(key)` is called for it, which also records that on flash so it is
   * not reported again), and the stretches of the log it could not read (places, bytes). See
   * README.md for what damage costs and when a loss cannot be told from a power cut.
   */
  readonly damage: StoreDamage | undefined;
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
  /** Bytes a cut write left before the write position, found by mount: a SKIP record says so first. */
  #skip = 0;
  /** With #skip: keys below it were accounted for by that mount (lost ones reported). */
  #skipKey = 0;
  /** Mount reported damage: the next record written is a SKIP saying so (it is not reported again). */
  #reported = false;
  #nextSeq = 1;
  #nextKey = 1;
  /** Flash bytes of the held messages' records. */
  #live = 0;
  #bytes = 0;
  #closed = false;
  /** The last record of the log is the end marker close() writes. */
  #marked = false;
  /** A flash call failed: the RAM view may be wrong, mount again before the next change. */
  #failed = false;
  #compactions = 0;
  #corrupt = 0;
  /** Lost messages reported in `damage` and not yet removed. */
  #lost: LostMessage[] = [];
  #cache: Map<number, Uint8Array> | undefined;
  /** Every message whose add returned a key up to this one is durable. */
  #durable = 0;
  /** Deferred syncs: ticket, then the last key added before it, for each ticket handed out. */
  #tickets: number[] = [];
  /** onDurable is owed at the next microtask. */
  #owed = false;
  /** Incoming QoS 2 packet ids held until PUBREL, in the order held: where each one's INC record is. */
  readonly #inc = new Map<number, number>();
  /** The header of the last record #parse found damaged. */
  #bad: Bad | undefined;
  readonly #tmp = new Uint8Array(TRAILER);
  readonly #f64 = new DataView(new ArrayBuffer(8));
  // the index, in key order (see "the index" below)
  /** Live slots: messages held. */
  #n = 0;
  /** Slots in use: [#lo, #hi), the dead ones with length 0. */
  #lo = 0;
  #hi = 0;
  /** While a mount that met keys out of order runs: slot by key. */
  #byKey: Map<number, number> | undefined;
  /** Live messages whose record starts in each block: compaction looks for no more than these. */
  #inBlock: Uint32Array;
  #keys = new Uint32Array(0);
  #locs = new Uint32Array(0);
  #lens = new Uint32Array(0);
  #sizes = new Uint32Array(0);
  /** QoS of each message: a QoS 2 message's steps are made durable before they return. */
  #qos = new Uint8Array(0);
  #tries = new Uint32Array(0);
  #ids = new Uint16Array(0);
  #stages = new Uint8Array(0);

  /**
   * Mounts the store on `flash`: replays the log (messages held before a restart come back with
   * their keys and states; what damage took is in `damage`), or formats an erased partition as
   * it is used. Throws UmqttError `UMQTT_STORE_FOREIGN` for a partition that holds something
   * else, `UMQTT_STORE_VERSION` for a queue in another format version, `UMQTT_STORE_DAMAGED` for
   * a queue whose log cannot be found, all without changing it (unless `reset`), and
   * `UMQTT_INVALID_ARGUMENT` for a partition too small for the options.
   *
   * @param flash - the partition, e.g. `moddableFlash(new Flash('storage'))` or a {@link SimulatedFlash}
   * @param options - {@link FlashStoreOptions}
   */
  constructor(flash: Flash, options: FlashStoreOptions = {}) {
    this.flash = flash;
    const B = (this.#B = flash.blockSize);
    const N = (this.#N = Math.floor(flash.byteLength / B));
    const C = (this.#C = B - HEADER - TRAILER);
    this.maxMessageBytes = options.maxMessageBytes ?? C - RECORD_OVERHEAD;
    // A compaction step copies what starts in the tail: up to a block plus one record running
    // on; one more block absorbs what a power cut wastes (what a cut write left is skipped).
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
      throw new UmqttError({
        code: INVALID_ARGUMENT,
        message: `flash store: expected room for ${this.maxRecords} messages of up to ${this.maxMessageBytes} bytes, got ${N} blocks of ${B} bytes (${this.#reserve} kept for compaction)`,
        place: 'store',
      });
    this.#seq = new Uint32Array(N);
    this.#erases = new Int32Array(N);
    this.#clean = new Uint8Array(N);
    this.#inBlock = new Uint32Array(N);
    if (options.reset)
      for (let b = 0; b < N; b++) {
        if (this.#blank(b * B, B)) continue;
        const d = this.#raw(b * B, 12);
        this.#erase(b, this.#isA(d) ? get32(d, 4) : -1);
      }
    this.damage = this.#mount();
    this.#lost = (this.damage?.lost ?? []) as LostMessage[];
    // what the flash holds is what the store goes on from (a flash that buffers writes flushes them when opened)
    this.#durable = this.#nextKey - 1;
    if (flash.sync) flash.onSynced = (ticket) => this.#synced(ticket);
  }

  /**
   * Called each time {@link FlashStore.durable} grows, with its new value; never from inside a
   * call on the store (growth during a call is reported at the next microtask). Set it to learn
   * when grouped syncs (`Flash.sync` returning tickets, FileFlash's `sync: 'group'`) made the
   * messages added before them durable.
   */
  onDurable: ((durable: number) => void) | undefined;

  /**
   * Every message whose `add()` returned a key up to this one is durable (survives a power cut,
   * unless removed), and so is every call made before that add. On a flash that makes every
   * call durable before it returns (a device's flash, a file with the default `sync: true`) it is
   * the last key added; on one that groups its syncs it follows a flush behind.
   */
  get durable(): number {
    return this.#durable;
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
    const t = topic.length;
    const size = t + m.payload.length; // messageBytes(m), from the bytes at hand
    if (this.#n >= this.maxRecords) throw full(`expected fewer than ${this.maxRecords} messages, got ${this.#n}`);
    if (this.#bytes + size > this.capacity)
      throw full(`expected room for ${size} bytes, got ${this.capacity - this.#bytes} of ${this.capacity} free`);
    if (size > this.maxMessageBytes || t > 0xffff)
      throw full(`expected a message of at most ${this.maxMessageBytes} bytes (topic in UTF-8 + payload), got ${size}`);
    const hasP = !Object.is(m.priority, 0);
    const hasE = !Object.is(m.expiresAt, 0);
    let p = MSG_FIXED + t + (hasP ? 8 : 0) + (hasE ? 8 : 0); // where the payload starts
    const rec = new Uint8Array(p + m.payload.length);
    // capacity keeps RECORD_OVERHEAD aside per record, so this only holds if that reckoning is wrong
    if (this.#live + rec.length > this.#budget)
      throw full(
        `expected room for a ${rec.length}-byte record, got ${this.#budget - this.#live} of ${this.#budget} bytes of flash free`,
      );
    this.#ensure(rec.length);
    const key = this.#nextKey;
    if (key > 0xffffffff) throw full('keys used up');
    rec[TYPE] = MSG;
    put32(rec, LENGTH, rec.length);
    put32(rec, KEY, key);
    rec[MSG_FLAGS] = m.qos | (m.retain ? RETAIN : 0) | (hasP ? HAS_PRIORITY : 0) | (hasE ? HAS_EXPIRY : 0);
    put16(rec, MSG_TOPIC_LENGTH, t);
    rec.set(topic, MSG_TOPIC);
    rec.set(m.payload, p);
    p = MSG_FIXED + t;
    if (hasP) p = this.#putF64(rec, p, m.priority);
    if (hasE) this.#putF64(rec, p, m.expiresAt);
    const loc = this.#append(rec);
    this.#nextKey = key + 1; // after the record: a block opened for it says its key is the lowest there
    const j = this.#slot(key);
    this.#inBlock[Math.floor(loc / this.#B)]!++;
    this.#locs[j] = loc;
    this.#lens[j] = rec.length;
    this.#sizes[j] = size;
    this.#qos[j] = m.qos;
    this.#live += rec.length;
    this.#bytes += size;
    // QoS 2: on the medium before the client can send it (exactly once across a power cut)
    this.#sync(m.qos === 2 ? 'order' : 'call');
    return key;
  }

  update(key: number, id: number, stage: number, attempts: number): void {
    this.#ready();
    let j = this.#find(key);
    if (j < 0 || (this.#ids[j] === id && this.#stages[j] === stage && this.#tries[j] === attempts)) return;
    this.#ensure(UPD_LEN);
    j = this.#find(key); // compaction may have dropped a corrupt record
    if (j < 0) return;
    const r = this.#record(UPD, key);
    put16(r, UPD_ID, id);
    r[UPD_STAGE] = stage;
    put32(r, UPD_ATTEMPTS, attempts);
    this.#append(r);
    this.#ids[j] = id;
    this.#stages[j] = stage;
    this.#tries[j] = attempts;
    // QoS 2 past QUEUED: on the medium before the PUBLISH or PUBREL that follows it leaves
    this.#sync(this.#qos[j] === 2 && stage ? 'order' : 'call');
  }

  /** Forgets a message: one held, or one `damage` reports lost (then it is no longer reported). */
  remove(key: number): void {
    this.#ready();
    const lost = this.#lost;
    if (this.#find(key) < 0 && !lost.some((m) => m.key === key)) return;
    this.#ensure(DEL_LEN);
    const j = this.#find(key);
    const l = lost.findIndex((m) => m.key === key);
    if (j < 0 && l < 0) return;
    this.#append(this.#record(DEL, key));
    if (j >= 0) this.#drop(j);
    else lost.splice(l, 1);
    this.#sync('call');
  }

  /**
   * Records that the incoming QoS 2 packet id `id` was acknowledged with PUBREC (`held`) or
   * released by PUBREL: on flash when it returns (before the PUBREC or PUBCOMP that follows it
   * leaves; a flash that groups its syncs is flushed at once), and in `held()` after a restart.
   * Holding an id held, or releasing one not held, changes nothing. A held id takes
   * INC_LEN (17) bytes of flash; throws `UMQTT_STORE_FULL` when the flash has no room for it.
   */
  incoming(id: number, held: boolean): void {
    this.#ready();
    if (!(id > 0 && id < 0x10000 && id % 1 === 0)) throw fail(INVALID_ARGUMENT, `expected a packet id, got ${id}`);
    if (this.#inc.has(id) === held) return;
    if (held && this.#live + INC_LEN > this.#budget) throw full('no room for an incoming id');
    this.#ensure(INC_LEN);
    this.#hold(id, held);
    this.#sync('order');
  }

  /** The incoming QoS 2 packet ids held (see `incoming`): in the order held, or, after a restart, in the order of the log. */
  held(): number[] {
    if (this.#failed) this.#remount();
    return [...this.#inc.keys()];
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
    return r.subarray(
      bodyAt(r) + BODY_EXTRAS + (r[MSG_FLAGS]! & HAS_PRIORITY ? 8 : 0) + (r[MSG_FLAGS]! & HAS_EXPIRY ? 8 : 0),
    );
  }

  messages(): StoredMessage[] {
    if (this.#failed) this.#remount();
    const out: StoredMessage[] = [];
    const f = this.#f64;
    for (let j = this.#lo; j < this.#hi; j++) {
      if (!this.#lens[j]) continue;
      const r = this.#load(j);
      if (!r) {
        this.#drop(j);
        continue;
      }
      const flags = r[MSG_FLAGS]!;
      let p = bodyAt(r) + BODY_EXTRAS;
      const num = (has: number): number => {
        if (!has) return 0;
        for (let i = 0; i < 8; i++) f.setUint8(i, r[p++]!);
        return f.getFloat64(0, true);
      };
      const priority = num(flags & HAS_PRIORITY);
      const expiresAt = num(flags & HAS_EXPIRY);
      out.push({
        key: this.#keys[j]!,
        topic: decodeUtf8(r, MSG_TOPIC, MSG_TOPIC + get16(r, MSG_TOPIC_LENGTH), true),
        payload: r.subarray(p),
        qos: (flags & QOS_MASK) as QoS,
        retain: (flags & RETAIN) !== 0,
        priority,
        expiresAt,
        id: this.#ids[j]!,
        stage: this.#stages[j]!,
        attempts: this.#tries[j]!,
      });
    }
    return out;
  }

  /**
   * Closes the store: later changes throw `UMQTT_STORE_CLOSED`. It first ends the log with a small
   * marker record (unless the log already ends with one), so that the next mount can tell damage
   * to the last message from a write a power cut interrupted (see README.md); a flash error
   * while writing it is ignored.
   */
  close(): void {
    if (this.#closed) return;
    try {
      if (!this.#failed && this.#head >= 0 && !(this.#marked && !this.#skip && !this.#reported)) {
        this.#ensure(SKIP_LEN);
        this.#append(this.#record(SKIP, 0));
        this.#sync('call');
      }
    } catch {
      // the marker is a help for the next mount, not needed
    }
    this.#closed = true;
  }

  // ---- the log ---------------------------------------------------------------------------

  #ready(): void {
    if (this.#closed) throw fail(STORE_CLOSED, 'the store is closed');
    if (this.#failed) this.#remount();
  }

  #remount(): void {
    this.#mount();
    this.#failed = false;
  }

  /** Writes `v` as a little-endian f64 at `p`; returns where it ends. */
  #putF64(rec: Uint8Array, p: number, v: number): number {
    const f = this.#f64;
    f.setFloat64(0, v, true);
    for (let i = 0; i < 8; i++) rec[p++] = f.getUint8(i);
    return p;
  }

  /** A new UPD, DEL or SKIP record for `key` (SKIP: bytes skipped, nothing lost below the next key). */
  #record(type: number, key: number): Uint8Array {
    const r = new Uint8Array(type === UPD ? UPD_LEN : type === SKIP ? SKIP_LEN : type === INC ? INC_LEN : DEL_LEN);
    r[TYPE] = type;
    put32(r, LENGTH, r.length);
    put32(r, KEY, key);
    if (type === SKIP) {
      put32(r, SKIP_ACCOUNTED, this.#nextKey);
      put32(r, SKIP_NEXT_KEY, this.#nextKey);
    }
    return r;
  }

  /** Appends an INC record for `id` and follows it in RAM. */
  #hold(id: number, held: boolean): void {
    const r = this.#record(INC, 0);
    put16(r, INC_ID, id);
    r[INC_HELD] = held ? 1 : 0;
    this.#inced(id, held, this.#append(r));
  }

  /** Incoming `id` held (its INC record at physical `at`) or released. */
  #inced(id: number, held: boolean, at: number): void {
    if (this.#inc.has(id) !== held) this.#live += held ? INC_LEN : -INC_LEN;
    if (held) this.#inc.set(id, at);
    else this.#inc.delete(id);
  }

  /** Bytes that can be appended without erasing anything: the rest of the head and the free blocks. */
  #room(): number {
    return (this.#head < 0 ? 0 : this.#C - this.#wp) + (this.#N - this.#used) * this.#C;
  }

  /** Compacts until `n` bytes (and a SKIP record mount asked for) fit without touching the blocks compaction needs. */
  #ensure(n: number): void {
    if (this.#skip || this.#reported) n += SKIP_LEN;
    for (let steps = 0; this.#room() - this.#reserve * this.#C < n; steps++) {
      if (this.#used < 2 || steps > this.#N) throw full(`no room for ${n} bytes of flash even after compaction`);
      this.#compact();
    }
  }

  /** Copies the tail block's live messages to the head, then retires and erases the tail. */
  #compact(): void {
    const t = this.#tail;
    const B = this.#B;
    // the oldest messages come first: those left in the tail are found without a scan of all
    for (let j = this.#lo; j < this.#hi && this.#inBlock[t]; j++) {
      if (!this.#lens[j] || Math.floor(this.#locs[j]! / B) !== t) continue;
      if (this.#room() < this.#lens[j]!) throw full('no room to compact');
      const r = this.#load(j);
      if (!r) {
        this.#drop(j);
        continue;
      }
      const s = bodyAt(r);
      put16(r, s + BODY_ID, this.#ids[j]!);
      r[s + BODY_STAGE] = this.#stages[j]!;
      put32(r, s + BODY_ATTEMPTS, this.#tries[j]!);
      r[MSG_FLAGS]! |= COPY;
      this.#inBlock[t]!--;
      const h = this.#head;
      const at = (this.#locs[j] = this.#append(r));
      this.#inBlock[Math.floor(at / B)]!++;
      this.#ran(h);
    }
    // incoming ids still held whose record is in the tail: recorded again (a Map keeps its order when an entry is set again)
    for (const [id, at] of this.#inc)
      if (Math.floor(at / B) === t) {
        if (this.#room() < INC_LEN) throw full('no room to compact');
        const h = this.#head;
        this.#hold(id, true);
        this.#ran(h);
      }
    this.#sync('order'); // the copies are durable before their originals leave the log
    // retire: both copies of B zeroed (seq 0 and a bad CRC)
    this.#put(t * B + 12, ZEROS);
    this.#put(t * B + B - TRAILER, ZEROS);
    this.#sync('order'); // retired before any of it is erased (a half-erased block must not be in the log)
    this.#erase(t, this.#erases[t]!);
    this.#tail = (t + 1) % this.#N;
    this.#used--;
    this.#compactions++;
  }

  /**
   * On a flash that buffers its writes, a copy that ran on into a new block (the head was `h`
   * before it) is made durable at once: opening the block made its first part durable, not the
   * rest. So a crash in a compaction can tear only copies that lie in the head block, and the
   * compaction made again after it fits in the room kept for compaction (a copy torn across blocks
   * wasted its room, and needed as much again).
   */
  #ran(h: number): void {
    if (this.#head !== h && this.flash.sync) this.#sync('order');
  }

  /**
   * Writes a record at the end of the log (its commit byte and CRCs are set here), then commits
   * it; returns where it starts. On an `unordered` flash it is written committed: see the top.
   */
  #append(r: Uint8Array): number {
    const B = this.#B;
    const C = this.#C;
    const skip = this.#skip + (this.#reported ? REPORTED : 0);
    if (skip) {
      // first after a mount that found what a cut write left, or reported damage: say how many
      // bytes it left, that the damage before was reported, and below which key that mount
      // accounted for lost messages (the keys of messages whose add was cut lie above it)
      this.#skip = 0;
      this.#reported = false;
      const s = r[TYPE] === SKIP ? r : this.#record(SKIP, 0);
      put32(s, SKIP_BYTES, skip);
      put32(s, SKIP_ACCOUNTED, this.#skipKey);
      if (s !== r) this.#append(s);
    }
    // the lowest key of a message first written in a block this record opens (a message being
    // added has key #nextKey: it is the lowest in a block it starts in, not in one it runs on into)
    const low = this.#nextKey;
    if (this.#head < 0 || this.#wp >= C) this.#open(0, low);
    const at = this.#head * B + HEADER + this.#wp;
    r[COMMIT] = this.flash.unordered ? 0 : 0xff;
    this.#seal(r, this.#seq[this.#head]!, this.#wp);
    for (let done = 0; ;) {
      const n = Math.min(r.length - done, C - this.#wp);
      const chunk = r.subarray(done, (done += n));
      const to = this.#head * B + HEADER + this.#wp;
      this.#put(to, chunk);
      this.#wp += n;
      if (done === r.length) break;
      this.#open(Math.min(r.length - done, C), low + (r[TYPE] === MSG && !(r[MSG_FLAGS]! & COPY) ? 1 : 0));
    }
    if (r[COMMIT]) this.#put(at, ZEROS.subarray(0, 1)); // commit
    this.#marked = r[TYPE] === SKIP;
    return at;
  }

  /**
   * Adds the next block to the log (erasing it first if needed): `first` = where its first record
   * starts, `low` = the lowest key of a message first written in it.
   */
  #open(first: number, low: number): void {
    const N = this.#N;
    const B = this.#B;
    if (this.#used >= N) throw full('no free block');
    const b = this.#head < 0 ? this.#tail : (this.#head + 1) % N;
    if (!this.#clean[b]) {
      const d = this.#raw(b * B, 12);
      const a = this.#isA(d);
      const count = a ? get32(d, 4) : -1;
      if (!((a || erased(d)) && this.#blank(b * B + 12, B - 12))) this.#erase(b, count);
      else if (!a) this.#writeA(b, count);
    }
    const h = this.#tmp;
    put32(h, 0, this.#nextSeq);
    put32(h, 4, first);
    put32(h, 8, low);
    put32(h, 12, crc32(h, 0, 12, MAGIC ^ b ^ B));
    this.#clean[b] = 0;
    // Everything before a block joins the log is durable first: only the head block can hold
    // writes a crash may lose (a crash costs at most that block, like a cut on a device), and block
    // headers become durable in log order (a later one alone would cut the log off before it).
    this.#sync('order');
    this.#put(b * B + 12, h);
    this.#put(b * B + B - TRAILER, h); // the second copy, far from the first
    // the first block holds records only once its header is durable: records and no log header is damage
    if (this.#head < 0) this.#sync('order');
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
    put32(a, 8, crc32(a, 0, 8) ^ this.#B);
    this.#put(b * this.#B, a);
    this.#erases[b] = count;
    this.#clean[b] = 1;
  }

  /** For a partition refused as foreign: whether block 0 holds an A header of this format written with another block size. */
  #other(): string {
    const h = this.#raw(0, 12);
    const size = (get32(h, 8) ^ crc32(h, 0, 8)) >>> 0;
    return get32(h, 0) === MAGIC && size && size !== this.#B && this.flash.byteLength % size === 0
      ? ` (a queue in blocks of ${size} bytes, not ${this.#B})`
      : '';
  }

  /** The CRC of an A header of this format: XORed with the block size (read with another one, it fails). */
  #crcA(d: Uint8Array): number {
    return (crc32(d, 0, 8) ^ this.#B) >>> 0;
  }

  /** Whether `d` starts with a good A header of this format. */
  #isA(d: Uint8Array): boolean {
    return get32(d, 0) === MAGIC && get32(d, 8) === this.#crcA(d);
  }

  /** For a count lost with its header (a cut right after an erase): the lowest known, since blocks are erased in turn. */
  #estimate(): number {
    return Math.max(
      0,
      this.#erases.reduce((x, y) => (y >= 0 && (x < 0 || y < x) ? y : x), -1),
    );
  }

  /** Asks a flash that buffers its writes to make them durable (see `Flash.sync`); follows what is durable. */
  #sync(why: FlashSync): void {
    const flash = this.flash;
    let r: boolean | number | void = true;
    if (flash.sync)
      try {
        r = flash.sync(why);
      } catch (e) {
        this.#failed = true;
        throw e;
      }
    const last = this.#nextKey - 1;
    if (typeof r === 'number') {
      // deferred: durable when the flash reports this ticket
      const t = this.#tickets;
      if (t.length && t[t.length - 2] === r) t[t.length - 1] = last;
      else t.push(r, last);
    } else if (r !== false) {
      this.#tickets = [];
      this.#reach(last, true);
    }
  }

  /** The flash reports a deferred sync done (outside any store call). */
  #synced(ticket: number): void {
    const t = this.#tickets;
    let i = 0;
    let key = 0;
    for (; i < t.length && t[i]! <= ticket; i += 2) key = t[i + 1]!;
    if (!i) return;
    t.splice(0, i);
    this.#reach(key, false);
  }

  /** `durable` grows to `key`: onDurable is told now (outside a store call) or at the next microtask. */
  #reach(key: number, inCall: boolean): void {
    if (key <= this.#durable) return;
    this.#durable = key;
    if (!this.onDurable) return;
    if (!inCall) {
      this.#owed = false;
      this.#tell();
    } else if (!this.#owed) {
      this.#owed = true;
      void Promise.resolve().then(() => {
        if (!this.#owed) return;
        this.#owed = false;
        this.#tell();
      });
    }
  }

  #tell(): void {
    try {
      this.onDurable?.(this.#durable);
    } catch {
      // the application's callback: nothing the store can do about it
    }
  }

  /** `flash.write`; if it throws, the next change mounts again first. */
  #put(at: number, bytes: Uint8Array): void {
    try {
      this.flash.write(at, bytes);
    } catch (e) {
      this.#failed = true;
      throw e;
    }
  }

  /** `flash.read`, as a Uint8Array; if it throws, the next change mounts again first. */
  #get(at: number, len: number): Uint8Array {
    try {
      return bytesOf(this.flash.read(at, len));
    } catch (e) {
      this.#failed = true;
      throw e;
    }
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
    for (let n = 0; n < len; n += 4096) if (!erased(this.#raw(at + n, Math.min(4096, len - n)))) return false;
    return true;
  }

  /** Block `b` whole, kept in the mount's cache of the last two blocks read. */
  #block(b: number): Uint8Array {
    const cache = this.#cache!;
    let d = cache.get(b);
    if (!d) {
      if (cache.size > 1) cache.delete(cache.keys().next().value!);
      cache.set(b, (d = this.#get(b * this.#B, this.#B)));
    }
    return d;
  }

  /** `len` bytes from physical `at`, inside one block (headers, erased checks); while mounting, a view into the cached block. */
  #raw(at: number, len: number): Uint8Array {
    const b = Math.floor(at / this.#B);
    const o = at - b * this.#B;
    return this.#cache ? this.#block(b).subarray(o, o + len) : this.#get(at, len);
  }

  /**
   * `len` bytes of the log from physical `at` in a data area, running on through the data areas
   * of the following blocks (a copy; while mounting, a view into the cached block when they are in one).
   */
  #read(at: number, len: number): Uint8Array {
    const B = this.#B;
    if ((at % B) + len <= B - TRAILER) return this.#raw(at, len); // in one block: the flash's own copy (or the mount's view)
    const out = new Uint8Array(len);
    for (let got = 0; got < len;) {
      const b = Math.floor(at / B);
      const n = Math.min(len - got, b * B + B - TRAILER - at);
      out.set(this.#raw(at, n), got);
      got += n;
      at = ((b + 1) % this.#N) * B + HEADER;
    }
    return out;
  }

  /** Sets a record's CRCs for where it is written: data offset `off` of the block with `seq`. */
  #seal(r: Uint8Array, seq: number, off: number): void {
    const h = headerEnd(r);
    const c = this.#crcHeader(r, h, seq, off);
    put32(r, h, c);
    if (r[TYPE] === MSG) put32(r, h + 4, this.#crcBody(r, h + 8, c));
  }

  /** CRC of a record's header (`r[1, h)`) at data offset `off` of the block with `seq`. */
  #crcHeader(r: Uint8Array, h: number, seq: number, off: number): number {
    const s = this.#tmp;
    put32(s, 0, seq);
    put32(s, 4, off);
    return crc32(r, 1, h, crc32(s, 0, 8));
  }

  /** CRC of a message's body, from `at` to the end, continuing its header's: with the flash's own CRC-32 if it has a faster one. */
  #crcBody(r: Uint8Array, at: number, crc: number): number {
    return (this.flash.crc32 ?? crc32)(r, at, r.length, crc);
  }

  /** Whether a record read back is committed and both its CRCs are right. */
  #good(r: Uint8Array, seq: number, off: number): boolean {
    const h = headerEnd(r);
    const c = get32(r, h);
    return (
      r[COMMIT] === 0 &&
      c === this.#crcHeader(r, h, seq, off) &&
      (r[TYPE] !== MSG || get32(r, h + 4) === this.#crcBody(r, h + 8, c))
    );
  }

  /** Message `j`'s record read back, or undefined if it fails its checksum. */
  #load(j: number): Uint8Array | undefined {
    const at = this.#locs[j]!;
    const b = Math.floor(at / this.#B);
    const r = this.#read(at, this.#lens[j]!);
    if (this.#good(r, this.#seq[b]!, at - b * this.#B - HEADER)) return r;
    this.#corrupt++;
    return undefined;
  }

  // ---- mount -----------------------------------------------------------------------------

  /**
   * Finds the log and replays it into the index; returns what it could not read. Refuses a
   * partition that is not a queue of this format (see the constructor).
   */
  #mount(): StoreDamage | undefined {
    const B = this.#B;
    const C = this.#C;
    const N = this.#N;
    const seq = this.#seq;
    // from each block's B header: first, low key; -1 = unknown
    const first = new Float64Array(N).fill(-1);
    const lows = new Float64Array(N).fill(-1);
    let head = -1;
    let top = 0;
    let newest = 0;
    let ours = false;
    for (let b = 0; b < N; b++) {
      const h = this.#raw(b * B, HEADER);
      // this format's A header checks out with this block size only; another version's is told by its magic
      const v = (get32(h, 0) & 0xffffff) === FAMILY ? h[3]! - 0x30 : 0;
      const a = get32(h, 8) === (v === VERSION ? this.#crcA(h) : crc32(h, 0, 8)) ? v : 0;
      newest = Math.max(newest, a);
      this.#clean[b] = 0;
      this.#erases[b] = a === VERSION ? get32(h, 4) : -1;
      seq[b] = 0;
      // B, or its copy at the end of the block
      for (const [d, o] of [
        [h, 12],
        [this.#raw(b * B + B - TRAILER, TRAILER), 0],
      ] as const)
        if (!seq[b] && get32(d, o + 12) === crc32(d, o, o + 12, MAGIC ^ b ^ B) && get32(d, o)) {
          seq[b] = get32(d, o);
          first[b] = get32(d, o + 4);
          lows[b] = get32(d, o + 8);
          if (seq[b]! > top) top = seq[(head = b)]!;
        }
      ours ||= a === VERSION || seq[b]! > 0;
    }
    const reset = '; open it with reset: true to start afresh (what it holds is lost)';
    if (newest > VERSION || (!ours && newest))
      throw fail(
        STORE_VERSION,
        `expected a queue in format ${VERSION}, got one in format ${newest} (read it with the version that wrote it)${reset}`,
      );
    if (head < 0)
      for (let b = 0; b < N; b++)
        // an erased partition (a cut first write may have left part of an A or B header), or one
        // whose only log block got a cut B header write; anything else is not ours to format
        if (!this.#blank(b * B + (ours ? HEADER : 12), B - (ours ? HEADER + TRAILER : 12)))
          throw ours
            ? fail(STORE_DAMAGED, `expected a readable log header, got none, and block ${b} holds records${reset}`)
            : fail(
                STORE_FOREIGN,
                `expected a umqtt queue or erased flash, got other data in block ${b}${this.#other()}${reset}`,
              );
    // the log: the newest block back to the furthest one whose seq fits its place; a block in
    // between whose two B copies are both unreadable is placed by them
    let used = 0;
    for (let d = 1; head >= 0 && d < N && d < top; d++) if (seq[(head - d + N) % N] === top - d) used = d;
    const tail = head < 0 ? 0 : (head - used + N) % N;
    if (head >= 0) used++;
    for (let i = 1; i < used - 1; i++) {
      const b = (tail + i) % N;
      if (seq[b] !== seq[tail]! + i) {
        seq[b] = seq[tail]! + i;
        first[b] = lows[b] = -1;
      }
    }
    this.#head = head;
    this.#tail = tail;
    this.#used = used;
    this.#nextSeq = top + 1;
    this.#skip = 0;
    // replay, straight into the index (no per-message objects: mount needs no more RAM than the
    // index, unless there is damage to account for)
    this.#n = this.#lo = this.#hi = this.#live = this.#bytes = 0;
    this.#inBlock.fill(0);
    this.#inc.clear();
    this.#byKey = undefined;
    const end = used * C;
    /** Stream position (i * C + offset) of the first record that starts in log block i or after. */
    const start = (i: number): number => {
      for (; i < used; i++) {
        const f = first[(tail + i) % N]!;
        if (f < C) return i * C + Math.max(f, 0);
      }
      return end;
    };
    let pos = start(0);
    /** End of the last good record. */
    let good = pos;
    let next = 1;
    /** Original messages (not copies) appear in key order from the tail's low key: the next one expected. */
    let expect = used ? lows[tail]! : 0;
    /** Unreadable bytes since the last original message: keys missing in between were lost in them. */
    let hole = false;
    /** Damage since the last good record (at the end: what a cut write left). */
    let pending: Bad[] = [];
    /** Bytes of each stretch of damage followed by a good record (and not reported before). */
    let counted: number[] = [];
    /** Damaged messages with a readable header, counted at the end if lost: stretch, key, bytes. */
    let deferred: number[] = [];
    /** Keys that may be lost: damaged messages, updates of messages not found; cleared by a later message or removal. */
    const suspects = new Map<number, LostMessage>();
    /** Removals of keys whose original message was not reached (it may be lost in damage). */
    const removed = new Set<number>();
    const missing = (to: number): void => {
      for (let k = expect; hole && k < to; k++) if (!removed.has(k) && !suspects.has(k)) suspects.set(k, { key: k });
    };
    /** An original message with `key` (read, or with a readable header): the keys skipped before it were lost if damage lies between. */
    const original = (key: number): void => {
      if (key < expect) return;
      missing(key);
      expect = key + 1;
      hole = false;
    };
    /** Damage followed by a good record: counted, and what it lost accounted for. */
    const flush = (stretch: Bad[]): void => {
      let n = 0;
      for (const e of stretch) {
        if (e.lost) {
          // counted at the end if still lost (held from an earlier record: a cut copy; removed
          // later: its loss was reported)
          deferred.push(counted.length, e.key!, e.len);
          suspects.set(e.key!, e.lost);
          if (e.original) original(e.key!);
        } else if (!e.unwritten) {
          if (e.key === undefined) hole = true;
          n += e.len;
        }
      }
      counted.push(n);
    };
    this.#cache = new Map();
    try {
      while (pos < end) {
        const r = this.#parse(pos, end, first);
        if (r instanceof Uint8Array) {
          if (r[TYPE] === SKIP) {
            // what a cut write left before it: not damage (what lies before that still is)
            const from = pos - (get32(r, SKIP_BYTES) % REPORTED);
            pending = pending.filter((e) => (e.len = Math.min(e.len, from - e.at)) > 0);
          }
          flush(pending);
          pending = [];
          if (r[TYPE] === SKIP) {
            // damage before it was reported when it was written: not counted again (messages
            // lost in it stay lost, and reported, until removed)
            if (get32(r, SKIP_BYTES) >= REPORTED) counted = deferred = [];
            // originals missing below its key were lost in damage before it; the rest up to its
            // next key were what the cut write left
            missing(get32(r, SKIP_ACCOUNTED));
            expect = Math.max(expect, get32(r, SKIP_NEXT_KEY));
            hole = false;
          }
          const key = get32(r, KEY);
          next = Math.max(next, r[TYPE] === SKIP ? get32(r, SKIP_NEXT_KEY) : key + 1);
          this.#replay(r, ((tail + Math.floor(pos / C)) % N) * B + HEADER + (pos % C));
          if (r[TYPE] === MSG) {
            if (!(r[MSG_FLAGS]! & COPY)) original(key);
            suspects.delete(key);
          } else if (r[TYPE] === DEL) {
            suspects.delete(key);
            if (key >= expect) removed.add(key);
          } else if (r[TYPE] === UPD && this.#find(key) < 0 && !suspects.has(key)) suspects.set(key, { key });
          this.#marked = r[TYPE] === SKIP;
          pos = good = pos + r.length;
        } else if (r) {
          pending.push(this.#bad!);
          pos += r;
        } else {
          const i = Math.floor(pos / C);
          const off = pos - i * C;
          const at = ((tail + i) % N) * B + HEADER + off;
          // erased from here to the end of the head: the end of the log
          if (i === used - 1 && this.#blank(at, C - off)) break;
          const q = this.#resync(pos, end, end, first);
          pending.push({
            at: pos,
            len: q - pos,
            unwritten: !!this.flash.sync && this.#read(at, TYPE + 1)[TYPE] === 0xff,
          });
          pos = q;
        }
      }
      // What follows the last good record is what a cut write left: not reported, except a
      // committed message whose body is damaged on a flash that writes in order (without `sync`:
      // a cut write there is never committed).
      if (!this.flash.sync) flush(pending.filter((e) => e.lost && e.committed));
      // originals missing after the last one read, when damage followed it
      let upper = next;
      for (let i = 0; i < used; i++) upper = Math.max(upper, lows[(tail + i) % N]!);
      missing(upper);
      for (const e of pending) if (e.key !== undefined) next = Math.max(next, e.key + 1);
      for (const k of suspects.keys()) next = Math.max(next, k + 1);
      this.#nextKey = Math.max(upper, next);
      // resume after the last good record, or after what a cut write left there (where reading
      // stopped: erased bytes up to the end of the head; not before the head's first record); a
      // SKIP record written first says those bytes are not damage. A head with nothing good in
      // it leaves the log: it is erased and used again (with its seq) when the log needs it.
      let h = (used - 1) * C;
      let w = Math.min(Math.max(pos, h + Math.max(first[head]!, 0)), end);
      if (used && good <= h && w > h) {
        this.#used = --used;
        this.#head = used ? (head - 1 + N) % N : -1;
        this.#tail = used ? tail : head;
        this.#nextSeq = top;
        w = h;
        h -= C;
      }
      if (w - h >= C) w = h + C;
      if (used) this.#skip = w - good;
      this.#skipKey = upper;
      this.#wp = used ? w - h : C;
      // the report: lost = suspects not held (a later copy was read)
      this.#sort();
      const lost = [...suspects.values()].filter((m) => this.#find(m.key) < 0).sort((x, y) => x.key - y.key);
      for (let i = 0; i < deferred.length; i += 3)
        if (this.#find(deferred[i + 1]!) < 0 && suspects.has(deferred[i + 1]!))
          counted[deferred[i]!]! += deferred[i + 2]!;
      const places = counted.filter((n) => n).length;
      const bytes = counted.reduce((a, n) => a + n, 0);
      this.#reported = !!(lost.length || places);
      return this.#reported ? { lost, places, bytes } : undefined;
    } finally {
      this.#cache = undefined;
      this.#sort();
    }
  }

  /** Applies a good record found at physical `at` to the index. */
  #replay(r: Uint8Array, at: number): void {
    if (r[TYPE] === INC) return this.#inced(get16(r, INC_ID), r[INC_HELD] === 1, at);
    const key = get32(r, KEY);
    let j = this.#find(key);
    if (r[TYPE] === MSG) {
      if (j < 0) j = this.#slot(key);
      else {
        this.#live -= this.#lens[j]!;
        this.#inBlock[Math.floor(this.#locs[j]! / this.#B)]!--;
      }
      this.#bytes -= this.#sizes[j]!;
      const s = bodyAt(r);
      this.#locs[j] = at;
      this.#inBlock[Math.floor(at / this.#B)]!++;
      this.#live += this.#lens[j] = r.length;
      // topic (UTF-8) and payload: messageBytes
      this.#bytes += this.#sizes[j] =
        r.length - MSG_FIXED - (r[MSG_FLAGS]! & HAS_PRIORITY ? 8 : 0) - (r[MSG_FLAGS]! & HAS_EXPIRY ? 8 : 0);
      this.#qos[j] = r[MSG_FLAGS]! & QOS_MASK;
      this.#ids[j] = get16(r, s + BODY_ID);
      this.#stages[j] = r[s + BODY_STAGE]!;
      this.#tries[j] = get32(r, s + BODY_ATTEMPTS);
    } else if (j >= 0 && r[TYPE] !== SKIP) {
      if (r[TYPE] === DEL) this.#drop(j);
      else {
        this.#ids[j] = get16(r, UPD_ID);
        this.#stages[j] = r[UPD_STAGE]!;
        this.#tries[j] = get32(r, UPD_ATTEMPTS);
      }
    }
  }

  /**
   * The record at stream position `pos` of the log (log block `pos / C`, offset `pos % C`):
   * the record if it is committed and intact; else its length if its header is intact (what
   * could be read of it in #bad); else 0, no record starts here. A record that runs on into later
   * blocks must end where the last of them says its first record starts (`first`; the data area
   * size for the blocks in between), as #append makes it.
   */
  #parse(pos: number, end: number, first: Float64Array): Uint8Array | number {
    const C = this.#C;
    const i = Math.floor(pos / C);
    const off = pos - i * C;
    const b = (this.#tail + i) % this.#N;
    const at = b * this.#B + HEADER + off;
    if (end - pos < DEL_LEN) return 0;
    let r = this.#read(at, MSG_TOPIC); // enough to know any record's header end
    const type = r[TYPE];
    const len = get32(r, LENGTH);
    const h = headerEnd(r);
    if (!(type === MSG ? len >= h + 15 : known(type) && len === h + 4) || len > end - pos) return 0;
    r = this.#read(at, h + 4);
    const c = get32(r, h);
    if (c !== this.#crcHeader(r, h, this.#seq[b]!, off)) return 0;
    if (type === MSG) r = this.#read(at, len);
    // a record that runs on must end where the blocks it runs into say their first record starts;
    // else it was cut off (see above) and ends, for the reader, where such a block says
    let cut = 0;
    for (let k = 1, e = off + len; !cut && e > k * C; k++) {
      const f = first[(b + k) % this.#N]!;
      if (f >= 0 && f !== Math.min(e - k * C, C)) cut = k * C + f - off;
    }
    if (!cut && r[COMMIT] === 0 && (type !== MSG || get32(r, h + 4) === this.#crcBody(r, h + 8, c))) return r;
    const key = get32(r, KEY);
    this.#bad = {
      at: pos,
      len: cut || len,
      key,
      committed: r[COMMIT] === 0,
      original: type === MSG && !(r[MSG_FLAGS]! & COPY),
      lost:
        type === MSG
          ? { key, topic: decodeUtf8(r, MSG_TOPIC, h, true), qos: (r[MSG_FLAGS]! & QOS_MASK) as QoS }
          : undefined,
    };
    return cut || len;
  }

  /**
   * Past bytes where no record starts (damage): the next stream position after `pos`, before
   * `limit`, where a record with an intact header starts (else `limit`), looked for byte by
   * byte. In a block after the first, it starts looking where the block says its first record
   * starts.
   */
  #resync(pos: number, limit: number, end: number, first: Float64Array): number {
    const C = this.#C;
    const i0 = Math.floor(pos / C);
    for (let p = pos + 1; p < limit;) {
      const i = Math.floor(p / C);
      const b = (this.#tail + i) % this.#N;
      let off = p - i * C;
      if (i > i0) off = Math.max(off, first[b]!);
      const d = this.#block(b);
      const stop = Math.min(C, limit - i * C);
      for (; off < stop; off++) {
        // (a header across the block's end: try it)
        if ((off + 1 === C || known(d[HEADER + off + 1])) && this.#parse(i * C + off, end, first) !== 0)
          return i * C + off;
      }
      p = i * C + stop;
    }
    return limit;
  }

  // ---- the index -------------------------------------------------------------------------
  //
  // Slots [#lo, #hi) of the typed arrays, in key order; a removed message leaves a dead slot (its
  // length 0) instead of shifting the arrays, and the front moves past dead slots: removing from
  // the front (a queue draining) and adding at the back cost the same at any depth. The live
  // slots are moved together when the dead ones reach an eighth of the arrays (amortized: a few
  // moves per removal). Only a mount meets keys out of order (copies made by compaction, replayed
  // after newer originals): it then finds slots through a map, and sorts them once at its end.

  /** Slot of `key` if held, else -1. */
  #find(key: number): number {
    const by = this.#byKey;
    if (by) return by.get(key) ?? -1;
    let lo = this.#lo;
    let hi = this.#hi - 1;
    const keys = this.#keys;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const k = keys[mid]!;
      if (k === key) return this.#lens[mid] ? mid : -1;
      if (k < key) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** A new live slot for `key` (absent), zeroed, at the end. */
  #slot(key: number): number {
    if (this.#hi > this.#lo && key <= this.#keys[this.#hi - 1]! && !this.#byKey) {
      // a copy replayed after newer originals (only a mount, which sorts them at its end, meets
      // keys out of order: an add has the largest key): slots by map until then
      const by = (this.#byKey = new Map());
      for (let i = this.#lo; i < this.#hi; i++) if (this.#lens[i]) by.set(this.#keys[i]!, i);
    }
    this.#room1();
    const j = this.#hi++;
    this.#locs[j] = this.#lens[j] = this.#sizes[j] = this.#tries[j] = this.#ids[j] = this.#stages[j] = this.#qos[j] = 0;
    this.#keys[j] = key;
    this.#byKey?.set(key, j);
    this.#n++;
    return j;
  }

  /** Room for one more slot at the end: the live slots moved together, or the arrays grown. */
  #room1(): void {
    const size = this.#keys.length;
    if (this.#hi < size) return;
    const dead = this.#hi - this.#n;
    if (dead && dead >= size / 8 && !this.#byKey) this.#squeeze();
    // grown by half: with at least 7/8 of the slots live, never more than twice the slots in use
    else this.#grow(Math.max(8, Math.ceil(size * 1.5)));
  }

  #arrays(): (Uint32Array | Uint16Array | Uint8Array)[] {
    return [this.#keys, this.#locs, this.#lens, this.#sizes, this.#tries, this.#ids, this.#stages, this.#qos];
  }

  /** Moves the live slots to the front of the arrays, in order. */
  #squeeze(): void {
    const lens = this.#lens;
    const all = this.#arrays();
    let w = 0;
    for (let j = this.#lo; j < this.#hi; j++)
      if (lens[j]) {
        if (w !== j) for (const a of all) a[w] = a[j]!;
        w++;
      }
    this.#lo = 0;
    this.#hi = w;
  }

  #grow(size: number): void {
    const [lo, hi] = [this.#lo, this.#hi];
    const re = <T extends Uint32Array | Uint16Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a.subarray(lo, hi));
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
    this.#qos = re(this.#qos, (k) => new Uint8Array(k));
    this.#lo = 0;
    this.#hi = hi - lo;
    if (this.#byKey) for (const [k, j] of this.#byKey) this.#byKey.set(k, j - lo);
  }

  /** Forgets slot `j`: it stays, dead, until the slots are moved together. */
  #drop(j: number): void {
    this.#live -= this.#lens[j]!;
    this.#bytes -= this.#sizes[j]!;
    this.#inBlock[Math.floor(this.#locs[j]! / this.#B)]!--;
    this.#lens[j] = 0;
    this.#byKey?.delete(this.#keys[j]!);
    if (!--this.#n) this.#lo = this.#hi = 0;
    else if (j === this.#lo) while (!this.#lens[++this.#lo]);
  }

  /** After a mount that met keys out of order: the slots sorted by key, and found by binary search again. */
  #sort(): void {
    if (!this.#byKey) return;
    this.#byKey = undefined;
    this.#squeeze();
    const n = this.#hi;
    const keys = this.#keys;
    const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => keys[x]! - keys[y]!);
    for (const a of this.#arrays()) {
      const copy = a.slice(0, n);
      for (let i = 0; i < n; i++) a[i] = copy[order[i]!]!;
    }
  }
}
