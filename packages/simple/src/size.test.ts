// Size budget of what a device imports for a QoS 0/1/2 publisher and subscriber: MqttClient
// with the codec it pulls in, bundled from sources (esbuild: bundle, minify, tree-shaking, ESM,
// ES2022) and gzipped at level 9 by tooling/scripts/bundle-size.ts. Raising a budget is a
// decision to make in review, not a way to make CI pass.
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { bundle, measureBundle } from '../../../tooling/scripts/bundle-size.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

/** Everything a device needs for one connection: CONNECT..DISCONNECT, QoS 0/1/2 both ways. */
const CLIENT = `export { MqttClient } from '@umqtt/simple'`;

/**
 * The issue asks for at most 4096 bytes gzipped for codec + simple; that is not reached.
 * Measured when this test was written, while @umqtt/codec was being reworked in the same
 * tree: 16,399–16,726 B minified, 6,758–6,906 B gzipped (client.ts alone is ~9.1 kB of the
 * minified bundle). After the fixes for onWritable at an exactly full window and for
 * disconnect() on a full socket: 16,845 B minified, 6,940 B gzipped. The budget is that,
 * rounded up to the next 64 bytes (+64), so the test guards against growth; getting down to
 * 4096 is open work. Raised for `publish(..., { copy: false })`, which writes a large payload
 * after its header instead of copying it (1.5-2x the throughput on Node at 16-256 KiB, and no
 * second copy of a large payload in a device's RAM), with the header from the codec's
 * `encodePublish(packet, true)`, and `payloadBytes` exported for @umqtt/robust: 6,930 -> 7,017 B
 * gzipped (16,901 B minified), so 7,040. Raised for `writable` counting the bytes a turn has
 * published against the socket's room (a `while (client.writable) publish()` loop at QoS 0 used
 * to run on into memory without end): 7,017 -> 7,074 B gzipped (17,066 B minified), so 7,104.
 * Raised for the hostile-peer fixes (deadlines checked as armed so early timers re-arm, PINGREQ
 * answered or the connection ends, owed acknowledgements bounded, every platform callback
 * guarded, CONNACK's followers deferred, acknowledgements for unknown ids ignored, session
 * present on a clean connect refused, options resolved once), and the codec's (the parser's
 * buffer grows with the bytes that arrive, encoders check malformed packet objects):
 * 7,074 -> 7,622 B gzipped (18,662 B minified), so 7,648. Raised for a timed-out message keeping
 * its place in the window until acknowledged (found by the simulation: freeing it overran
 * Mosquitto's quota of 20, which then dropped QoS 2 messages): 7,654 B (18,758 B minified), so 7,680.
 * Raised for the review's fixes (nothing written after DISCONNECT, one final status when a status
 * callback closes the client, what the awaiter of connect() published flushed first): 7,691 B
 * (18,917 B minified), so 7,712. Raised for the session core moved into @umqtt/session (issue 16, first step: one state machine that simple drives and robust persists through, with manual acknowledgements, incoming QoS 2 ids reported for the Store, a ref per publish; the layer boundary costs ~2.8 kB minified; not yet paid back): 8,525 B (21,880 B minified);
 * with rarely used collections made on first use (-300 B of RAM per idle client in XS): 8,558 B, so 8,576.
 * Raised for the keepalive airtime (issue 24): the PINGREQ deadline's grace while traffic goes both ways, and PINGREQ sent with a QoS 0 publish when the link must be proved alive: 8,553 -> 8,627 B (22,303 B minified), so 8,640.
 * Raised for the MQTT 5 seam (issue 18: the session's encoders injectable and its limits settable, simple's `protocol` option; MQTT 5 itself is in the `/v5` entries, which these bundles do not contain, a test checks): 8,627 -> 8,745 B (22,583 B minified), so 8,768 (8,746 B once simple's error catalogue had REQUEST_TIMEOUT; 8,764 B merged with main and the keepalive grace's two bits; 8,778 B (22,658 B minified) with an incoming QoS 2 id held before its message is handed over, found by the simulation), so 8,832.
 * Lowered for the session core's boundary made smaller (issue 16's leftovers: the connection's
 * state owned by the session, one error helper for session and simple, the sending calls' check
 * and timer step shared, an outgoing id keeping the packet type it awaits instead of kind, QoS
 * and stage, acknowledgements and incoming-id events through one helper each, the session given
 * the options as they are): 8,789 -> 8,691 B (22,155 B minified), so 8,704. Raised once merged
 * with issue 18's simple leftovers (`Protocol.abort`, called before the socket closes on a protocol
 * error so that MQTT 5 can send DISCONNECT with its reason code; the acknowledgement's details
 * passed to onStatus): 8,705 B (22,197 B minified), so 8,768.
 */
