// Test support (not built into dist): a Session with what it writes and reports recorded, for
// plain tests of the core: packets (or their bytes, as a broker sends them) and times in;
// exact bytes, decoded packets, events and deadlines out. No socket, no clock, no settle().
import { CONNACK, Parser, clientDecoders, serverDecoders, type Packet } from '@umqtt/codec';
// The hex helpers from their module: testkit's entry also loads the brokers (a second of import per file).
import { hex, toHex } from '../../../tooling/testkit/src/scripted-socket.ts';
import {
  MESSAGE_EVENT,
  STATUS_EVENT,
  Session,
  type Message,
  type SessionEvent,
  type SessionOptions,
  type Status,
} from './index.js';

/** A status as `[id, status]`, or `[id, status, granted]` when SUBACK's codes come with it. */
export type StatusRecord = [number, Status] | [number, Status, number[]];

export function harness(options: SessionOptions = {}) {
  const written: Uint8Array[] = [];
  const owed: boolean[] = [];
  const session = new Session(options, (bytes, tail, isOwed) => {
    written.push(bytes);
    if (tail) written.push(tail);
    owed.push(isOwed);
  });
  const fromBroker = new Parser(clientDecoders);
  const h = {
    session,
    /** The raw arrays handed to `write`, in order (bytes, then a payload's tail). */
    written,
    /** Each write's `owed` flag, in order. */
    owed,
    /** Spaced hex of every byte written since the last take() or packets(): what a broker reads. */
    take(): string {
      return written.splice(0).map(toHex).join(' ');
    },
    /** The packets written since the last take() or packets(), decoded as a broker decodes them. */
    packets(): Packet[] {
      const parser = new Parser(serverDecoders);
      for (const bytes of written.splice(0)) parser.push(bytes);
      const out: Packet[] = [];
      for (let p = parser.read(); p; p = parser.read()) out.push(p);
      return out;
    },
    /** Types of the packets written since the last take() or packets(). */
    types(): number[] {
      return h.packets().map((p) => p.type);
    },
    /** Hands the session the packets in these bytes (spaced hex, as a broker sends them) at `now`. */
    feed(bytes: string | Uint8Array, now: number): void {
      fromBroker.push(typeof bytes === 'string' ? hex(bytes) : bytes);
      for (let p = fromBroker.read(); p; p = fromBroker.read()) session.received(p, now);
    },
    /** Events since the last call (emptied as a driver empties them). */
    events(): SessionEvent[] {
      return session.events.splice(0);
    },
    /** The status events since the last call, as `[id, status(, granted)]`; other events are dropped. */
    statuses(): StatusRecord[] {
      return h
        .events()
        .flatMap((e): StatusRecord[] =>
          e.type !== STATUS_EVENT ? [] : e.granted ? [[e.id, e.status, e.granted]] : [[e.id, e.status]],
        );
    },
    /** The messages handed over since the last call; other events are dropped. */
    messages(): Message[] {
      return h.events().flatMap((e) => (e.type === MESSAGE_EVENT ? [e.message] : []));
    },
  };
  return h;
}

export type Harness = ReturnType<typeof harness>;

/** CONNACK accepting the connection. */
export const connack = (sessionPresent = false, returnCode = 0): Packet => ({
  type: CONNACK,
  sessionPresent,
  returnCode,
});

/** A session connected at `now` (CONNECT is the driver's: nothing of it is recorded), its events emptied. */
export function connected(options: SessionOptions = {}, now = 0): Harness {
  const h = harness(options);
  h.session.begin(now);
  h.session.received(connack(), now);
  h.events();
  return h;
}
