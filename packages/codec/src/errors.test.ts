// Error tables: invalid bytes must fail with a stable code and the spec clause they break;
// wrong encoder calls must throw at once. Only UmqttError is ever thrown.
import { describe, expect, it } from 'vitest';
import { decodeErrors, hex } from './fixtures.js';
import {
  INVALID_ARGUMENT,
  INVALID_TOPIC,
  INVALID_UTF8,
  PACKET_TOO_LARGE,
  Parser,
  UmqttError,
  allDecoders,
  clientDecoders,
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
  encodeUtf8,
  serverDecoders,
  type ConnectPacket,
  type Packet,
} from './index.js';

/** Runs `f`, expects a UmqttError, returns it. */
function caught(f: () => unknown): UmqttError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UmqttError);
    return e as UmqttError;
  }
  throw new Error('expected a UmqttError, nothing was thrown');
}

describe('UmqttError', () => {
  it('is made of named fields; the clause follows the message', () => {
    const e = new UmqttError({
      code: 'UMQTT_X',
      message: 'what happened',
      clause: 'MQTT-1.2.3',
      reasonCode: 0x80,
      place: 'read',
    });
    expect(e).toBeInstanceOf(Error);
    expect([e.name, e.message, e.code, e.clause, e.reasonCode, e.place]).toEqual([
      'UmqttError',
      'what happened [MQTT-1.2.3]',
      'UMQTT_X',
      'MQTT-1.2.3',
      0x80,
      'read',
    ]);
    expect(String(e)).toBe('UmqttError: what happened [MQTT-1.2.3]');
  });

  it('fields not given read as undefined; the message stays what it was', () => {
    const e = new UmqttError({ code: 'UMQTT_Y', message: 'plain' });
    expect([e.message, e.clause, e.reasonCode, e.place]).toEqual(['plain', undefined, undefined, undefined]);
    expect(Object.keys(e)).not.toContain('message'); // still Error's own, not enumerable
    e.place = 'write';
    expect(e.place).toBe('write');
  });

  it('an empty message (a device bundle has no texts) reads as the code, the clause after it', () => {
    const e = new UmqttError({ code: 'UMQTT_Z', message: '', clause: 'MQTT-3.3.2-2' });
    expect(e.message).toBe('UMQTT_Z [MQTT-3.3.2-2]');
    expect(Object.keys(e)).not.toContain('message');
  });
});

