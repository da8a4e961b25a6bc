// FlashStore mount time of a full partition, and flash bytes per message.
// Run from the repository root: npx tsx packages/store-flash/bench/mount.bench.ts
//
// A partition is filled with messages on a 15-byte topic until the store refuses
// (UMQTT_STORE_FULL), half of them moved to SENT; then it is mounted again 7 times (median).
// Last, the same with damage: 64 bytes zeroed every 100 blocks. Figures vary with the machine.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileFlash } from '../../../apps/node/src/flash-file.ts';
import { FlashStore, SimulatedFlash, type Flash, type FlashStoreOptions } from '../src/index.js';

const message = {
  topic: 'device/42/alarm',
  payload: new Uint8Array(64),
  qos: 1 as const,
  retain: false,
  priority: 0,
  expiresAt: 0,
};

function fill(flash: Flash, options: FlashStoreOptions, size: number): { held: number; usedBlocks: number } {
  const store = new FlashStore(flash, options);
  const m = { ...message, payload: new Uint8Array(size).fill(0x5a) };
  for (;;) {
    try {
      const k = store.add(m);
      if (k % 2) store.update(k, k & 0xffff || 1, 1, 1);
    } catch {
      break;
    }
  }
  return { held: store.count, usedBlocks: store.stats.usedBlocks };
}

function mountMs(flash: Flash, options: FlashStoreOptions, held: number): number {
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    const s = new FlashStore(flash, options);
    times.push(performance.now() - t);
    if (s.count !== held) throw new Error(`mounted ${s.count} of ${held}`);
  }
  return times.sort((a, b) => a - b)[3]!;
}

const dir = mkdtempSync(join(tmpdir(), 'umqtt-mount-bench-'));
try {
  const queue = { maxRecords: 10_000, maxMessageBytes: 256 << 10 }; // umqtt pub --store's
  const cases: [string, () => Flash, FlashStoreOptions, number][] = [
    [
      'simulated flash, 64 x 4 KiB, 64 B payloads',
      () => new SimulatedFlash({ blockSize: 4096, blocks: 64 }),
      { maxRecords: 2000 },
      64,
    ],
    [
      'simulated flash, 8 MiB of 4 KiB blocks, 64 B payloads',
      () => new SimulatedFlash({ blockSize: 4096, blocks: 2048 }),
      queue,
      64,
    ],
    [
      'simulated flash, 8 MiB of 4 KiB blocks, 700 B payloads',
      () => new SimulatedFlash({ blockSize: 4096, blocks: 2048 }),
      queue,
      700,
    ],
    [
      "file (umqtt pub --store's queue: 8 MiB of 4 KiB blocks), 700 B payloads",
      () => new FileFlash(join(dir, `${Math.random()}.flash`), { byteLength: 8 << 20, sync: false }),
      queue,
      700,
    ],
  ];
  for (const [name, make, options, size] of cases) {
    const flash = make();
    const { held, usedBlocks } = fill(flash, options, size);
    console.log(
      `${name}: ${held} messages held in ${usedBlocks} blocks, mount ${mountMs(flash, options, held).toFixed(2)} ms`,
    );
    (flash as { close?: () => void }).close?.();
  }
  {
    const flash = new SimulatedFlash({ blockSize: 4096, blocks: 2048 });
    const { held } = fill(flash, queue, 700);
    for (let b = 50; b < 1800; b += 100) flash.write(b * 4096 + 28 + 600, new Uint8Array(64));
    const d = new FlashStore(flash, queue).damage!;
    const ms = mountMs(flash, queue, held - d.lost.length);
    console.log(
      `8 MiB, 700 B payloads, 18 stretches of 64 bytes zeroed: mount ${ms.toFixed(2)} ms, ${d.lost.length} messages reported lost, ${d.bytes} bytes in ${d.places} places`,
    );
  }
  const s = new FlashStore(new SimulatedFlash({ blockSize: 4096, blocks: 16 }));
  const k = s.add(message);
  const a = s.stats.liveBytes;
  console.log(`flash bytes of a 64-byte message on a 15-byte topic: ${a} (${a - 79} beyond topic and payload)`);
  void k;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
