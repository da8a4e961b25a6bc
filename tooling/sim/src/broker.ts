// A broker model on the simulated network: MQTT 3.1.1 as Eclipse Mosquitto 2.0.11 in its default
// configuration does it, read from its sources (src/handle_publish.c, src/database.c,
// src/handle_connect.c, src/handle_subscribe.c, src/retain.c, src/keepalive.c,
// lib/handle_pubackcomp.c, lib/handle_pubrec.c, lib/handle_pubrel.c) and checked byte for byte
// against the real one (parity.test.ts):
//
// - persistent sessions (clean session 0 lives until a clean connect), session present, takeover
//   of a connected client id (the old connection closed);
// - QoS 0/1/2 both ways; incoming QoS 2 held until PUBREL and routed then; a resent PUBLISH with
//   an id still held is acknowledged and not routed again; one with the same id and different
//   content replaces it ("Reused message ID");
// - the incoming quota (max_inflight_messages 20): every QoS 2 message taken costs one, every
//   PUBCOMP sent (for a known id or not) gives one back, a reconnect starts from 20 less the held
//   ones; past it a QoS 2 PUBLISH is answered PUBREC (with reason 0x97, which a 3.1.1 client never
//   sees) and dropped;
// - outgoing: at most 20 QoS 1/2 in flight per client, up to 1000 more queued (then dropped),
//   QoS 0 for an offline client dropped, in-flight messages resent with DUP (and PUBREL for those
//   past PUBREC) on reconnect, before the queued ones; packet ids from a per-session counter;
// - retained messages (an empty payload clears), sent after SUBACK with the retain flag;
// - acknowledgements for unknown ids: PUBACK/PUBCOMP ignored, PUBREC answered with PUBREL,
//   PUBREL answered with PUBCOMP; a PUBCOMP or PUBACK of the wrong kind ends the connection;
// - keepalive: the connection is closed once nothing complete arrived for 1.5 x keepAlive,
//   checked every 5 seconds or so;
// - restarts that keep the state (persistence, clean shutdown) or lose it (a crash without it).
//
// MQTT 5, per connection (the protocol level of its CONNECT), as Mosquitto 2.0.11 does it
// (src/handle_connect.c, src/property_broker.c, src/send_connack.c, src/handle_publish.c,
// src/read_handle.c, src/handle_unsubscribe.c, src/session_expiry.c, src/database.c), and
// checked against it by the MQTT 5 part of parity.ts:
//
// - CONNACK properties: Topic Alias Maximum 10 (max_topic_alias), Receive Maximum 20
//   (max_inflight_messages), an Assigned Client Identifier for an empty one, Server Keep Alive
//   65535 for keepalive 0 (max_keepalive); a refusal is 0x88 (server unavailable);
// - Session Expiry instead of clean session (section 3.1.2.11.2, [MQTT-3.1.2-23]): the session outlives its
//   connection for the interval the CONNECT (or the DISCONNECT) gave, 0 by default; Clean Start
//   only discards an old session; session present when a non-clean connect finds a session whose
//   interval is not 0; an expired session goes at the first once-a-second check after its time;
// - the client's Receive Maximum is this connection's outgoing in-flight maximum (20 without it),
//   its Maximum Packet Size drops a larger outgoing message (a QoS 1/2 one keeps its quota slot
//   until a reconnect, as send__real_publish's MOSQ_ERR_OVERSIZE_PACKET leaves it);
// - reason codes where 3.1.1 is silent: PUBREC 0x97 (quota exceeded) past the incoming quota,
//   PUBACK/PUBREC 0x87 (not authorized) for a topic the ACL denies (3.1.1: a plain acknowledgement,
//   and the message dropped), PUBACK 0x10 (no matching subscribers) for a QoS 1 message nobody
//   takes, UNSUBACK 0x11 (no subscription existed), DISCONNECT 0x94 for a topic alias of 0 or
//   past 10, DISCONNECT 0x82 for an alias never set or a DISCONNECT that turns on an expiry of 0;
// - topic aliases from the client (none towards it: Mosquitto 2.0.11 sends none);
// - Message Expiry: a queued or in-flight message past its interval is not sent (and gives its
//   quota back); one sent carries the interval left, in whole seconds;
// - no DISCONNECT on takeover nor on shutdown: Mosquitto 2.0.11 closes the socket. A broker that
//   says why (DISCONNECT 0x8E, session taken over [MQTT-3.1.4-3]; 0x8B, server shutting down) is
//   a habit a seed switches on (`reasons`), as other brokers do.
//
// Hostile habits are faults a scenario switches on: duplicate PUBREC/PUBCOMP, acknowledgements for
// ids never used, session present on a clean connect, CONNACK 3 (server unavailable), a frozen
// process (TCP accepts, nothing answers), slow reading, a trickling peer.
import {
  DISCONNECT,
  Parser as Parser5,
  encodeAck as encodeAck5,
  encodeConnack as encodeConnack5,
  encodeDisconnect,
  encodePublish as encodePublish5,
  encodeSuback as encodeSuback5,
  serverDecoders as serverDecoders5,
  type ConnackProperties,
  type Packet as Packet5,
} from '@umqtt/codec/v5';
import {
  Parser,
  UmqttError,
  encodeAck,
  encodeConnack,
  encodeEmpty,
  encodePublish,
  encodeSuback,
  serverDecoders,
  topicMatches,
  type Packet,
  type QoS,
} from '@umqtt/codec';
import type { Random } from './random.js';
import { msgIdOf, protocolLevel } from './trace.js';
import type { Listener, ServerEnd } from './network.js';
import type { World } from './world.js';

