// The incremental parser: push chunks cut anywhere, read whole packets. "Need more bytes" is
// `undefined`, not an error. Only UmqttError ever leaves this module.
import {
  INVALID_ARGUMENT,
  MALFORMED,
  PACKET_TOO_LARGE,
  UNEXPECTED_PACKET,
  UNSUPPORTED_PROTOCOL,
  UmqttError,
  fail,
} from './errors.js';
import {
  CLEAN,
  CONNECT_RESERVED,
  DIGIT,
  DUP,
  FAILURE,
  FLAGS_0010,
  FLAGS_MASK,
  LEVEL_311,
  MORE,
  PASSWORD,
  QOS_SHIFT,
  RETAIN,
  SESSION_PRESENT,
  TYPE_SHIFT,
  USERNAME,
  WILL,
  WILL_QOS,
  WILL_QOS_SHIFT,
  WILL_RETAIN,
} from './flags.js';
import {
  CONNACK,
  CONNECT,
  PINGREQ,
  PUBLISH,
  SUBACK,
  SUBSCRIBE,
  UNSUBSCRIBE,
  type Packet,
  type QoS,
  type Subscription,
} from './packets.js';
import { checkFilter, checkName } from './topic.js';
import { EMPTY, decodeUtf8 } from './utf8.js';

export const bad = (what: string, expected: unknown, got: unknown, clause?: string) =>
  fail(MALFORMED, what, expected, got, clause);

/**
 * One packet body as a {@link BodyDecoder} reads it: the body is `b[i, e)`. A decoder reads
 * from `i` on and moves `i` past what it read (to `e` once it has read the whole body). The
 * {@link Parser} makes one for each packet (the names are one letter each because a device
 * bundle carries every use of them).
 *
 * @example
 * // A body decoder of one's own: PINGRESP, which has no body.
 * const decodePingresp: BodyDecoder = (c) => {
 *   if (c.i < c.e) throw new Error('PINGRESP has no body'); // the Parser makes it UMQTT_MALFORMED
 *   return { type: PINGRESP };
 * };
 */
export interface Cursor {
  /** The bytes the body lies in: only `b[i, e)` is left of this packet's. */
  readonly b: Uint8Array;
  /** The index of the next byte to read. */
  i: number;
  /** Where the body ends: the index after its last byte. */
  readonly e: number;
}

// The helpers below read a Cursor with the checks every field needs. They are exported for the
// MQTT 5 body decoders (v5/decode.ts), not from the package: a bundle that does not use them
// leaves them out.

/** Bytes of the body not yet read. */
export const left = (c: Cursor): number => c.e - c.i;
/** Moves the cursor past `n` bytes of field `what`; returns where they start. */
export function take(c: Cursor, n: number, what: string): number {
  if (n > left(c)) throw bad(what, `${n} bytes`, `${left(c)} left`, '2.2.3');
  return (c.i += n) - n;
}
export function u8(c: Cursor, what: string): number {
  return c.b[take(c, 1, what)]!;
}
export function u16(c: Cursor, what: string): number {
  const p = take(c, 2, what);
  return (c.b[p]! << 8) | c.b[p + 1]!;
}
export function id(c: Cursor): number {
  const v = u16(c, 'packet id');
  if (!v) throw bad('packet id', '1..65535', 0, '2.3.1-1');
  return v;
}
/** A length-prefixed UTF-8 string. */
export function str(c: Cursor, what: string): string {
  const p = take(c, u16(c, what), what);
  return decodeUtf8(c.b, p, c.i);
}
/** A length-prefixed binary field, as a view (no copy). */
export function bin(c: Cursor, what: string): Uint8Array {
  const p = take(c, u16(c, what), what);
  return c.b.subarray(p, c.i);
}
/** The rest of the packet body, as a view (no copy). */
export const rest = (c: Cursor): Uint8Array => c.b.subarray(c.i, (c.i = c.e));

export function end(c: Cursor, type: number): void {
  if (left(c)) throw bad(`packet type ${type}`, 'no more bytes', `${left(c)} more`, '2.2.3');
}

