// FlashStore beyond the shared contract: rotation and wear, limits, mounting what is on the
// flash (blank, foreign, decayed, stale bytes), flash errors, and the measured figures the
// README quotes.
import { describe, expect, test } from 'vitest';
import { QUEUED, RELEASING, SENT, type NewMessage } from '@umqtt/robust';
import {
  FlashStore,
  INDEX_BYTES_PER_MESSAGE,
  RECORD_OVERHEAD,
  SimulatedFlash,
  moddableFlash,
  type Flash,
  type FlashStoreOptions,
  type ModdableFlash,
} from './index.js';
import { crc32 } from './crc32.js';
import { prng } from './workload.test-support.js';

const enc = (s: string) => new TextEncoder().encode(s);
const msg = (topic: string, payload: Uint8Array | string = '', over: Partial<NewMessage> = {}): NewMessage => ({
  topic,
  payload: typeof payload === 'string' ? enc(payload) : payload,
  qos: 1,
  retain: false,
  priority: 0,
  expiresAt: 0,
  ...over,
});
const full = expect.objectContaining({ name: 'UmqttError', code: 'UMQTT_STORE_FULL', place: 'store' });
const view = (s: FlashStore) => ({
  count: s.count,
  bytes: s.bytes,
  messages: s.messages().map((m) => ({ ...m, payload: Array.from(m.payload) })),
});

describe('layout and limits', () => {
  test('capacity: the partition minus the blocks compaction needs, minus RECORD_OVERHEAD per record', () => {
    // 16 blocks of 4 KiB, one-block messages: 3 blocks kept for compaction, one for what a
    // power cut may waste, 32 bytes for a state record
    const s = new FlashStore(new SimulatedFlash({ blockSize: 4096, blocks: 16 }), { maxRecords: 200 });
    // (4052 data bytes per block: 44 for the block header and its second copy)
    expect(s.stats).toMatchObject({ blocks: 16, blockSize: 4096, reserveBlocks: 3, budget: 12 * 4052 - 48 });
    expect(s.maxMessageBytes).toBe(4052 - RECORD_OVERHEAD);
    expect(s.capacity).toBe(12 * 4052 - 48 - 200 * RECORD_OVERHEAD);
    // defaults: one record per 128 bytes of budget
    const d = new FlashStore(new SimulatedFlash({ blockSize: 4096, blocks: 16 }));
    expect(d.maxRecords).toBe(Math.floor((12 * 4052 - 48) / 128));
    // bigger messages need more free blocks
    expect(
      new FlashStore(new SimulatedFlash({ blockSize: 4096, blocks: 32 }), { maxMessageBytes: 20_000 }).stats
        .reserveBlocks,
    ).toBe(2 + 5);
  });

  test('a flash too small for its options is refused at once', () => {
    const invalid = expect.objectContaining({ code: 'UMQTT_INVALID_ARGUMENT' });
    expect(() => new FlashStore(new SimulatedFlash({ blockSize: 4096, blocks: 4 }))).toThrow(invalid);
    expect(() => new FlashStore(new SimulatedFlash({ blockSize: 64, blocks: 100 }))).toThrow(invalid);
    expect(() => new FlashStore(new SimulatedFlash({ blockSize: 4096, blocks: 16 }), { maxRecords: 5000 })).toThrow(
      invalid,
    );
    expect(
      () => new FlashStore(new SimulatedFlash({ blockSize: 4096, blocks: 16 }), { maxMessageBytes: 60_000 }),
    ).toThrow(invalid);
  });

  test('full: by record count, by capacity, by message size and by flash, each leaves store and flash unchanged', () => {
    const refused = (s: FlashStore, m: NewMessage, why: RegExp) => {
      const flash = s.flash as SimulatedFlash;
      const [before, bytes, ops] = [view(s), flash.snapshot(), flash.operations];
      expect(() => s.add(m)).toThrow(full);
      expect(() => s.add(m)).toThrow(why);
      expect(view(s)).toEqual(before);
      expect(flash.operations).toBe(ops);
      expect(flash.snapshot()).toEqual(bytes);
    };
    const s = new FlashStore(new SimulatedFlash({ blockSize: 512, blocks: 16 }), {
      maxRecords: 4,
      maxMessageBytes: 1000,
    });
    refused(s, msg('big', new Uint8Array(1001 - 3)), /at most 1000 bytes/);
    for (let i = 0; i < 4; i++) s.add(msg(`t/${i}`, new Uint8Array(100)));
    refused(s, msg('x'), /fewer than 4 messages/);
    s.remove(s.messages()[0]!.key);
    refused(s, msg('x', new Uint8Array(s.capacity - s.bytes)), /expected room for/);
    // a topic counts its UTF-8 bytes, as it takes them on flash: '€' is 3 bytes
    const c = new FlashStore(new SimulatedFlash({ blockSize: 512, blocks: 16 }), { maxRecords: 20 });
    const wide = '€'.repeat(140);
    const fit = Math.floor(c.capacity / 420);
    for (let i = 0; i < fit; i++) c.add(msg(wide));
    expect(c.bytes).toBe(fit * 420);
    refused(c, msg(wide), /expected room for 420 bytes/);
  });

  test('update() and remove() never run out of room: 20,000 state changes on a store kept at capacity', () => {
    const s = new FlashStore(new SimulatedFlash({ blockSize: 256, blocks: 12 }), { maxRecords: 8 });
    const r = prng(7);
    let changes = 0;
    for (let i = 0; i < 20_000; i++) {
      // refill to the limits, with messages of every size
      for (;;) {
        try {
          s.add(msg(`f/${i}`, new Uint8Array((r() * (s.maxMessageBytes - 10)) | 0), { qos: 2 }));
        } catch {
          break;
        }
      }
      const list = s.messages();
      const m = list[(r() * list.length) | 0]!;
      if (r() < 0.05) s.remove(m.key);
      else s.update(m.key, 1 + ((r() * 65535) | 0), m.stage === SENT ? RELEASING : SENT, m.attempts + 1);
      changes++;
    }
    expect(changes).toBe(20_000);
    expect(s.stats.compactions).toBeGreaterThan(1000);
    expect(view(new FlashStore(s.flash, { maxRecords: 8 }))).toEqual(view(s));
  });
});

