// Damage: small log images corrupted at every byte (a bit flipped, ranges zeroed, the image cut
// short at every length), mounted again and checked against an independent reading of the image
// (written from the format in README.md, not from the store's code): every message whose record
// is intact comes back as it was, with the state its intact records give it; every message lost
// is reported (with its topic and QoS when its header is intact), except where README.md says a
// loss cannot be told from a power cut; nothing else is reported; and the store goes on working.
import { describe, expect, test } from 'vitest';
import { RELEASING, SENT, type NewMessage } from '@umqtt/robust';
import { FlashStore, SimulatedFlash, type FlashStoreOptions } from './index.js';

const B = 256;
const C = B - 44; // data bytes per block
const GEOMETRY = { blockSize: B, blocks: 12 };
const OPTIONS: FlashStoreOptions = { maxRecords: 10, maxMessageBytes: 400 };

const u8 = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 255);
const msg = (topic: string, payload: Uint8Array, over: Partial<NewMessage> = {}): NewMessage => ({
  topic,
  payload,
  qos: 1,
  retain: false,
  priority: 0,
  expiresAt: 0,
  ...over,
});

interface Image {
  name: string;
  bytes: Uint8Array;
  /** What each key was added with. */
  added: Map<number, NewMessage>;
}

/** A log of a few messages of every kind: spanning blocks, with priority and expiry, updated, removed. */
function build(name: string, opts: { compact: boolean; close: boolean }): Image {
  const flash = new SimulatedFlash(GEOMETRY);
  const s = new FlashStore(flash, OPTIONS);
  const added = new Map<number, NewMessage>();
  const add = (m: NewMessage) => {
    const k = s.add(m);
    added.set(k, m);
    return k;
  };
  const k1 = add(msg('a/1', u8(20, 1)));
  const k2 = add(msg('b/ü', u8(300, 2), { qos: 2, priority: 2, expiresAt: 1_700_000_000_000 }));
  s.update(k1, 7, SENT, 1);
  const k3 = add(msg('c/3', u8(5, 3), { qos: 0, retain: true }));
  const k4 = add(msg('d/4', u8(60, 4)));
  s.remove(k3);
  s.update(k2, 9, SENT, 1);
  s.update(k2, 9, RELEASING, 1);
  if (opts.compact) {
    // churn until the first blocks were compacted: k1, k2 (and k4) now live in copies
    for (let i = 0; s.stats.compactions < 2; i++) s.remove(add(msg(`x/${i}`, u8(90, i))));
    s.update(k1, 7, SENT, 2); // a copy followed by an update of its message
  }
  const k5 = add(msg('e/5', u8(150, 5), { priority: -1 }));
  add(msg('f/6', new Uint8Array(0), { qos: 0 }));
  s.remove(k4);
  s.update(k5, 11, SENT, 1);
  add(msg('g/7', u8(30, 7), { qos: 2 }));
  if (opts.close) s.close();
  return { name, bytes: flash.snapshot(), added };
}

// ---- an independent reading of the image (README.md, "On flash") ---------------------------

const get32 = (a: Uint8Array, i: number) => (a[i]! | (a[i + 1]! << 8) | (a[i + 2]! << 16) | (a[i + 3]! << 24)) >>> 0;
const get16 = (a: Uint8Array, i: number) => a[i]! | (a[i + 1]! << 8);

interface Rec {
  type: 'M' | 'U' | 'D' | 'S';
  key: number;
  /** Physical offsets of its bytes. */
  at: number[];
  /** How many of its first bytes are the part its header CRC covers, the CRC included. */
  header: number;
  copy: boolean;
  state: [number, number, number];
  /** SKIP: keys accounted below, next key. */
  u: number;
  next: number;
}

