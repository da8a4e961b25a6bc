// FileFlash: a file as a flash partition, with NOR semantics; a FlashStore on it keeps its
// messages across closing and reopening the file, and across the process being killed.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { RELEASING, SENT, type NewMessage } from '@umqtt/robust';
import { FlashStore, SimulatedFlash } from '@umqtt/store-flash';
import { crc32 } from '../../../packages/store-flash/src/crc32.ts';
import { storeContract, waitFor } from '@umqtt/testkit';
import { Workload } from '../../../packages/store-flash/src/workload.test-support.ts';
import { FileFlash } from './flash-file.js';

const dir = mkdtempSync(join(tmpdir(), 'umqtt-flash-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const fresh = () => join(dir, `p${files++}.flash`);

const msg = (topic: string, payload: Uint8Array, over: Partial<NewMessage> = {}): NewMessage => ({
  topic,
  payload,
  qos: 1,
  retain: false,
  priority: 0,
  expiresAt: 0,
  ...over,
});
const view = (s: FlashStore) => s.messages().map((m) => ({ ...m, payload: Array.from(m.payload) }));

describe('FileFlash', () => {
  test('a new file is an erased partition of the size asked for; writes AND, erase sets 0xFF', () => {
    const path = fresh();
    const f = new FileFlash(path, { blockSize: 512, byteLength: 4 * 512 });
    expect([f.blockSize, f.byteLength, statSync(path).size]).toEqual([512, 2048, 2048]);
    expect(readFileSync(path).every((x) => x === 0xff)).toBe(true);
    f.write(510, new Uint8Array([0x0f, 0xf0, 0x55])); // across a block boundary
    f.write(510, new Uint8Array([0xf3, 0xff, 0xff])); // a 1 over a 0 does nothing
    expect(Array.from(f.read(509, 5))).toEqual([0xff, 0x03, 0xf0, 0x55, 0xff]);
    f.erase(0);
    expect(Array.from(f.read(509, 5))).toEqual([0xff, 0xff, 0xff, 0x55, 0xff]); // block 0 ends at 511
    f.close();
    expect(Array.from(readFileSync(path).subarray(509, 514))).toEqual([0xff, 0xff, 0xff, 0x55, 0xff]);
    expect(existsSync(`${path}.${process.pid}.new`)).toBe(false);
  });

  test('refuses what is not a partition: wrong size, ragged file, ranges outside, use after close', () => {
    const path = fresh();
    new FileFlash(path, { blockSize: 512, byteLength: 2048 }).close();
    const invalid = expect.objectContaining({ code: 'UMQTT_INVALID_ARGUMENT', place: 'flash' });
    expect(() => new FileFlash(path, { blockSize: 512, byteLength: 4096 })).toThrow(invalid); // never resized
    expect(new FileFlash(path, { blockSize: 512 }).byteLength).toBe(2048); // its own size when not given
    const ragged = fresh();
    writeFileSync(ragged, new Uint8Array(1000));
    expect(() => new FileFlash(ragged, { blockSize: 512 })).toThrow(invalid);
    expect(() => new FileFlash(fresh(), { blockSize: 512, byteLength: 1000 })).toThrow(invalid);
    const f = new FileFlash(path, { blockSize: 512 });
    expect(() => f.read(2040, 16)).toThrow(invalid);
    expect(() => f.write(-1, new Uint8Array(1))).toThrow(invalid);
    expect(() => f.erase(4)).toThrow(invalid);
    f.close();
    expect(() => f.read(0, 1)).toThrow(expect.objectContaining({ code: 'UMQTT_FLASH_CLOSED' }));
  });

  test('a file made with 64 KiB blocks and opened with the default 4 KiB: the store refuses it (UMQTT_STORE_FOREIGN, naming its block size), the file unchanged', () => {
    const path = fresh();
    const flash = new FileFlash(path, { blockSize: 64 << 10, byteLength: 8 * (64 << 10) });
    const store = new FlashStore(flash, { maxRecords: 100 });
    for (let i = 0; i < 5; i++) store.add(msg(`b/${i}`, new Uint8Array(300).fill(i)));
    store.close();
    flash.close();
    const before = readFileSync(path);
    const wrong = new FileFlash(path); // blockSize 4096
    expect(() => new FlashStore(wrong, { maxRecords: 100 })).toThrow(
      expect.objectContaining({
        code: 'UMQTT_STORE_FOREIGN',
        message: expect.stringMatching(/a queue in blocks of 65536 bytes, not 4096/),
      }),
    );
    wrong.close();
    expect(readFileSync(path).equals(before)).toBe(true);
    const right = new FileFlash(path, { blockSize: 64 << 10 });
    const again = new FlashStore(right, { maxRecords: 100 });
    expect([again.count, again.damage]).toEqual([5, undefined]);
    again.close();
    right.close();
  });

  test('holds exactly what a SimulatedFlash holds after the same FlashStore calls', () => {
    const path = fresh();
    const file = new FileFlash(path, { blockSize: 256, byteLength: 12 * 256, sync: false });
    const sim = new SimulatedFlash({ blockSize: 256, blocks: 12 });
    const [a, b] = [new FlashStore(file, { maxRecords: 8 }), new FlashStore(sim, { maxRecords: 8 })];
    for (let i = 0; i < 300; i++)
      for (const s of [a, b]) {
        const k = s.add(msg(`t/${i}`, new Uint8Array(i % 90).fill(i)));
        s.update(k, i + 1, SENT, 1);
        if (i % 5) s.remove(k);
        if (s.count > 4) s.remove(s.messages()[0]!.key);
      }
    expect(view(a)).toEqual(view(b));
    expect(sim.erases).toBeGreaterThan(20);
    expect(file.read(0, file.byteLength)).toEqual(sim.snapshot());
    file.close();
  });
});

describe('FileFlash speed-ups for FlashStore', () => {
  test("its crc32 is the store's CRC-32 (zlib's, native), over any range and continued", () => {
    const f = new FileFlash(fresh(), { blockSize: 512, byteLength: 2048, sync: false });
    expect(f.unordered).toBe(true);
    if (!f.crc32) return; // a Node without zlib.crc32 (before 20.15): the store's own is used
    const bytes = new Uint8Array(5000).map((_, i) => (i * 131 + 7) & 255);
    for (const [start, end, crc] of [
      [0, 0, 0],
      [0, 5000, 0],
      [3, 4999, 0],
      [10, 17, 0x12345678],
      [100, 4096, 0xffffffff],
    ] as const)
      expect(f.crc32(bytes, start, end, crc)).toBe(crc32(bytes, start, end, crc));
    f.close();
  });

  test('the calls of one turn reach the file in one pwritev at its end (each record written committed); a write onto erased bytes is a copy', async () => {
    const flash = new FileFlash(fresh(), { blockSize: 4096, byteLength: 8 * 4096, sync: false });
    const store = new FlashStore(flash, { maxRecords: 100 });
    store.add(msg('warm/up', new Uint8Array(1))); // the first block's headers
    await new Promise((r) => setImmediate(r));
    const before = flash.writes;
    for (let i = 0; i < 10; i++) {
      const k = store.add(msg('t', new Uint8Array(300).fill(7)));
      store.update(k, 1, SENT, 1);
      store.remove(k);
    }
    expect(flash.writes - before).toBe(0); // in the cache until the turn ends
    await new Promise((r) => setImmediate(r));
    expect(flash.writes - before).toBe(1);
    flash.write(8000, new Uint8Array(100).fill(0x0f)); // erased there: copied
    flash.write(8000, new Uint8Array(100).fill(0xf3)); // not erased: ANDed
    expect(Array.from(flash.read(7999, 3))).toEqual([0xff, 0x03, 0x03]);
    store.close();
    flash.close();
  });
});

describe('FileFlash syncs', () => {
  const small = (i: number) => msg(`t/${i}`, new Uint8Array(40).fill(i & 255));

  test('reads see writes at once; writes are in the file at the end of the turn, at a sync, or at close; a reopen sees the file', async () => {
    const path = fresh();
    const f = new FileFlash(path, { blockSize: 512, byteLength: 4 * 512 });
    f.write(700, new Uint8Array([0x12, 0x34]));
    expect(Array.from(f.read(700, 2))).toEqual([0x12, 0x34]);
    expect(Array.from(readFileSync(path).subarray(700, 702))).toEqual([0xff, 0xff]); // still in the process
    await new Promise((r) => setImmediate(r));
    expect(Array.from(readFileSync(path).subarray(700, 702))).toEqual([0x12, 0x34]); // the turn ended
    f.write(900, new Uint8Array([0x56]));
    f.sync('order');
    expect(readFileSync(path)[900]).toBe(0x56);
    f.write(901, new Uint8Array([0x78]));
    f.close();
    expect(readFileSync(path)[901]).toBe(0x78);
    const again = new FileFlash(path, { blockSize: 512 });
    expect(Array.from(again.read(700, 2))).toEqual([0x12, 0x34]);
    expect(Array.from(again.read(0, 2048).subarray(899, 903))).toEqual([0xff, 0x56, 0x78, 0xff]); // a large read: the file
    again.close();
  });

  test('RAM: the partition stays in the file; the cache holds at most cacheBytes, whatever the queue', () => {
    const flash = new FileFlash(fresh(), {
      blockSize: 64 << 10,
      byteLength: 64 * (64 << 10),
      sync: false,
      cacheBytes: 128 << 10,
    });
    const store = new FlashStore(flash, { maxRecords: 30_000 });
    for (let i = 0; i < 20_000; i++) store.add(small(i)); // about 2 MiB of records
    expect(flash.cachedBytes).toBeLessThanOrEqual(128 << 10);
    const all = store.messages(); // reads every record back
    expect(all.length).toBe(20_000);
    expect(all[12_345]!.payload[0]).toBe(12_345 & 255);
    expect(flash.cachedBytes).toBeLessThanOrEqual(128 << 10);
    store.close();
    flash.close();
  });

  test('default: one fdatasync per store call (and one more per block the log opens)', () => {
    const flash = new FileFlash(fresh(), { blockSize: 4096, byteLength: 8 * 4096 });
    const store = new FlashStore(flash, { maxRecords: 100 });
    const opened = () => store.stats.usedBlocks + store.stats.compactions;
    let calls = 0;
    for (let i = 0; i < 600; i++) {
      const k = store.add(small(i));
      store.update(k, i + 1, SENT, 1);
      store.remove(k);
      calls += 3;
    }
    expect(store.stats.compactions).toBeGreaterThan(3);
    // each compaction: copies, retire and erase in order (3); each block opened: 1
    expect(flash.syncs).toBeGreaterThanOrEqual(calls);
    expect(flash.syncs).toBeLessThanOrEqual(calls + opened() + 3 * store.stats.compactions);
    store.close();
    flash.close();
  });

  test("sync: 'group': the calls of a turn share one background fdatasync after it, reported by ticket (FlashStore's durable); QoS 2 steps at once; close() flushes", async () => {
    const flash = new FileFlash(fresh(), { blockSize: 4096, byteLength: 16 * 4096, sync: 'group' });
    const store = new FlashStore(flash, { maxRecords: 100 });
    const reported: number[] = [];
    store.onDurable = (d) => reported.push(d);
    const keys: number[] = [];
    for (let i = 0; i < 20; i++) keys.push(store.add(small(i)));
    // the first block joining the log is an ordering point: its A header is durable before its B
    // header is written, and its B header before records go in (records in a block with no
    // readable header would be damage)
    expect(flash.syncs).toBe(2);
    expect(store.durable).toBeLessThan(keys[0]!);
    await waitFor(() => store.durable === keys[19]); // one fdatasync for the 20 calls, after the turn
    expect(flash.syncs).toBe(3);
    expect(reported).toEqual([keys[19]]);
    await new Promise((r) => setTimeout(r, 20));
    expect(flash.syncs).toBe(3); // nothing written since: nothing to flush
    // turns that end while a background fdatasync runs share the next one
    for (let turn = 0; turn < 5; turn++) {
      keys.push(store.add(small(100 + turn)));
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => store.durable === keys.at(-1));
    expect(flash.syncs).toBeGreaterThanOrEqual(4);
    expect(flash.syncs).toBeLessThanOrEqual(3 + 5);
    expect(reported).toEqual([...reported].sort((a, b) => a - b));
    // a QoS 2 message: durable when add() returns, with everything before it
    const k1 = store.add(small(200));
    const k2 = store.add(msg('q2', new Uint8Array(8), { qos: 2 }));
    expect(store.durable).toBe(k2);
    expect(k1).toBeLessThan(k2);
    const settled = flash.syncs;
    // close() while a grouped flush waits or runs: flushed at once, and the file is closed
    store.remove(store.messages()[0]!.key);
    await new Promise((r) => setImmediate(r)); // the background fdatasync has started
    store.remove(store.messages()[0]!.key);
    const k3 = store.add(small(300));
    flash.close();
    expect(flash.syncs).toBe(settled + 1); // the one close() made (the background one ends later)
    expect(store.durable).toBe(k3);
    expect(() => flash.read(0, 1)).toThrow(/closed/);
    await waitFor(() => flash.syncs >= settled + 2);
    const file = new FileFlash(flash.path, { blockSize: 4096 });
    const reopened = new FlashStore(file, { maxRecords: 100 });
    expect(reopened.count).toBe(20 + 5 + 2 + 1 - 2);
    reopened.close();
    file.close();
    const none = new FileFlash(fresh(), { blockSize: 4096, byteLength: 16 * 4096, sync: false });
    const other = new FlashStore(none, { maxRecords: 100 });
    for (let i = 0; i < 50; i++) other.add(small(i));
    await new Promise((r) => setImmediate(r));
    none.close();
    expect(none.syncs).toBe(0);
  });
});

describe('FlashStore on a FileFlash', () => {
  test('messages survive closing and reopening the file, through compactions, with keys and states', () => {
    const path = fresh();
    const options = { maxRecords: 50 };
    const open = () => new FileFlash(path, { blockSize: 4096, byteLength: 16 * 4096 });
    let flash = open();
    let store = new FlashStore(flash, options);
    const kept: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const k = store.add(
        msg(`gw/${i}`, new Uint8Array(200).fill(i & 255), {
          qos: (i % 3) as 0 | 1 | 2,
          priority: i % 4,
          expiresAt: i % 7 ? 0 : 1_700_000_000_000 + i,
        }),
      );
      if (i % 100 === 0) {
        kept.push(k);
        store.update(k, i + 1, SENT, 1);
        if (i % 200 === 0) store.update(k, i + 1, RELEASING, 1);
      } else store.remove(k);
      if (i % 500 === 499) {
        // close and reopen: the same messages, the same keys and stages
        const before = view(store);
        store.close();
        flash.close();
        flash = open();
        store = new FlashStore(flash, options);
        expect(view(store)).toEqual(before);
      }
    }
    expect(Math.min(...store.stats.eraseCounts)).toBeGreaterThan(5); // every block went round several times
    expect(store.messages().map((m) => [m.key, m.stage])).toEqual(kept.map((k, i) => [k, i % 2 ? SENT : RELEASING]));
    store.close();
    flash.close();
  });

  test.each([
    { sync: true, title: 'sync: true, every call confirmed as it returns' },
    { sync: 'group', title: "sync: 'group', every call confirmed once its turn ended" },
  ] as const)(
    'a process killed (SIGKILL) at any point ($title): every change it confirmed is on the file',
    async ({ sync }) => {
      // The child runs the power-cut tests' workload (same seed -> same calls) on a file and
      // prints the number of calls that returned; it is killed mid-stream. The parent replays
      // the same calls on a SimulatedFlash to know what each confirmed call did and which call
      // was running, then mounts the file and checks it like a power cut.
      const here = fileURLToPath(new URL('.', import.meta.url));
      const root = join(here, '../../../');
      const GEOMETRY = { blockSize: 256, blocks: 14 };
      const OPTIONS = { maxRecords: 10, maxMessageBytes: 400 };
      const child = join(dir, `child-${sync}.mts`); // an ES module: it awaits at its top level
      writeFileSync(
        child,
        `import { writeSync } from 'node:fs';
import { FileFlash } from ${JSON.stringify(join(here, 'flash-file.ts'))};
import { FlashStore } from ${JSON.stringify(join(root, 'packages/store-flash/src/index.ts'))};
import { Workload } from ${JSON.stringify(join(root, 'packages/store-flash/src/workload.test-support.ts'))};
const [path, seed] = process.argv.slice(2);
const store = new FlashStore(new FileFlash(path, { blockSize: ${GEOMETRY.blockSize}, byteLength: ${GEOMETRY.blockSize * GEOMETRY.blocks}, sync: ${JSON.stringify(sync)} }), ${JSON.stringify(OPTIONS)});
const w = new Workload(Number(seed));
const turn = () => new Promise((r) => setImmediate(r));
for (let i = 1; ; i++) {
  w.step(store);
  // with 'group', a call is in the file once its turn ended (FileFlash writes out then)
  if (${sync === 'group'}) { await turn(); await turn(); }
  writeSync(1, i + '\\n');
}
`,
      );
      const runs = [
        { seed: 21, killAfter: 150 },
        { seed: 22, killAfter: 400 },
        { seed: 23, killAfter: 900 },
      ];
      const results = await Promise.all(
        runs.map(
          ({ seed, killAfter }) =>
            new Promise<{ seed: number; path: string; confirmed: number; signal: string | null }>((resolve, reject) => {
              const path = fresh();
              const p = spawn(process.execPath, ['--import', 'tsx', child, path, String(seed)], {
                cwd: root,
                stdio: ['ignore', 'pipe', 'pipe'],
              });
              let out = '';
              let err = '';
              p.stdout.on('data', (d: Buffer) => {
                out += d.toString();
                if (out.split('\n').length > killAfter) p.kill('SIGKILL');
              });
              p.stderr.on('data', (d: Buffer) => (err += d.toString()));
              p.on('error', reject);
              p.on('close', (_code, signal) => {
                if (signal !== 'SIGKILL') return reject(new Error(`child exited without being killed: ${err}`));
                // lines complete when the child died: calls that returned
                const lines = out.split('\n');
                resolve({ seed, path, confirmed: lines.length - 1, signal });
              });
            }),
        ),
      );
      for (const { seed, path, confirmed } of results) {
        expect(confirmed).toBeGreaterThanOrEqual(runs.find((r) => r.seed === seed)!.killAfter);
        const w = new Workload(seed);
        const shadow = new SimulatedFlash(GEOMETRY);
        const replay = new FlashStore(shadow, OPTIONS);
        for (let i = 0; i < confirmed; i++) w.step(replay);
        shadow.cutPowerAfter(0); // the next call: set as pending, stopped before it writes
        w.run(replay, 1);
        const store = new FlashStore(new FileFlash(path, { blockSize: GEOMETRY.blockSize }), OPTIONS);
        w.check(store);
        expect(store.count).toBeGreaterThan(0);
        console.log(
          `killed child (workload seed ${seed}) after ${confirmed} confirmed calls: the file holds all of them`,
        );
      }
    },
    60_000,
  );
});

// The Store contract on a file: flushed at every call, and grouped (`durable` follows a flush behind).
const contractOptions = { maxMessageBytes: 70_000, maxRecords: 1000 };
for (const sync of [true, 'group'] as const)
  storeContract(
    `FlashStore on a FileFlash (sync: ${String(sync)})`,
    () =>
      new FlashStore(
        new FileFlash(fresh(), { blockSize: 64 << 10, byteLength: 16 * (64 << 10), sync }),
        contractOptions,
      ),
    {
      grouped: sync === 'group',
      reopen: (s) => {
        const { path } = (s as FlashStore).flash as FileFlash;
        ((s as FlashStore).flash as FileFlash).close();
        return new FlashStore(new FileFlash(path, { blockSize: 64 << 10, sync }), contractOptions);
      },
    },
  );