/** Mosquitto's defaults (mosquitto.conf(5)): max_inflight_messages, max_queued_messages. */
export const MAX_INFLIGHT = 20;
export const MAX_QUEUED = 1000;
/** Mosquitto's default `max_topic_alias` (per listener): the Topic Alias Maximum of its CONNACK. */
export const MAX_TOPIC_ALIAS = 10;
/** Mosquitto's default `max_keepalive`: a keepalive of 0 (or more) is answered with it as Server Keep Alive. */
const MAX_KEEPALIVE = 65535;
/** A Session Expiry Interval that never expires (MQTT 5 section 3.1.2.11.2): how a 3.1.1 persistent session lives. */
export const NEVER = 0xffffffff;

/** MQTT 5 reason codes the model sends (MQTT 5 section 2.4). */
export const RC = Object.freeze({
  NO_MATCHING_SUBSCRIBERS: 0x10,
  NO_SUBSCRIPTION_EXISTED: 0x11,
  PROTOCOL_ERROR: 0x82,
  NOT_AUTHORIZED: 0x87,
  SERVER_UNAVAILABLE: 0x88,
  SERVER_SHUTTING_DOWN: 0x8b,
  SESSION_TAKEN_OVER: 0x8e,
  TOPIC_ALIAS_INVALID: 0x94,
  QUOTA_EXCEEDED: 0x97,
});

/** A message as the broker keeps it. */
export interface StoredMessage {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  /** Client id of the publisher. */
  from: string;
  /** Mosquitto's message_expiry_time: whole seconds when it expires (0: never). */
  expiresAt: number;
}

type OutState = 'queued' | 'publish' | 'wait_puback' | 'wait_pubrec' | 'wait_pubcomp' | 'resend_pubrel';

interface ClientMsg {
  mid: number;
  qos: QoS;
  retain: boolean;
  msg: StoredMessage;
  state: OutState;
  dup: boolean;
}

interface Session {
  id: string;
  /** Session Expiry Interval, seconds: 0 ends it with its connection (a 3.1.1 clean session), NEVER never (3.1.1 persistent). */
  expiry: number;
  /** Bumped at every connect and disconnect: a pending expiry of an older disconnection is void. */
  epoch: number;
  /** The in-flight maximum towards the client (its Receive Maximum, else max_inflight_messages). */
  outMax: number;
  subs: Map<string, QoS>;
  inflight: ClientMsg[];
  queued: ClientMsg[];
  /** Incoming QoS 2 held until PUBREL, by packet id. */
  incoming: Map<number, StoredMessage>;
  inQuota: number;
  outQuota: number;
  lastMid: number;
  conn: Conn | undefined;
}

/** What the broker did, for the checker: acknowledgements, drops, routing, lost state. */
export interface Ledger {
  /** It took responsibility for a message: PUBACK sent (QoS 1), PUBREC sent for a held message (QoS 2), routed (QoS 0). */
  accepted(from: string, payload: Uint8Array, qos: QoS): void;
  /** A QoS 2 PUBLISH answered past the incoming quota: acknowledged, then dropped. */
  quotaDropped(from: string, payload: Uint8Array): void;
  /** The message was routed to the subscriptions (`to`: the client ids it was queued for). */
  routed(from: string, payload: Uint8Array, to: string[], expiresAt?: number): void;
  /** A message for `to` was dropped: offline QoS 0, queue full. */
  outDropped(to: string, payload: Uint8Array, why: string): void;
  /** The broker lost every session and retained message. */
  lostState(): void;
  /** A persistent connect of `clientId` found no session: a new one was made. */
  sessionMade?(clientId: string): void;
  /** A message refused with a reason code a v5 client sees (0x87 not authorized); a 3.1.1 client was acknowledged, and it was dropped. */
  refused?(from: string, payload: Uint8Array, code: number): void;
  /** The session of `clientId` expired (its Session Expiry Interval passed while it was away). */
  sessionExpired?(clientId: string): void;
  /** A message was sent to `to` for the first time (not a resend with DUP). */
  sent?(to: string, payload: Uint8Array): void;
}

/** Hostile habits of the broker, as chances per occasion (0: never). */
export interface BrokerFaults {
  /** A PUBREC is sent twice. */
  dupPubrec: number;
  /** A PUBCOMP is sent twice. */
  dupPubcomp: number;
  /** After a packet from a client, an acknowledgement for an id the client never used. */
  unknownAck: number;
  /** CONNACK says session present to a clean connect. */
  sessionPresentOnClean: number;
  /** CONNACK refuses with 3 (server unavailable; 0x88 in MQTT 5). */
  refuse: number;
  /** A v5 connection is told why it ends: DISCONNECT 0x8E on takeover, 0x8B on a clean shutdown (Mosquitto 2.0.11 sends neither). */
  reasons: number;
}