describe('decoding errors', () => {
  it.each(decodeErrors.map((d) => [d.name, d] as const))('%s', (_, d) => {
    const err = caught(() => {
      if (!d.side) return decode(d.bytes);
      const parser = new Parser(d.side === 'client' ? clientDecoders : serverDecoders);
      parser.push(d.bytes);
      return parser.read();
    });
    expect({ code: err.code, clause: err.clause }).toEqual({ code: d.code, clause: d.clause });
    // The message says what was expected, what arrived, and the clause.
    expect(err.message).toMatch(/: expected .+, got .+/);
    if (d.clause) expect(err.message.endsWith(` [${d.clause}]`)).toBe(true);
    expect(err.name).toBe('UmqttError');
  });

  it('the same errors come out of a parser fed one byte at a time', () => {
    for (const d of decodeErrors.filter((x) => !x.side && x.bytes.length)) {
      const parser = new Parser(allDecoders);
      let err: unknown;
      try {
        for (const b of d.bytes) {
          parser.push(Uint8Array.of(b));
          while (parser.read());
        }
      } catch (e) {
        err = e;
      }
      if (err === undefined) {
        // Only the decode()-specific cases (nothing wrong with the stream so far) pass here.
        expect(d.name, d.name).toMatch(/^decode\(\)/);
        continue;
      }
      expect(err, d.name).toBeInstanceOf(UmqttError);
      expect((err as UmqttError).code, d.name).toBe(d.code);
      expect((err as UmqttError).clause, d.name).toBe(d.clause);
    }
  });

  it('a refused protocol carries CONNACK return code 1 for the broker to send', () => {
    const err = caught(() => decode(hex('10 0d 0004 4d515454 05 02 003c 0001 61')));
    expect(err.reasonCode).toBe(1);
  });

  it('an unexpected packet names its type', () => {
    const parser = new Parser(clientDecoders);
    parser.push(hex('e0 00'));
    expect(caught(() => parser.read()).message).toBe(
      'packet type: expected one this side receives, got 14 [MQTT-2.2.1]',
    );
  });

  describe('maxPacketSize', () => {
    const announcing256MB = hex('30 ff ff ff 7f'); // remaining length 268,435,455

    it('rejects a packet from its fixed header alone: no body is buffered', () => {
      const parser = new Parser(allDecoders, { maxPacketSize: 65536 });
      parser.push(announcing256MB);
      const err = caught(() => parser.read());
      expect(err.code).toBe(PACKET_TOO_LARGE);
      expect(err.message).toMatch(/expected at most 65536 bytes, got 268435460/);
      expect(parser.buffered).toBe(0);
    });

    it('rejects it as soon as the last length byte arrives, byte by byte', () => {
      const parser = new Parser(allDecoders, { maxPacketSize: 65536 });
      for (const b of announcing256MB.subarray(0, 4)) {
        parser.push(Uint8Array.of(b));
        expect(parser.read()).toBeUndefined();
      }
      parser.push(announcing256MB.subarray(4));
      expect(caught(() => parser.read()).code).toBe(PACKET_TOO_LARGE);
    });

    it.each([
      ['2 header bytes', '30 7f', 129, 128],
      ['3 header bytes', '30 80 01', 131, 130],
      ['4 header bytes', '30 80 80 01', 16388, 16387],
      ['5 header bytes', '30 80 80 80 01', 2097157, 2097156],
    ])('counts the whole packet, %s', (_, header, fits, tooSmall) => {
      const ok = new Parser(allDecoders, { maxPacketSize: fits });
      ok.push(hex(header));
      expect(ok.read()).toBeUndefined();
      const bad = new Parser(allDecoders, { maxPacketSize: tooSmall });
      bad.push(hex(header));
      expect(caught(() => bad.read()).code).toBe(PACKET_TOO_LARGE);
    });

    it('applies to decode() too', () => {
      expect(caught(() => decode(hex('30 05 0001 61 0102'), { maxPacketSize: 6 })).code).toBe(PACKET_TOO_LARGE);
      expect(decode(hex('30 05 0001 61 0102'), { maxPacketSize: 7 })).toMatchObject({ topic: 'a' });
    });
  });

  it('after an error the parser has dropped its bytes and decodes what comes next', () => {
    const parser = new Parser(allDecoders);
    parser.push(hex('40 02 0000 c0 00')); // PUBACK id 0, then a PINGREQ
    expect(caught(() => parser.read()).clause).toBe('MQTT-2.3.1-1');
    expect(parser.buffered).toBe(0);
    expect(parser.read()).toBeUndefined();
    parser.push(hex('d0 00'));
    expect(parser.read()).toEqual({ type: 13 });
  });
});

const payload = Uint8Array.of(1);
const connect = (over: Partial<ConnectPacket>): Packet =>
  ({ type: 1, clientId: 'c', clean: true, keepAlive: 60, ...over }) as Packet;
const publish = (over: object): Packet => ({ type: 3, topic: 'a', payload, ...over }) as Packet;
const subscribe = (...topics: string[]): Packet => ({
  type: 8,
  id: 1,
  subscriptions: topics.map((topic) => ({ topic, qos: 0 })),
});
const any = (p: object) => p as Packet;

