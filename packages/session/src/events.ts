// What the session tells its driver: events, and the outcomes they carry. Constants only (and
// types), so a bundler inlines them where they are used.
import type { QoS, UmqttError } from '@umqtt/codec';
import type { Ack5 } from './v5.js';

/**
 * Outcome of a packet id, as umqtt.simple2's status callback:
 * - `delivered`: PUBACK / PUBCOMP / SUBACK (all filters granted) / UNSUBACK arrived;
 * - `received`: QoS 2 PUBREC arrived (not final: PUBCOMP follows);
 * - `timeout`: no acknowledgement within `messageTimeout`;
 * - `unknown`: the final acknowledgement (PUBACK, PUBCOMP, SUBACK, UNSUBACK) for an id that had
 *   already timed out, i.e. it was delivered after all (a late PUBREC reports `received`);
 * - `refused`: SUBACK refused at least one filter (0x80; the granted list says which);
 * - `aborted`: the connection ended before the acknowledgement (the message may or may not
 *   have reached the broker; a persistent session can resend it with the same id and DUP).
 *
 * @example
 * client.onStatus = (id: number, status: Status) => {
 *   if (status === 'delivered') pending.delete(id);
 *   else if (status !== 'received') console.warn(`packet ${id}: ${status}`);
 * };
 */
export type Status = 'delivered' | 'received' | 'timeout' | 'unknown' | 'refused' | 'aborted';

/**
 * A message received from the broker.
 *
 * @example
 * client.onMessage = (message: Message) => console.log(message.topic, new TextDecoder().decode(message.payload), message.qos);
 */
export interface Message {
  /** Topic name the message was published to. */
  topic: string;
  /** Message body: a view of the received bytes, valid during the callback (copy it to keep it). */
  payload: Uint8Array;
  /** QoS it was delivered with (at most the subscription's). */
  qos: QoS;
  /** A retained message sent because of a new subscription. */
  retain: boolean;
  /** The broker may have sent it before (QoS 1: a duplicate is possible). */
  dup: boolean;
  /** Its packet id (QoS 1/2; 0 at QoS 0): what `ack()` takes when acknowledgements are manual. */
  id: number;
}

/**
 * What the session tells its driver, in order ({@link Session.events}).
 *
 * @example
 * for (const event of session.events) if (event.type === MESSAGE_EVENT) show(event.message);
 */
export type SessionEvent = MessageEvent | StatusEvent | ConnectedEvent | IssueEvent | IncomingEvent;

/**
 * A message arrived: hand it to the application.
 *
 * @example
 * if (event.type === MESSAGE_EVENT) onMessage(event.message);
 */
export interface MessageEvent {
  /** {@link MESSAGE_EVENT} */
  type: typeof MESSAGE_EVENT;
  /** The message, its payload a view valid until the next packet is read. */
  message: Message;
}

/**
 * A packet id has a new status.
 *
 * @example
 * if (event.type === STATUS_EVENT) onStatus(event.id, event.status, event.granted, event.ref);
 */
export interface StatusEvent {
  /** {@link STATUS_EVENT} */
  type: typeof STATUS_EVENT;
  /** The packet id. */
  id: number;
  /** What happened to it. */
  status: Status;
  /** SUBACK's return codes, one per filter. */
  granted?: number[] | undefined;
  /** What the publish was given as `ref`. */
  ref?: unknown;
  /** MQTT 5 (`Session5`): what the acknowledgement said besides its codes (QoS, reason string, user properties). */
  ack?: Ack5 | undefined;
}

/**
 * CONNACK accepted the connection.
 *
 * @example
 * if (event.type === CONNECTED_EVENT) resolve(event.sessionPresent);
 */
export interface ConnectedEvent {
  /** {@link CONNECTED_EVENT} */
  type: typeof CONNECTED_EVENT;
  /** The broker kept a session for this client. */
  sessionPresent: boolean;
}

/**
 * Something worth recording that does not end the connection.
 *
 * @example
 * if (event.type === ISSUE_EVENT) log(event.error);
 */
export interface IssueEvent {
  /** {@link ISSUE_EVENT} */
  type: typeof ISSUE_EVENT;
  /** What happened. */
  error: UmqttError;
}

/**
 * An incoming QoS 2 id was held (PUBREC sent) or released (PUBREL, or no session at the broker).
 *
 * @example
 * if (event.type === INCOMING_EVENT) store.incoming?.(event.id, event.held);
 */
export interface IncomingEvent {
  /** {@link INCOMING_EVENT} */
  type: typeof INCOMING_EVENT;
  /** The packet id. */
  id: number;
  /** Held until PUBREL (true), or released (false). */
  held: boolean;
}

/**
 * A message arrived ({@link SessionEvent}).
 *
 * @example
 * if (event.type === MESSAGE_EVENT) console.log(event.message.topic);
 */
export const MESSAGE_EVENT = 1;
/**
 * A packet id has a new status ({@link Status}); `ref` is what its publish was given.
 *
 * @example
 * if (event.type === STATUS_EVENT && event.status === 'delivered') done(event.ref);
 */
export const STATUS_EVENT = 2;
/**
 * CONNACK accepted the connection.
 *
 * @example
 * if (event.type === CONNECTED_EVENT) resolve(event.sessionPresent);
 */
export const CONNECTED_EVENT = 3;
/**
 * Something worth recording that does not end the connection (an acknowledgement for an id not in flight).
 *
 * @example
 * if (event.type === ISSUE_EVENT) log(event.error);
 */
export const ISSUE_EVENT = 4;
/**
 * An incoming QoS 2 id was acknowledged with PUBREC (`held`) or released by PUBREL: what a
 * persistent session stores so that a message is handed over once across a reboot.
 *
 * @example
 * if (event.type === INCOMING_EVENT) store.incoming?.(event.id, event.held);
 */
export const INCOMING_EVENT = 5;
