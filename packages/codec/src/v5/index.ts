// @umqtt/codec/v5: MQTT 5.0 bytes <-> packets. A 3.1.1-only bundle never imports this module.
/**
 * MQTT 5.0 bytes <-> packets on `Uint8Array`: every packet (AUTH included) with its properties
 * and reason codes, one encoder per packet shape, and the incremental parser of `@umqtt/codec`
 * with MQTT 5 decoder tables. Every rule a packet's bytes can break is checked, and errors carry
 * the MQTT 5 clause and the reason code to disconnect with. Topic validation and matching, UTF-8
 * and the error type are those of `@umqtt/codec`.
 *
 * ```sh
 * npm install @umqtt/codec
 * ```
 *
 * @example
 * ```ts
 * import { Parser, clientDecoders, encodeConnect, encodePublish, CONNECT, PUBLISH } from '@umqtt/codec/v5';
 *
 * socket.write(encodeConnect({ type: CONNECT, clientId: 'sensor-1', clean: true, keepAlive: 60, properties: { sessionExpiryInterval: 3600 } }));
 * socket.write(encodePublish({ type: PUBLISH, topic: 't', payload, qos: 1, id: 1, properties: { messageExpiryInterval: 60 } }));
 * const parser = new Parser(clientDecoders);
 * parser.push(chunkFromTheSocket);
 * for (let packet = parser.read(); packet; packet = parser.read()) console.log(packet.type, packet);
 * ```
 *
 * @module @umqtt/codec/v5
 */
export * from './packets.js';
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
  encodeDisconnect,
  encodeAuth,
} from './encode.js';
export {
  Parser,
  decode,
  clientDecoders,
  serverDecoders,
  allDecoders,
  decodeConnect,
  decodeConnack,
  decodePublish,
  decodeAck,
  decodeSubscribe,
  decodeSuback,
  decodeUnsubscribe,
  decodePing,
  decodeDisconnect,
} from './decode.js';
export { PROPERTIES, type Property } from './properties.js';
export { REASON_NAMES, VALID_REASONS } from './reasons.js';
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
} from '../errors.js';
export type { Decoders, BodyDecoder, Cursor, ParserOptions } from '../parser.js';
export type { TopicMemo } from '../topic.js';