const ISSUE_TARGET = 4096;

/** The MQTT 5 client: MqttClient5 with the codec's MQTT 5 half (all of its client decoders, the encoders it sends with). */
const CLIENT_V5 = `export { MqttClient5 } from '@umqtt/simple/v5'`;
/** Measured when MQTT 5 came to the clients (issue 18): 14,309 B gzipped (39,376 B minified; what it uses of the MQTT 5 codec is 6,880 B on its own, Session5 with it 9,540 B), rounded up to the next 64; then 14,629 B (40,325 B minified) with request()/respond(), 14,653 B (40,345 B minified) with the XS workaround in Session5, 14,704 B (40,493 B minified) with received UTF-8 payloads checked; 14,727 B (40,521 B minified) merged with main; 15,017 B (41,518 B minified) with issue 18's simple leftovers: Maximum QoS downgraded on request, the acknowledgements' QoS, reason string and user properties on each status, the Receive Maximum we advertise enforced (0x93), DISCONNECT with the reason code of a protocol error we find (+290 B), so 15,040; 15,075 B (41,620 B minified) once going past our Receive Maximum was an issue recorded once per connection instead of a disconnection (Mosquitto 2.0.11 does it in plain QoS 2 streams; +58 B with its text and flag), so 15,104; then 14,965 B (41,083 B minified) with the session core's smaller boundary (issue 16's leftovers, as MqttClient's: 14,743 -> 14,637 B before these MQTT 5 additions), so 14,976 (14,970 B, 41,089 B minified, once a publish that waits for the window carries no topic alias). */
const BUDGET_V5 = 14976;
const BUDGET = 8768;

describe('size budget (esbuild minify + gzip -9)', () => {
  test(`MqttClient with its codec: gzipped ≤ ${BUDGET} B (issue target ${ISSUE_TARGET} B)`, async () => {
    const size = await measureBundle(CLIENT, here);
    console.log(
      `MqttClient: ${size.minified} B minified, ${size.gzipped} B gzipped (budget ${BUDGET}, issue target ${ISSUE_TARGET})`,
    );
    expect(size.gzipped).toBeLessThanOrEqual(BUDGET);
    expect(size.gzipped).toBeGreaterThan(1024); // the measurement measured something
  });

  test(`MqttClient5 (MQTT 5) with its codec: gzipped ≤ ${BUDGET_V5} B`, async () => {
    const size = await measureBundle(CLIENT_V5, here);
    console.log(`MqttClient5: ${size.minified} B minified, ${size.gzipped} B gzipped (budget ${BUDGET_V5})`);
    expect(size.gzipped).toBeLessThanOrEqual(BUDGET_V5);
    expect(size.gzipped).toBeGreaterThan(BUDGET_V5 - 512); // a budget far above the measurement guards nothing
  });

  test('the 3.1.1 bundle holds no MQTT 5 code (it lives in the /v5 entries)', async () => {
    const code = new TextDecoder().decode(await bundle(CLIENT, here));
    const v5 = new TextDecoder().decode(await bundle(CLIENT_V5, here));
    // names only MQTT 5 code uses: present in the v5 bundle, so their absence here means something
    for (const name of ['UMQTT_BROKER_DISCONNECT', 'topicAlias', 'sessionExpiryInterval', 'reasonCodes', 'Topic Alias'])
      expect([name, v5.includes(name), code.includes(name)]).toEqual([name, true, false]);
  });

  test('the device bundle uses no platform API: no Node modules, Buffer, process, TextEncoder, global timers', async () => {
    const code = new TextDecoder().decode(await bundle(CLIENT, here));
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
});