/** Wrong encoder calls: [name, packet, code, clause]. */
const encodeErrors: Array<[string, Packet, string, string | undefined]> = [
  ['PUBLISH QoS 3', publish({ qos: 3, id: 1 }), INVALID_ARGUMENT, 'MQTT-3.3.1-4'],
  ['PUBLISH QoS -1', publish({ qos: -1 }), INVALID_ARGUMENT, 'MQTT-3.3.1-4'],
  ['PUBLISH QoS "1"', publish({ qos: '1', id: 1 }), INVALID_ARGUMENT, 'MQTT-3.3.1-4'],
  ['PUBLISH QoS 1 packet id 0', publish({ qos: 1, id: 0 }), INVALID_ARGUMENT, 'MQTT-2.3.1-1'],
  ['PUBLISH QoS 1 packet id 65536', publish({ qos: 1, id: 65536 }), INVALID_ARGUMENT, 'MQTT-2.3.1-1'],
  ['PUBLISH QoS 2 packet id 1.5', publish({ qos: 2, id: 1.5 }), INVALID_ARGUMENT, 'MQTT-2.3.1-1'],
  ['PUBLISH QoS 1 without packet id', publish({ qos: 1 }), INVALID_ARGUMENT, 'MQTT-2.3.1-1'],
  ['PUBLISH DUP at QoS 0', publish({ dup: true }), INVALID_ARGUMENT, 'MQTT-3.3.1-2'],
  ['PUBLISH topic with +', publish({ topic: 'a/+' }), INVALID_TOPIC, 'MQTT-3.3.2-2'],
  ['PUBLISH topic with #', publish({ topic: 'a/#' }), INVALID_TOPIC, 'MQTT-3.3.2-2'],
  ['PUBLISH empty topic', publish({ topic: '' }), INVALID_TOPIC, 'MQTT-4.7.3-1'],
  ['PUBLISH topic not a string', publish({ topic: 7 }), INVALID_TOPIC, 'MQTT-4.7.3-1'],
  ['PUBLISH topic with U+0000', publish({ topic: 'a\u0000b' }), INVALID_UTF8, 'MQTT-1.5.3-2'],
  ['PUBLISH topic with a lone high surrogate', publish({ topic: 'a\ud800' }), INVALID_UTF8, 'MQTT-1.5.3-1'],
  ['PUBLISH topic with a lone low surrogate', publish({ topic: '\udc00a' }), INVALID_UTF8, 'MQTT-1.5.3-1'],
  ['PUBLISH topic with reversed surrogates', publish({ topic: '\ude00\ud83d' }), INVALID_UTF8, 'MQTT-1.5.3-1'],
  ['PUBLISH topic over 65535 bytes', publish({ topic: 'é'.repeat(32768) }), INVALID_TOPIC, 'MQTT-4.7.3-3'],
  ['PUBLISH payload a string', publish({ payload: 'x' }), INVALID_ARGUMENT, undefined],
  ['PUBLISH payload missing', publish({ payload: undefined }), INVALID_ARGUMENT, undefined],
  ['SUBSCRIBE filter a/#/b', subscribe('a/#/b'), INVALID_TOPIC, 'MQTT-4.7.1-2'],
  ['SUBSCRIBE filter a+', subscribe('a+'), INVALID_TOPIC, 'MQTT-4.7.1-3'],
  ['SUBSCRIBE filter +a/b', subscribe('+a/b'), INVALID_TOPIC, 'MQTT-4.7.1-3'],
  ['SUBSCRIBE filter #a', subscribe('#a'), INVALID_TOPIC, 'MQTT-4.7.1-2'],
  ['SUBSCRIBE filter a/b#', subscribe('a/b#'), INVALID_TOPIC, 'MQTT-4.7.1-2'],
  ['SUBSCRIBE filter ##', subscribe('##'), INVALID_TOPIC, 'MQTT-4.7.1-2'],
  ['SUBSCRIBE empty filter', subscribe('a', ''), INVALID_TOPIC, 'MQTT-4.7.3-1'],
  ['SUBSCRIBE filter with a lone surrogate', subscribe('a/\udbff'), INVALID_UTF8, 'MQTT-1.5.3-1'],
  ['SUBSCRIBE without filters', subscribe(), INVALID_ARGUMENT, 'MQTT-3.8.3-3'],
  [
    'SUBSCRIBE requested QoS 3',
    any({ type: 8, id: 1, subscriptions: [{ topic: 'a', qos: 3 }] }),
    INVALID_ARGUMENT,
    'MQTT-3.8.3-4',
  ],
  [
    'SUBSCRIBE packet id 0',
    any({ type: 8, id: 0, subscriptions: [{ topic: 'a', qos: 0 }] }),
    INVALID_ARGUMENT,
    'MQTT-2.3.1-1',
  ],
  ['UNSUBSCRIBE without filters', any({ type: 10, id: 1, topics: [] }), INVALID_ARGUMENT, 'MQTT-3.10.3-2'],
  ['UNSUBSCRIBE filter a/#/b', any({ type: 10, id: 1, topics: ['a/#/b'] }), INVALID_TOPIC, 'MQTT-4.7.1-2'],
  ['UNSUBSCRIBE packet id 65536', any({ type: 10, id: 65536, topics: ['a'] }), INVALID_ARGUMENT, 'MQTT-2.3.1-1'],
  ['SUBACK return code 3', any({ type: 9, id: 1, granted: [3] }), INVALID_ARGUMENT, 'MQTT-3.9.3-2'],
  ['SUBACK without return codes', any({ type: 9, id: 1, granted: [] }), INVALID_ARGUMENT, 'MQTT-3.9.3-1'],
  ['PUBACK packet id 0', any({ type: 4, id: 0 }), INVALID_ARGUMENT, 'MQTT-2.3.1-1'],
  ['PUBREL packet id 65536', any({ type: 6, id: 65536 }), INVALID_ARGUMENT, 'MQTT-2.3.1-1'],
  ['UNSUBACK without packet id', any({ type: 11 }), INVALID_ARGUMENT, 'MQTT-2.3.1-1'],
  ['CONNACK return code 6', any({ type: 2, sessionPresent: false, returnCode: 6 }), INVALID_ARGUMENT, 'MQTT-3.2.2.3'],
  [
    'CONNACK return code 1.5',
    any({ type: 2, sessionPresent: false, returnCode: 1.5 }),
    INVALID_ARGUMENT,
    'MQTT-3.2.2.3',
  ],
  [
    'CONNACK refusing with session present',
    any({ type: 2, sessionPresent: true, returnCode: 5 }),
    INVALID_ARGUMENT,
    'MQTT-3.2.2-4',
  ],
  ['CONNECT password without user name', connect({ password: payload }), INVALID_ARGUMENT, 'MQTT-3.1.2-22'],
  ['CONNECT keepAlive 70000', connect({ keepAlive: 70000 }), INVALID_ARGUMENT, 'MQTT-3.1.2.10'],
  ['CONNECT keepAlive -1', connect({ keepAlive: -1 }), INVALID_ARGUMENT, 'MQTT-3.1.2.10'],
  ['CONNECT keepAlive 1.5', connect({ keepAlive: 1.5 }), INVALID_ARGUMENT, 'MQTT-3.1.2.10'],
  [
    'CONNECT empty client id with clean false',
    connect({ clientId: '', clean: false }),
    INVALID_ARGUMENT,
    'MQTT-3.1.3-7',
  ],
  ['CONNECT client id over 65535 bytes', connect({ clientId: 'x'.repeat(65536) }), INVALID_ARGUMENT, 'MQTT-1.5.3'],
  ['CONNECT user name over 65535 bytes', connect({ username: '€'.repeat(21846) }), INVALID_ARGUMENT, 'MQTT-1.5.3'],
  [
    'CONNECT password over 65535 bytes',
    connect({ username: 'u', password: new Uint8Array(65536) }),
    INVALID_ARGUMENT,
    'MQTT-1.5.3',
  ],
  ['CONNECT password a string', connect({ username: 'u', password: 'p' as never }), INVALID_ARGUMENT, 'MQTT-1.5.3'],
  ['CONNECT client id missing', connect({ clientId: undefined as never }), INVALID_ARGUMENT, 'MQTT-1.5.3'],
  ['CONNECT client id with U+0000', connect({ clientId: 'a\u0000' }), INVALID_UTF8, 'MQTT-1.5.3-2'],
  ['CONNECT user name with a lone surrogate', connect({ username: '\ud800' }), INVALID_UTF8, 'MQTT-1.5.3-1'],
  [
    'CONNECT will QoS 3',
    connect({ will: { topic: 't', payload, qos: 3 as never } }),
    INVALID_ARGUMENT,
    'MQTT-3.1.2-14',
  ],
  ['CONNECT will topic with wildcard', connect({ will: { topic: 't/#', payload } }), INVALID_TOPIC, 'MQTT-3.3.2-2'],
  [
    'CONNECT will payload over 65535 bytes',
    connect({ will: { topic: 't', payload: new Uint8Array(65536) } }),
    INVALID_ARGUMENT,
    'MQTT-1.5.3',
  ],
  ['CONNECT will payload missing', connect({ will: { topic: 't' } as never }), INVALID_ARGUMENT, 'MQTT-1.5.3'],
  // Malformed packet objects (what a caller outside TypeScript can hand over): UmqttError, never TypeError.
  ['PUBLISH topic missing', publish({ topic: undefined }), INVALID_TOPIC, 'MQTT-4.7.3-1'],
  ['PUBLISH payload a number', publish({ payload: 7 }), INVALID_ARGUMENT, undefined],
  ['PUBLISH payload an array of numbers', publish({ payload: [1, 2] }), INVALID_ARGUMENT, undefined],
  ['PUBLISH payload an ArrayBuffer', publish({ payload: new ArrayBuffer(1) }), INVALID_ARGUMENT, undefined],
  ['PUBLISH packet id a BigInt', publish({ qos: 1, id: 1n }), INVALID_ARGUMENT, 'MQTT-2.3.1-1'],
  ['PUBLISH packet id a string', publish({ qos: 1, id: '1' }), INVALID_ARGUMENT, 'MQTT-2.3.1-1'],
  ['PUBLISH packet id NaN', publish({ qos: 2, id: NaN }), INVALID_ARGUMENT, 'MQTT-2.3.1-1'],
  ['PUBLISH packet id -1', publish({ qos: 2, id: -1 }), INVALID_ARGUMENT, 'MQTT-2.3.1-1'],
  ['PUBLISH packet id a Symbol', publish({ qos: 1, id: Symbol('id') }), INVALID_ARGUMENT, 'MQTT-2.3.1-1'],
  ['SUBSCRIBE subscriptions missing', any({ type: 8, id: 1 }), INVALID_ARGUMENT, 'MQTT-3.8.3-3'],
  [
    'SUBSCRIBE subscriptions an object',
    any({ type: 8, id: 1, subscriptions: { topic: 'a', qos: 0 } }),
    INVALID_ARGUMENT,
    'MQTT-3.8.3-3',
  ],
  ['SUBSCRIBE subscriptions a string', any({ type: 8, id: 1, subscriptions: 'a/b' }), INVALID_ARGUMENT, 'MQTT-3.8.3-3'],
  ['SUBSCRIBE subscription null', any({ type: 8, id: 1, subscriptions: [null] }), INVALID_ARGUMENT, 'MQTT-3.8.3-4'],
  [
    'SUBSCRIBE subscription a string',
    any({ type: 8, id: 1, subscriptions: ['a/b'] }),
    INVALID_ARGUMENT,
    'MQTT-3.8.3-4',
  ],
  [
    'SUBSCRIBE subscription without QoS',
    any({ type: 8, id: 1, subscriptions: [{ topic: 'a' }] }),
    INVALID_ARGUMENT,
    'MQTT-3.8.3-4',
  ],
  [
    'SUBSCRIBE packet id missing',
    any({ type: 8, subscriptions: [{ topic: 'a', qos: 0 }] }),
    INVALID_ARGUMENT,
    'MQTT-2.3.1-1',
  ],
  ['UNSUBSCRIBE topics missing', any({ type: 10, id: 1 }), INVALID_ARGUMENT, 'MQTT-3.10.3-2'],
  ['UNSUBSCRIBE topics a string', any({ type: 10, id: 1, topics: 'a/b' }), INVALID_ARGUMENT, 'MQTT-3.10.3-2'],
  ['UNSUBSCRIBE topic a number', any({ type: 10, id: 1, topics: [7] }), INVALID_TOPIC, 'MQTT-4.7.3-1'],
  ['SUBACK return codes missing', any({ type: 9, id: 1 }), INVALID_ARGUMENT, 'MQTT-3.9.3-1'],
  ['SUBACK return codes a number', any({ type: 9, id: 1, granted: 1 }), INVALID_ARGUMENT, 'MQTT-3.9.3-1'],
  ['SUBACK return code a string', any({ type: 9, id: 1, granted: ['1'] }), INVALID_ARGUMENT, 'MQTT-3.9.3-2'],
  ['CONNACK return code missing', any({ type: 2, sessionPresent: false }), INVALID_ARGUMENT, 'MQTT-3.2.2.3'],
  [
    'CONNACK return code a BigInt',
    any({ type: 2, sessionPresent: false, returnCode: 0n }),
    INVALID_ARGUMENT,
    'MQTT-3.2.2.3',
  ],
  ['CONNECT keepAlive missing', connect({ keepAlive: undefined as never }), INVALID_ARGUMENT, 'MQTT-3.1.2.10'],
  ['CONNECT keepAlive a BigInt', connect({ keepAlive: 60n as never }), INVALID_ARGUMENT, 'MQTT-3.1.2.10'],
  ['CONNECT keepAlive a string', connect({ keepAlive: '60' as never }), INVALID_ARGUMENT, 'MQTT-3.1.2.10'],
  ['CONNECT client id a number', connect({ clientId: 7 as never }), INVALID_ARGUMENT, 'MQTT-1.5.3'],
  ['CONNECT user name a number', connect({ username: 7 as never }), INVALID_ARGUMENT, 'MQTT-1.5.3'],
  [
    'CONNECT will payload a string',
    connect({ will: { topic: 't', payload: 'x' } as never }),
    INVALID_ARGUMENT,
    'MQTT-1.5.3',
  ],
  ['CONNECT will topic missing', connect({ will: { payload } as never }), INVALID_TOPIC, 'MQTT-4.7.3-1'],
  ['CONNECT will a string', connect({ will: 'bye' as never }), INVALID_TOPIC, 'MQTT-4.7.3-1'],
  ['PUBACK packet id a BigInt', any({ type: 4, id: 1n }), INVALID_ARGUMENT, 'MQTT-2.3.1-1'],
  ['PUBREC packet id a string', any({ type: 5, id: '1' }), INVALID_ARGUMENT, 'MQTT-2.3.1-1'],
  ['packet type missing', any({}), INVALID_ARGUMENT, 'MQTT-2.2.1'],
  ['packet null', null as never, INVALID_ARGUMENT, 'MQTT-2.2.1'],
  ['packet undefined', undefined as never, INVALID_ARGUMENT, 'MQTT-2.2.1'],
  ['packet a number', 3 as never, INVALID_ARGUMENT, 'MQTT-2.2.1'],
  ['PINGREQ with an unknown type', any({ type: 15 }), INVALID_ARGUMENT, 'MQTT-2.2.1'],
  ['packet type 0', any({ type: 0 }), INVALID_ARGUMENT, 'MQTT-2.2.1'],
];