describe('rotation and wear', () => {
  test('blocks are erased strictly in turn: erase counts differ by at most 1, static messages included', () => {
    const flash = new SimulatedFlash({ blockSize: 512, blocks: 16 });
    const options: FlashStoreOptions = { maxRecords: 24 };
    let s = new FlashStore(flash, options);
    // messages that never leave: compaction must carry them along, not pin their block
    const statics = [0, 1, 2, 3, 4].map((i) =>
      s.add(msg(`static/${i}`, new Uint8Array(150).fill(i), { qos: 2, priority: i })),
    );
    s.update(statics[0]!, 9, SENT, 1);
    s.update(statics[0]!, 9, RELEASING, 1);
    const r = prng(3);
    const churn: number[] = [];
    for (let i = 0; Math.min(...flash.eraseCounts) < 100; i++) {
      if (churn.length > 10 || (churn.length && r() < 0.4)) s.remove(churn.splice((r() * churn.length) | 0, 1)[0]!);
      else churn.push(s.add(msg(`c/${i}`, new Uint8Array((r() * 200) | 0))));
      if (i % 5000 === 4999) s = new FlashStore(flash, options); // remounts along the way
    }
    const counts = Array.from(flash.eraseCounts);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    expect(s.stats.eraseCounts).toEqual(counts); // the headers record the true counts
    expect(new FlashStore(flash.clone(), options).stats.eraseCounts).toEqual(counts);
    const held = s.messages().filter((m) => m.topic.startsWith('static/'));
    expect(held.map((m) => [m.key, m.priority, m.payload[0], m.stage])).toEqual(
      statics.map((k, i) => [k, i, i, i ? QUEUED : RELEASING]),
    );
    console.log(
      `wear: ${s.stats.compactions} compactions, erase counts ${Math.min(...counts)}..${Math.max(...counts)} over ${counts.length} blocks`,
    );
  });

  test('messages larger than a block run across blocks and survive compaction and remount', () => {
    const flash = new SimulatedFlash({ blockSize: 256, blocks: 64 });
    const options = { maxRecords: 6, maxMessageBytes: 2000 };
    const s = new FlashStore(flash, options);
    const big = (i: number) => new Uint8Array(1500 + i).map((_, j) => (j * 7 + i) & 255);
    const keys = [0, 1, 2].map((i) => s.add(msg(`big/${i}`, big(i))));
    for (let i = 0; i < 300; i++) s.remove(s.add(msg(`small/${i}`, new Uint8Array(100)))); // forces compactions
    expect(s.stats.compactions).toBeGreaterThan(20);
    const again = new FlashStore(flash.clone(), options);
    expect(again.messages().map((m) => [m.key, Array.from(m.payload)])).toEqual(
      keys.map((k, i) => [k, Array.from(big(i))]),
    );
  });
});

