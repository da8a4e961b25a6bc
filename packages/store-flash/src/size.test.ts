// Size budget of what a device imports for a queue that survives reboots: RobustClient (with
// simple and codec) and FlashStore with the Moddable adapter, bundled from sources by
// tooling/scripts/bundle-size.ts (esbuild: bundle, minify, tree-shaking, ESM, ES2022), gzipped
// at level 9. Raising a budget is a decision to make in review, not a way to make CI pass.
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { bundle, measureBundle } from '../../../tooling/scripts/bundle-size.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

const DEVICE = `export { RobustClient } from '@umqtt/robust'; export { FlashStore, moddableFlash } from '@umqtt/store-flash';`;
const ROBUST = `export { RobustClient } from '@umqtt/robust';`;

/**
 * The issue asks for robust + store-flash at most 10,240 bytes gzipped. Not reached: RobustClient
 * alone (with simple and codec) measured 10,703 B gzipped when this was written. What this
 * package adds on top is budgeted separately: measured 3,649 B gzipped (FlashStore, its CRC-32
 * and the Moddable adapter, the rest shared with robust). Budgets: the measurements rounded up
 * to the next 64 bytes, plus room for robust's own budget (11,072 B; 11,520 B since
 * RobustClient's writable). Raised to 3,776 when
 * RobustClient got `writable`/`onWritable`: FlashStore unchanged, the difference of the two
 * gzipped bundles moved from 3,710 to 3,719 B (how they compress together); then 3,757 B with
 * a block checked for blankness 4 KiB at a time instead of read whole. Raised to 3,808 when
 * RobustClient grew (issue 13): FlashStore unchanged, the difference of the two gzipped bundles
 * moved from 3,767 to 3,780 B (how they compress together). Raised for on-flash format 2 (issue
 * 21: records read on past damage, a header CRC apart from the body CRC, two copies of each block
 * header, the damage report with the keys, topics and QoS of lost messages, skip records after a
 * cut write or a report, refusing partitions that are not a queue of this format, `reset`, the
 * close marker): measured 5,525 B, budget 5,568; robust's budget is 12,416 since Store.damage.
 * Raised for issue 22: an index that leaves removed slots dead instead of shifting its arrays
 * (draining was quadratic) and sorts once after a mount that met keys out of order, live counts
 * per block for compaction, grouped durability (Flash.sync tickets, `durable`, `onDurable`) and
 * the QoS per message that makes a QoS 2 step durable at once, and the hot path made lighter
 * (flash calls without a closure each, a blankness check four bytes at a time): measured
 * 6,266 B, budget 6,272. (Before it, raised to 5,632 when RobustClient grew with issue 24: FlashStore
 * unchanged, the difference of the two gzipped bundles moved from 5,525 to 5,571 B.) Raised for
 * issue 16's flash part and issue 22's leftovers: the incoming QoS 2 ids held until PUBREL as INC
 * records (`incoming`, `held`, replayed by mount, copied forward by compaction), header CRCs bound
 * to the block size (a partition read with another block size is refused, naming the size it was
 * written with), and a sync after a compaction copy that runs into a new block on a buffered flash:
 * measured 6,547 B (6,185 B just before on the same tree, RobustClient unchanged), budget 6,592.
 * (Issue 16's leftovers made RobustClient smaller, FlashStore unchanged: the difference of the two
 * gzipped bundles moved from 6,574 to 6,569 B, 20,715 B together.)
 */
const ISSUE_TARGET = 10240;
const ADDED_BUDGET = 6592;
const BUDGET = 14336 + ADDED_BUDGET; // RobustClient's budget (see packages/robust/src/size.test.ts) + FlashStore's

describe('size budget (esbuild minify + gzip -9)', () => {
  test(`FlashStore adds ≤ ${ADDED_BUDGET} B gzipped to RobustClient; together ≤ ${BUDGET} B (issue target ${ISSUE_TARGET} B)`, async () => {
    const [device, robust] = [await measureBundle(DEVICE, here), await measureBundle(ROBUST, here)];
    const added = device.gzipped - robust.gzipped;
    console.log(
      `robust + store-flash: ${device.minified} B minified, ${device.gzipped} B gzipped; store-flash adds ${added} B gzipped (budget ${ADDED_BUDGET}); issue target ${ISSUE_TARGET}`,
    );
    expect(added).toBeLessThanOrEqual(ADDED_BUDGET);
    expect(device.gzipped).toBeLessThanOrEqual(BUDGET);
    expect(added).toBeGreaterThan(1024); // the measurement measured something
  });

  test('the device bundle uses no platform API and does not carry the simulator', async () => {
    const code = new TextDecoder().decode(await bundle(DEVICE, here));
    expect(code).not.toMatch(/\bimport\b|\brequire\(/);
    for (const name of [
      'Buffer',
      'process',
      'setImmediate',
      'TextEncoder',
      'TextDecoder',
      'queueMicrotask',
      'console',
      'globalThis',
    ])
      expect(code, name).not.toMatch(new RegExp(`\\b${name}\\b`));
    expect(code).toContain('UMQTT_STORE_FULL');
    expect(code).not.toContain('UMQTT_POWER_LOSS');
  });
});