/** The log of an intact image: its records in order, and the blocks' low keys. */
function readLog(img: Uint8Array): { recs: Rec[]; lows: number[] } {
  const blocks: { b: number; seq: number; first: number; low: number }[] = [];
  for (let b = 0; b * B < img.length; b++) {
    const seq = get32(img, b * B + 12);
    if (seq && seq !== 0xffffffff) blocks.push({ b, seq, first: get32(img, b * B + 16), low: get32(img, b * B + 20) });
  }
  blocks.sort((x, y) => x.seq - y.seq);
  const phys = (pos: number) => blocks[Math.floor(pos / C)]!.b * B + 28 + (pos % C);
  const byte = (pos: number) => img[phys(pos)]!;
  const recs: Rec[] = [];
  for (let pos = blocks[0]!.first; pos < blocks.length * C && byte(pos + 1) !== 0xff;) {
    const len = byte(pos + 2) | (byte(pos + 3) << 8) | (byte(pos + 4) << 16) | (byte(pos + 5) << 24);
    const at = Array.from({ length: len }, (_, i) => phys(pos + i));
    const r = Uint8Array.from(at, (p) => img[p]!);
    const type = String.fromCharCode(r[1]!) as Rec['type'];
    const tl = type === 'M' ? get16(r, 11) : 0;
    const body = 21 + tl;
    recs.push({
      type,
      key: get32(r, 6),
      at,
      header: type === 'M' ? 17 + tl : len,
      copy: type === 'M' && (r[10]! & 32) !== 0,
      state:
        type === 'M'
          ? [get16(r, body), r[body + 2]!, get32(r, body + 3)]
          : type === 'U'
            ? [get16(r, 10), r[12]!, get32(r, 13)]
            : [0, 0, 0],
      u: type === 'S' ? get32(r, 10) : 0,
      next: type === 'S' ? get32(r, 14) : 0,
    });
    pos += len;
  }
  return { recs, lows: blocks.map((x) => x.low) };
}

/** Messages held after replaying `recs`: key -> [id, stage, attempts]. */
function replay(recs: Rec[]): Map<number, string> {
  const held = new Map<number, string>();
  for (const r of recs)
    if (r.type === 'M') held.set(r.key, r.state.join());
    else if (r.type === 'U' && held.has(r.key)) held.set(r.key, r.state.join());
    else if (r.type === 'D') held.delete(r.key);
  return held;
}

// ---- the check ------------------------------------------------------------------------------

const content = (m: NewMessage) => [m.topic, Array.from(m.payload).join(), m.qos, m.retain, m.priority, m.expiresAt];

/**
 * Mounts `img` with the bytes in `hit` changed to `bad`, and checks it as described at the top.
 * `cut`: the image was cut short (what follows the cut is lost with the end of the log).
 */
function check(image: Image, log: ReturnType<typeof readLog>, hit: number[], bad: number[], cut = false): void {
  const bytes = image.bytes.slice();
  hit.forEach((p, i) => (bytes[p] = bad[i]!));
  const touched = new Set(hit.filter((p, i) => image.bytes[p] !== bad[i]));
  const { recs, lows } = log;
  const damaged = recs.map((r) => r.at.some((p) => touched.has(p)));
  const intact = recs.filter((_, i) => !damaged[i]);
  const lastIntact = damaged.lastIndexOf(false);
  const want = replay(intact);
  const before = replay(recs);
  const store = new FlashStore(new SimulatedFlash({ ...GEOMETRY, bytes }), OPTIONS);
  const where = `${image.name}: bytes ${hit[0]}..${hit[hit.length - 1]} -> ${bad[0]}`;
  // delivered: exactly what the intact records hold, as they were added, in their state
  const got = store.messages();
  expect(
    got.map((m) => [m.key, `${m.id},${m.stage},${m.attempts}`]),
    where,
  ).toEqual([...want].sort((x, y) => x[0] - y[0]));
  for (const m of got) expect(content(m), where).toEqual(content(image.added.get(m.key)!));
  // reported: every message lost whose loss can be told (README.md, "Damage")
  const reported = new Map((store.damage?.lost ?? []).map((m) => [m.key, m]));
  const lost = [...before.keys()].filter((k) => !want.has(k));
  for (const k of lost) {
    let i = recs.length - 1;
    while (!(recs[i]!.type === 'M' && recs[i]!.key === k)) i--; // its last message record
    const r = recs[i]!;
    const headerIntact = !r.at.slice(1, r.header).some((p) => touched.has(p));
    const later = recs.slice(i + 1).filter((_, j) => !damaged[i + 1 + j]);
    let told: boolean;
    if (i > lastIntact)
      // at the end of the log: what a cut write leaves looks the same; on a flash that writes in
      // order (this one) a committed record whose header is intact is still told apart
      told = !cut && headerIntact && !touched.has(r.at[0]!) && r.at.every((p) => p < bytes.length);
    else if (headerIntact) told = true;
    else if (!r.copy)
      // a message first written there: known from the keys of what follows
      told =
        later.some((x) => (x.type === 'S' ? x.next : x.key + 1) > k || (x.type === 'U' && x.key === k)) ||
        lows.some((l) => l > k);
    // a copy made by compaction: known only if an update of it follows
    else told = later.some((x) => x.type === 'U' && x.key === k);
    if (told) {
      const m = reported.get(k);
      expect(m, `${where}: message ${k} lost and not reported`).toBeDefined();
      if (headerIntact) {
        const a = image.added.get(k)!;
        expect(m, where).toEqual({ key: k, topic: a.topic, qos: a.qos });
      }
    } else if (i <= lastIntact) expect(store.damage?.places, `${where}: unreadable bytes reported`).toBeGreaterThan(0);
  }
  // (or a message whose removal was damaged with it: nothing tells it was removed)
  for (const k of reported.keys())
    if (!lost.includes(k))
      expect(
        recs.some((r, i) => r.type === 'D' && r.key === k && damaged[i]),
        `${where}: ${k} reported lost`,
      ).toBe(true);
  if (!damaged.includes(true)) expect(store.damage, where).toBeUndefined();
  // it goes on: the lost are acknowledged (as the robust client does), a message is added, and
  // the next mount finds the same messages, the new one, and nothing lost
  for (const k of reported.keys()) store.remove(k);
  const k = store.add(msg('after', u8(40, 9)));
  // (a key is used again only if nothing readable is left of it: what a cut add leaves)
  expect(k, where).toBeGreaterThan(Math.max(0, ...intact.map((r) => (r.type === 'S' ? 0 : r.key)), ...reported.keys()));
  const again = new FlashStore(store.flash, OPTIONS);
  expect(
    again.messages().map((m) => [m.key, `${m.id},${m.stage},${m.attempts}`]),
    where,
  ).toEqual([...[...want].sort((x, y) => x[0] - y[0]), [k, '0,0,0']]);
  expect(again.damage, where).toBeUndefined(); // (reported once: the write after the report says so)
}

