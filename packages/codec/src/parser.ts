// The incremental parser: push chunks cut anywhere, read whole packets. "Need more bytes" is
// `undefined`, not an error. Only UmqttError ever leaves this module.
import { MALFORMED, PACKET_TOO_LARGE, UNEXPECTED_PACKET, UmqttError, fail } from './errors.js';
import type { Packet, QoS, Subscription } from './packets.js';
import { validateTopicFilter, validateTopicName } from './topic.js';
import { decodeUtf8 } from './utf8.js';

const EMPTY = new Uint8Array(0);
const bad = (what: string, expected: unknown, got: unknown, clause?: string) => fail(MALFORMED, what, expected, got, clause);

// The cursor over one whole packet body. Decoding is synchronous and calls no user code,
// so one module-level cursor is safe and allocates nothing.
let B: Uint8Array = EMPTY;
let P = 0;
let E = 0;

function take(n: number, what: string): number {
  if (P + n > E) throw bad(what, `${n} bytes`, `${E - P} left`, 'MQTT-2.2.3');
  return (P += n) - n;
}
function u8(what: string): number {
  return B[take(1, what)]!;
}
function u16(what: string): number {
  const p = take(2, what);
  return (B[p]! << 8) | B[p + 1]!;
}
function id(): number {
  const v = u16('packet id');
  if (!v) throw bad('packet id', '1..65535', 0, 'MQTT-2.3.1-1');
  return v;
}
/** A length-prefixed field: its start (its length is then P - start). */
function field(what: string): number {
  return take(u16(what), what);
}
function str(what: string): string {
  const p = field(what);
  return decodeUtf8(B, p, P);
}
function bin(what: string): Uint8Array {
  const p = field(what);
  return B.subarray(p, P);
}
function end(type: number): void {
  if (P < E) throw bad(`type ${type} length`, 'no more bytes', `${E - P} more`, 'MQTT-2.2.3');
}
/** Checks a topic read from the wire, reporting a bad one as malformed. */
function wireTopic(topic: string, check: (t: string) => number): string {
  try {
    check(topic);
  } catch (e) {
    throw new UmqttError(MALFORMED, (e as Error).message.replace(/ \[.*/, ''), (e as UmqttError).clause);
  }
  return topic;
}

/** Decodes the body of one packet type, between the module cursor's P and E. */
export type BodyDecoder = (type: number, flags: number) => Packet;
/** Body decoders indexed by packet type; a missing entry is a packet this side never receives. */
export type Decoders = ReadonlyArray<BodyDecoder | undefined>;

export const decodeConnack: BodyDecoder = () => {
  const f = u8('CONNACK flags');
  const returnCode = u8('CONNACK code');
  if (f > 1) throw bad('CONNACK flags', '0 or 1', f, 'MQTT-3.2.2.1');
  if (returnCode > 5) throw bad('CONNACK code', '0..5', returnCode, 'MQTT-3.2.2.3');
  if (returnCode && f) throw bad('refusing CONNACK', 'no session present', 1, 'MQTT-3.2.2-4');
  end(2);
  return { type: 2, sessionPresent: f > 0, returnCode };
};

export const decodePublish: BodyDecoder = (_, flags) => {
  const qos = (flags >> 1) & 3;
  const dup = flags > 7;
  if (qos > 2) throw bad('PUBLISH QoS', '0..2', 3, 'MQTT-3.3.1-4');
  if (dup && !qos) throw bad('PUBLISH DUP', '0 at QoS 0', 1, 'MQTT-3.3.1-2');
  const topic = wireTopic(str('topic'), validateTopicName);
  const pid = qos ? id() : undefined;
  return { type: 3, topic, payload: B.subarray(P, (P = E)), qos: qos as QoS, retain: (flags & 1) > 0, dup, id: pid };
};

/** PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK (a packet id), PINGREQ, PINGRESP, DISCONNECT (nothing). */
export const decodeAck: BodyDecoder = (type) => {
  const p = (type < 12 ? { type, id: id() } : { type }) as Packet;
  end(type);
  return p;
};

export const decodeSuback: BodyDecoder = () => {
  const pid = id();
  const granted: number[] = [];
  while (P < E) {
    const g = B[P++]!;
    if (g > 2 && g !== 0x80) throw bad('SUBACK code', '0, 1, 2 or 0x80', g, 'MQTT-3.9.3-2');
    granted.push(g);
  }
  if (!granted.length) throw bad('SUBACK codes', 'at least one', 0, 'MQTT-3.9.3-1');
  return { type: 9, id: pid, granted };
};

export const decodeConnect: BodyDecoder = () => {
  const name = str('protocol name');
  const level = u8('protocol level');
  if (name !== 'MQTT' || level !== 4)
    throw new UmqttError('UMQTT_UNSUPPORTED_PROTOCOL', `protocol: expected "MQTT" level 4, got "${name}" level ${level}`, 'MQTT-3.1.2-2', 1);
  const f = u8('CONNECT flags');
  const hasWill = f & 4;
  const willQos = (f >> 3) & 3;
  if (f & 1) throw bad('CONNECT reserved flag', '0', 1, 'MQTT-3.1.2-3');
  if (willQos > 2) throw bad('will QoS', '0..2', 3, 'MQTT-3.1.2-14');
  if (!hasWill && f & 56) throw bad('will QoS and retain', '0 without a will', f & 56, 'MQTT-3.1.2-11');
  if (f & 64 && !(f & 128)) throw bad('password', 'a user name with it', 'none', 'MQTT-3.1.2-22');
  const keepAlive = u16('keep alive');
  const clientId = str('client id');
  const will = hasWill
    ? { topic: wireTopic(str('will topic'), validateTopicName), payload: bin('will message'), qos: willQos as QoS, retain: (f & 32) > 0 }
    : undefined;
  const username = f & 128 ? str('user name') : undefined;
  const password = f & 64 ? bin('password') : undefined;
  end(1);
  return { type: 1, clientId, clean: (f & 2) > 0, keepAlive, username, password, will };
};

/** SUBSCRIBE (a QoS per filter) or UNSUBSCRIBE. */
export const decodeFilters: BodyDecoder = (type) => {
  const sub = type === 8;
  const pid = id();
  const subscriptions: Subscription[] = [];
  while (P < E) {
    const topic = wireTopic(str('topic filter'), validateTopicFilter);
    const qos = sub ? u8('QoS') : 0;
    if (qos > 2) throw bad('requested QoS', '0..2', qos, 'MQTT-3.8.3-4');
    subscriptions.push({ topic, qos: qos as QoS });
  }
  if (!subscriptions.length) throw bad('topic filters', 'at least one', 0, sub ? 'MQTT-3.8.3-3' : 'MQTT-3.10.3-2');
  return sub ? { type: 8, id: pid, subscriptions } : { type: 10, id: pid, topics: subscriptions.map((s) => s.topic) };
};

/** What a client receives from a server: CONNACK, PUBLISH, acknowledgements, SUBACK, UNSUBACK, PINGRESP. */
export const clientDecoders: Decoders = /* @__PURE__ */ Object.freeze([
  , , decodeConnack, decodePublish, decodeAck, decodeAck, decodeAck, decodeAck, , decodeSuback, , decodeAck, , decodeAck,
]);

/** What a server receives from a client: CONNECT, PUBLISH, acknowledgements, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT. */
export const serverDecoders: Decoders = /* @__PURE__ */ Object.freeze([
  , decodeConnect, , decodePublish, decodeAck, decodeAck, decodeAck, decodeAck, decodeFilters, , decodeFilters, , decodeAck, , decodeAck,
]);

/** All 14 packet types (tools, tests, bridges). */
export const allDecoders: Decoders = /* @__PURE__ */ Object.freeze([
  , decodeConnect, decodeConnack, decodePublish, decodeAck, decodeAck, decodeAck, decodeAck, decodeFilters, decodeSuback, decodeFilters, decodeAck, decodeAck, decodeAck, decodeAck,
]);

export interface ParserOptions {
  /**
   * Largest whole packet accepted, in bytes. A packet whose fixed header announces more is
   * rejected before any of its body is buffered. Default: the protocol's maximum.
   */
  maxPacketSize?: number | undefined;
}

/**
 * Incremental MQTT 3.1.1 parser. `push()` chunks as they arrive, cut anywhere; `read()`
 * returns the next whole packet, or `undefined` until more bytes arrive.
 *
 * `decoders` says which packets this side accepts: `clientDecoders` in a client,
 * `serverDecoders` in a broker, `allDecoders` in tools. Another type is rejected with
 * `UMQTT_UNEXPECTED_PACKET`.
 *
 * Payloads and binary fields are views into the pushed chunks (no copy): do not reuse a
 * chunk's memory after pushing it. After an error the parser drops what it had buffered.
 *
 * @example
 * const parser = new Parser(clientDecoders, { maxPacketSize: 16384 });
 * parser.push(chunk);
 * for (let p = parser.read(); p; p = parser.read()) handle(p);
 */
export class Parser {
  #decoders: Decoders;
  #max: number;
  #chunk: Uint8Array = EMPTY;
  #pos = 0;
  /** First byte of the fixed header being read, or -1. */
  #first = -1;
  /** Remaining length once known, else -1. */
  #rem = -1;
  #lenBytes = 0;
  #body: Uint8Array | undefined;
  #fill = 0;

  constructor(decoders: Decoders, options?: ParserOptions) {
    this.#decoders = decoders;
    this.#max = options?.maxPacketSize ?? 268_435_460;
  }

  /** Adds bytes from the wire. */
  push(chunk: Uint8Array): void {
    const left = this.#chunk.length - this.#pos;
    if (left) {
      const joined = new Uint8Array(left + chunk.length);
      joined.set(this.#chunk.subarray(this.#pos));
      joined.set(chunk, left);
      chunk = joined;
    }
    this.#chunk = chunk;
    this.#pos = 0;
  }

  /** Bytes pushed and not yet returned as packets. */
  get buffered(): number {
    const n = this.#lenBytes;
    return this.#chunk.length - this.#pos + (this.#first < 0 ? 0 : 1 + (n < 0 ? -1 - n : n) + this.#fill);
  }

  /** The next whole packet, or `undefined` when more bytes are needed. Throws only UmqttError. */
  read(): Packet | undefined {
    try {
      return this.#read();
    } catch (e) {
      this.reset();
      throw e instanceof UmqttError ? e : bad('packet', 'a decodable packet', String(e));
    } finally {
      B = EMPTY;
    }
  }

  /** Drops all buffered bytes and partial state. */
  reset(): void {
    this.#chunk = EMPTY;
    this.#pos = 0;
    this.#first = -1;
    this.#body = undefined;
  }

  #read(): Packet | undefined {
    const chunk = this.#chunk;
    const len = chunk.length;
    let pos = this.#pos;
    if (this.#first < 0) {
      if (pos >= len) return undefined;
      const first = chunk[pos++]!;
      if (!this.#decoders[first >> 4]) {
        const type = first >> 4;
        throw type && type < 15
          ? new UmqttError(UNEXPECTED_PACKET, `packet type ${type} is not one this side receives`, 'MQTT-2.2.1')
          : bad('packet type', '1..14', type, 'MQTT-2.2.1');
      }
      this.#first = first;
      this.#rem = this.#lenBytes = 0;
    }
    while (this.#lenBytes >= 0) {
      if (pos >= len) {
        this.#pos = pos;
        return undefined;
      }
      const d = chunk[pos++]!;
      this.#rem += (d & 127) * 128 ** this.#lenBytes++;
      if (d < 128) {
        const total = 1 + this.#lenBytes + this.#rem;
        if (total > this.#max) throw new UmqttError(PACKET_TOO_LARGE, `packet size: expected at most ${this.#max} bytes, got ${total} announced`);
        this.#lenBytes = -1 - this.#lenBytes; // header complete; keep its length, negated
        this.#fill = 0;
      } else if (this.#lenBytes === 4) throw bad('remaining length', 'at most 4 bytes', '5 or more', 'MQTT-2.2.3');
    }
    const rem = this.#rem;
    let body = this.#body;
    if (!body) {
      if (len - pos >= rem) {
        this.#pos = pos + rem;
        return this.#decode(chunk, pos);
      }
      body = this.#body = new Uint8Array(rem);
    }
    const n = Math.min(rem - this.#fill, len - pos);
    body.set(chunk.subarray(pos, pos + n), this.#fill);
    this.#fill += n;
    this.#pos = pos + n;
    if (this.#fill < rem) return undefined;
    this.#body = undefined;
    return this.#decode(body, 0);
  }

  #decode(bytes: Uint8Array, start: number): Packet {
    const first = this.#first;
    this.#first = -1;
    const type = first >> 4;
    const flags = first & 15;
    // Fixed header flags: PUBLISH's are its own; PUBREL, SUBSCRIBE, UNSUBSCRIBE have 0010; others 0000.
    if (type !== 3 && flags !== (type === 6 || type === 8 || type === 10 ? 2 : 0))
      throw bad(`type ${type} flags`, type === 6 || type === 8 || type === 10 ? 2 : 0, flags, 'MQTT-2.2.2-2');
    B = bytes;
    P = start;
    E = start + this.#rem;
    return this.#decoders[type]!(type, flags);
  }
}

/** Decodes exactly one whole packet of any type; throws if `bytes` hold less or more. */
export function decode(bytes: Uint8Array, options?: ParserOptions): Packet {
  const parser = new Parser(allDecoders, options);
  parser.push(bytes);
  const p = parser.read();
  if (!p || parser.buffered) throw bad('packet', `one whole packet in ${bytes.length} bytes`, p ? `${parser.buffered} extra` : 'an incomplete one', 'MQTT-2.2.3');
  return p;
}