export const NO_FAULTS: Readonly<BrokerFaults> = Object.freeze({
  dupPubrec: 0,
  dupPubcomp: 0,
  unknownAck: 0,
  sessionPresentOnClean: 0,
  refuse: 0,
  reasons: 0,
});

/** Sessions and retained messages: kept by one node, or shared by the nodes of a cluster. */
export class BrokerState {
  /**
   * Whether the session of `clientId` keeps the message `msgId` queued though its window has room:
   * Mosquitto 2.0.11 moves queued messages into flight only on a new message, an acknowledgement
   * or a connect, so one whose in-flight messages expired at a reconnect stalls (parity.ts shows
   * it). A client that does not acknowledge leaves the window full, and is not excused by this.
   */
  holds(clientId: string, msgId: string): boolean {
    const s = this.sessions.get(clientId);
    return !!s && s.inflight.length < s.outMax && s.queued.some((m) => msgIdOf(m.msg.payload) === msgId);
  }

  readonly sessions = new Map<string, Session>();
  readonly retained = new Map<string, StoredMessage>();
  /** Bumped on every loss of state. */
  generation = 0;
  /** When the broker last answered a clean connect of a client id with session present (a fault). */
  readonly lies = new Map<string, number>();
  /** Topic filters the ACL denies publishing to (every client; Mosquitto's acl_file `topic read ...`). */
  readonly denied: string[];

  constructor(
    readonly ledger: Ledger,
    denied: string[] = [],
  ) {
    this.denied = denied;
  }

  /** Everything is gone (a crash without persistence, a store wiped). */
  lose(): void {
    for (const s of this.sessions.values()) s.conn?.end.reset();
    this.sessions.clear();
    this.retained.clear();
    this.generation++;
    this.ledger.lostState();
  }
}

/** One broker process listening on the network. */
export class BrokerNode implements Listener {
  readonly name: string;
  readonly state: BrokerState;
  faults: BrokerFaults = NO_FAULTS;
  /** The process is frozen: TCP still accepts, nothing is read or answered. */
  frozen = false;
  /** Packets handled (for the day's bytes). */
  packets = 0;
  readonly #world: World;
  readonly #random: Random;
  readonly conns = new Set<Conn>();
  #lastKeepaliveCheck = 0;
  #ticking = false;

  constructor(world: World, random: Random, name: string, state: BrokerState) {
    this.#world = world;
    this.#random = random;
    this.name = name;
    this.state = state;
  }

  get world(): World {
    return this.#world;
  }
  get random(): Random {
    return this.#random;
  }

  accept(end: ServerEnd): void {
    const conn = new Conn(this, end);
    this.conns.add(conn);
    if (this.frozen) end.pause();
    this.#tick();
  }

  /** The process freezes (TCP still accepts and buffers, nothing is read or answered) or thaws. */
  freeze(on: boolean): void {
    this.frozen = on;
    for (const c of this.conns) if (!c.trickling) on ? c.end.pause() : c.end.resume();
  }

  /**
   * Fault: a hostile peer on one connection: it stops reading and answering, and trickles a byte of
   * a packet that never completes every few seconds (its own keepalive does not apply to it).
   */
  trickle(): boolean {
    const list = [...this.conns].filter((c) => c.state === 'active' && !c.trickling);
    if (!list.length) return false;
    const conn = this.#random.pick(list);
    conn.trickling = true;
    conn.end.pause();
    this.note(conn.clientId, 'fault: trickles a byte every few seconds, answers nothing');
    // PUBLISH announcing 16384 bytes: topic length, topic, then payload bytes one at a time
    const bytes = [0x30, 0x80, 0x80, 0x01, 0x00, 0x03, 0x74, 0x2f, 0x74];
    let i = 0;
    const next = () => {
      if (conn.state === 'closed') return;
      conn.send(Uint8Array.of(bytes[i++] ?? 0x2e));
      if (i < 16000) this.#world.after(this.#random.float(1000, 5000), next);
    };
    next();
    return true;
  }

  /** The process stops: every connection is reset (the kernel answers RST for a dead process). */
  stop(): void {
    for (const c of [...this.conns]) c.drop('node stopped', true);
  }

