// Every fixture yields three tests: its bytes decode to its packet, its packet encodes to its
// bytes, and decode(encode(packet)) gives the packet back.
import { describe, expect, it } from 'vitest';
import { fixtures } from './fixtures.js';
import {
  decode,
  encode,
  encodeAck,
  encodeConnack,
  encodeConnect,
  encodeEmpty,
  encodePublish,
  encodeSuback,
  encodeSubscribe,
  encodeUnsubscribe,
} from './index.js';
import type { Packet } from './packets.js';

const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

/** toEqual, but large payloads are compared with Buffer.compare (deep equality is slow per element). */
function expectPacket(actual: Packet, expected: Packet): void {
  if (actual.type === 3 && expected.type === 3 && expected.payload.length > 1024) {
    expect(Buffer.compare(actual.payload, expected.payload)).toBe(0);
    expect({ ...actual, payload: null }).toEqual({ ...expected, payload: null });
  } else expect(actual).toEqual(expected);
}

/** The type-specific encoder, to check it agrees with encode(). */
function encodeOne(p: Packet): Uint8Array {
  switch (p.type) {
    case 1:
      return encodeConnect(p);
    case 2:
      return encodeConnack(p);
    case 3:
      return encodePublish(p);
    case 8:
      return encodeSubscribe(p);
    case 9:
      return encodeSuback(p);
    case 10:
      return encodeUnsubscribe(p);
    case 12:
    case 13:
    case 14:
      return encodeEmpty(p);
    default:
      return encodeAck(p);
  }
}

describe('fixtures', () => {
  it('cover all 14 packet types', () => {
    expect(new Set(fixtures.map((f) => f.packet.type))).toEqual(
      new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]),
    );
  });

  it('have unique names and at least one clause each', () => {
    expect(new Set(fixtures.map((f) => f.name)).size).toBe(fixtures.length);
    for (const f of fixtures) expect(f.clauses.length, f.name).toBeGreaterThan(0);
  });

  describe.each(fixtures.map((f) => [`${f.name} [${f.clauses.join(', ')}]`, f] as const))('%s', (_, f) => {
    it('decodes', () => {
      expectPacket(decode(f.bytes), f.packet);
    });

    it('encodes', () => {
      const out = encode(f.packet);
      expect(out).toBeInstanceOf(Uint8Array);
      if (f.bytes.length < 1024) expect(toHex(out)).toBe(toHex(f.bytes));
      else {
        expect(out.length).toBe(f.bytes.length);
        expect(Buffer.compare(out, f.bytes)).toBe(0);
      }
      expect(Buffer.compare(encodeOne(f.packet), f.bytes)).toBe(0);
    });

    it('round-trips', () => {
      const again = decode(encode(f.packet));
      expectPacket(again, f.packet);
      expect(Buffer.compare(encode(again), f.bytes)).toBe(0);
    });
  });
});

describe('decoded packets', () => {
  it('PUBLISH payloads are views of the input, not copies', () => {
    const bytes = Uint8Array.from([0x30, 5, 0, 1, 0x61, 1, 2]);
    const p = decode(bytes);
    expect(p.type === 3 && p.payload.buffer).toBe(bytes.buffer);
  });

  it('Uint8Array equality in these tests is by content (a test that could not fail would be a defect)', () => {
    expect(decode(Uint8Array.from([0x30, 4, 0, 1, 0x61, 1]))).not.toEqual({
      type: 3,
      topic: 'a',
      payload: Uint8Array.from([2]),
      qos: 0,
      retain: false,
      dup: false,
    });
  });

  it('optional packet fields are absent or undefined, never other defaults', () => {
    const c = decode(Uint8Array.from([0x10, 12, 0, 4, 77, 81, 84, 84, 4, 2, 0, 0, 0, 0]));
    expect(c).toMatchObject({ type: 1, clientId: '', clean: true, keepAlive: 0 });
    expect(c.type === 1 && [c.username, c.password, c.will]).toEqual([undefined, undefined, undefined]);
    const p = decode(Uint8Array.from([0x30, 3, 0, 1, 0x61]));
    expect(p.type === 3 && p.id).toBe(undefined);
  });
});

describe('encoder defaults', () => {
  it('PUBLISH without qos, retain, dup is QoS 0 and ignores an id', () => {
    expect(toHex(encodePublish({ type: 3, topic: 'a', payload: Uint8Array.of(1) }))).toBe('30 04 00 01 61 01');
    expect(toHex(encodePublish({ type: 3, topic: 'a', payload: Uint8Array.of(1), id: 9 }))).toBe('30 04 00 01 61 01');
  });

  it('will without qos and retain is QoS 0, not retained', () => {
    const bytes = encodeConnect({
      type: 1,
      clientId: 'c',
      clean: true,
      keepAlive: 0,
      will: { topic: 't', payload: Uint8Array.of(1) },
    });
    expect(toHex(bytes)).toBe('10 13 00 04 4d 51 54 54 04 06 00 00 00 01 63 00 01 74 00 01 01');
  });
});
