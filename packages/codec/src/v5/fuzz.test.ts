// Fuzzing the MQTT 5 parser. Structure-aware: valid packets of every type get a property
// section of random properties (identifiers valid and not, values of their type and not, some
// twice, lengths that lie) in place of their own, so the inputs reach property parsing, not only
// the fixed header; then bit flips, cuts and insertions on top; then random chunks. The parser
// may accept or reject; it only ever throws UmqttError (its clause the one its message names,
// with a reason code to disconnect with), every read loop ends, what it accepts re-encodes to
// itself, and it decodes valid input afterwards.
//
// Seeded: a failure prints its seed; replay with FUZZ_SEED=<seed> npx vitest run --project codec v5/fuzz
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concat } from '../fixtures.js';
import { packet5 } from './arbitraries.js';
import { fixtures5 } from './fixtures.js';
import {
  Parser,
  UmqttError,
  allDecoders,
  clientDecoders,
  decode,
  encode,
  serverDecoders,
  type Packet,
} from './index.js';

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

const vbi = (n: number): number[] => {
  const out: number[] = [];
  do {
    out.push((n & 127) | (n > 127 ? 128 : 0));
    n >>>= 7;
  } while (n);
  return out;
};

/** The value bytes of each property's data type [MQTT-2.2.2.2]: identifier -> bytes of a value. */
const TYPE: Record<number, 'byte' | 'two' | 'four' | 'vbi' | 'string' | 'binary' | 'pair'> = {
  0x01: 'byte', 0x02: 'four', 0x03: 'string', 0x08: 'string', 0x09: 'binary', 0x0b: 'vbi', 0x11: 'four', 0x12: 'string',
  0x13: 'two', 0x15: 'string', 0x16: 'binary', 0x17: 'byte', 0x18: 'four', 0x19: 'byte', 0x1a: 'string', 0x1c: 'string',
  0x1f: 'string', 0x21: 'two', 0x22: 'two', 0x23: 'two', 0x24: 'byte', 0x25: 'byte', 0x26: 'pair', 0x27: 'four',
  0x28: 'byte', 0x29: 'byte', 0x2a: 'byte',
}; // prettier-ignore
const IDS = Object.keys(TYPE).map(Number);

/** A random property section's contents: mostly well-typed properties, some of them not. */
function randomProperties(random: () => number): number[] {
  const int = (n: number) => Math.floor(random() * n);
  const str = (): number[] => {
    const text = ['', 'a', 'r/1', 'é', 'x/#', '\u0000'][int(6)]!;
    const b = [...Buffer.from(text)];
    return [b.length >> 8, b.length & 255, ...b];
  };
  const out: number[] = [];
  for (let n = int(4); n-- > 0;) {
    const id = random() < 0.85 ? IDS[int(IDS.length)]! : int(64);
    const type = random() < 0.9 ? TYPE[id] : (['byte', 'two', 'string'] as const)[int(3)];
    out.push(...vbi(id));
    if (type === 'byte') out.push(random() < 0.8 ? int(2) : int(256));
    else if (type === 'two') out.push(int(2) ? 0 : int(256), int(256));
    else if (type === 'four') out.push(0, 0, int(2), int(256));
    else if (type === 'vbi') out.push(...vbi(random() < 0.1 ? 0 : 1 + int(1000)));
    else if (type === 'string') out.push(...str());
    else if (type === 'binary') out.push(0, 2, int(256), int(256));
    else if (type === 'pair') out.push(...str(), ...str());
    if (random() < 0.1) out.push(...out.slice(-3)); // part of one again: a repeat, or a property cut short
  }
  return out;
}

const MARK = ['\u0001fz', 'm'] as [string, string];
const MARK_BYTES = Buffer.from([0x26, 0, 3, 1, 0x66, 0x7a, 0, 1, 0x6d]);

/**
 * A valid packet whose property section (the one carrying the marker user property) is replaced
 * by `random` properties, with its property length (true, or off by a little) and remaining length.
 */
function withRandomProperties(p: Packet, random: () => number): Uint8Array {
  const marked = {
    ...p,
    properties: { ...(p as { properties?: object }).properties, userProperties: [MARK] },
  } as Packet;
  if (marked.type === 12 || marked.type === 13) return encode(p);
  if (marked.type === 15) marked.properties = { ...marked.properties, authenticationMethod: 'm' };
  let bytes: Buffer;
  try {
    bytes = Buffer.from(encode(marked));
  } catch {
    return encode(p); // the packet's own properties and the marker do not fit together
  }
  const at = bytes.indexOf(MARK_BYTES);
  // The property length in front of the marker: the marker alone (marked properties come first
  // only if the packet had none), else leave the packet as it is.
  if (at < 1 || bytes[at - 1] !== MARK_BYTES.length) return encode(p);
  const props = randomProperties(random);
  const lie = random() < 0.1 ? Math.floor(random() * 5) - 2 : 0;
  const section = [...vbi(Math.max(0, props.length + lie)), ...props];
  let h = 1;
  while (bytes[h]! & 128) h++;
  const body = Buffer.concat([
    bytes.subarray(h + 1, at - 1),
    Buffer.from(section),
    bytes.subarray(at + MARK_BYTES.length),
  ]);
  return Uint8Array.from([bytes[0]!, ...vbi(body.length), ...body]);
}

