// The simulator the power-cut tests rely on: NOR semantics, erase counts, and power cuts that
// tear exactly one operation and then stop everything.
import { describe, expect, test } from 'vitest';
import { PowerLoss, SimulatedFlash } from './index.js';

const lost = expect.objectContaining({ name: 'UmqttError', code: 'UMQTT_POWER_LOSS', place: 'flash' });

describe('NOR semantics', () => {
  test('starts erased; a write can only clear bits (stored = old & new); erase sets a block to 0xFF', () => {
    const f = new SimulatedFlash({ blockSize: 16, blocks: 4 });
    expect([f.blockSize, f.byteLength]).toEqual([16, 64]);
    expect(Array.from(f.read(0, 64)).every((x) => x === 0xff)).toBe(true);
    f.write(3, new Uint8Array([0x0f, 0xaa]));
    f.write(3, new Uint8Array([0xf0, 0xff])); // a 1 over a 0 does nothing
    expect(Array.from(f.read(2, 4))).toEqual([0xff, 0x00, 0xaa, 0xff]);
    f.write(4, new Uint8Array([0x55])); // clearing more bits of a written byte is allowed
    expect(f.read(4, 1)[0]).toBe(0x00);
    f.write(14, new Uint8Array([1, 2, 3, 4])); // across a block boundary
    f.erase(0);
    expect(Array.from(f.read(0, 20))).toEqual([...Array<number>(16).fill(0xff), 3, 4, 0xff, 0xff]);
    expect(Array.from(f.eraseCounts)).toEqual([1, 0, 0, 0]);
    f.erase(0);
    f.erase(3);
    expect(Array.from(f.eraseCounts)).toEqual([2, 0, 0, 1]);
    expect([f.writes, f.erases, f.operations]).toEqual([4, 3, 7]);
  });

  test('reads are copies; out-of-range calls are refused', () => {
    const f = new SimulatedFlash({ blockSize: 16, blocks: 2 });
    const r = f.read(0, 4);
    r[0] = 0;
    expect(f.read(0, 1)[0]).toBe(0xff);
    const invalid = expect.objectContaining({ code: 'UMQTT_INVALID_ARGUMENT' });
    expect(() => f.read(30, 4)).toThrow(invalid);
    expect(() => f.write(-1, new Uint8Array(1))).toThrow(invalid);
    expect(() => f.write(31, new Uint8Array(2))).toThrow(invalid);
    expect(() => f.erase(2)).toThrow(invalid);
    expect(() => f.erase(0.5)).toThrow(invalid);
    expect(() => new SimulatedFlash({ blockSize: 0 })).toThrow(invalid);
  });

  test('snapshot, initial bytes and clone (a reboot: same bytes and counts, powered again)', () => {
    const f = new SimulatedFlash({ blockSize: 8, blocks: 2 });
    f.write(1, new Uint8Array([7, 8]));
    f.erase(1);
    const copy = new SimulatedFlash({ blockSize: 8, blocks: 2, bytes: f.snapshot() });
    expect(copy.read(0, 16)).toEqual(f.read(0, 16));
    f.cutPowerAfter(0);
    expect(() => f.erase(0)).toThrow(PowerLoss);
    const c = f.clone();
    expect(c.powered).toBe(true);
    expect(Array.from(c.eraseCounts)).toEqual(Array.from(f.eraseCounts));
    c.write(0, new Uint8Array([0]));
    expect(c.read(0, 1)[0]).toBe(0);
    expect(() => f.read(0, 1)).toThrow(PowerLoss); // the original stays dead
  });
});