describe('mount', () => {
  test('a blank partition mounts empty; one full of foreign bytes too, with reset only; both are formatted as used', () => {
    const r = prng(11);
    const junk = new Uint8Array(512 * 16).map(() => (r() * 256) | 0);
    for (const flash of [
      new SimulatedFlash({ blockSize: 512, blocks: 16 }),
      new SimulatedFlash({ blockSize: 512, blocks: 16, bytes: junk }),
    ]) {
      const s = new FlashStore(flash, { reset: flash.read(0, 1)[0] !== 0xff });
      expect([s.count, s.bytes, s.damage]).toEqual([0, 0, undefined]);
      const k = s.add(msg('a/b', 'hello'));
      for (let i = 0; i < 200; i++) s.remove(s.add(msg('x', new Uint8Array(50))));
      expect(new FlashStore(flash).messages().map((m) => [m.key, m.topic])).toEqual([[k, 'a/b']]);
    }
  });

  test('keys keep growing after the newest key was removed and its records compacted away', () => {
    const flash = new SimulatedFlash({ blockSize: 256, blocks: 12 });
    const s = new FlashStore(flash, { maxRecords: 8 });
    const keep = s.add(msg('keep', 'k'));
    let last = 0;
    for (let i = 0; i < 50; i++) s.remove((last = s.add(msg(`n/${i}`, new Uint8Array(60)))));
    // then only updates, until every block has been compacted: no record of `last` is left
    const compactions = s.stats.compactions;
    for (let i = 1; s.stats.compactions < compactions + 12; i++) s.update(keep, i, SENT, i);
    const image = new TextDecoder('latin1').decode(flash.snapshot());
    expect(image).not.toContain('n/49');
    const again = new FlashStore(flash, { maxRecords: 8 });
    expect(again.messages().map((m) => m.key)).toEqual([keep]);
    expect(again.add(msg('next'))).toBeGreaterThan(last);
  });

  test('a record that decays (bits flipped) is never returned; its neighbours are', () => {
    const flash = new SimulatedFlash({ blockSize: 4096, blocks: 8 });
    const s = new FlashStore(flash, { maxRecords: 10 });
    const keys = [0, 1, 2, 3].map((i) => s.add(msg(`d/${i}`, new Uint8Array(40).fill(0xaa))));
    // clear one bit in the payload of the second message (NOR: a write can clear bits); each
    // record is 28 + 3 + 40 bytes, the first starts after the 28-byte block header; the payload
    // starts 31 bytes into the record
    const at = 28 + 71 + 31 + 20;
    expect(flash.read(at, 1)[0]).toBe(0xaa);
    flash.write(at, new Uint8Array([0xa8]));
    expect(s.payload(keys[1]!)).toBeUndefined(); // what robust reads back when it sends it: gone
    expect(s.payload(keys[2]!)).toEqual(new Uint8Array(40).fill(0xaa));
    expect(s.count).toBe(3);
    const got = s.messages();
    expect(got.map((m) => m.key)).toEqual([keys[0], keys[2], keys[3]]);
    expect(s.stats.corrupt).toBe(1);
    expect(s.count).toBe(3);
    const again = new FlashStore(flash, { maxRecords: 10 });
    expect(again.messages().map((m) => m.key)).toEqual([keys[0], keys[2], keys[3]]);
    // mounting reports it: its header (key, topic, QoS) is intact, its body is not
    expect(again.damage).toEqual({ lost: [{ key: keys[1], topic: 'd/1', qos: 1 }], places: 1, bytes: 71 });
    expect(again.add(msg('after'))).toBeGreaterThan(keys[3]!);
  });

  test('payload(key) reads a held payload back from flash, across blocks and a remount; unknown and removed keys give undefined', () => {
    const flash = new SimulatedFlash({ blockSize: 512, blocks: 16 });
    const s = new FlashStore(flash, { maxRecords: 20, maxMessageBytes: 1500 });
    const big = new Uint8Array(1200).map((_, i) => i * 13); // runs across blocks
    const k1 = s.add(msg('p/1', big, { priority: 3, expiresAt: 99 }));
    const k2 = s.add(msg('p/ü', Uint8Array.of(1, 2, 3)));
    const k3 = s.add(msg('p/3'));
    expect(s.payload(k1)).toEqual(big);
    expect(s.payload(k2)).toEqual(Uint8Array.of(1, 2, 3));
    expect(s.payload(k3)).toEqual(new Uint8Array(0));
    s.remove(k2);
    for (const k of [k2, k3 + 1, 0]) expect(s.payload(k)).toBeUndefined();
    const again = new FlashStore(flash, { maxRecords: 20, maxMessageBytes: 1500 });
    expect(again.payload(k1)).toEqual(big);
    expect(again.messages().map((m) => m.payload)).toEqual([big, new Uint8Array(0)]);
  });

  test('the bytes of an old record found at another place (stale or copied data) do not count', () => {
    const flash = new SimulatedFlash({ blockSize: 4096, blocks: 8 });
    const s = new FlashStore(flash, { maxRecords: 10 });
    const k = s.add(msg('q2', 'x', { qos: 2 }));
    const image = flash.read(28, 28 + 3); // the MSG record as written and committed: QUEUED
    s.update(k, 5, SENT, 1);
    s.update(k, 5, RELEASING, 1);
    // the same bytes again right after the two 21-byte UPD records: accepted, they would take
    // the message back to QUEUED
    const end = 28 + 31 + 2 * 21;
    expect(Array.from(flash.read(end, 31)).every((x) => x === 0xff)).toBe(true);
    flash.write(end, image);
    const again = new FlashStore(flash, { maxRecords: 10 });
    expect(again.messages().map((m) => [m.key, m.id, m.stage])).toEqual([[k, 5, RELEASING]]);
    expect(again.damage).toBeUndefined(); // at the end of the log, like what a cut write leaves
    // and it writes on elsewhere: the next mount still sees both
    const k2 = again.add(msg('after'));
    const third = new FlashStore(flash, { maxRecords: 10 });
    expect(third.messages().map((m) => [m.key, m.stage])).toEqual([
      [k, RELEASING],
      [k2, QUEUED],
    ]);
    expect(third.damage).toBeUndefined(); // the write after them said they are not damage
  });

  test('a flash call that fails (not a power cut) makes the store mount again before its next change', () => {
    const inner = new SimulatedFlash({ blockSize: 512, blocks: 16 });
    let failAt = -1;
    let writes = 0;
    const flaky: Flash = {
      blockSize: 512,
      byteLength: inner.byteLength,
      read: (o, n) => inner.read(o, n),
      write(o, b) {
        if (writes++ === failAt) {
          inner.write(o, b.subarray(0, b.length >> 1));
          throw new Error('SPI write failed');
        }
        inner.write(o, b);
      },
      erase: (b) => inner.erase(b),
    };
    const s = new FlashStore(flaky, { maxRecords: 10 });
    const a = s.add(msg('a', 'aaaa'));
    failAt = writes; // the next add's record write fails half way
    expect(() => s.add(msg('b', 'bbbb'))).toThrow('SPI write failed');
    const c = s.add(msg('c', 'cccc'));
    s.update(a, 3, SENT, 1);
    expect(s.messages().map((m) => [m.topic, m.stage])).toEqual([
      ['a', SENT],
      ['c', QUEUED],
    ]);
    expect(c).toBeGreaterThan(a);
    expect(new FlashStore(inner, { maxRecords: 10 }).messages().map((m) => m.topic)).toEqual(['a', 'c']);
  });

  test('a closed store refuses changes with UMQTT_STORE_CLOSED and still reads', () => {
    const s = new FlashStore(new SimulatedFlash({ blockSize: 512, blocks: 16 }));
    const k = s.add(msg('a'));
    s.close();
    const closed = expect.objectContaining({ code: 'UMQTT_STORE_CLOSED', place: 'store' });
    expect(() => s.add(msg('b'))).toThrow(closed);
    expect(() => s.update(k, 1, SENT, 1)).toThrow(closed);
    expect(() => s.remove(k)).toThrow(closed);
    expect(s.messages().map((m) => m.key)).toEqual([k]);
  });
});

