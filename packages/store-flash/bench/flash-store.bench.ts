// FlashStore throughput and wear, on the simulated flash and on a file (apps/node's FileFlash).
// Run from the repository root: npx tsx packages/store-flash/bench/flash-store.bench.ts
//
// A "publish" is what the robust client does for one QoS 1 message: add, update to SENT,
// remove when PUBACK arrives, with 100 messages held all the time (so compaction has live
// messages to carry); the event loop gets a turn every 20 publishes (a window's worth, as with
// a broker), which is what FileFlash's `sync: 'group'` groups. Figures are medians of 5 rounds;
// they vary with the machine and disk.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileFlash } from '../../../apps/node/src/flash-file.ts';
import { FlashStore, SimulatedFlash, type Flash } from '../src/index.js';

const topic = 'device/42/alarm';
const payload = new Uint8Array(64);
const message = { topic, payload, qos: 1 as const, retain: false, priority: 0, expiresAt: 0 };

async function run(flash: Flash & { syncs?: number }, publishes: number) {
  const store = new FlashStore(flash, { maxRecords: 200 });
  const held: number[] = [];
  for (let i = 0; i < 100; i++) held.push(store.add(message));
  const syncs = flash.syncs ?? 0;
  const t0 = performance.now();
  for (let i = 0; i < publishes; i++) {
    const k = held.shift()!;
    store.update(k, 1 + (i % 65535), 1, 1);
    store.remove(k);
    held.push(store.add(message));
    if (i % 20 === 19) await new Promise((r) => setImmediate(r));
  }
  const ms = performance.now() - t0;
  const perPublish = ((flash.syncs ?? 0) - syncs) / publishes;
  const t1 = performance.now();
  const again = new FlashStore(flash, { maxRecords: 200 });
  const mountMs = performance.now() - t1;
  if (again.count !== 100) throw new Error('lost messages');
  return { perSecond: (publishes / ms) * 1000, mountMs, stats: store.stats, perPublish };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

const dir = mkdtempSync(join(tmpdir(), 'umqtt-flash-bench-'));
try {
  const rows: string[][] = [];
  const file = (sync: boolean | 'group') => () =>
    new FileFlash(join(dir, `${Math.random()}.flash`), { byteLength: 64 * 4096, sync });
  const cases: [string, () => Flash, number][] = [
    ['simulated flash, 64 x 4 KiB', () => new SimulatedFlash({ blockSize: 4096, blocks: 64 }), 50_000],
    ['file, fdatasync per store call', file(true), 2_000],
    ["file, sync: 'group'", file('group'), 20_000],
    ['file, no sync', file(false), 20_000],
  ];
  for (const [name, make, n] of cases) {
    const rounds = [];
    for (let i = 0; i < 5; i++) rounds.push(await run(make(), n));
    const last = rounds[rounds.length - 1]!;
    const counts = last.stats.eraseCounts;
    rows.push([
      name,
      median(rounds.map((r) => r.perSecond)).toFixed(0),
      median(rounds.map((r) => r.mountMs)).toFixed(1),
      `${Math.min(...counts)}..${Math.max(...counts)}`,
      median(rounds.map((r) => r.perPublish)).toFixed(2),
    ]);
  }
  const header = [
    'flash',
    'QoS 1 publishes/s (add+update+remove)',
    'mount ms (100 held)',
    'erase counts min..max',
    'fdatasync per publish',
  ];
  console.log([header, ...rows].map((r) => r.map((c, i) => c.padEnd(i ? 14 : 30)).join(' | ')).join('\n'));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