describe('encoder misuse', () => {
  it.each(encodeErrors)('%s', (_, packet, code, clause) => {
    const err = caught(() => encode(packet));
    expect({ code: err.code, clause: err.clause }).toEqual({ code, clause });
    expect(err.message).toMatch(/: expected .+, got .+/);
    expect(/\[(MQTT-[^\]]+)\]$/.exec(err.message)?.[1]).toBe(clause); // the clause named is the one carried
  });

  it('each encoder rejects a packet that is not an object with UmqttError', () => {
    const encoders = [
      encodeConnect,
      encodeConnack,
      encodePublish,
      encodeAck,
      encodeSubscribe,
      encodeSuback,
      encodeUnsubscribe,
      encodeEmpty,
    ];
    for (const f of encoders)
      for (const p of [null, undefined, 0, 'PUBLISH', true])
        expect(caught(() => f(p as never)).code, `${f.name}(${String(p)})`).toBe(INVALID_ARGUMENT);
  });

  it('type-specific encoders reject other packet types', () => {
    expect(caught(() => encodeAck(any({ type: 3, id: 1 }) as never)).code).toBe(INVALID_ARGUMENT);
    expect(caught(() => encodeEmpty(any({ type: 4 }) as never)).code).toBe(INVALID_ARGUMENT);
  });

  it('the individual encoders give the same errors as encode()', () => {
    expect(caught(() => encodePublish(publish({ qos: 3 }) as never)).clause).toBe('MQTT-3.3.1-4');
    expect(caught(() => encodeConnect(connect({ keepAlive: 70000 }) as never)).clause).toBe('MQTT-3.1.2.10');
    expect(caught(() => encodeSubscribe(subscribe() as never)).clause).toBe('MQTT-3.8.3-3');
    expect(caught(() => encodeUnsubscribe(any({ type: 10, id: 1, topics: ['+a'] }) as never)).clause).toBe(
      'MQTT-4.7.1-3',
    );
    expect(caught(() => encodeSuback(any({ type: 9, id: 1, granted: [0x81] }) as never)).clause).toBe('MQTT-3.9.3-2');
    expect(caught(() => encodeConnack(any({ type: 2, sessionPresent: false, returnCode: -1 }) as never)).clause).toBe(
      'MQTT-3.2.2.3',
    );
  });

  it('largest strings and binaries fit: 65535 bytes', () => {
    const big = 'x'.repeat(65535);
    expect(encode(connect({ clientId: big })).length).toBe(1 + 3 + 12 + 65535);
    expect(encode(publish({ topic: big })).length).toBe(4 + 2 + 65535 + 1);
  });

  it('encodeUtf8 (payload strings) allows U+0000 but not lone surrogates', () => {
    expect(Array.from(encodeUtf8('a\u0000é'))).toEqual([0x61, 0, 0xc3, 0xa9]);
    expect(caught(() => encodeUtf8('\ud800')).code).toBe(INVALID_UTF8);
  });
});
