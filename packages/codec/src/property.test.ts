// Properties over arbitrary valid packets: encode -> decode is the identity, and the parser
// yields the same packets however the stream is cut.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packet, packetByType, topicFilter, topicName } from './arbitraries.js';
import { concat } from './fixtures.js';
import {
  Parser,
  allDecoders,
  decode,
  encode,
  topicMatches,
  validateTopicFilter,
  validateTopicName,
  type Packet,
} from './index.js';

describe('round trip', () => {
  it.each(Object.keys(packetByType))('%s: decode(encode(p)) equals p, and re-encodes to the same bytes', (name) => {
    fc.assert(
      fc.property(packetByType[name]!, (p) => {
        const bytes = encode(p);
        const back = decode(bytes);
        expect(back).toEqual(p);
        expect(Buffer.compare(encode(back), bytes)).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('covers all 14 packet types', () => {
    const seen = new Set<number>();
    fc.assert(
      fc.property(packet, (p) => void seen.add(p.type)),
      { numRuns: 2000 },
    );
    expect(seen.size).toBe(14);
  });
});

describe('parser with arbitrary chunking', () => {
  it('yields the same packets for any cut of the stream', () => {
    fc.assert(
      fc.property(
        fc.array(packet, { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (packets, cuts) => {
          const bytes = concat(...packets.map(encode));
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const parser = new Parser(allDecoders);
          const out: Packet[] = [];
          let from = 0;
          for (const to of [...points, bytes.length]) {
            parser.push(bytes.subarray(from, to));
            from = to;
            for (let p = parser.read(); p; p = parser.read()) out.push(p);
          }
          expect(out).toEqual(packets);
          expect(parser.buffered).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('topic generators are valid, and matching is consistent', () => {
  it('names and filters validate; a name used as a filter matches itself', () => {
    fc.assert(
      fc.property(topicName, topicFilter, (name, filter) => {
        validateTopicName(name);
        validateTopicFilter(filter);
        expect(topicMatches(name, name)).toBe(true);
        if (!name.startsWith('$')) expect(topicMatches('#', name)).toBe(true);
      }),
    );
  });

  it('a filter with + in place of a level matches the name', () => {
    fc.assert(
      fc.property(topicName, fc.nat(), (name, k) => {
        if (name.startsWith('$')) return;
        const levels = name.split('/');
        levels[k % levels.length] = '+';
        expect(topicMatches(levels.join('/'), name)).toBe(true);
      }),
    );
  });
});
