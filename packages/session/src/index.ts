// @umqtt/session: the MQTT session core without I/O.
/**
 * The state of an MQTT session that must be right, in one place and without I/O: packet ids,
 * the outgoing stages, the incoming QoS 2 ids, the in-flight window, keepalive and every
 * timeout. Packets and the time go in; bytes to write, events and the next deadline come out.
 * `@umqtt/simple` drives it over a socket and `@umqtt/robust` persists it; an application uses
 * those, or drives a {@link Session} itself over a transport of its own.
 *
 * ```sh
 * npm install @umqtt/session
 * ```
 *
 * @example
 * ```ts
 * import { Session, STATUS_EVENT } from '@umqtt/session';
 *
 * const out: Uint8Array[] = [];
 * const session = new Session({ keepAlive: 30 }, (bytes) => out.push(bytes));
 * session.begin(Date.now());
 * // ...write CONNECT, then for every whole packet read: session.received(packet, Date.now())
 * for (const event of session.events.splice(0)) if (event.type === STATUS_EVENT) console.log(event.id, event.status);
 * ```
 *
 * @module @umqtt/session
 */
export {
  Session,
  type SessionOptions,
  type SessionState,
  type SessionWrite,
  type SessionCodec,
  type PublishOptions,
} from './session.js';
export {
  DEFAULT_CLEAN,
  DEFAULT_KEEPALIVE,
  DEFAULT_MAX_INFLIGHT,
  DEFAULT_MAX_PACKET_SIZE,
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_MESSAGE_TIMEOUT,
  DEFAULT_MAX_QUEUED,
  DEFAULT_MAX_UNACKED,
} from './defaults.js';
export {
  MESSAGE_EVENT,
  STATUS_EVENT,
  CONNECTED_EVENT,
  ISSUE_EVENT,
  INCOMING_EVENT,
  type SessionEvent,
  type MessageEvent,
  type StatusEvent,
  type ConnectedEvent,
  type IssueEvent,
  type IncomingEvent,
  type Message,
  type Status,
} from './events.js';
export {
  CONNACK_CODES,
  CONNECT_TIMEOUT,
  KEEPALIVE_TIMEOUT,
  PROTOCOL_ERROR,
  NO_PACKET_ID,
  QUEUE_FULL,
  TOO_LARGE,
  UNKNOWN_ID,
  CONNACK_REFUSED,
  BROKER_DISCONNECT,
  NOT_SUPPORTED,
  RECEIVE_MAXIMUM_EXCEEDED,
  STORE_DAMAGED,
  STORE_FULL,
  STORE_CLOSED,
  sessionError,
} from './errors.js';
export {
  QUEUED,
  SENT,
  RELEASING,
  messageBytes,
  type NewMessage,
  type StoredMessage,
  type Store,
  type StoreDamage,
  type LostMessage,
} from './store.js';