  /**
   * A clean shutdown is about to stop the process: a broker with the `reasons` habit tells its
   * MQTT 5 clients (DISCONNECT 0x8B, server shutting down) and closes their connections first.
   * Whether it did.
   */
  shuttingDown(): boolean {
    if (!this.faults.reasons || !this.#random.chance(this.faults.reasons)) return false;
    for (const c of [...this.conns])
      if (c.v5 && c.state === 'active') {
        c.send(encodeDisconnect({ type: DISCONNECT, reasonCode: RC.SERVER_SHUTTING_DOWN }));
        c.drop('shutting down (DISCONNECT 0x8B)', false);
      }
    return true;
  }

  note(who: string, text: string): void {
    this.#world.trace?.note(this.#world.now, this.name, `${who}: ${text}`);
  }

  /**
   * Mosquitto's keepalive check (src/keepalive.c): its loop wakes at least once a second and checks
   * once `last_keepalive_check + 5 < now` (whole seconds), so every 6 s; a connection with nothing
   * complete received for more than keepAlive * 3 / 2 seconds (integer division) is closed.
   */
  #tick(): void {
    if (this.#ticking) return;
    this.#ticking = true;
    const next = Math.max(this.#lastKeepaliveCheck + 6, Math.floor(this.#world.now / 1000) + 1);
    this.#world.at(next * 1000, () => {
      this.#ticking = false;
      const now = Math.floor(this.#world.now / 1000);
      if (!this.frozen) {
        this.#lastKeepaliveCheck = now;
        for (const c of [...this.conns])
          if (c.keepAlive && !c.trickling && now - c.lastIn > Math.floor((c.keepAlive * 3) / 2))
            c.drop('keepalive: nothing for 1.5 x keepAlive', false);
      }
      if (this.conns.size) this.#tick();
    });
  }
}

/** One client connection on a node. */
class Conn {
  /** Made once the CONNECT's protocol level is known: the 3.1.1 or the MQTT 5 parser. */
  parser: Parser | undefined;
  /** Bytes before the protocol level could be read. */
  #pre: Uint8Array | undefined;
  state: 'new' | 'active' | 'closed' = 'new';
  session: Session | undefined;
  keepAlive = 0;
  /** Mosquitto's `last_msg_in`, whole seconds, updated per complete packet. */
  lastIn: number;
  clientId = '?';
  /** A hostile peer now (fault): no keepalive, no answers. */
  trickling = false;
  /** Answered a clean connect with session present (fault): the client must not go on with it. */
  lied = false;
  /** The CONNECT said protocol level 5. */
  v5 = false;
  /** The client's Maximum Packet Size (MQTT 5). */
  maxPacket = Infinity;
  /** Topic aliases the client set on this connection (MQTT 5). */
  readonly aliases = new Map<number, string>();

  constructor(
    readonly node: BrokerNode,
    readonly end: ServerEnd,
  ) {
    this.lastIn = Math.floor(node.world.now / 1000);
    end.onData = (bytes) => this.#data(bytes);
    end.onClose = (how) => this.#closed(how);
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  get ledger(): Ledger {
    return this.node.state.ledger;
  }

  send(bytes: Uint8Array): void {
    if (this.state !== 'closed') this.end.write(bytes);
  }

  /** PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK (3.1.1) with a reason code where MQTT 5 has one. */
  ack(type: 4 | 5 | 6 | 7, id: number, reasonCode = 0): void {
    this.send(this.v5 ? encodeAck5({ type, id, reasonCode }) : encodeAck({ type, id }));
  }

  /** Ends the connection from the broker's side: FIN (or RST when `reset`). */
  drop(why: string, reset: boolean): void {
    if (this.state === 'closed') return;
    this.node.note(this.clientId, `closes the connection: ${why}`);
    this.#detach();
    if (reset) this.end.reset();
    else this.end.close();
  }

  /** read_handle.c: an MQTT 5 client is told the reason (DISCONNECT) before the connection ends. */
  #fail(why: string, reasonCode: number): void {
    if (this.v5) this.send(encodeDisconnect({ type: DISCONNECT, reasonCode }));
    this.drop(why, false);
  }

  #closed(how: string): void {
    if (this.state === 'closed') return;
    this.node.note(this.clientId, `connection ${how} by the client side`);
    this.#detach();
  }