describe('Moddable flash', () => {
  test('moddableFlash adapts read (ArrayBuffer), write(offset, byteLength, buffer) and erase', () => {
    const sim = new SimulatedFlash({ blockSize: 4096, blocks: 16 });
    const calls: string[] = [];
    const device: ModdableFlash = {
      blockSize: 4096,
      byteLength: sim.byteLength,
      read: (offset, byteLength) => sim.read(offset, byteLength).buffer as ArrayBuffer,
      write(offset, byteLength, buffer) {
        expect(buffer).toBeInstanceOf(ArrayBuffer);
        expect(buffer.byteLength).toBe(byteLength);
        calls.push('write');
        sim.write(offset, new Uint8Array(buffer));
      },
      erase(sector) {
        calls.push('erase');
        sim.erase(sector);
      },
    };
    const s = new FlashStore(moddableFlash(device));
    const keys = Array.from({ length: 300 }, (_, i) => s.add(msg(`m/${i}`, new Uint8Array(100))));
    for (const k of keys.slice(0, 290)) s.remove(k);
    for (let i = 0; i < 300; i++) s.remove(s.add(msg('churn', new Uint8Array(100))));
    expect(calls).toContain('erase');
    expect(new FlashStore(sim.clone()).messages().map((m) => m.key)).toEqual(keys.slice(290));
  });
});

