// The incremental parser: any cut of the same byte stream yields the same packets.
import { describe, expect, it } from 'vitest';
import { concat, counting, fixtures, hex, smallFixtures } from './fixtures.js';
import {
  INVALID_ARGUMENT,
  MALFORMED,
  PINGRESP,
  PUBLISH,
  Parser,
  UmqttError,
  allDecoders,
  clientDecoders,
  decode,
  encode,
  decodePublish,
  serverDecoders,
  type BodyDecoder,
  type Decoders,
  type Packet,
} from './index.js';

const stream = concat(...smallFixtures.map((f) => f.bytes));
const expected = smallFixtures.map((f) => f.packet);

/** Pushes `chunks` one by one, reading all it can after each; checks `buffered` as it goes. */
function feed(chunks: Uint8Array[], parser = new Parser(allDecoders)): Packet[] {
  const out: Packet[] = [];
  let pushed = 0;
  let returned = 0;
  for (const c of chunks) {
    parser.push(c);
    pushed += c.length;
    for (let p = parser.read(); p; p = parser.read()) {
      out.push(p);
      returned += encode(p).length;
      expect(parser.buffered).toBe(pushed - returned);
    }
    expect(parser.buffered).toBe(pushed - returned);
    expect(parser.read()).toBeUndefined(); // still incomplete: undefined again, no state change
    expect(parser.buffered).toBe(pushed - returned);
  }
  return out;
}

