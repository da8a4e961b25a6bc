// Fuzzing the parser with random and mutated byte streams in random chunks. It may accept or
// reject them, but it only ever throws UmqttError, every read loop ends, what it accepts
// re-encodes, and it still decodes valid input afterwards.
//
// Seeded: a failure prints its seed; replay with FUZZ_SEED=<seed> npx vitest run --project codec fuzz
import { describe, expect, it } from 'vitest';
import { concat, smallFixtures } from './fixtures.js';
import { Parser, UmqttError, allDecoders, clientDecoders, decode, encode, type Packet } from './index.js';

const TIME_BUDGET_MS = 1500;
const MAX_PACKET = 65536;

function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const valid = concat(...smallFixtures.map((f) => f.bytes));
const validPackets = smallFixtures.map((f) => f.packet);

/** A stream to try: random bytes, or fixtures mutated by bit flips, cuts and insertions. */
function makeStream(random: () => number): Uint8Array {
  const int = (n: number) => Math.floor(random() * n);
  const fixture = () => smallFixtures[int(smallFixtures.length)]!.bytes;
  if (random() < 0.15) return Uint8Array.from({ length: int(200) }, () => int(256)); // pure noise
  let s = concat(...Array.from({ length: 1 + int(6) }, fixture));
  const mutations = 1 + int(6);
  for (let m = 0; m < mutations; m++) {
    const at = int(s.length + 1);
    switch (int(6)) {
      case 0: // flip a bit
        if (s.length) s[at % s.length]! ^= 1 << int(8);
        break;
      case 1: // overwrite a byte
        if (s.length) s[at % s.length] = int(256);
        break;
      case 2: // truncate
        s = s.slice(0, at);
        break;
      case 3: // cut a piece out
        s = concat(s.subarray(0, at), s.subarray(at + 1 + int(8)));
        break;
      case 4: // insert (part of) another fixture
        s = concat(s.subarray(0, at), fixture().subarray(int(4)), s.subarray(at));
        break;
      case 5: // insert an interesting byte run: continuation bytes, 0xff, a fixed header
        s = concat(
          s.subarray(0, at),
          Uint8Array.from([[0x80, 0x80, 0x80, 0x80], [0xff, 0xff], [0x30, 0xff, 0xff, 0x03], [0x00]][int(4)]!),
          s.subarray(at),
        );
        break;
    }
  }
  return s;
}

/** Feeds `s` in random chunks; returns accepted packets and the number of errors. */
function run(s: Uint8Array, parser: Parser, random: () => number): { packets: Packet[]; errors: number } {
  const packets: Packet[] = [];
  let errors = 0;
  for (let i = 0; i < s.length;) {
    const n = 1 + Math.floor(random() * (random() < 0.5 ? 4 : 64));
    parser.push(s.subarray(i, i + n));
    i += n;
    // Each packet is at least 2 bytes, so a read loop needs at most buffered/2 + 1 turns.
    const bound = parser.buffered / 2 + 2;
    for (let turns = 0; ; turns++) {
      if (turns > bound) throw new Error(`read loop did not end after ${turns} turns`);
      let p: Packet | undefined;
      try {
        p = parser.read();
      } catch (e) {
        if (!(e instanceof UmqttError)) throw new Error(`a ${(e as Error)?.constructor?.name} escaped: ${String(e)}`);
        if (!/^UMQTT_[A-Z0-9_]+$/.test(e.code)) throw new Error(`bad error code ${e.code}`);
        // A clause named in the message is the one the error carries
        const named = /\[(MQTT-[^\]]+)\]$/.exec(e.message)?.[1];
        if (named !== e.clause) throw new Error(`clause ${e.clause} but the message names ${named}: ${e.message}`);
        if (parser.buffered !== 0) throw new Error(`parser kept ${parser.buffered} bytes after an error`);
        errors++;
        continue; // the parser dropped what it had; keep reading what comes next
      }
      if (!p) break;
      packets.push(p);
    }
  }
  return { packets, errors };
}

/** Whatever the parser accepted is a valid packet: it re-encodes and decodes to itself. */
function checkAccepted(p: Packet): void {
  if (p.type === 1 && !p.clientId && !p.clean) return; // decodable, but a client may not send it [MQTT-3.1.3-7]
  const again = decode(encode(p));
  expect(again).toEqual(p);
}

function decodesValid(parser: Parser): void {
  parser.push(valid);
  const out: Packet[] = [];
  for (let p = parser.read(); p; p = parser.read()) out.push(p);
  expect(out).toEqual(validPackets);
  expect(parser.buffered).toBe(0);
}

describe('fuzz', () => {
  it(`random and mutated streams for ${TIME_BUDGET_MS} ms`, () => {
    const seed = Number(process.env.FUZZ_SEED) || Date.now() % 2 ** 31;
    const random = prng(seed);
    const start = performance.now();
    let streams = 0;
    let accepted = 0;
    let rejected = 0;
    try {
      while (performance.now() - start < TIME_BUDGET_MS) {
        const s = makeStream(random);
        const parser = new Parser(random() < 0.8 ? allDecoders : clientDecoders, { maxPacketSize: MAX_PACKET });
        const { packets, errors } = run(s, parser, random);
        packets.forEach(checkAccepted);
        accepted += packets.length;
        rejected += errors;
        // The same parser, reset, and a fresh one both decode valid input.
        parser.reset();
        if (parser.buffered !== 0) throw new Error('reset() left bytes');
        if (streams % 8 === 0) decodesValid(new Parser(allDecoders, { maxPacketSize: MAX_PACKET }));
        if (streams % 4 === 0) {
          const again = new Parser(allDecoders, { maxPacketSize: MAX_PACKET });
          run(s, again, random);
          again.reset();
          decodesValid(again);
        }
        streams++;
      }
    } catch (e) {
      throw new Error(`fuzz failed with FUZZ_SEED=${seed} after ${streams} streams: ${(e as Error).message}`, {
        cause: e,
      });
    }
    // The mutations must produce both outcomes, or the test checks little.
    expect(streams).toBeGreaterThan(100);
    expect(accepted).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(0);
  });

  it('a parser that threw decodes valid input pushed after the error', () => {
    const parser = new Parser(allDecoders, { maxPacketSize: MAX_PACKET });
    parser.push(Uint8Array.of(0x36, 0x05, 0, 1, 0x61, 0, 1)); // QoS 3
    expect(() => parser.read()).toThrow(UmqttError);
    decodesValid(parser);
  });
});
