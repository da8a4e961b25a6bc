// Size budget of the robust client on MQTT 5 (`@umqtt/robust/v5`), and the proof that a 3.1.1
// bundle holds none of it. Bundled from sources by tooling/scripts/bundle-size.ts (esbuild:
// bundle, minify, tree-shaking, ESM, ES2022), gzipped at level 9. The 3.1.1 budget is in
// size.test.ts. Raising a budget is a decision to make in review, not a way to make CI pass.
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { bundle, measureBundle } from '../../../tooling/scripts/bundle-size.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

/** What a device imports for robust on MQTT 5: codec (both halves) + session + simple + robust, their v5 parts, + store-memory. */
const DEVICE_V5 = `export { RobustClient5 } from '@umqtt/robust/v5'; export { PRESETS } from '@umqtt/robust'; export { MemoryStore } from '@umqtt/store-memory';`;
/** The 3.1.1 device bundle of size.test.ts. */
const DEVICE = `export { RobustClient, PRESETS } from '@umqtt/robust'; export { MemoryStore } from '@umqtt/store-memory';`;

/**
 * Measured when robust came to MQTT 5 (issue 18): 20,981 B gzipped (58,811 B minified), of which
 * MqttClient5 with its codec is 14,743 B and the 3.1.1 robust layer about 5,800 B; RobustClient5
 * and its session add about 400 B. Budget: that plus a margin of under 64 B. Lowered for the session
 * core's smaller boundary (issue 16's leftovers, see simple's and robust's size tests): 20,886 B
 * (58,301 B minified), MqttClient5 with its codec 14,637 B; budget 20,928. Raised once merged with
 * issue 18's simple leftovers (Maximum QoS downgrade, the acknowledgements' details, DISCONNECT
 * with the reason code of a protocol error we find, going past our Receive Maximum recorded as an
 * issue): 21,234 B (59,326 B minified), MqttClient5 with its codec 14,965 B; budget 21,248. Raised
 * for the review's fixes (a pause's deadline only while the session can act on it; a waiting
 * publish without a topic alias): 21,250 B (59,357 B minified); budget 21,312.
 */
const BUDGET_V5 = 21312;

describe('size budget of @umqtt/robust/v5 (esbuild minify + gzip -9)', () => {
  test(`RobustClient5 + PRESETS + MemoryStore: gzipped ≤ ${BUDGET_V5} B`, async () => {
    const size = await measureBundle(DEVICE_V5, here);
    console.log(
      `robust v5 device bundle: ${size.minified} B minified, ${size.gzipped} B gzipped (budget ${BUDGET_V5})`,
    );
    expect(size.gzipped).toBeLessThanOrEqual(BUDGET_V5);
    expect(size.gzipped).toBeGreaterThan(BUDGET_V5 - 512); // a budget far above the measurement guards nothing
  });

  test('the 3.1.1 bundle holds no MQTT 5 code (it lives in the /v5 entries)', async () => {
    const code = new TextDecoder().decode(await bundle(DEVICE, here));
    const v5 = new TextDecoder().decode(await bundle(DEVICE_V5, here));
    // names only MQTT 5 code uses: present in the v5 bundle, so their absence here means something
    for (const name of [
      'UMQTT_REFUSED_RETRYING', // robust v5's pauses
      'messageExpiryInterval', // the time to live sent
      'sessionExpiryInterval',
      'UMQTT_BROKER_DISCONNECT',
      'Quota exceeded', // the reason names
      'refusals',
    ])
      expect([name, v5.includes(name), code.includes(name)]).toEqual([name, true, false]);
  });

  test('the v5 device bundle uses no platform API either', async () => {
    const code = new TextDecoder().decode(await bundle(DEVICE_V5, here));
    expect(code).not.toMatch(/\bimport\b|\brequire\(/); // self-contained
    for (const name of ['Buffer', 'process', 'setImmediate', 'TextEncoder', 'TextDecoder', 'queueMicrotask', 'console'])
      expect(code, name).not.toMatch(new RegExp(`\\b${name}\\b`));
    expect(code).not.toMatch(/(^|[^.\w#])setTimeout\(/);
  });
});