/** A small seeded PRNG (mulberry32), so failures can be replayed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function cut(bytes: Uint8Array, random: () => number, max: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length;) {
    const n = 1 + Math.floor(random() * max);
    out.push(bytes.slice(i, i + n));
    i += n;
  }
  return out;
}

describe('Parser', () => {
  it('all at once: many packets in one chunk', () => {
    expect(feed([stream])).toEqual(expected);
  });

  it('one byte at a time', () => {
    expect(feed(Array.from(stream, (b) => Uint8Array.of(b)))).toEqual(expected);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])('in random cuts (seed %i)', (seed) => {
    const random = prng(seed);
    expect(feed(cut(stream, random, 1 + Math.floor(random() * 40)))).toEqual(expected);
  });

  it('with empty chunks between', () => {
    const chunks = cut(stream, prng(99), 9).flatMap((c) => [new Uint8Array(0), c]);
    expect(feed(chunks)).toEqual(expected);
  });

  it('a large packet split across many chunks, among small ones', () => {
    const big = fixtures.find((f) => f.bytes.length > 16384 && f.bytes.length < 20000)!;
    const bytes = concat(hex('c0 00'), big.bytes, hex('d0 00'));
    const out = feed(cut(bytes, prng(7), 1000));
    expect(out.length).toBe(3);
    expect(out[0]).toEqual({ type: 12 });
    expect(out[2]).toEqual({ type: 13 });
    const p = out[1]!;
    expect(p.type === 3 && Buffer.compare(p.payload, (big.packet as { payload: Uint8Array }).payload)).toBe(0);
  });

  it('read() returns undefined while a packet is incomplete, at every cut', () => {
    const bytes = encode({ type: 3, topic: 'a/b', payload: counting(300), qos: 1, id: 3 });
    for (let i = 0; i < bytes.length; i++) {
      const parser = new Parser(allDecoders);
      parser.push(bytes.subarray(0, i));
      expect(parser.read()).toBeUndefined();
      expect(parser.buffered).toBe(i);
      parser.push(bytes.subarray(i));
      expect(parser.read()).toMatchObject({ type: 3, topic: 'a/b', id: 3 });
      expect(parser.buffered).toBe(0);
    }
  });

  it('buffered counts a fixed header in progress after a packet assembled from chunks', () => {
    const parser = new Parser(allDecoders);
    const big = encode({ type: 3, topic: 'a', payload: counting(200) });
    parser.push(big.subarray(0, 100));
    expect(parser.read()).toBeUndefined();
    parser.push(big.subarray(100));
    expect(parser.read()).toMatchObject({ type: 3 });
    parser.push(hex('30 80')); // the start of the next packet's fixed header
    expect(parser.read()).toBeUndefined();
    expect(parser.buffered).toBe(2);
    parser.reset();
    expect(parser.buffered).toBe(0);
    parser.push(hex('30'));
    expect(parser.read()).toBeUndefined();
    expect(parser.buffered).toBe(1);
  });

  it('payloads read from a chunk are views of it; assembled ones are copies', () => {
    const bytes = encode({ type: 3, topic: 'a', payload: counting(10) });
    const whole = new Parser(allDecoders);
    whole.push(bytes);
    const p = whole.read();
    expect(p?.type === 3 && p.payload.buffer).toBe(bytes.buffer);
    const parts = new Parser(allDecoders);
    parts.push(bytes.slice(0, 6));
    expect(parts.read()).toBeUndefined();
    parts.push(bytes.slice(6));
    const q = parts.read();
    expect(q?.type === 3 && Array.from(q.payload)).toEqual(Array.from(counting(10)));
  });

  it('a zero-length body completes with its fixed header', () => {
    const parser = new Parser(allDecoders);
    parser.push(hex('c0'));
    expect(parser.read()).toBeUndefined();
    parser.push(hex('00'));
    expect(parser.read()).toEqual({ type: 12 });
    expect(parser.read()).toBeUndefined();
  });

  it('client and server tables accept what each side receives', () => {
    const client = new Parser(clientDecoders);
    const server = new Parser(serverDecoders);
    const toClient = [2, 3, 4, 5, 6, 7, 9, 11, 13];
    const toServer = [1, 3, 4, 5, 6, 7, 8, 10, 12, 14];
    for (const f of smallFixtures) {
      const t = f.packet.type;
      for (const [parser, accepts] of [
        [client, toClient],
        [server, toServer],
      ] as const) {
        parser.push(f.bytes);
        if (accepts.includes(t)) expect(parser.read()).toEqual(f.packet);
        else expect(() => parser.read()).toThrow(/expected one this side receives/);
      }
    }
  });

  it('rejects a packet type from its first byte, before its length', () => {
    const parser = new Parser(clientDecoders);
    parser.push(hex('10'));
    expect(() => parser.read()).toThrow(expect.objectContaining({ code: 'UMQTT_UNEXPECTED_PACKET' }));
  });

  it('decode() agrees with the parser', () => {
    for (const f of smallFixtures) expect(decode(f.bytes)).toEqual(f.packet);
  });

  describe('memory follows the bytes that arrive, not what a header announces', () => {
    const MiB = 1 << 20;

    it('a header announcing 256 MiB, then a few KiB: the parser holds about what arrived', () => {
      const parser = new Parser(clientDecoders); // the default maxPacketSize: the protocol's 256 MiB
      const before = process.memoryUsage().arrayBuffers;
      parser.push(hex('30 ff ff ff 7f 0001 61')); // remaining length 268,435,455
      expect(parser.read()).toBeUndefined();
      for (let i = 0; i < 4; i++) {
        parser.push(new Uint8Array(1024));
        expect(parser.read()).toBeUndefined();
      }
      expect(parser.buffered).toBe(8 + 4096);
      // Allocating the announced packet would add 256 MiB here.
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(MiB);
    });

    it('a large packet in small chunks is assembled in a buffer that grows by doubling', () => {
      const payload = counting(MiB);
      const bytes = encode({ type: 3, topic: 't', payload });
      const parser = new Parser(allDecoders);
      // Every array the parser allocates, with the bytes received so far when it did.
      const allocations: Array<[size: number, received: number]> = [];
      let received = 0;
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; i += 1000) chunks.push(bytes.slice(i, i + 1000));
      const Original = globalThis.Uint8Array;
      globalThis.Uint8Array = class extends Original {
        static override [Symbol.hasInstance](x: unknown) {
          return x instanceof Original; // chunks made before still pass the parser's instanceof
        }
        constructor(...args: unknown[]) {
          super(...(args as [number]));
          if (typeof args[0] === 'number') allocations.push([args[0], received]);
        }
      } as typeof Uint8Array;
      let p: Packet | undefined;
      try {
        for (const chunk of chunks) {
          received += chunk.length;
          parser.push(chunk);
          p = parser.read();
        }
      } finally {
        globalThis.Uint8Array = Original;
      }
      expect(p?.type === 3 && Buffer.compare(p.payload, payload)).toBe(0);
      // Never more than twice what had arrived, never more than the packet; the last one is the
      // packet's size; doubling makes about log2(1 MiB / 2 KB) of them, so every byte is copied
      // about twice in all.
      for (const [size, at] of allocations) {
        expect(size).toBeLessThanOrEqual(2 * at);
        expect(size).toBeLessThanOrEqual(bytes.length);
      }
      expect(allocations.at(-1)?.[0]).toBe(bytes.length);
      expect(allocations.length).toBeLessThanOrEqual(11);
      expect(allocations.reduce((n, [size]) => n + size, 0)).toBeLessThan(3 * bytes.length);
    });

    it("the packet after a large one is assembled apart from the large one's buffer", () => {
      const big = encode({ type: 3, topic: 't', payload: counting(MiB) });
      const small = encode({ type: 3, topic: 't', payload: counting(10) });
      const parser = new Parser(allDecoders);
      for (let i = 0; i < big.length; i += 65536) parser.push(big.slice(i, i + 65536));
      parser.push(small.slice(0, 3)); // the next packet's first bytes, in the same buffer
      const p = parser.read();
      expect(p?.type === 3 && p.payload.length).toBe(MiB);
      expect(parser.buffered).toBe(3);
      // The next packet is assembled from what was left, not in the large packet's buffer.
      parser.push(small.slice(3));
      const q = parser.read();
      expect(q?.type === 3 && Array.from(q.payload)).toEqual(Array.from(counting(10)));
      expect(q?.type === 3 && q.payload.buffer.byteLength).toBeLessThan(1024);
      expect(parser.buffered).toBe(0);
    });

    it('many packets left in a buffer of ours all come out, whatever the cuts', () => {
      const stream = concat(
        encode({ type: 3, topic: 't', payload: counting(5000) }),
        ...smallFixtures.map((f) => f.bytes),
      );
      for (const first of [1, 10, 100, 4999, 5005]) {
        const parser = new Parser(allDecoders);
        parser.push(stream.slice(0, first));
        expect(parser.read()).toBeUndefined();
        parser.push(stream.slice(first));
        const out: Packet[] = [];
        for (let x = parser.read(); x; x = parser.read()) out.push(x);
        expect(out.slice(1)).toEqual(expected);
        expect(parser.buffered).toBe(0);
      }
    });
  });

  it('push() throws only UmqttError: a chunk that is not bytes is INVALID_ARGUMENT and changes nothing', () => {
    const parser = new Parser(allDecoders);
    parser.push(hex('c0'));
    for (const chunk of [null, undefined, 7, 'ab', [0], { length: 3 }, new ArrayBuffer(2)]) {
      let err: unknown;
      try {
        parser.push(chunk as never);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UmqttError);
      expect((err as UmqttError).code).toBe(INVALID_ARGUMENT);
      expect(parser.buffered).toBe(1);
    }
    parser.push(hex('00'));
    expect(parser.read()).toEqual({ type: 12 });
  });

  describe('body decoders of ones own', () => {
    it('read the body from the cursor they are given; what they throw becomes MALFORMED', () => {
      // PINGRESP with a counter, and a PUBLISH decoder that wraps the library's and upper-cases the topic.
      let pings = 0;
      const decodePingresp: BodyDecoder = (c) => {
        if (c.i < c.e) throw new Error('PINGRESP has no body');
        return { type: PINGRESP, seen: ++pings } as Packet;
      };
      const decodeLoud: BodyDecoder = (c, type, flags, header) => {
        const p = decodePublish(c, type, flags, header);
        return p.type === PUBLISH ? { ...p, topic: p.topic.toUpperCase() } : p;
      };
      const decoders: Decoders = Object.freeze([
        ...clientDecoders.slice(0, 3),
        decodeLoud,
        ...clientDecoders.slice(4, 13),
        decodePingresp,
      ]);
      const parser = new Parser(decoders);
      parser.push(concat(hex('d0 00'), encode({ type: PUBLISH, topic: 'a/b', payload: hex('01 02') }), hex('d0 00')));
      expect(parser.read()).toEqual({ type: PINGRESP, seen: 1 });
      expect(parser.read()).toMatchObject({ type: PUBLISH, topic: 'A/B', payload: hex('01 02') });
      expect(parser.read()).toEqual({ type: PINGRESP, seen: 2 });
      parser.push(hex('d0 01 00'));
      expect(() => parser.read()).toThrow(expect.objectContaining({ code: MALFORMED }));
    });

    it('a decoder may run another parser before it reads its own body: each read has its own cursor', () => {
      // A QoS 0 PUBLISH whose payload is a tunnelled packet stream, parsed by an inner parser
      // before the outer body is read (with a cursor shared between parsers, the outer read
      // would go on from wherever the inner one stopped).
      const inner = new Parser(allDecoders);
      const decodeTunnel: BodyDecoder = (c, type, flags, header) => {
        const topicLength = (c.b[c.i]! << 8) | c.b[c.i + 1]!;
        inner.push(c.b.subarray(c.i + 2 + topicLength, c.e));
        const tunnelled: Packet[] = [];
        for (let p = inner.read(); p; p = inner.read()) tunnelled.push(p);
        return { ...decodePublish(c, type, flags, header), tunnelled } as unknown as Packet;
      };
      const decoders = [...allDecoders];
      decoders[PUBLISH] = decodeTunnel;
      const tunnelled = [
        { type: PUBLISH, topic: 'in/1', payload: hex('0a0b'), qos: 1, id: 5, retain: false, dup: false },
        { type: 4, id: 5 },
      ] as Packet[];
      const payload = concat(...tunnelled.map(encode));
      const parser = new Parser(decoders);
      parser.push(concat(encode({ type: PUBLISH, topic: 'out', payload }), encode({ type: 4, id: 9 })));
      expect(parser.read()).toMatchObject({ topic: 'out', qos: 0, payload, tunnelled });
      expect(parser.read()).toEqual({ type: 4, id: 9 });
      expect(parser.buffered).toBe(0);
    });
  });
});
