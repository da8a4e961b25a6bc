// Properties over arbitrary valid MQTT 5 packets: encode -> decode is the identity, the bytes
// re-encode the same, and the parser yields the same packets however the stream is cut, also
// beside a 3.1.1 parser (the protocol version is chosen per connection).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packet as packet311 } from '../arbitraries.js';
import { concat } from '../fixtures.js';
import { Parser as Parser311, allDecoders as allDecoders311, encode as encode311 } from '../index.js';
import { packet5, packetByType5 } from './arbitraries.js';
import { Parser, allDecoders, clientDecoders, decode, encode, serverDecoders, type Packet } from './index.js';

describe('MQTT 5 round trip', () => {
  it.each(Object.keys(packetByType5))('%s: decode(encode(p)) equals p, and re-encodes to the same bytes', (name) => {
    fc.assert(
      fc.property(packetByType5[name]!, (p) => {
        const bytes = encode(p);
        const back = decode(bytes);
        expect(back).toEqual(p);
        expect(Buffer.compare(encode(back), bytes)).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('covers all 15 packet types, and properties in each type that has them', () => {
    const types = new Set<number>();
    const withProperties = new Set<number>();
    fc.assert(
      fc.property(packet5, (p) => {
        types.add(p.type);
        if ((p as { properties?: object }).properties) withProperties.add(p.type);
      }),
      { numRuns: 3000 },
    );
    expect(types.size).toBe(15);
    expect([...withProperties].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 15]);
  });
});

/** Pushes `bytes` cut at `cuts`, reading all it can after each push. */
function cutAndRead<P>(
  parser: { push(c: Uint8Array): void; read(): P | undefined; buffered: number },
  bytes: Uint8Array,
  cuts: number[],
): P[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: P[] = [];
  let from = 0;
  for (const to of [...points, bytes.length]) {
    parser.push(bytes.subarray(from, to));
    from = to;
    for (let p = parser.read(); p; p = parser.read()) out.push(p);
  }
  expect(parser.buffered).toBe(0);
  return out;
}

describe('MQTT 5 parser with arbitrary chunking', () => {
  it('yields the same packets for any cut of the stream', () => {
    fc.assert(
      fc.property(
        fc.array(packet5, { minLength: 1, maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (packets, cuts) => {
          expect(cutAndRead(new Parser(allDecoders), concat(...packets.map(encode)), cuts)).toEqual(packets);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a 3.1.1 and an MQTT 5 connection side by side, each with its own parser, in the same cuts', () => {
    fc.assert(
      fc.property(
        fc.array(packet311, { minLength: 1, maxLength: 6 }),
        fc.array(packet5, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (p311, p5, cuts) => {
          const a = new Parser311(allDecoders311);
          const b = new Parser(allDecoders);
          expect(cutAndRead(a, concat(...p311.map(encode311)), cuts)).toEqual(p311);
          expect(cutAndRead(b, concat(...p5.map(encode)), cuts)).toEqual(p5);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('client and server tables accept what each side receives', () => {
    const toClient = [2, 3, 4, 5, 6, 7, 9, 11, 13, 14, 15];
    const toServer = [1, 3, 4, 5, 6, 7, 8, 10, 12, 14, 15];
    fc.assert(
      fc.property(packet5, (p: Packet) => {
        for (const [table, accepts] of [
          [clientDecoders, toClient],
          [serverDecoders, toServer],
        ] as const) {
          const parser = new Parser(table);
          parser.push(encode(p));
          const fromClientWithIds = table === serverDecoders && p.type === 3 && p.properties?.subscriptionIdentifier;
          if (accepts.includes(p.type) && !fromClientWithIds) expect(parser.read()).toEqual(p);
          else
            expect(() => parser.read()).toThrow(
              expect.objectContaining({ code: fromClientWithIds ? 'UMQTT_MALFORMED' : 'UMQTT_UNEXPECTED_PACKET' }),
            );
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a 3.1.1 parser does not take MQTT 5 packets for its own where they differ', () => {
    // CONNECT level 5, AUTH: refused by the 3.1.1 tables
    expect(() => {
      const p = new Parser311(allDecoders311);
      p.push(encode({ type: 1, clientId: 'c', clean: true, keepAlive: 0 }));
      return p.read();
    }).toThrow(expect.objectContaining({ code: 'UMQTT_UNSUPPORTED_PROTOCOL' }));
    expect(() => {
      const p = new Parser311(allDecoders311);
      p.push(encode({ type: 15, reasonCode: 0 }));
      return p.read();
    }).toThrow(expect.objectContaining({ clause: 'MQTT-2.2.1' }));
  });
});