describe('damage: every byte of small log images', () => {
  const images = [
    build('sealed (closed)', { compact: false, close: true }),
    build('not closed (a device)', { compact: false, close: false }),
    build('compacted, sealed', { compact: true, close: true }),
  ];

  test.each(images)('$name: the image as written reads back whole, nothing reported', (image) => {
    const log = readLog(image.bytes);
    expect(log.recs.length).toBeGreaterThan(8);
    check(image, log, [0], [image.bytes[0]!]);
    if (image.name.startsWith('compacted')) expect(log.recs.some((r) => r.copy)).toBe(true);
  });

  test.each(images)('$name: one bit flipped, at every byte of the log', (image) => {
    const log = readLog(image.bytes);
    const end = Math.max(...log.recs.flatMap((r) => r.at)) + B; // and the erased bytes after it
    let n = 0;
    for (let p = 0; p < Math.min(end, image.bytes.length); p++) {
      check(image, log, [p], [image.bytes[p]! ^ (1 << (p % 8))]);
      n++;
    }
    console.log(`${image.name}: ${n} bit flips checked`);
  });

  test.each(images)('$name: ranges of 2, 7 and 24 bytes zeroed, from every byte', (image) => {
    const log = readLog(image.bytes);
    const end = Math.max(...log.recs.flatMap((r) => r.at));
    for (const len of [2, 7, 24])
      for (let p = 0; p + len <= end; p++) {
        const hit = Array.from({ length: len }, (_, i) => p + i);
        check(image, log, hit, Array<number>(len).fill(0));
      }
  });

  test.each(images)('$name: cut short at every length (the rest erased)', (image) => {
    const log = readLog(image.bytes);
    const end = Math.max(...log.recs.flatMap((r) => r.at)) + 1;
    for (let l = 0; l <= end; l++) {
      const hit = Array.from({ length: image.bytes.length - l }, (_, i) => l + i);
      check(image, log, hit, Array<number>(hit.length).fill(0xff), true);
    }
  });
});