describe('figures (quoted in README.md)', () => {
  test('RAM index, flash bytes and flash operations per message', () => {
    const flash = new SimulatedFlash({ blockSize: 4096, blocks: 64 });
    const s = new FlashStore(flash, { maxRecords: 1000 });
    const topic = 'device/42/alarm'; // 15 bytes
    const payload = new Uint8Array(64);
    s.add(msg('warm/up')); // the first add also writes the first block's headers
    // one add: the record is written, then committed
    const live = s.stats.liveBytes;
    let [w, e] = [flash.writes, flash.erases];
    const k1 = s.add(msg(topic, payload));
    const addWrites = flash.writes - w;
    const recordBytes = s.stats.liveBytes - live;
    // QoS 1 lifecycle: add, SENT, remove; QoS 2: add, SENT, RELEASING, remove
    [w, e] = [flash.writes, flash.erases];
    s.update(k1, 1, SENT, 1);
    s.remove(k1);
    const qos1 = addWrites + flash.writes - w;
    s.update(k1, 1, SENT, 1); // k1 is gone: nothing is written
    expect(flash.writes - w).toBe(4);
    const k3 = s.add(msg(topic, payload));
    s.update(k3, 7, SENT, 1);
    w = flash.writes;
    s.update(k3, 7, SENT, 1); // no change: nothing is written
    expect(flash.writes).toBe(w);
    s.remove(k3);
    const k2 = s.add(msg(topic, payload, { qos: 2 }));
    [w, e] = [flash.writes, flash.erases];
    s.update(k2, 2, SENT, 1);
    s.update(k2, 2, RELEASING, 1);
    s.remove(k2);
    const qos2 = addWrites + flash.writes - w;
    // an incoming QoS 2 id: held at PUBREC, released at PUBREL, one record each
    const beforeIncoming = s.stats.liveBytes;
    w = flash.writes;
    s.incoming(0x1234, true);
    const incomingBytes = s.stats.liveBytes - beforeIncoming;
    s.incoming(0x1234, true); // held already: nothing is written
    s.incoming(0x1234, false);
    const incomingWrites = flash.writes - w;
    expect(s.stats.liveBytes).toBe(beforeIncoming);
    expect(incomingBytes).toBe(17);
    expect(incomingWrites).toBe(4); // record and commit, twice
    expect(addWrites).toBe(2);
    expect(recordBytes).toBe(topic.length + 64 + 28);
    expect(qos1).toBe(6);
    expect(qos2).toBe(8);
    // over a long run, with block headers and compaction included (100 messages held)
    const held = Array.from({ length: 100 }, (_, i) => s.add(msg(topic, payload, { qos: 1, priority: i & 1 })));
    [w, e] = [flash.writes, flash.erases];
    const runs = 20_000;
    for (let i = 0; i < runs; i++) {
      const k = held.shift()!;
      s.update(k, 1 + (i % 65535), SENT, 1);
      s.remove(k);
      held.push(s.add(msg(topic, payload, { qos: 1, priority: i & 1 })));
    }
    const perPublish = (flash.writes - w) / runs;
    const erasesPer1000 = ((flash.erases - e) / runs) * 1000;
    expect(perPublish).toBeLessThan(6.25);
    expect(s.stats.indexBytes / s.count).toBeLessThanOrEqual(2 * INDEX_BYTES_PER_MESSAGE);
    console.log(
      `figures: index ${INDEX_BYTES_PER_MESSAGE} B RAM per message (${s.stats.indexBytes} B allocated for ${s.count}); ` +
        `a 64-byte payload on a 15-byte topic takes ${recordBytes} B of flash (${RECORD_OVERHEAD} B at most beyond topic and payload, 28 B without priority and expiry); ` +
        `flash writes: add ${addWrites}, QoS 1 publish ${qos1}, QoS 2 publish ${qos2}; an incoming QoS 2 id held ${incomingBytes} B of flash, and as much again to release it (${incomingWrites} writes); steady state with compaction ${perPublish.toFixed(3)} writes and ${erasesPer1000.toFixed(2)} erases per 1000 QoS 1 publishes`,
    );
  });
});