  #detach(): void {
    const was = this.state;
    this.state = 'closed';
    this.node.conns.delete(this);
    const s = this.session;
    if (was !== 'active' || !s || s.conn !== this) return;
    s.conn = undefined;
    s.epoch++;
    // context__disconnect: a session with an expiry of 0 (a clean 3.1.1 one) ends with its connection
    if (!s.expiry) this.node.state.sessions.delete(s.id);
    else if (s.expiry !== NEVER) expireLater(this.node, s);
  }

  #data(bytes: Uint8Array): void {
    if (this.state === 'closed') return;
    if (!this.parser) {
      const all = this.#pre ? concat(this.#pre, bytes) : bytes;
      const level = protocolLevel(all);
      if (level === undefined) {
        this.#pre = all;
        return;
      }
      this.#pre = undefined;
      this.v5 = level === 5;
      this.parser = this.v5 ? (new Parser5(serverDecoders5) as unknown as Parser) : new Parser(serverDecoders);
      bytes = all;
    }
    const parser = this.parser;
    try {
      parser.push(bytes);
      for (let p = parser.read(); p; p = parser.read()) {
        this.lastIn = Math.floor(this.node.world.now / 1000);
        this.node.packets++;
        this.#handle(p as Packet | Packet5);
        if (this.closed) return;
        if (this.node.faults.unknownAck && this.state === 'active') this.#unknownAck();
      }
    } catch (e) {
      if (!(e instanceof UmqttError)) throw e;
      this.drop(`malformed or unexpected packet: ${e.code}`, false);
    }
  }

  #handle(p: Packet | Packet5): void {
    if (this.state === 'new') {
      if (p.type !== 1) return this.drop('first packet is not CONNECT', false);
      return this.#connect(p);
    }
    if (this.lied && p.type !== 14)
      this.node.world.fail(
        'protocol-strict',
        `${this.clientId} went on (packet type ${p.type}) after CONNACK said session present to its clean connect`,
      );
    const s = this.session!;
    switch (p.type) {
      case 1:
        return this.drop('second CONNECT', false);
      case 3:
        return this.#publish(s, p);
      case 4:
        return this.#ackOut(s, p.id, 1);
      case 5:
        return this.#pubrec(s, p.id);
      case 6:
        return this.#pubrel(s, p.id);
      case 7:
        return this.#ackOut(s, p.id, 2);
      case 8: {
        const granted = p.subscriptions.map((x) => x.qos);
        for (const sub of p.subscriptions) s.subs.set(sub.topic, sub.qos);
        const retained: [StoredMessage, QoS][] = [];
        for (const sub of p.subscriptions)
          for (const m of this.node.state.retained.values())
            if (topicMatches(sub.topic, m.topic)) retained.push([m, Math.min(m.qos, sub.qos) as QoS]);
        for (const [m, qos] of retained) insertOut(this.node, s, m, qos, true, false);
        this.send(
          this.v5
            ? encodeSuback5({ type: 9, id: p.id, reasonCodes: granted })
            : encodeSuback({ type: 9, id: p.id, granted }),
        );
        writeQueued(s);
        writeLatest(s);
        return;
      }
      case 10: {
        // handle_unsubscribe.c: MQTT 5 says per filter whether there was a subscription (0x11)
        const codes = p.topics.map((t) => (s.subs.delete(t) ? 0 : RC.NO_SUBSCRIPTION_EXISTED));
        this.send(
          this.v5 ? encodeSuback5({ type: 11, id: p.id, reasonCodes: codes }) : encodeAck({ type: 11, id: p.id }),
        );
        return;
      }
      case 12:
        this.send(encodeEmpty({ type: 13 }));
        return;
      case 14: {
        // property__process_disconnect: a new Session Expiry Interval, which may not turn on one of 0 [MQTT-3.14.2-2]
        const expiry = this.v5 ? (p as Packet5 & { type: 14 }).properties?.sessionExpiryInterval : undefined;
        if (expiry !== undefined) {
          if (!s.expiry && expiry) return this.#fail('DISCONNECT sets a session expiry after 0', RC.PROTOCOL_ERROR);
          s.expiry = expiry;
        }
        return this.drop('DISCONNECT', false);
      }
    }
  }

  #connect(p: (Packet | Packet5) & { type: 1 }): void {
    const node = this.node;
    const state = node.state;
    const r = node.random;
    const props = this.v5 ? (p as Packet5 & { type: 1 }).properties : undefined;
    const assigned = this.v5 && !p.clientId;
    this.clientId = p.clientId || `auto-${this.end.id}`;
    this.end.label = this.clientId;
    this.keepAlive = p.keepAlive;
    if (!p.clientId && !p.clean && !this.v5) {
      this.send(encodeConnack({ type: 2, sessionPresent: false, returnCode: 2 }));
      return this.drop('empty client id without clean session', false);
    }
    if (node.faults.refuse && r.chance(node.faults.refuse)) {
      node.note(this.clientId, 'fault: CONNACK 3 (server unavailable)');
      this.send(
        this.v5
          ? encodeConnack5({ type: 2, sessionPresent: false, reasonCode: RC.SERVER_UNAVAILABLE })
          : encodeConnack({ type: 2, sessionPresent: false, returnCode: 3 }),
      );
      return this.drop('refused', false);
    }
    // 3.1.1: a persistent session never expires, a clean one ends with its connection (handle_connect.c)
    const expiry = this.v5 ? (props?.sessionExpiryInterval ?? 0) : p.clean ? 0 : NEVER;
    const found = state.sessions.get(this.clientId);
    let session: Session;
    let present = false;
    if (found && !p.clean && found.expiry > 0) {
      present = true;
      session = found;
    } else {
      session = newSession(this.clientId);
      if (!p.clean) state.ledger.sessionMade?.(this.clientId);
    }
    session.expiry = expiry;
    session.epoch++;
    if (found) {
      const old = found.conn;
      if (old && old !== this) {
        found.conn = undefined;
        if (old.v5 && node.faults.reasons && r.chance(node.faults.reasons))
          old.send(encodeDisconnect({ type: DISCONNECT, reasonCode: RC.SESSION_TAKEN_OVER }));
        old.drop('client id taken over by a new connection', false);
      }
      if (!present) state.sessions.delete(found.id);
    }
    state.sessions.set(session.id, session);
    session.conn = this;
    // property__process_connect: the client's Receive Maximum caps what is in flight towards it
    session.outMax = props?.receiveMaximum ?? MAX_INFLIGHT;
    if (!present) session.outQuota = session.outMax; // (a resumed one: reconnectReset counts what is in flight)
    this.maxPacket = props?.maximumPacketSize ?? Infinity;
    this.session = session;
    this.state = 'active';
    if (present) reconnectReset(session);
    let sp = present;
    if (p.clean && node.faults.sessionPresentOnClean && r.chance(node.faults.sessionPresentOnClean)) {
      node.note(this.clientId, 'fault: session present on a clean connect');
      sp = true;
      this.lied = true;
      state.lies.set(this.clientId, node.world.now);
    }
    if (this.v5) {
      // in the order handle_connect.c and send_connack.c add them
      const c: ConnackProperties = { topicAliasMaximum: MAX_TOPIC_ALIAS };
      if (!p.keepAlive || p.keepAlive > MAX_KEEPALIVE) c.serverKeepAlive = this.keepAlive = MAX_KEEPALIVE;
      if (assigned) c.assignedClientIdentifier = this.clientId;
      c.receiveMaximum = MAX_INFLIGHT;
      this.send(encodeConnack5({ type: 2, sessionPresent: sp, reasonCode: 0, properties: c }));
    } else this.send(encodeConnack({ type: 2, sessionPresent: sp, returnCode: 0 }));
    writeQueued(session);
    writeAll(session);
  }

  #publish(s: Session, p: (Packet | Packet5) & { type: 3 }): void {
    const node = this.node;
    const qos = p.qos ?? 0;
    const props = this.v5 ? (p as Packet5 & { type: 3 }).properties : undefined;
    let topic = p.topic;
    const alias = props?.topicAlias;
    if (alias !== undefined) {
      // handle_publish.c: alias 0 or past max_topic_alias; one never set is a protocol error
      if (!alias || alias > MAX_TOPIC_ALIAS) return this.#fail(`topic alias ${alias}`, RC.TOPIC_ALIAS_INVALID);
      if (topic) this.aliases.set(alias, topic);
      else {
        const known = this.aliases.get(alias);
        if (known === undefined) return this.#fail(`topic alias ${alias} never set`, RC.PROTOCOL_ERROR);
        topic = known;
      }
    }
    const interval = props?.messageExpiryInterval ?? 0;
    const msg: StoredMessage = {
      topic,
      payload: p.payload.slice(),
      qos,
      retain: !!p.retain,
      from: s.id,
      expiresAt: interval ? Math.floor(node.world.now / 1000) + interval : 0,
    };
    if (node.state.denied.some((f) => topicMatches(f, topic))) {
      // "Denied PUBLISH": acknowledged with 0x87 (a 3.1.1 client sees a plain acknowledgement), never routed
      if (node.world.trace) node.note(s.id, `PUBLISH "${msgIdOf(msg.payload)}" on ${topic} denied by the ACL (0x87)`);
      this.ledger.refused?.(s.id, msg.payload, RC.NOT_AUTHORIZED);
      if (qos === 1) {
        s.inQuota = Math.min(MAX_INFLIGHT, s.inQuota + 1); // send__puback gives one back, though none was taken
        this.ack(4, p.id!, RC.NOT_AUTHORIZED);
      } else if (qos === 2) this.#pubrec(null, p.id!, RC.NOT_AUTHORIZED);
      return;
    }
    if (qos === 0) {
      this.#route(msg);
      this.ledger.accepted(s.id, msg.payload, 0);
      return;
    }
    const id = p.id!;
    if (qos === 1) {
      // util__decrement_receive_quota, then send__puback gives it back
      s.inQuota = Math.max(0, s.inQuota - 1);
      const to = this.#route(msg);
      this.ledger.accepted(s.id, msg.payload, 1);
      s.inQuota = Math.min(MAX_INFLIGHT, s.inQuota + 1);
      this.ack(4, id, to ? 0 : RC.NO_MATCHING_SUBSCRIBERS);
      return;
    }
    const held = s.incoming.get(id);
    if (held && !same(held, msg)) {
      if (node.world.trace) node.note(s.id, `reused message id ${id}: the held "${msgIdOf(held.payload)}" is cleared`);
      s.incoming.delete(id);
    } else if (held) {
      this.#pubrec(null, id);
      return;
    }
    if (s.inQuota <= 0) {
      if (node.world.trace)
        node.note(s.id, `PUBLISH #${id} "${msgIdOf(msg.payload)}" past the incoming quota: PUBREC (0x97), dropped`);
      this.ledger.quotaDropped(s.id, msg.payload);
      this.#pubrec(null, id, RC.QUOTA_EXCEEDED);
      return;
    }
    s.inQuota--;
    s.incoming.set(id, msg);
    this.ledger.accepted(s.id, msg.payload, 2);
    this.#pubrec(null, id);
  }

  /** Sends PUBREC for an incoming QoS 2 id (s = null), or handles one from the client (s given). */
  #pubrec(s: Session | null, id: number, reasonCode = 0): void {
    if (s === null) {
      // send__pubrec: a refusal to an MQTT 5 client gives a quota slot back, though it took none
      // (so past the quota every other QoS 2 PUBLISH is taken: 0x97, taken, 0x97...)
      if (reasonCode >= 0x80 && this.v5) this.session!.inQuota = Math.min(MAX_INFLIGHT, this.session!.inQuota + 1);
      this.ack(5, id, reasonCode);
      if (this.node.faults.dupPubrec && this.node.random.chance(this.node.faults.dupPubrec)) {
        this.node.note(this.clientId, `fault: PUBREC #${id} twice`);
        this.ack(5, id, reasonCode);
      }
      return;
    }
    // lib/handle_pubrec.c: update to wait_for_pubcomp (a QoS mismatch is a protocol error), PUBREL anyway
    const m = s.inflight.find((x) => x.mid === id);
    if (m) {
      if (m.qos !== 2) return this.drop(`PUBREC for QoS ${m.qos} message ${id}`, false);
      m.state = 'wait_pubcomp';
    } else this.node.note(s.id, `PUBREC for unknown packet id ${id}`);
    this.ack(6, id);
  }

  #pubrel(s: Session, id: number): void {
    const m = s.incoming.get(id);
    if (m) {
      s.incoming.delete(id);
      this.#route(m);
    }
    // PUBCOMP even for an unknown id ("could be due to a repeated PUBREL after a client has reconnected")
    s.inQuota = Math.min(MAX_INFLIGHT, s.inQuota + 1);
    this.ack(7, id);
    if (this.node.faults.dupPubcomp && this.node.random.chance(this.node.faults.dupPubcomp)) {
      this.node.note(this.clientId, `fault: PUBCOMP #${id} twice`);
      this.ack(7, id);
    }
  }

  /** PUBACK (qos 1) or PUBCOMP (qos 2) from the client: db__message_delete_outgoing. */
  #ackOut(s: Session, id: number, qos: 1 | 2): void {
    s.outQuota = Math.min(s.outMax, s.outQuota + 1);
    const i = s.inflight.findIndex((x) => x.mid === id);
    if (i < 0) this.node.note(s.id, `${qos === 1 ? 'PUBACK' : 'PUBCOMP'} for unknown packet id ${id}`);
    else {
      const m = s.inflight[i]!;
      if (m.qos !== qos || (qos === 2 && m.state !== 'wait_pubcomp'))
        return this.drop(`${qos === 1 ? 'PUBACK' : 'PUBCOMP'} for packet id ${id} in state ${m.state}`, false);
      s.inflight.splice(i, 1);
    }
    // db__message_delete_outgoing counts only the messages in flight before the one acknowledged
    // (all of them for an unknown id): acknowledging the first of a full window lets a whole
    // window more go out, past the client's Receive Maximum [MQTT-3.3.4-9], as Mosquitto 2.0.11 does
    let index = i < 0 ? s.inflight.length : i;
    while (s.queued.length && index < s.outMax) {
      index++;
      const q = s.queued.shift()!;
      q.state = 'publish';
      s.inflight.push(q);
      if (s.outQuota > 0) s.outQuota--;
    }
    writeLatest(s);
  }

  /** Routes a message to the matching subscriptions; returns how many sessions it was queued for. */
  #route(msg: StoredMessage): number {
    const state = this.node.state;
    if (msg.retain) {
      if (msg.payload.length) state.retained.set(msg.topic, msg);
      else state.retained.delete(msg.topic);
    }
    const to: string[] = [];
    for (const s of state.sessions.values()) {
      let best = -1;
      for (const [filter, qos] of s.subs) if (qos > best && topicMatches(filter, msg.topic)) best = qos;
      if (best < 0) continue;
      to.push(s.id);
      insertOut(this.node, s, msg, Math.min(best, msg.qos) as QoS, false, true);
    }
    this.ledger.routed(msg.from, msg.payload, to, msg.expiresAt * 1000);
    return to.length;
  }

  /** Fault: an acknowledgement for a packet id this client never used. */
  #unknownAck(): void {
    const node = this.node;
    const r = node.random;
    if (!r.chance(node.faults.unknownAck)) return;
    const type = r.pick([4, 5, 7, 9, 11] as const);
    const id = r.int(40000, 65535);
    node.note(this.clientId, `fault: ${ACK_NAMES[type]} #${id} for an id never used`);
    if (type === 9)
      this.send(this.v5 ? encodeSuback5({ type, id, reasonCodes: [0] }) : encodeSuback({ type, id, granted: [0] }));
    else if (type === 11) this.send(this.v5 ? encodeSuback5({ type, id, reasonCodes: [0] }) : encodeAck({ type, id }));
    else this.ack(type, id);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * session_expiry.c: a session that lost its connection expires at `now + interval` (whole
 * seconds), removed at the first once-a-second check past that; a connect meanwhile voids it.
 */