/**
 * Decodes the body of one packet type, `c.b[c.i, c.e)`, with its fixed header flags;
 * `header` is the fixed header's size in bytes (1 + the remaining length's bytes), which MQTT 5
 * decoders use to reject a remaining length not written in its fewest bytes. Anything but a
 * UmqttError it throws reaches the Parser's caller as `UMQTT_MALFORMED`.
 *
 * @example
 * // A client that receives only CONNACK, PUBLISH and PUBACK (QoS 0/1, no subscriptions acks):
 * const decoders: Decoders = Object.freeze([, , decodeConnack, decodePublish, decodeAck]);
 * const parser = new Parser(decoders);
 */
export type BodyDecoder<P = Packet> = (c: Cursor, type: number, flags: number, header: number) => P;
/**
 * Body decoders indexed by packet type; a missing entry is a packet this side never receives.
 *
 * @example
 * const parser = new Parser(clientDecoders); // or serverDecoders, allDecoders, or a table of your own
 */
export type Decoders<P = Packet> = ReadonlyArray<BodyDecoder<P> | undefined>;

/**
 * Body decoder of CONNACK, for a {@link Decoders} table.
 *
 * @example
 * const decoders: Decoders = Object.freeze([, , decodeConnack]); // CONNACK only
 */
export const decodeConnack: BodyDecoder = (c) => {
  const f = u8(c, 'CONNACK flags');
  const returnCode = u8(c, 'CONNACK return code');
  if (f > SESSION_PRESENT) throw bad('CONNACK flags', '0 or 1', f, '3.2.2.1');
  if (returnCode > 5) throw bad('CONNACK return code', '0..5', returnCode, '3.2.2.3');
  if (returnCode && f) throw bad('refusing CONNACK session present', 0, 1, '3.2.2-4');
  end(c, CONNACK);
  return { type: CONNACK, sessionPresent: f > 0, returnCode };
};

/**
 * Body decoder of PUBLISH (topic, packet id for QoS 1/2, payload as a view), for a {@link Decoders}
 * table.
 *
 * @example
 * const decoders: Decoders = Object.freeze([, , decodeConnack, decodePublish]); // CONNACK and PUBLISH only
 */
export const decodePublish: BodyDecoder = (c, _, flags) => {
  const qos = (flags >> QOS_SHIFT) & 3;
  if (qos > 2) throw bad('PUBLISH QoS', '0, 1 or 2', 3, '3.3.1-4');
  if (flags >= DUP && !qos) throw bad('PUBLISH DUP', '0 at QoS 0', 1, '3.3.1-2');
  const t = checkName(str(c, 'topic'), MALFORMED);
  const pid = qos ? id(c) : undefined;
  return {
    type: PUBLISH,
    topic: t,
    payload: c.b.subarray(c.i, (c.i = c.e)),
    qos: qos as QoS,
    retain: (flags & RETAIN) > 0,
    dup: flags >= DUP, // the top flag bit
    id: pid,
  };
};

/**
 * Body decoder of PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK (a packet id), PINGREQ, PINGRESP,
 * DISCONNECT (nothing), for a {@link Decoders} table.
 *
 * @example
 * const decoders: Decoders = Object.freeze([, , decodeConnack, decodePublish, decodeAck]);
 */
export const decodeAck: BodyDecoder = (c, type) => {
  const p = (type < PINGREQ ? { type, id: id(c) } : { type }) as Packet;
  end(c, type);
  return p;
};

/**
 * Body decoder of SUBACK, for a {@link Decoders} table.
 *
 * @example
 * const decoders = [...clientDecoders]; // a copy to change
 * decoders[SUBACK] = decodeSuback;
 */
export const decodeSuback: BodyDecoder = (c) => {
  const pid = id(c);
  const granted: number[] = [];
  while (left(c)) {
    const g = c.b[c.i++]!;
    if (g > 2 && g !== FAILURE) throw bad('SUBACK return code', '0, 1, 2 or 0x80', g, '3.9.3-2');
    granted.push(g);
  }
  if (!granted.length) throw bad('SUBACK return codes', 'at least one', 'none', '3.9.3-1');
  return { type: SUBACK, id: pid, granted };
};

