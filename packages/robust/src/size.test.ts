// Size budget of what a device imports for sessions that survive the network: RobustClient and
// its presets with the in-memory store, pulling in @umqtt/simple and @umqtt/codec. Bundled from
// sources by tooling/scripts/bundle-size.ts (esbuild: bundle, minify, tree-shaking, ESM, ES2022;
// @umqtt/* resolved to packages/*/src/index.ts), gzipped at level 9. Raising a budget is a
// decision to make in review, not a way to make CI pass.
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { bundle, measureBundle } from '../../../tooling/scripts/bundle-size.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

/** What a device imports: codec + simple + robust + store-memory. */
const DEVICE = `export { RobustClient, PRESETS } from '@umqtt/robust'; export { MemoryStore } from '@umqtt/store-memory';`;

/**
 * The issue asks for at most 8192 bytes gzipped; that is not reached. Measured when this test
 * was written (codec being reworked in the same tree): 29,268 B minified, 10,893 B gzipped
 * (RobustClient alone with simple and codec: 10,616 B; MqttClient with codec: 6,906 B, so robust
 * + store-memory add ~4 kB gzipped). The budget is that measurement rounded up to the next
 * 64 bytes, so the test guards against growth; getting down to 8192 is open work. After the
 * fixes for the bugs the policy, client and fault tests found: 29,930 B minified, 11,071 B
 * gzipped; budget that plus 64 bytes. With the faster publish path (lazy duplicate index,
 * allocation-free admission; timers under one name; records shared with stores that have get())
 * 29,891 B minified, 11,132 B gzipped. Raised for byte limits counting topics in UTF-8
 * (messageBytes) and simple's zero-copy path for large payloads (`copy: false`, used for the
 * client's own held copies): 29,822 B minified, 11,218 B gzipped, budget 11,264. Raised for
 * stores with payload() (held messages without payloads in RAM: 434 -> 210 B per queued 64-byte
 * message with the flash store in QuickJS): 30,193 B minified, 11,342 B gzipped, budget 11,392.
 * Raised for simple's `writable` counting what a turn published against the socket's room, and
 * RobustClient's own `writable`/`onWritable` for streaming producers: 30,623 B minified,
 * 11,425 B gzipped, budget 11,456 (11,453 B with the last topic's UTF-8 length remembered).
 * Raised for onWritable owed to whoever read `writable` false (a producer that checked it
 * before going online was never told): 30,734 B minified, 11,477 B gzipped, budget 11,520.
 * Raised for the hostile-peer fixes in simple (about 400 B, see its size test) and, here, the
 * backoff by failed attempts with the healthy-connection rule, the `sent` status for QoS 0 and
 * QoS 2 republished after a lost session, with the codec's hostile-input checks: 32,524 B minified,
 * 12,139 B gzipped, budget 12,160; then 12,178 B (simple's window keeps timed-out messages; a
 * failing store inside connect()'s promise reaction recorded), budget 12,224; then 12,259 B (a
 * healthy connection needs an acknowledgement and backoff.min; stale attempts ignored), budget 12,288.
 * Raised for Store.damage (one issue and a dropped status for each message a persistent store
 * lost to damage, issue 21): 33,422 B minified, 12,375 B gzipped, budget 12,416.
 * Raised for the reconnect inputs of issue 24 (about 1 kB gzipped, all of it in RobustClient):
 * the link state (setLink), urgent messages and their bucket, the strategy function with its
 * context, the credentials hook before each attempt, the admission context with the built-in
 * fallback, idle/onIdle with UNSUBACK tracking, and lastIssue cleared once healthy:
 * 36,183 B minified, 13,368 B gzipped, budget 13,376.
 * Raised for the session core moved into @umqtt/session (issue 16, first step: one state machine
 * that simple drives and robust persists through, with manual acknowledgements, incoming QoS 2 ids
 * reported for the Store, a ref per publish; the layer boundary costs ~2.8 kB minified, not yet
 * paid back): 39,257 B minified, 14,263 B gzipped; with the core's rarely used collections made on
 * first use (-300 B of RAM per idle client in XS): 39,282 B minified, 14,293 B gzipped, budget 14,336.
 * Raised for the urgency-aware built-in strategy (issue 24's alarm target: the wait bounded by
 * urgentDelay while an alarm waits, the strategy asked again when the first one is queued offline;
 * +76 B over main's 14,314 B): 39,742 B minified, 14,390 B gzipped, budget 14,400; with main's
 * changes merged since (+13 B, not this package's): 39,766 B minified, 14,403 B gzipped, budget 14,432.
 * Raised for the session core's keepalive airtime (issue 24: the PINGREQ deadline's grace while
 * we write and the link is known alive, PINGREQ sent with a QoS 0 publish when the link must be
 * proved alive) and the MQTT 5 seam (issue 18: the session's encoders injectable and its limits
 * settable, simple's `protocol` option; MQTT 5 itself is in the `/v5` entries, which this bundle
 * does not contain): 14,403 -> 14,594 B (40,284 B minified), budget 14,656.
 * Lowered for the session core's smaller boundary (issue 16's leftovers: SUBSCRIBE/UNSUBSCRIBE
 * filters carried as the session's ref instead of a map of their ids here; in simple and the
 * session, see simple's size test): 14,622 -> 14,532 B (39,314 B minified), budget 14,592; 14,530 B
 * (39,286 B minified) merged with main's RobustClient5 (14,615 B there).
 */
const ISSUE_TARGET = 8192;
const BUDGET = 14592;

describe('size budget (esbuild minify + gzip -9)', () => {
  test(`RobustClient + PRESETS + MemoryStore: gzipped ≤ ${BUDGET} B (issue target ${ISSUE_TARGET} B)`, async () => {
    const size = await measureBundle(DEVICE, here);
    console.log(
      `robust device bundle: ${size.minified} B minified, ${size.gzipped} B gzipped (budget ${BUDGET}, issue target ${ISSUE_TARGET})`,
    );
    expect(size.gzipped).toBeLessThanOrEqual(BUDGET);
    expect(size.gzipped).toBeGreaterThan(4096); // the measurement measured something
  });

  test('the device bundle uses no platform API: no Node modules, Buffer, process, TextEncoder, global timers', async () => {
    const code = new TextDecoder().decode(await bundle(DEVICE, here));
    expect(code).not.toMatch(/\bimport\b|\brequire\(/); // self-contained
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
    // timers only through the injected Timers object (a member call, never the global)
    expect(code).not.toMatch(/(^|[^.\w#])setTimeout\(/);
  });

  test('a bundle that does not import MemoryStore does not carry it', async () => {
    const code = new TextDecoder().decode(await bundle(`export { RobustClient } from '@umqtt/robust'`, here));
    expect(code.includes('UMQTT_STORE_CLOSED')).toBe(false);
  });

  // BUG (reported): PRESETS is kept in a bundle that never imports it. The outer
  // Object.freeze is marked /* @__PURE__ */ but the three inner Object.freeze calls are not, so
  // esbuild must keep them (and the whole object) for their possible side effects.
  test('a bundle that does not import PRESETS does not carry them', async () => {
    const code = new TextDecoder().decode(await bundle(`export { RobustClient } from '@umqtt/robust'`, here));
    expect(code.includes('15e3')).toBe(false); // the button preset's ttl
  });
});