function expireLater(node: BrokerNode, s: Session): void {
  const epoch = s.epoch;
  const at = (Math.floor(node.world.now / 1000) + s.expiry + 1) * 1000;
  node.world.at(at, () => {
    const state = node.state;
    if (s.epoch !== epoch || s.conn || state.sessions.get(s.id) !== s) return;
    state.sessions.delete(s.id);
    node.note(s.id, `session expired (${s.expiry} s)`);
    state.ledger.sessionExpired?.(s.id);
  });
}

const ACK_NAMES: Record<number, string> = { 4: 'PUBACK', 5: 'PUBREC', 7: 'PUBCOMP', 9: 'SUBACK', 11: 'UNSUBACK' };

function newSession(id: string): Session {
  return {
    id,
    expiry: 0,
    epoch: 0,
    outMax: MAX_INFLIGHT,
    subs: new Map(),
    inflight: [],
    queued: [],
    incoming: new Map(),
    inQuota: MAX_INFLIGHT,
    outQuota: MAX_INFLIGHT,
    lastMid: 0,
    conn: undefined,
  };
}

function same(a: StoredMessage, b: StoredMessage): boolean {
  if (a.qos !== b.qos || a.topic !== b.topic || a.payload.length !== b.payload.length) return false;
  for (let i = 0; i < a.payload.length; i++) if (a.payload[i] !== b.payload[i]) return false;
  return true;
}