describe('a partition that is not a queue of this format: refused, left as it is, unless reset', () => {
  const crc32 = (a: Uint8Array) => {
    let c = ~0;
    for (const x of a) {
      c ^= x;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    }
    return ~c >>> 0;
  };
  /** An A header as any format version writes it: "uQF" + version, erase count, CRC. */
  const header = (version: string) => {
    const a = new Uint8Array(12);
    a.set([0x75, 0x51, 0x46, version.charCodeAt(0), 3, 0, 0, 0]);
    new DataView(a.buffer).setUint32(8, crc32(a.subarray(0, 8)), true);
    return a;
  };
  const r = (
    (s) => () =>
      ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) & 255
  )(5);
  const size = B * GEOMETRY.blocks;
  const v = (version: string) => {
    const bytes = new Uint8Array(size).fill(0xff);
    for (let b = 0; b < GEOMETRY.blocks; b++) bytes.set(header(version), b * B);
    bytes.set(u8(100, 1), 28); // and a record of that format
    return bytes;
  };
  const damaged = () => {
    // a queue of this format with both copies of every block header destroyed
    const bytes = build('', { compact: false, close: true }).bytes;
    for (let b = 0; b < GEOMETRY.blocks; b++) bytes.fill(0, b * B + 12, b * B + 28).fill(0, b * B + B - 16, b * B + B);
    return bytes;
  };
  const text = new TextEncoder().encode('not a queue\n'.repeat(size / 12 + 1)).subarray(0, size);
  test.each([
    {
      name: 'zeroed',
      bytes: new Uint8Array(size),
      code: 'UMQTT_STORE_FOREIGN',
      message: /expected a umqtt queue or erased flash, got other data in block 0/,
    },
    { name: 'random', bytes: Uint8Array.from({ length: size }, r), code: 'UMQTT_STORE_FOREIGN', message: /other data/ },
    { name: 'a text file', bytes: text, code: 'UMQTT_STORE_FOREIGN', message: /other data/ },
    {
      name: 'an older format (1)',
      bytes: v('1'),
      code: 'UMQTT_STORE_VERSION',
      message: /expected a queue in format 2, got one in format 1/,
    },
    {
      name: 'a newer format (3)',
      bytes: v('3'),
      code: 'UMQTT_STORE_VERSION',
      message: /expected a queue in format 2, got one in format 3/,
    },
    {
      name: 'a queue whose block headers are all destroyed',
      bytes: damaged(),
      code: 'UMQTT_STORE_DAMAGED',
      message: /expected a readable log header, got none, and block 0 holds records/,
    },
  ])('$name: $code', ({ bytes, code, message }) => {
    const flash = new SimulatedFlash({ ...GEOMETRY, bytes });
    expect(() => new FlashStore(flash, OPTIONS)).toThrow(
      expect.objectContaining({ name: 'UmqttError', code, place: 'store', message: expect.stringMatching(message) }),
    );
    expect(() => new FlashStore(flash, OPTIONS)).toThrow(/open it with reset: true to start afresh/);
    expect(flash.snapshot()).toEqual(bytes); // nothing written
    // reset: erased and used afresh
    const s = new FlashStore(flash, { ...OPTIONS, reset: true });
    expect([s.count, s.damage]).toEqual([0, undefined]);
    const k = s.add(msg('fresh', u8(10, 1)));
    const again = new FlashStore(flash, OPTIONS);
    expect(again.messages().map((m) => [m.key, m.topic])).toEqual([[k, 'fresh']]);
    expect(again.damage).toBeUndefined();
    expect(flash.eraseCounts.every((n) => n <= 1)).toBe(true);
  });

  test('a queue read with another block size than it was written with: refused as foreign, naming the size it was written with, left as it is', () => {
    const written = new SimulatedFlash({ blockSize: 1024, blocks: 16 });
    const s = new FlashStore(written, { maxRecords: 20 });
    for (let i = 0; i < 6; i++) s.add(msg(`b/${i}`, u8(100, i)));
    s.close();
    const bytes = written.snapshot();
    for (const blockSize of [256, 512, 2048]) {
      const other = new SimulatedFlash({ blockSize, blocks: bytes.length / blockSize, bytes });
      expect(() => new FlashStore(other, { maxRecords: 20 }), `read with blocks of ${blockSize}`).toThrow(
        expect.objectContaining({
          code: 'UMQTT_STORE_FOREIGN',
          place: 'store',
          message: expect.stringMatching(new RegExp(`a queue in blocks of 1024 bytes, not ${blockSize}`)),
        }),
      );
      expect(other.snapshot()).toEqual(bytes); // nothing written
    }
    const again = new FlashStore(new SimulatedFlash({ blockSize: 1024, blocks: 16, bytes }), { maxRecords: 20 });
    expect([again.count, again.damage]).toEqual([6, undefined]);
  });

  test('reset on a healthy queue discards it; an erased partition needs no reset', () => {
    const flash = new SimulatedFlash(GEOMETRY);
    expect(new FlashStore(flash, OPTIONS).count).toBe(0);
    expect(flash.writes + flash.erases).toBe(0); // mounting an erased partition writes nothing
    new FlashStore(flash, OPTIONS).add(msg('old', u8(10, 2)));
    expect(new FlashStore(flash, { ...OPTIONS, reset: true }).count).toBe(0);
    expect(new FlashStore(flash, OPTIONS).count).toBe(0);
  });
});