/**
 * Body decoder of CONNECT (protocol name and level, flags, keepalive, client id, will,
 * credentials), for a {@link Decoders} table.
 *
 * @example
 * const decoders: Decoders = Object.freeze([, decodeConnect]); // a gateway that only reads CONNECT
 */
export const decodeConnect: BodyDecoder = (c) => {
  const name = str(c, 'protocol name');
  const level = u8(c, 'protocol level');
  if (name !== 'MQTT' || level !== LEVEL_311)
    throw fail(
      UNSUPPORTED_PROTOCOL,
      'protocol',
      '"MQTT" level 4',
      `"${name}" level ${level}`,
      name !== 'MQTT' ? '3.1.2-1' : '3.1.2-2',
      1,
    );
  const f = u8(c, 'CONNECT flags');
  const hasWill = f & WILL;
  if (f & CONNECT_RESERVED) throw bad('CONNECT reserved flag', 0, 1, '3.1.2-3');
  if ((f & WILL_QOS) === WILL_QOS) throw bad('will QoS', '0, 1 or 2', 3, '3.1.2-14');
  if (!hasWill && f & (WILL_QOS | WILL_RETAIN))
    throw bad('will QoS and retain', '0 without a will', f & (WILL_QOS | WILL_RETAIN), '3.1.2-11');
  if ((f & (USERNAME | PASSWORD)) === PASSWORD) throw bad('password flag', '0 without a user name', 1, '3.1.2-22');
  const keepAlive = u16(c, 'keep alive');
  const clientId = str(c, 'client id');
  const will = hasWill
    ? {
        topic: checkName(str(c, 'will topic'), MALFORMED),
        payload: bin(c, 'will message'),
        qos: ((f >> WILL_QOS_SHIFT) & 3) as QoS,
        retain: (f & WILL_RETAIN) > 0,
      }
    : undefined;
  const username = f & USERNAME ? str(c, 'user name') : undefined;
  const password = f & PASSWORD ? bin(c, 'password') : undefined;
  end(c, CONNECT);
  return { type: CONNECT, clientId, clean: (f & CLEAN) > 0, keepAlive, username, password, will };
};

/**
 * SUBSCRIBE (a QoS per filter) or UNSUBSCRIBE.
 *
 * @example
 * const decoders = [...serverDecoders];
 * decoders[SUBSCRIBE] = decodeFilters;
 * decoders[UNSUBSCRIBE] = decodeFilters;
 */
export const decodeFilters: BodyDecoder = (c, type) => {
  const pid = id(c);
  const subscriptions: Subscription[] = [];
  const topics: string[] = [];
  while (left(c)) {
    const t = checkFilter(str(c, 'topic filter'), MALFORMED);
    topics.push(t);
    if (type < SUBACK) {
      const qos = u8(c, 'requested QoS');
      if (qos > 2) throw bad('requested QoS', '0, 1 or 2', qos, '3.8.3-4');
      subscriptions.push({ topic: t, qos: qos as QoS });
    }
  }
  // SUBSCRIBE is the one of the two below SUBACK
  if (!topics.length) throw bad('topic filters', 'at least one', 'none', type < SUBACK ? '3.8.3-3' : '3.10.3-2');
  return type < SUBACK ? { type: SUBSCRIBE, id: pid, subscriptions } : { type: UNSUBSCRIBE, id: pid, topics };
};

/* eslint-disable no-sparse-arrays -- in the decoder tables a hole is a packet type that side never receives (it costs no bytes) */
/**
 * What a client receives from a server: CONNACK, PUBLISH, acknowledgements, SUBACK, UNSUBACK,
 * PINGRESP.
 *
 * @example
 * const parser = new Parser(clientDecoders);
 */
export const clientDecoders: Decoders = /* @__PURE__ */ Object.freeze([
  ,
  ,
  decodeConnack,
  decodePublish,
  decodeAck,
  decodeAck,
  decodeAck,
  decodeAck,
  ,
  decodeSuback,
  ,
  decodeAck,
  ,
  decodeAck,
]);

