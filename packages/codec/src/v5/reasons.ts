// MQTT 5 reason codes [MQTT-2.4]: which packet may carry which, and their names.
import { MALFORMED, fail } from '../errors.js';

/* eslint-disable no-sparse-arrays -- indexed by packet type; a hole is a packet without a reason code */
/**
 * The reason codes each packet type may carry, by packet type [MQTT-2.4, Tables 3-1 .. 3-11].
 *
 * @example
 * VALID_REASONS[PUBACK]!.includes(0x10); // true: no matching subscribers
 */
export const VALID_REASONS: ReadonlyArray<readonly number[] | undefined> = /* @__PURE__ */ Object.freeze([
  ,
  ,
  // CONNACK
  [
    0, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b, 0x9c,
    0x9d, 0x9f,
  ],
  ,
  [0, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99], // PUBACK
  [0, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99], // PUBREC
  [0, 0x92], // PUBREL
  [0, 0x92], // PUBCOMP
  ,
  [0, 1, 2, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2], // SUBACK
  ,
  [0, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91], // UNSUBACK
  ,
  ,
  // DISCONNECT: its own table [MQTT-3.14.2-1], which leaves out 0x8C (Table 2-6 lists it for DISCONNECT too)
  [
    0, 4, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
    0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
  ],
  [0, 0x18, 0x19], // AUTH
]);
/* eslint-enable no-sparse-arrays */

/** The clause saying packet `type` uses only its own reason codes. */
export const reasonClause = (type: number): string =>
  type === 2 ? '3.2.2-8' : type === 9 || type === 11 ? `3.${type}.3-2` : `3.${type}.2-1`;

/**
 * Throws (with `code`; from the wire, reason code 0x82 to disconnect with) unless `rc` is a
 * reason code packet `type` may carry.
 */
export function checkReason(type: number, rc: unknown, code: string, what: string): number {
  if (!VALID_REASONS[type]!.includes(rc as number))
    throw fail(
      code,
      `${what} reason code`,
      `one of its table`,
      rc,
      reasonClause(type),
      code === MALFORMED ? 0x82 : undefined,
    );
  return rc as number;
}

/**
 * The name of each MQTT 5 reason code [MQTT-2.4, Table 2-6]; 0 is also "Normal disconnection"
 * (DISCONNECT) and "Granted QoS 0" (SUBACK).
 *
 * @example
 * const why = REASON_NAMES[puback.reasonCode] ?? 'unknown'; // 'Not authorized' for 0x87
 */
export const REASON_NAMES: Readonly<Record<number, string>> = /* @__PURE__ */ Object.freeze({
  0x00: 'Success',
  0x01: 'Granted QoS 1',
  0x02: 'Granted QoS 2',
  0x04: 'Disconnect with Will Message',
  0x10: 'No matching subscribers',
  0x11: 'No subscription existed',
  0x18: 'Continue authentication',
  0x19: 'Re-authenticate',
  0x80: 'Unspecified error',
  0x81: 'Malformed Packet',
  0x82: 'Protocol Error',
  0x83: 'Implementation specific error',
  0x84: 'Unsupported Protocol Version',
  0x85: 'Client Identifier not valid',
  0x86: 'Bad User Name or Password',
  0x87: 'Not authorized',
  0x88: 'Server unavailable',
  0x89: 'Server busy',
  0x8a: 'Banned',
  0x8b: 'Server shutting down',
  0x8c: 'Bad authentication method',
  0x8d: 'Keep Alive timeout',
  0x8e: 'Session taken over',
  0x8f: 'Topic Filter invalid',
  0x90: 'Topic Name invalid',
  0x91: 'Packet Identifier in use',
  0x92: 'Packet Identifier not found',
  0x93: 'Receive Maximum exceeded',
  0x94: 'Topic Alias invalid',
  0x95: 'Packet too large',
  0x96: 'Message rate too high',
  0x97: 'Quota exceeded',
  0x98: 'Administrative action',
  0x99: 'Payload format invalid',
  0x9a: 'Retain not supported',
  0x9b: 'QoS not supported',
  0x9c: 'Use another server',
  0x9d: 'Server moved',
  0x9e: 'Shared Subscriptions not supported',
  0x9f: 'Connection rate exceeded',
  0xa0: 'Maximum connect time',
  0xa1: 'Subscription Identifiers not supported',
  0xa2: 'Wildcard Subscriptions not supported',
});