function midOf(s: Session): number {
  s.lastMid = (s.lastMid + 1) & 0xffff;
  if (!s.lastMid) s.lastMid = 1;
  return s.lastMid;
}

function count12(s: Session): number {
  let n = 0;
  for (const m of s.inflight) if (m.qos) n++;
  for (const m of s.queued) if (m.qos) n++;
  return n;
}

/** db__message_insert for an outgoing message (`retain`: a retained message on subscribe). */
function insertOut(node: BrokerNode, s: Session, msg: StoredMessage, qos: QoS, retain: boolean, update: boolean): void {
  const ledger = node.state.ledger;
  const online = s.conn !== undefined;
  const mid = qos ? midOf(s) : 0;
  let state: OutState;
  if (!online) {
    if (qos === 0) return ledger.outDropped(s.id, msg.payload, 'QoS 0 for an offline client');
    if (count12(s) >= MAX_QUEUED) return ledger.outDropped(s.id, msg.payload, 'queue full');
    state = 'queued';
  } else if (qos === 0 || s.outQuota > 0) state = 'publish';
  else if (count12(s) - s.outMax < MAX_QUEUED) state = 'queued';
  else return ledger.outDropped(s.id, msg.payload, 'queue full');
  const m: ClientMsg = { mid, qos, retain, msg, state, dup: false };
  if (state === 'queued') s.queued.push(m);
  else s.inflight.push(m);
  if (qos && s.outQuota > 0) s.outQuota--;
  if (update) {
    writeLatest(s);
    writeQueued(s);
  }
}