/**
 * What a server receives from a client: CONNECT, PUBLISH, acknowledgements, SUBSCRIBE, UNSUBSCRIBE,
 * PINGREQ, DISCONNECT.
 *
 * @example
 * const parser = new Parser(serverDecoders); // in a broker or a test peer
 */
export const serverDecoders: Decoders = /* @__PURE__ */ Object.freeze([
  ,
  decodeConnect,
  ,
  decodePublish,
  decodeAck,
  decodeAck,
  decodeAck,
  decodeAck,
  decodeFilters,
  ,
  decodeFilters,
  ,
  decodeAck,
  ,
  decodeAck,
]);

/**
 * All 14 packet types (tools, tests, bridges).
 *
 * @example
 * const parser = new Parser(allDecoders); // a protocol analyser sees both directions
 */
export const allDecoders: Decoders = /* @__PURE__ */ Object.freeze([
  ,
  decodeConnect,
  decodeConnack,
  decodePublish,
  decodeAck,
  decodeAck,
  decodeAck,
  decodeAck,
  decodeFilters,
  decodeSuback,
  decodeFilters,
  decodeAck,
  decodeAck,
  decodeAck,
  decodeAck,
]);
/* eslint-enable no-sparse-arrays */

/**
 * Options of {@link Parser} and {@link decode}.
 *
 * @example
 * const parser = new Parser(clientDecoders, { maxPacketSize: 64 * 1024 });
 */
export interface ParserOptions {
  /**
   * Largest whole packet accepted, in bytes. A packet whose fixed header announces more is
   * rejected from its fixed header alone, before any of its body is buffered. Default: the
   * protocol's maximum.
   */
  maxPacketSize?: number | undefined;
}

/**
 * Incremental MQTT parser (3.1.1 with these decoder tables; `@umqtt/codec/v5` has a subclass for
 * MQTT 5's). `push()` chunks as they arrive, cut anywhere; `read()` returns the next whole
 * packet, or `undefined` until more bytes arrive.
 *
 * `decoders` says which packets this side accepts: `clientDecoders` in a client,
 * `serverDecoders` in a broker, `allDecoders` in tools. Another type is rejected with
 * `UMQTT_UNEXPECTED_PACKET`, from its first byte.
 *
 * Payloads and binary fields are views into the pushed chunks (no copy): do not reuse a
 * chunk's memory after pushing it. A packet cut across chunks is assembled in a buffer that
 * grows with the bytes that arrive (never to what a header only announces), let go once the
 * packet is read. After an error the parser drops what it had buffered. `push()` and `read()`
 * throw only UmqttError.
 *
 * @example
 * const parser = new Parser(clientDecoders, { maxPacketSize: 16384 });
 * parser.push(chunk);
 * for (let p = parser.read(); p; p = parser.read()) handle(p);
 */
export class Parser<P = Packet> {
  /** Adds bytes from the wire. */
  declare readonly push: (chunk: Uint8Array) => void;
  /** The next whole packet, or `undefined` when more bytes are needed. Throws only UmqttError. */
  declare readonly read: () => P | undefined;
  /** Drops all buffered bytes. */
  declare readonly reset: () => void;
  readonly #buffered: () => number;

