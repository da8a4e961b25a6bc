/**
 * What a {@link UmqttError} is made of: its `code` and `message`, and where they apply the spec
 * `clause`, the broker's `reasonCode` and the `place`.
 *
 * @example
 * const fields: UmqttErrorFields = { code: INVALID_TOPIC, message: 'topic name: expected no wildcards', clause: 'MQTT-3.3.2-2' };
 * throw new UmqttError(fields);
 */
export interface UmqttErrorFields {
  /** Stable identifier, e.g. {@link MALFORMED}. */
  code: string;
  /**
   * What happened, for people; the error's `message` is this with ` [clause]` after it (the
   * `code` when this is empty, as in the device bundles, which carry no message texts).
   */
  message: string;
  /** The spec clause broken, e.g. `MQTT-3.3.2-2`. */
  clause?: string | undefined;
  /** The broker's return or reason code. */
  reasonCode?: number | undefined;
  /** Where it happened: connect, publish, read... */
  place?: string | undefined;
}

/**
 * The one error type of umqtt. Every error carries a stable string `code` to branch on and,
 * where they apply, the MQTT spec clause that was broken, the broker's return or reason code,
 * and the place (connect, publish, read...) where it happened.
 *
 * @example
 * try { encodePublish({ type: PUBLISH, topic: 'a/+', payload }); }
 * catch (e) { if (e instanceof UmqttError && e.code === INVALID_TOPIC) console.log(e.clause); }
 * throw new UmqttError({ code: 'UMQTT_MY_APP', message: 'sensor offline', place: 'publish' });
 */
export class UmqttError extends Error {
  /**
   * `'UmqttError'`. A field (defined, not assigned): where `Error.prototype` is frozen, as on a
   * Moddable device once modules are preloaded, assigning `name` throws.
   */
  override name = 'UmqttError';
  /** Stable identifier, e.g. `UMQTT_MALFORMED`, `UMQTT_CONNACK_REFUSED`. */
  declare readonly code: string;
  /** The spec clause, e.g. `MQTT-3.3.2-2`, when a spec rule was broken. */
  declare readonly clause: string | undefined;
  /** A return or reason code from the broker, when there is one. */
  declare readonly reasonCode: number | undefined;
  /** Where it happened: connect, publish, subscribe, read, write, keepalive... */
  declare place: string | undefined;

  /** @param fields - {@link UmqttErrorFields}: `code` and `message`, and `clause`, `reasonCode`, `place` where they apply */
  constructor(fields: UmqttErrorFields) {
    // A device build drops message texts (apps/esp32's device profile): the code stands in.
    const message = (fields.message || fields.code) + (fields.clause ? ` [${fields.clause}]` : '');
    super(message);
    // The fields given become own properties (assigned rather than declared as class fields:
    // less code); a field not given reads as undefined all the same.
    Object.assign(this, { name: 'UmqttError' }, fields, { message });
  }
}

// The codec's error codes, each declared once with what it means and where it is thrown. Codec
// errors carry no place of their own: the client that meets one sets it.

/**
 * A packet from the wire breaks the protocol (thrown by a Parser; a client reports it with place
 * `read`).
 *
 * @example
 * parser.push(bytes); // throws UmqttError { code: MALFORMED, clause: 'MQTT-...' } on bad bytes
 */
export const MALFORMED = 'UMQTT_MALFORMED';
/**
 * A packet announces more bytes than `maxPacketSize`, or the memory to assemble one cannot be
 * had (thrown by a Parser; place `read` in a client).
 *
 * @example
 * const parser = new Parser(clientDecoders, { maxPacketSize: 1024 }); // a bigger packet throws PACKET_TOO_LARGE
 */
export const PACKET_TOO_LARGE = 'UMQTT_PACKET_TOO_LARGE';
/**
 * A packet of a type this side never receives (a CONNECT sent to a client...): thrown by a
 * Parser; place `read` in a client.
 *
 * @example
 * const parser = new Parser(clientDecoders);
 * parser.push(encodeEmpty({ type: PINGREQ }));
 * parser.read(); // throws UNEXPECTED_PACKET: a client never receives PINGREQ
 */
export const UNEXPECTED_PACKET = 'UMQTT_UNEXPECTED_PACKET';
/**
 * A CONNECT with another protocol name or level than "MQTT" 4; `reasonCode` is the CONNACK code 1
 * to answer with. Thrown by a server's Parser.
 *
 * @example
 * try {
 *   packet = parser.read(); // a broker's parser, built with serverDecoders
 * } catch (e) {
 *   if (e instanceof UmqttError && e.code === UNSUPPORTED_PROTOCOL)
 *     reply(encodeConnack({ type: CONNACK, sessionPresent: false, returnCode: e.reasonCode ?? 1 }));
 * }
 */
export const UNSUPPORTED_PROTOCOL = 'UMQTT_UNSUPPORTED_PROTOCOL';
/**
 * A topic name or filter is not valid: thrown at once by `validateTopic*` and the encoders (a
 * client's call adds its place: `publish`, `subscribe`...).
 *
 * @example
 * try { validateTopicName('a/+'); } catch (e) { (e as UmqttError).code === INVALID_TOPIC; } // true
 */
export const INVALID_TOPIC = 'UMQTT_INVALID_TOPIC';
/**
 * A packet given to an encoder, or an argument, is not valid: thrown at once (a client's call
 * adds its place). Every package uses this code for misuse.
 *
 * @example
 * try { encodePublish({ type: PUBLISH, topic: 'a', payload, qos: 1 }); } // no id: throws INVALID_ARGUMENT
 * catch (e) { console.log((e as UmqttError).code); }
 */
export const INVALID_ARGUMENT = 'UMQTT_INVALID_ARGUMENT';
/**
 * A string is not valid MQTT UTF-8: from the wire (place `read` in a client) or given to an
 * encoder (thrown at once).
 *
 * @example
 * try { encodeUtf8('\uD800'); } catch (e) { (e as UmqttError).code === INVALID_UTF8; } // a lone surrogate
 */
export const INVALID_UTF8 = 'UMQTT_INVALID_UTF8';

/**
 * The one message shape, `${what}: expected ${expected}, got ${got} [MQTT-${clause}]`.
 * `clause` is given without its `MQTT-` prefix ('3.3.2-2'); the error's `clause` has it.
 */
export function fail(
  code: string,
  what: string,
  expected: unknown,
  got: unknown,
  clause?: string,
  reasonCode?: number,
): UmqttError {
  return new UmqttError({
    code,
    message: `${what}: expected ${expected}, got ${String(got)}`,
    clause: clause && 'MQTT-' + clause,
    reasonCode,
  });
}