/** db__message_write_inflight_out_single. */
function writeOne(s: Session, m: ClientMsg): void {
  const conn = s.conn!;
  let interval = 0;
  if (m.msg.expiresAt) {
    // past its Message Expiry Interval: not sent, its quota given back; else sent with the time left
    const now = Math.floor(conn.node.world.now / 1000);
    if (now > m.msg.expiresAt) {
      if (m.qos) s.outQuota = Math.min(s.outMax, s.outQuota + 1);
      s.inflight.splice(s.inflight.indexOf(m), 1);
      conn.ledger.outDropped(s.id, m.msg.payload, 'message expired');
      return;
    }
    interval = m.msg.expiresAt - now;
  }
  switch (m.state) {
    case 'publish': {
      const packet = {
        type: 3 as const,
        topic: m.msg.topic,
        payload: m.msg.payload,
        qos: m.qos,
        retain: m.retain,
        dup: m.dup,
        id: m.qos ? m.mid : undefined,
      };
      const bytes = conn.v5
        ? encodePublish5({ ...packet, properties: interval ? { messageExpiryInterval: interval } : undefined })
        : encodePublish(packet);
      if (bytes.length > conn.maxPacket) {
        // send__real_publish: MOSQ_ERR_OVERSIZE_PACKET, the message removed (its quota slot is not given back)
        s.inflight.splice(s.inflight.indexOf(m), 1);
        conn.ledger.outDropped(s.id, m.msg.payload, "larger than the client's Maximum Packet Size");
        return;
      }
      conn.send(bytes);
      if (!m.dup) conn.ledger.sent?.(s.id, m.msg.payload);
      if (m.qos === 0) s.inflight.splice(s.inflight.indexOf(m), 1);
      else {
        m.dup = true;
        m.state = m.qos === 1 ? 'wait_puback' : 'wait_pubrec';
      }
      return;
    }
    case 'resend_pubrel':
      conn.ack(6, m.mid);
      m.state = 'wait_pubcomp';
      return;
    default:
      return;
  }
}

const isPublish = (m: ClientMsg) => m.state === 'publish';

function writeAll(s: Session): void {
  if (!s.conn) return;
  for (const m of [...s.inflight]) writeOne(s, m);
}

/** db__message_write_inflight_out_latest: from the last message not waiting to be published on. */
function writeLatest(s: Session): void {
  if (!s.conn || !s.inflight.length) return;
  const list = s.inflight;
  let i = list.length - 1;
  while (i > 0 && isPublish(list[i]!)) i--;
  if (i > 0) i++;
  for (const m of list.slice(i)) writeOne(s, m);
}

/** db__message_write_queued_out: queued messages into flight while the quota lasts. */
function writeQueued(s: Session): void {
  if (!s.conn) return;
  while (s.queued.length && s.outQuota > 0) {
    const m = s.queued.shift()!;
    m.state = 'publish';
    s.inflight.push(m);
    s.outQuota--;
  }
}

/** db__message_reconnect_reset: a reconnecting client's messages back to a state that resends them. */
function reconnectReset(s: Session): void {
  s.outQuota = s.outMax;
  for (const m of s.inflight) {
    if (m.qos) s.outQuota = Math.max(0, s.outQuota - 1);
    if (m.qos === 2 && m.state === 'wait_pubcomp') m.state = 'resend_pubrel';
    else m.state = 'publish';
  }
  const queued = s.queued;
  s.queued = [];
  for (const m of queued) {
    if (m.qos === 0 || s.outQuota > 0) {
      m.state = 'publish';
      s.inflight.push(m);
      if (s.outQuota > 0) s.outQuota--;
    } else s.queued.push(m);
  }
  s.inQuota = MAX_INFLIGHT;
  for (let n = s.incoming.size; n > 0 && s.inQuota > 0; n--) s.inQuota--;
}