/** A stream: structure-aware packets and valid ones, then generic mutations on top. */
function makeStream(random: () => number, pool: Packet[]): Uint8Array {
  const int = (n: number) => Math.floor(random() * n);
  const one = () => {
    const p = pool[int(pool.length)]!;
    return random() < 0.6
      ? withRandomProperties(p, random)
      : random() < 0.5
        ? encode(p)
        : fixtures5[int(fixtures5.length)]!.bytes;
  };
  if (random() < 0.05) return Uint8Array.from({ length: int(200) }, () => int(256)); // pure noise
  let s = concat(...Array.from({ length: 1 + int(5) }, one));
  for (let m = int(4); m-- > 0;) {
    const at = int(s.length + 1);
    switch (int(5)) {
      case 0:
        if (s.length) s[at % s.length]! ^= 1 << int(8);
        break;
      case 1:
        if (s.length) s[at % s.length] = int(256);
        break;
      case 2:
        s = s.slice(0, at);
        break;
      case 3:
        s = concat(s.subarray(0, at), s.subarray(at + 1 + int(8)));
        break;
      case 4:
        s = concat(
          s.subarray(0, at),
          Uint8Array.from([[0x80, 0x80, 0x80, 0x80], [0x26], [0x0b, 0x00], [0x00]][int(4)]!),
          s.subarray(at),
        );
        break;
    }
  }
  return s;
}

const REASONS = [0x81, 0x82, 0x84, 0x95];
const PROPERTY_CLAUSE = /^MQTT-(2\.2\.2\.[12]|3\.\d+\.[23]\.\d+|3\.3\.2-(8|14)|1\.5\.[45])/;

function run(s: Uint8Array, parser: Parser, random: () => number, tally: { propertyErrors: number }) {
  const packets: Packet[] = [];
  let errors = 0;
  for (let i = 0; i < s.length;) {
    const n = 1 + Math.floor(random() * (random() < 0.5 ? 4 : 64));
    parser.push(s.subarray(i, i + n));
    i += n;
    const bound = parser.buffered / 2 + 2;
    for (let turns = 0; ; turns++) {
      if (turns > bound) throw new Error(`read loop did not end after ${turns} turns`);
      let p: Packet | undefined;
      try {
        p = parser.read();
      } catch (e) {
        if (!(e instanceof UmqttError)) throw new Error(`a ${(e as Error)?.constructor?.name} escaped: ${String(e)}`);
        const named = /\[(MQTT-[^\]]+)\]$/.exec(e.message)?.[1];
        if (named !== e.clause) throw new Error(`clause ${e.clause} but the message names ${named}: ${e.message}`);
        if (!REASONS.includes(e.reasonCode!)) throw new Error(`reason code ${e.reasonCode} on ${e.message}`);
        if (parser.buffered !== 0) throw new Error(`parser kept ${parser.buffered} bytes after an error`);
        if (e.clause && PROPERTY_CLAUSE.test(e.clause)) tally.propertyErrors++;
        errors++;
        continue;
      }
      if (!p) break;
      packets.push(p);
    }
  }
  return { packets, errors };
}

describe('MQTT 5 fuzz', () => {
  it(`structure-aware and mutated streams for ${TIME_BUDGET_MS} ms`, () => {
    const seed = Number(process.env.FUZZ_SEED) || Date.now() % 2 ** 31;
    const random = prng(seed);
    const pool = fc.sample(packet5, { numRuns: 400, seed });
    const valid = concat(...fixtures5.map((f) => f.bytes));
    const tally = { propertyErrors: 0 };
    let streams = 0;
    let accepted = 0;
    let acceptedWithProperties = 0;
    let rejected = 0;
    const start = performance.now();
    try {
      while (performance.now() - start < TIME_BUDGET_MS) {
        const s = makeStream(random, pool);
        const table = [allDecoders, clientDecoders, serverDecoders][Math.floor(random() * 3)]!;
        const parser = new Parser(table, { maxPacketSize: MAX_PACKET });
        const { packets, errors } = run(s, parser, random, tally);
        for (const p of packets) {
          expect(decode(encode(p))).toEqual(p); // what it accepts is a valid packet
          if ((p as { properties?: object }).properties) acceptedWithProperties++;
        }
        accepted += packets.length;
        rejected += errors;
        parser.reset();
        if (streams % 8 === 0) {
          const fresh = new Parser(allDecoders, { maxPacketSize: MAX_PACKET });
          fresh.push(valid);
          let n = 0;
          while (fresh.read()) n++;
          expect(n).toBe(fixtures5.length);
        }
        streams++;
      }
    } catch (e) {
      throw new Error(`fuzz failed with FUZZ_SEED=${seed} after ${streams} streams: ${(e as Error).message}`, {
        cause: e,
      });
    }
    // Both outcomes, and property parsing reached on both sides, or the test checks little.
    expect(streams).toBeGreaterThan(100);
    expect(accepted).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(0);
    expect(acceptedWithProperties).toBeGreaterThan(20);
    expect(tally.propertyErrors).toBeGreaterThan(20);
  });
});