describe('power cuts', () => {
  test('n operations succeed, the next one is torn and throws, and every later call throws', () => {
    const f = new SimulatedFlash({ blockSize: 64, blocks: 2, seed: 5 });
    f.cutPowerAfter(2);
    f.write(0, new Uint8Array([1]));
    f.erase(1);
    const data = new Uint8Array(40).fill(0x11);
    expect(() => f.write(10, data)).toThrow(lost);
    expect(f.powered).toBe(false);
    const cut = f.cut!;
    expect(cut).toMatchObject({ op: 'write', offset: 10, length: 40 });
    expect(() => f.read(0, 1)).toThrow(PowerLoss);
    expect(() => f.write(0, new Uint8Array(1))).toThrow(PowerLoss);
    expect(() => f.erase(0)).toThrow(PowerLoss);
    const after = f.clone().read(10, 40);
    const kept = cut.kept as number;
    expect(Array.from(after.subarray(0, kept)).every((x) => x === 0x11)).toBe(true); // the prefix
    if (kept < 40) expect(after[kept]! & 0x11).toBe(0x11); // partly programmed at most: old & (new | some bits)
    expect(Array.from(after.subarray(kept + 1)).every((x) => x === 0xff)).toBe(true); // the rest untouched
  });

  test('a torn write keeps a prefix (0 to all bytes); the next byte may be partly programmed, only ever clearing bits', () => {
    const prefixes = new Set<number>();
    let partial = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const f = new SimulatedFlash({ blockSize: 16, blocks: 1, seed });
      f.write(0, new Uint8Array([0xf0, 0xf0, 0xf0, 0xf0, 0xf0, 0xf0, 0xf0, 0xf0]));
      f.cutPowerAfter(0, seed);
      const next = new Uint8Array([0x3c, 0x3c, 0x3c, 0x3c, 0x3c, 0x3c, 0x3c, 0x3c]);
      expect(() => f.write(0, next)).toThrow(PowerLoss);
      const kept = f.cut!.kept as number;
      prefixes.add(kept);
      const got = f.clone().read(0, 8);
      for (let i = 0; i < 8; i++) {
        const b = got[i]!;
        if (i < kept) expect(b).toBe(0x30);
        else if (i > kept) expect(b).toBe(0xf0);
        else {
          expect(b & ~0xf0).toBe(0); // never sets a bit
          expect(b & 0x30).toBe(0x30); // the bits both values keep stay
          if (b !== 0xf0 && b !== 0x30) partial++;
        }
      }
    }
    expect([...prefixes].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(partial).toBeGreaterThan(10);
  });

  test('a torn erase leaves only its block in an undefined state: untouched, part erased, mixed, random or erased', () => {
    const kinds = new Set<unknown>();
    for (let seed = 1; seed <= 200; seed++) {
      const f = new SimulatedFlash({ blockSize: 32, blocks: 3, seed });
      f.write(0, new Uint8Array(96).fill(0x42));
      f.cutPowerAfter(0, seed);
      expect(() => f.erase(1)).toThrow(PowerLoss);
      kinds.add(f.cut!.kept);
      const after = f.clone();
      expect(Array.from(after.read(0, 32)).every((x) => x === 0x42)).toBe(true);
      expect(Array.from(after.read(64, 32)).every((x) => x === 0x42)).toBe(true);
      const block = Array.from(after.read(32, 32));
      if (f.cut!.kept === 'erased') expect(block.every((x) => x === 0xff)).toBe(true);
      if (f.cut!.kept === 'untouched') expect(block.every((x) => x === 0x42)).toBe(true);
      expect(f.eraseCounts[1]).toBe(1);
    }
    expect([...kinds].sort()).toEqual(['erased', 'mixed', 'prefix', 'random', 'suffix', 'untouched']);
  });

  test('the same seed tears the same way', () => {
    const run = () => {
      const f = new SimulatedFlash({ blockSize: 64, blocks: 2, seed: 9 });
      f.cutPowerAfter(1, 77);
      f.write(0, new Uint8Array(8).fill(0));
      expect(() => f.erase(0)).toThrow(PowerLoss);
      return f.snapshot();
    };
    expect(run()).toEqual(run());
  });
});
