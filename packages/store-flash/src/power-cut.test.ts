// THE power-cut test: a workload of adds, updates (SENT, RELEASING, requeue), removes and the
// compactions they cause, with the power cut at every single flash operation (and, in a second
// test, cut again and again in long chains), then the flash mounted again and checked against a
// model of what every call that returned made durable. See Workload.check for the exact rules.
import { describe, expect, test } from 'vitest';
import { FlashStore, SimulatedFlash, type Flash, type FlashStoreOptions } from './index.js';
import { Workload, chainsOfCuts } from './workload.test-support.js';

// Small blocks so that records run across blocks and compaction happens every few calls.
const GEOMETRY = { blockSize: 256, blocks: 14 };
const OPTIONS: FlashStoreOptions = { maxRecords: 10, maxMessageBytes: 400 };
const STEPS = 160;

type Kind = 'record' | 'commit' | 'block header A' | 'block header B' | 'retire' | 'erase';

/** Wraps a flash to tell, for each write or erase, what it was and whether a compaction was under way. */
function recorder(inner: SimulatedFlash, kinds: Kind[]): Flash {
  const B = inner.blockSize;
  return {
    blockSize: B,
    byteLength: inner.byteLength,
    read: (o, n) => inner.read(o, n),
    write(o, bytes) {
      const at = o % B;
      kinds.push(
        bytes.length === 1
          ? 'commit'
          : at === 0 && bytes.length === 12
            ? 'block header A'
            : (at === 12 || at === B - 16) && bytes.length === 16
              ? bytes.every((x) => x === 0)
                ? 'retire'
                : 'block header B'
              : 'record',
      );
      inner.write(o, bytes);
    },
    erase(b) {
      kinds.push('erase');
      inner.erase(b);
    },
  };
}

describe('power cut at every step', () => {
  test('every flash operation of a 160-call workload, two tear patterns each, for 3 workloads', () => {
    const started = Date.now();
    const coverage: Record<string, number> = {};
    let trials = 0;
    let inCompaction = 0;
    const applied = { yes: 0, no: 0 };
    let releasing = 0;
    for (const seed of [1, 2, 3]) {
      // the uncut run: how many flash operations, of which kinds, which inside compactions
      const kinds: Kind[] = [];
      const compacting: boolean[] = [];
      const flash = new SimulatedFlash(GEOMETRY);
      const store = new FlashStore(recorder(flash, kinds), OPTIONS);
      const w = new Workload(seed);
      for (let i = 0; i < STEPS; i++) {
        const [ops, compactions] = [kinds.length, store.stats.compactions];
        w.step(store);
        compacting.push(...Array<boolean>(kinds.length - ops).fill(store.stats.compactions > compactions));
      }
      w.check(new FlashStore(flash.clone(), OPTIONS));
      const total = flash.operations;
      expect(total).toBe(kinds.length);
      expect(store.stats.compactions).toBeGreaterThan(10);
      console.log(
        `workload seed ${seed}: ${STEPS} calls, ${total} flash operations, ${store.stats.compactions} compactions, ${w.full} adds refused as full`,
      );
      // now cut at each of them, with two seeds for how the cut operation tears
      for (let cut = 0; cut < total; cut++)
        for (const tear of [cut * 2 + 1, cut * 2 + 2]) {
          const f = new SimulatedFlash({ ...GEOMETRY, seed: tear });
          f.cutPowerAfter(cut);
          const run = new Workload(seed);
          const loss = run.run(new FlashStore(f, OPTIONS), STEPS);
          expect(loss, `cut ${cut} happened`).toBeDefined();
          const rebooted = f.clone();
          let outcome;
          try {
            const again = new FlashStore(rebooted, OPTIONS);
            outcome = run.check(again, true);
            // it resumes where it stopped: more calls, then mount once more and check
            expect(run.run(again, 20)).toBeUndefined();
            run.check(new FlashStore(rebooted.clone(), OPTIONS), true);
          } catch (e) {
            throw new Error(
              `workload seed ${seed}, cut after ${cut} operations, tear seed ${tear} (${kinds[cut]}, ${JSON.stringify(f.cut)}): ${(e as Error).message}`,
            );
          }
          trials++;
          coverage[kinds[cut]!] = (coverage[kinds[cut]!] ?? 0) + 1;
          if (compacting[cut]) inCompaction++;
          if (outcome.pendingApplied === true) applied.yes++;
          if (outcome.pendingApplied === false) applied.no++;
          releasing += outcome.releasing;
        }
    }
    console.log(
      `power cuts: ${trials} remounts checked in ${Date.now() - started} ms; cut operation kinds ${JSON.stringify(coverage)}; ${inCompaction} inside calls that compacted; ` +
        `interrupted call durable ${applied.yes} / not ${applied.no}; QoS 2 RELEASING checks ${releasing}`,
    );
    expect(Object.keys(coverage).sort()).toEqual([
      'block header A',
      'block header B',
      'commit',
      'erase',
      'record',
      'retire',
    ]);
    expect(applied.yes).toBeGreaterThan(0);
    expect(applied.no).toBeGreaterThan(0);
    expect(releasing).toBeGreaterThan(100);
  });

  test('chains of cuts: cut, remount, go on, cut again (2,000 cuts over 100 seeded chains)', () => {
    const started = Date.now();
    const { cuts, fewest } = chainsOfCuts(1000, 120, {
      make: (chain) => new SimulatedFlash({ ...GEOMETRY, seed: chain }),
      cut: (flash, after, seed) => flash.cutPowerAfter(after, seed),
      reboot: (flash, seed) => flash.clone(seed),
      mount: (flash) => new FlashStore(flash, OPTIONS),
      strict: true,
    });
    expect(fewest).toBeGreaterThan(100);
    console.log(`chained cuts: ${cuts} cuts over 100 chains (seeds 1001..1100) checked in ${Date.now() - started} ms`);
    expect(cuts).toBeGreaterThan(1500);
  });
});
