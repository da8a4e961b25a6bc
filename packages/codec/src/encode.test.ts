// Encoder internals with visible effects: small packets share a pool, large ones do not; the
// last-topic memo of encodePublish never lets an invalid topic through.
import { describe, expect, it } from 'vitest';
import { INVALID_TOPIC, decode, encodeAck, encodePublish, encodeConnect, UmqttError, type TopicMemo } from './index.js';
import * as v5 from './v5/index.js';

describe('output buffers', () => {
  it('small packets are distinct, non-overlapping views: writing one leaves the others alone', () => {
    const packets = Array.from({ length: 100 }, (_, i) => encodeAck({ type: 4, id: i + 1 }));
    for (const p of packets) p.fill(0xff);
    const fresh = encodeAck({ type: 4, id: 7 });
    expect(Array.from(fresh)).toEqual([0x40, 2, 0, 7]);
    // No two views share a byte.
    const ranges = packets.map((p) => [p.buffer, p.byteOffset, p.byteOffset + p.byteLength] as const);
    for (let i = 0; i < ranges.length; i++)
      for (let j = i + 1; j < ranges.length; j++) {
        const [a, s, e] = ranges[i]!;
        const [b, s2, e2] = ranges[j]!;
        if (a === b) expect(e <= s2 || e2 <= s).toBe(true);
      }
  });

  it('a packet never changes after later packets are encoded', () => {
    const first = encodePublish({ type: 3, topic: 'a', payload: Uint8Array.of(1, 2, 3) });
    const copy = Array.from(first);
    for (let i = 0; i < 5000; i++) encodePublish({ type: 3, topic: 'b', payload: new Uint8Array(i % 300) });
    expect(Array.from(first)).toEqual(copy);
  });

  it('packets over 256 bytes have their own ArrayBuffer', () => {
    const big = encodePublish({ type: 3, topic: 'a', payload: new Uint8Array(300) });
    expect(big.byteOffset).toBe(0);
    expect(big.buffer.byteLength).toBe(big.length);
  });
});

describe('encodePublish last-topic memo', () => {
  it('an invalid topic throws every time, also right after a valid one', () => {
    const payload = Uint8Array.of(1);
    encodePublish({ type: 3, topic: 'a/b', payload });
    for (let i = 0; i < 3; i++)
      expect(() => encodePublish({ type: 3, topic: 'a/+', payload })).toThrow(
        expect.objectContaining({ code: INVALID_TOPIC }),
      );
    expect(() => encodePublish({ type: 3, topic: '', payload })).toThrow(UmqttError);
  });

  it('the length of each topic is its own, alternating or repeated', () => {
    const payload = Uint8Array.of(9);
    for (const topic of ['a', 'ééé', 'a', 'x/\u{1F600}', 'x/\u{1F600}', 'a']) {
      const p = decode(encodePublish({ type: 3, topic, payload, qos: 1, id: 3 }));
      expect(p).toMatchObject({ topic, id: 3 });
    }
  });

  it('uses the memo it is given, and leaves the shared one alone', () => {
    const payload = Uint8Array.of(1);
    const memo: TopicMemo = [];
    encodePublish({ type: 3, topic: 'shared', payload });
    const bytes = encodePublish({ type: 3, topic: 'mine', payload, qos: 1, id: 1 }, false, memo);
    expect(memo).toEqual(['mine', 4]);
    expect(decode(bytes)).toMatchObject({ topic: 'mine', id: 1 });
    expect(encodePublish({ type: 3, topic: 'mine', payload }, true, memo)).toHaveLength(1 + 1 + 2 + 4);
    expect(() => encodePublish({ type: 3, topic: 'mine/#', payload }, false, memo)).toThrow(
      expect.objectContaining({ code: INVALID_TOPIC }),
    );
    expect(memo).toEqual(['mine', 4]);
  });

  it('MQTT 5 encodePublish takes a memo too; an empty topic with an alias leaves it alone', () => {
    const payload = Uint8Array.of(1);
    const memo: TopicMemo = [];
    expect(v5.decode(v5.encodePublish({ type: 3, topic: 'five', payload }, false, memo))).toMatchObject({
      topic: 'five',
    });
    expect(memo).toEqual(['five', 4]);
    v5.encodePublish({ type: 3, topic: '', payload, properties: { topicAlias: 1 } }, false, memo);
    expect(memo).toEqual(['five', 4]);
  });

  it('will topics and other encoders are validated independently of the memo', () => {
    encodePublish({ type: 3, topic: 'w', payload: Uint8Array.of() });
    expect(() =>
      encodeConnect({
        type: 1,
        clientId: 'c',
        clean: true,
        keepAlive: 0,
        will: { topic: 'w/#', payload: Uint8Array.of() },
      }),
    ).toThrow(expect.objectContaining({ code: INVALID_TOPIC }));
  });
});

describe('encodePublish headerOnly', () => {
  const join = (a: Uint8Array, b: Uint8Array) => {
    const out = new Uint8Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  };
  // payload lengths at every width of the remaining length (1 to 4 bytes) and at its edges
  const sizes = [
    0, 1, 100, 121, 122, 127, 128, 16_000, 16_377, 16_378, 16_384, 300_000, 2_097_140, 2_097_146, 2_100_000,
  ];
  it.each(sizes)('header + payload (%i bytes) are exactly the whole packet, at each QoS', (n) => {
    const payload = new Uint8Array(n).map((_, i) => i * 7);
    for (const qos of [0, 1, 2] as const) {
      const packet = {
        type: 3 as const,
        topic: 'a/ü',
        payload,
        qos,
        id: qos ? 513 : undefined,
        retain: n % 2 === 0,
        dup: qos > 0,
      };
      const head = encodePublish(packet, true);
      expect(head.length).toBeLessThanOrEqual(5 + 2 + 4 + 2); // no payload byte in it
      expect(Buffer.compare(join(head, payload), encodePublish(packet))).toBe(0); // toEqual is slow per element
    }
  });

  it('the payload is not copied, and the same checks apply', () => {
    const payload = new Uint8Array(10_000);
    const head = encodePublish({ type: 3, topic: 't', payload, qos: 0 }, true);
    expect(head.buffer).not.toBe(payload.buffer);
    expect(head.length).toBe(1 + 2 + 2 + 1);
    expect(() => encodePublish({ type: 3, topic: 't/#', payload, qos: 0 }, true)).toThrow(
      expect.objectContaining({ code: INVALID_TOPIC }),
    );
    expect(() => encodePublish({ type: 3, topic: 't', payload: new Uint8Array(268_435_456), qos: 0 }, true)).toThrow(
      /at most 268435455 bytes/,
    );
  });
});