describe("a flash's own speed-ups (FileFlash's: Flash.unordered, Flash.crc32)", () => {
  test('unordered: each record is written committed, in one write; crc32: used for record bodies; the flash holds the same bytes', () => {
    const plain = new SimulatedFlash({ blockSize: 512, blocks: 16 });
    const sim = new SimulatedFlash({ blockSize: 512, blocks: 16 });
    let crcCalls = 0;
    const fast: Flash = {
      blockSize: sim.blockSize,
      byteLength: sim.byteLength,
      read: (offset, length) => sim.read(offset, length),
      write: (offset, bytes) => sim.write(offset, bytes),
      erase: (block) => sim.erase(block),
      sync: () => true,
      unordered: true,
      crc32: (bytes, start, end, crc) => {
        crcCalls++;
        return crc32(bytes, start, end, crc);
      },
    };
    const [a, b] = [new FlashStore(plain, { maxRecords: 20 }), new FlashStore(fast, { maxRecords: 20 })];
    const counts = (f: SimulatedFlash, s: FlashStore) => {
      const w = f.writes;
      const k = s.add(msg('t', 'x'.repeat(40)));
      s.update(k, 1, SENT, 1);
      s.remove(k);
      return f.writes - w;
    };
    for (const s of [a, b]) s.add(msg('warm/up')); // the first block's headers
    expect([counts(plain, a), counts(sim, b)]).toEqual([6, 3]); // QoS 1: add, SENT, remove
    for (let i = 0; i < 400; i++)
      for (const s of [a, b]) {
        const k = s.add(msg(`t/${i}`, new Uint8Array(i % 700).fill(i))); // some span blocks
        s.update(k, i + 1, SENT, 1);
        if (i % 3) s.remove(k);
        if (s.count > 8) s.remove(s.messages()[0]!.key);
      }
    expect(b.stats.compactions).toBeGreaterThan(20);
    expect(crcCalls).toBeGreaterThan(1000);
    expect(view(b)).toEqual(view(a));
    expect(sim.snapshot()).toEqual(plain.snapshot()); // same format: either mounts the other's
    expect(
      view(
        new FlashStore(new SimulatedFlash({ blockSize: 512, blocks: 16, bytes: sim.snapshot() }), { maxRecords: 20 }),
      ),
    ).toEqual(view(a));
  });
});
