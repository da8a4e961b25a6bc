// @umqtt/codec: MQTT 3.1.1 bytes <-> packets. No platform dependencies.
export * from './packets.js';
export {
  UmqttError,
  MALFORMED,
  PACKET_TOO_LARGE,
  UNEXPECTED_PACKET,
  UNSUPPORTED_PROTOCOL,
  INVALID_TOPIC,
  INVALID_ARGUMENT,
  INVALID_UTF8,
} from './errors.js';
export { utf8Length, encodeUtf8, decodeUtf8 } from './utf8.js';
export { validateTopicName, validateTopicFilter, topicMatches } from './topic.js';
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
  decodeConnack,
  decodePublish,
  decodeAck,
  decodeSuback,
  decodeConnect,
  decodeFilters,
} from './parser.js';