  /**
   * @param decoders - the packets this side accepts, e.g. {@link clientDecoders}
   * @param options - {@link ParserOptions}
   */
  constructor(decoders: Decoders<P>, options?: ParserOptions) {
    // State in closure variables (smaller and faster than fields): bytes buf[pos, len) are
    // pushed and unread; `need` is the size of the packet at pos once its header is known;
    // `own` says buf is a buffer of ours (not a pushed chunk), where later chunks may be copied.
    const max = options?.maxPacketSize ?? 268_435_460;
    let buf: Uint8Array = EMPTY;
    let pos = 0;
    let len = 0;
    let need = 0;
    let own = false;
    const reset = () => {
      buf = EMPTY;
      pos = len = need = 0;
      own = false;
    };
    this.reset = reset;
    this.#buffered = () => len - pos;

    this.push = (chunk) => {
      if (!(chunk instanceof Uint8Array)) throw fail(INVALID_ARGUMENT, 'chunk', 'a Uint8Array', typeof chunk);
      const n = chunk.length;
      if (pos >= len) {
        buf = chunk; // nothing pending: use the chunk itself
        pos = 0;
        len = n;
        own = false;
        return;
      }
      if (len + n > buf.length) {
        // No room after the pending bytes: move them to a buffer of ours that grows with the
        // bytes that actually arrived (twice them, so a packet is copied about twice in all),
        // never past the packet being read, whatever its header announced.
        const w = len - pos + n;
        try {
          const b = new Uint8Array(need > w ? Math.min(need, 2 * w) : w);
          b.set(buf.subarray(pos, len));
          buf = b;
        } catch (e) {
          // Memory that cannot be had: nothing but UmqttError leaves the parser.
          reset();
          throw fail(PACKET_TOO_LARGE, 'packet size', 'memory for it', e);
        }
        len -= pos;
        pos = 0;
        own = true;
      }
      buf.set(chunk, len); // only ever into a buffer of ours, past what was read
      len += n;
    };

    this.read = () => {
      try {
        if (pos >= len) return undefined;
        const first = buf[pos]!;
        const type = first >> TYPE_SHIFT;
        const flags = first & FLAGS_MASK;
        if (!decoders[type])
          throw type % 15
            ? fail(UNEXPECTED_PACKET, 'packet type', 'one this side receives', type, '2.2.1')
            : bad('packet type', '1..14', type, '2.2.1');
        // PUBLISH flags are its own; PUBREL, SUBSCRIBE, UNSUBSCRIBE have 0010; the others 0000 [MQTT-2.2.2-1].
        const reserved = ((FLAGS_0010 >> type) & 1) * 2;
        if (type !== PUBLISH && flags !== reserved) throw bad(`packet type ${type} flags`, reserved, flags, '2.2.2-2');
        // Remaining length: 1 to 4 bytes, 7 bits each, least significant first.
        let i = 1;
        let rem = 0;
        for (let d = MORE, m = 1; d & MORE; m *= MORE) {
          if (i > 4) throw bad('remaining length', 'at most 4 bytes', 'more', '2.2.3');
          if (pos + i >= len) return undefined;
          d = buf[pos + i++]!;
          rem += (d & DIGIT) * m;
        }
        const total = i + rem;
        if (total > max) throw fail(PACKET_TOO_LARGE, 'packet size', `at most ${max} bytes`, total);
        if (len - pos < total) {
          need = total;
          return undefined;
        }
        need = 0;
        const packet = decoders[type]!({ b: buf, i: pos + i, e: (pos += total) }, type, flags, i);
        // Let go of what is read: of the buffer when nothing is left, of a buffer of ours
        // that is mostly read (the rest moves to one its size, so a large packet's buffer
        // lives only as long as the packet does).
        if (pos >= len) reset();
        else if (own && 2 * (len - pos) < buf.length) {
          buf = buf.slice(pos, len);
          len -= pos;
          pos = 0;
        }
        return packet;
      } catch (e) {
        reset();
        throw e instanceof UmqttError ? e : bad('packet', 'a decodable packet', e);
      }
    };
  }

  /** Bytes pushed and not yet returned as packets. */
  get buffered(): number {
    return this.#buffered();
  }
}

/**
 * Decodes exactly one whole packet of any type; throws if `bytes` hold less or more.
 *
 * @example
 * const packet = decode(new Uint8Array([0x40, 2, 0, 7])); // { type: PUBACK, id: 7 }
 */
export const decode = (bytes: Uint8Array, options?: ParserOptions): Packet =>
  decodeOne(new Parser(allDecoders, options), bytes);

/** The one whole packet `bytes` hold, read with `parser`. */
export function decodeOne<P>(parser: Parser<P>, bytes: Uint8Array): P {
  parser.push(bytes);
  const p = parser.read();
  const more = parser.buffered;
  if (!p || more)
    throw bad(
      'packet',
      `one whole packet in ${bytes.length} bytes`,
      p ? `${more} bytes more` : 'an incomplete one',
      '2.2.3',
    );
  return p;
}
