// @umqtt/codec: MQTT 3.1.1 bytes <-> packets (MQTT 5: ./v5/index.ts). No platform dependencies.
/**
 * MQTT 3.1.1 bytes <-> packets on `Uint8Array`: one encoder per packet shape, an incremental
 * parser with per-side decoder tables and a size limit, errors that name the spec clause,
 * topic validation and matching, strict UTF-8 without TextEncoder. No platform dependencies.
 * MQTT 5 is the separate entry `@umqtt/codec/v5`, which a 3.1.1 bundle never contains.
 *
 * ```sh
 * npm install @umqtt/codec
 * ```
 *
 * @example
 * ```ts
 * import { Parser, clientDecoders, encodePublish, encodeUtf8, PUBLISH } from '@umqtt/codec';
 *
 * const bytes = encodePublish({ type: PUBLISH, topic: 'sensors/1/temp', payload: encodeUtf8('21.5'), qos: 1, id: 1 });
 * const parser = new Parser(clientDecoders);
 * parser.push(chunkFromTheSocket);
 * for (let packet = parser.read(); packet; packet = parser.read()) console.log(packet.type);
 * ```
 *
 * @module @umqtt/codec
 */
export * from './packets.js';
export {
  UmqttError,
  type UmqttErrorFields,
  MALFORMED,
  PACKET_TOO_LARGE,
  UNEXPECTED_PACKET,
  UNSUPPORTED_PROTOCOL,
  INVALID_TOPIC,
  INVALID_ARGUMENT,
  INVALID_UTF8,
} from './errors.js';
export { utf8Length, encodeUtf8, decodeUtf8 } from './utf8.js';
export { validateTopicName, validateTopicFilter, topicMatches, type TopicMemo } from './topic.js';
export {
  encode,
  encodeConnect,
  encodeConnack,
  encodePublish,
  encodeAck,
  encodeSubscribe,
  encodeSuback,
  encodeUnsubscribe,
  encodeEmpty,
  MAX_REMAINING_LENGTH,
} from './encode.js';
export {
  Parser,
  decode,
  clientDecoders,
  serverDecoders,
  allDecoders,
  type ParserOptions,
  type Decoders,
  type BodyDecoder,
  type Cursor,
  decodeConnack,
  decodePublish,
  decodeAck,
  decodeSuback,
  decodeConnect,
  decodeFilters,
} from './parser.js';
