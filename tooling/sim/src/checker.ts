// The invariants, checked after every step (cheap ones) and after every run (the rest), and the
// broker's ledger they judge by: what the broker model acknowledged, routed, dropped and lost.
import type { QoS } from '@umqtt/codec';
import { DEFAULT_BACKOFF } from '@umqtt/robust';
import { DISCONNECT_ROUNDS } from '@umqtt/robust/v5';
import { BROKER_DISCONNECT } from '@umqtt/simple/v5';
import type { Ledger } from './broker.js';
import type { Device, PubRecord } from './device.js';
import { msgIdOf } from './trace.js';
import { enabled } from './exclusions.js';
import type { World } from './world.js';

interface LedgerEntry {
  from: string;
  qos: QoS;
  /** When the broker acknowledged it (PUBACK, PUBREC for a held message; routing for QoS 0). */
  accepted: number[];
  quotaDropped: number[];
  /** Refused with a reason code (0x87 not authorized: the ACL), never routed. */
  refused: { code: number; at: number }[];
  /** Routings: when (and in which order), the state generation, to whom. */
  routed: { at: number; seq: number; gen: number; to: string[] }[];
  /** When its Message Expiry Interval ran out at the broker (ms; 0: never). */
  expiresAt: number;
  /** First sends to a subscriber, in which order, by client id. */
  sent: Map<string, number> | undefined;
  /** Drops on the way out, by receiver. */
  outDropped: { to: string; why: string; at: number }[];
}

/** The broker model's record of what it did, by message identity. */
export class BrokerLedger implements Ledger {
  readonly entries = new Map<string, LedgerEntry>();
  /** Times the broker lost its state. */
  readonly losses: number[] = [];
  /** Times a persistent connect found no session and made one, by client id. */
  readonly sessionsMade = new Map<string, number[]>();
  /** Times a client's session expired (MQTT 5's Session Expiry Interval), by client id. */
  readonly expired = new Map<string, number[]>();
  gen = 0;
  /** Orders routings and sends that happen at one instant. */
  #seq = 0;

  constructor(readonly world: World) {}

  sessionMade(clientId: string): void {
    const list = this.sessionsMade.get(clientId) ?? [];
    list.push(this.world.now);
    this.sessionsMade.set(clientId, list);
  }

  sessionExpired(clientId: string): void {
    const list = this.expired.get(clientId) ?? [];
    list.push(this.world.now);
    this.expired.set(clientId, list);
  }

  #entry(from: string, payload: Uint8Array, qos: QoS): LedgerEntry {
    const id = msgIdOf(payload);
    let e = this.entries.get(id);
    if (!e) {
      e = {
        from,
        qos,
        accepted: [],
        quotaDropped: [],
        refused: [],
        routed: [],
        expiresAt: 0,
        sent: undefined,
        outDropped: [],
      };
      this.entries.set(id, e);
    }
    return e;
  }

  accepted(from: string, payload: Uint8Array, qos: QoS): void {
    this.#entry(from, payload, qos).accepted.push(this.world.now);
  }
  quotaDropped(from: string, payload: Uint8Array): void {
    this.#entry(from, payload, 2).quotaDropped.push(this.world.now);
  }
  refused(from: string, payload: Uint8Array, code: number): void {
    this.#entry(from, payload, 0).refused.push({ code, at: this.world.now });
  }
  routed(from: string, payload: Uint8Array, to: string[], expiresAt = 0): void {
    const e = this.#entry(from, payload, 0);
    e.routed.push({ at: this.world.now, seq: ++this.#seq, gen: this.gen, to });
    e.expiresAt = expiresAt;
  }
  sent(to: string, payload: Uint8Array): void {
    const e = this.#entry('?', payload, 0);
    if (!e.sent?.has(to)) (e.sent ??= new Map()).set(to, ++this.#seq);
  }
  outDropped(to: string, payload: Uint8Array, why: string): void {
    this.#entry('?', payload, 0).outDropped.push({ to, why, at: this.world.now });
  }
  lostState(): void {
    this.gen++;
    this.losses.push(this.world.now);
  }

  /** A loss of state in (from, to], or of the session of `clientId` (it expired). */
  lostBetween(from: number, to: number, clientId?: string): boolean {
    return this.lossesOf(clientId).some((t) => t > from && t <= to);
  }

  /** Times the broker lost every session, and those the session of `clientId` expired. */
  lossesOf(clientId: string | undefined): number[] {
    const mine = clientId === undefined ? undefined : this.expired.get(clientId);
    return mine ? [...this.losses, ...mine] : this.losses;
  }
}

/** What a run counted beside its verdict. */
export interface Summary {
  published: number;
  delivered: number;
  sent: number;
  expired: number;
  dropped: number;
  rejected: number;
  /** Messages a MemoryStore held when the power failed (exempt from no-loss). */
  crashLost: number;
  /** Messages a FlashStore reported lost to damage at a mount (status dropped). */
  damaged: number;
  /** publish() calls cut by a power failure. */
  inDoubt: number;
  /** Messages that settled inside a power cut (their status never reached the application). */
  settledInCut: number;
  /** Delivered messages the subscriber missed because the broker lost them or was not subscribed. */
  brokerLost: number;
  /** Delivered messages the subscriber missed because their Message Expiry Interval ran out at the broker. */
  brokerExpired: number;
  /** Delivered messages the broker still holds for the subscriber at the end (Mosquitto 2.0.11 can stall a queue, see README). */
  brokerHeld: number;
  powerCuts: number;
  stateLosses: number;
  attempts: number;
  events: number;
  peakTimersPerSecond: number;
}

const FINAL = new Set(['delivered', 'sent', 'expired', 'dropped', 'rejected']);

/** Per-step checks: bounded queues, every connect settles, the client keeps trying. */
export function stepChecks(world: World, devices: Device[]): () => void {
  return () => {
    for (const d of devices) {
      if (!d.alive) continue;
      const c = d.client;
      const pol = d.spec.policy;
      const maxMessages = pol.maxMessages ?? 1000;
      if (c.held > maxMessages)
        world.fail('queue-within-policy', `${d.spec.name} holds ${c.held} messages, policy allows ${maxMessages}`);
      const store = d.boot.store;
      const maxBytes = Math.min(pol.maxBytes ?? 1 << 20, store.capacity);
      if (store.bytes > maxBytes)
        world.fail('queue-within-policy', `${d.spec.name} holds ${store.bytes} bytes, policy allows ${maxBytes}`);
    }
  };
}

/** Watches states: connect() settles within connectTimeout; offline never lasts past the backoff's cap. */
export function watchStates(world: World, d: Device): void {
  const spec = d.spec;
  const backoff = typeof spec.backoff === 'function' ? {} : spec.backoff;
  const lateness = 2_000; // timers late by a busy loop, a coarse tick
  let episode = 0;
  let onlineSince = -1;
  const previous = d.onBoot;
  const hook = () => {
    const client = d.client;
    const boot = d.boot;
    const inner = client.onState;
    client.onState = (state) => {
      inner?.(state);
      if (d.boot !== boot || !boot.alive) return;
      const mine = ++episode;
      if (state === 'connecting') {
        world.after(spec.connectTimeout + lateness, () => {
          if (episode === mine && d.boot === boot && boot.alive && d.state === 'connecting')
            world.fail(
              'connect-settles',
              `${spec.name}: connect() has not settled ${spec.connectTimeout + lateness} ms after it began (connectTimeout ${spec.connectTimeout})`,
            );
        });
      } else if (state === 'offline' && d.linkUp) {
        // (a client told its link is down makes no attempt until it is up again)
        const max = backoff.max ?? DEFAULT_BACKOFF.max;
        world.after(max + lateness, () => {
          if (episode === mine && d.boot === boot && boot.alive && d.state === 'offline' && d.linkUp)
            world.fail('keeps-trying', `${spec.name}: offline for ${max + lateness} ms without a new attempt`);
        });
        // the rule robust documents: a connection that stayed up `stableAfter` is healthy (an
        // acknowledged exchange makes it healthy sooner), and losing a healthy one retries within `min`
        const stable = backoff.stableAfter ?? DEFAULT_BACKOFF.stableAfter;
        const lasted = onlineSince >= 0 ? world.now - onlineSince : 0;
        if (lasted >= stable + lateness) {
          // MQTT 5 (RobustClient5's built-in strategy): a broker's DISCONNECT with one of the
          // reasons of DISCONNECT_ROUNDS (session taken over, server shutting down...) adds rounds
          const e = d.lastError;
          const rounds = spec.mqtt5 && e?.code === BROKER_DISCONNECT ? (DISCONNECT_ROUNDS[e.reasonCode ?? 0] ?? 0) : 0;
          const min = backoff.min ?? DEFAULT_BACKOFF.min;
          const cap = Math.min(max, min * (backoff.factor ?? DEFAULT_BACKOFF.factor) ** rounds);
          const bound = cap + lateness;
          world.after(bound, () => {
            if (episode === mine && d.boot === boot && boot.alive && d.state === 'offline' && d.linkUp)
              world.fail(
                'quick-return',
                `${spec.name}: a connection that was up for ${(lasted / 1000).toFixed(1)} s (healthy after ${stable} ms) dropped and no new attempt came within ${bound} ms`,
              );
          });
        }
      }
      onlineSince = state === 'online' ? world.now : -1;
      if (state === 'online') d.lastError = undefined;
    };
  };
  d.onBoot = () => {
    previous?.();
    hook();
  };
  hook();
}

/** The checks after a run, in the order a reader wants them. */
export function finalChecks(
  world: World,
  ledger: BrokerLedger,
  devices: Device[],
  observer: Device,
  calmAt: number,
  brokerHolds: (clientId: string, msgId: string) => boolean = () => false,
): Summary {
  const summary: Summary = {
    published: 0,
    delivered: 0,
    sent: 0,
    expired: 0,
    dropped: 0,
    rejected: 0,
    crashLost: 0,
    damaged: 0,
    inDoubt: 0,
    settledInCut: 0,
    brokerLost: 0,
    brokerExpired: 0,
    brokerHeld: 0,
    powerCuts: 0,
    stateLosses: ledger.losses.length,
    attempts: 0,
    events: world.events,
    peakTimersPerSecond: 0,
  };
  // receipts by the subscriber
  const got = new Map<string, { qos: QoS; at: number; retain: boolean }[]>();
  for (const r of observer.received) {
    let list = got.get(r.msgId);
    if (!list) got.set(r.msgId, (list = []));
    list.push({ qos: r.qos, at: r.at, retain: r.retain });
  }
  const everyone = [...devices, observer];
  for (const d of everyone) {
    summary.powerCuts += d.cuts;
    summary.damaged += d.damaged;
    summary.attempts += d.attempts;
    summary.peakTimersPerSecond = Math.max(summary.peakTimersPerSecond, d.boot.clock.peakPerSecond);
    // liveness: once the faults stopped, everything settled
    world.check(d.alive, 'liveness', () => `${d.spec.name} has no power at the end`);
    world.check(
      d.state === 'online',
      'liveness',
      () =>
        `${d.spec.name} is ${d.state} at the end, ${((world.now - calmAt) / 1000).toFixed(0)} s after the faults stopped`,
    );
    world.check(
      d.client.held === 0,
      'liveness',
      () => `${d.spec.name} still holds ${d.client.held} messages at the end`,
    );
    for (const rec of d.records)
      checkRecord(world, ledger, d, rec, summary, got, d === observer ? null : observer, brokerHolds);
  }
  const published = new Map<string, PubRecord>();
  for (const d of everyone) for (const r of d.records) published.set(r.msgId, r);
  for (const d of everyone) checkReceived(world, ledger, d, published);
  checkOrder(world, ledger, devices, observer);
  return summary;
}

function checkRecord(
  world: World,
  ledger: BrokerLedger,
  d: Device,
  rec: PubRecord,
  summary: Summary,
  got: Map<string, { qos: QoS; at: number; retain: boolean }[]>,
  observer: Device | null,
  brokerHolds: (clientId: string, msgId: string) => boolean,
): void {
  summary.published++;
  const id = rec.msgId;
  const e = ledger.entries.get(id);
  const finals = rec.statuses.filter((s) => FINAL.has(s.status));
  if (rec.inDoubt && !rec.recovered.length) {
    summary.inDoubt++;
    world.check(!finals.length, 'one-final-status', () => `${id} was cut inside publish() yet got a status`);
    return;
  }
  if (rec.crashLost) {
    summary.crashLost++;
    return;
  }
  if (!finals.length) {
    // it disappeared in a power cut (the store dropped it, the status never reached the application)?
    const lastHeld = Math.max(rec.boot, ...rec.recovered);
    if (lastHeld < d.boots) {
      // the client decided its fate (wrote it at once, refused it, or told the store to remove it)
      // and the power failed before the status reached the application
      if (rec.key! <= 0 || d.removedIn(lastHeld, rec)) {
        summary.settledInCut++;
        return;
      }
      world.fail(
        'flash-keeps-accepted',
        `${id} (QoS ${rec.qos}) was accepted by publish() (key ${rec.key}) and is gone after a power cut, though the client never removed it from the store`,
      );
    }
    world.fail('one-final-status', `${id} (${rec.kind}, QoS ${rec.qos}) has no final status at the end`);
  }
  world.check(finals.length === 1, 'one-final-status', () => `${id} got ${finals.length} final statuses`);
  const status = finals[0]!;
  summary[status.status as 'delivered' | 'sent' | 'expired' | 'dropped' | 'rejected']++;
  if (rec.qos === 0) {
    if (status.status === 'delivered')
      world.fail(
        'honest-status',
        `${id} (QoS 0) reported delivered: QoS 0 has no acknowledgement, its status is 'sent'`,
      );
    return;
  }
  if (status.status !== 'delivered') return;
  // delivered only when the broker sent the acknowledgement
  const acked = e?.accepted.some((t) => t <= status.at);
  if (!acked) {
    if (e?.quotaDropped.length)
      world.fail(
        'honest-status',
        `${id} reported delivered, but the broker dropped it past its in-flight quota (PUBREC 0x97)`,
      );
    if (e?.refused.length)
      world.fail(
        'honest-status',
        `${id} reported delivered, but the broker refused it (0x${e.refused[0]!.code.toString(16)})`,
      );
    world.fail('honest-status', `${id} reported delivered, but the broker never acknowledged it`);
  }
  if (!observer) return;
  // the subscriber's view: nothing delivered is lost while the broker keeps its state
  const receipts = got.get(id) ?? [];
  if (!receipts.length) {
    const routedToObserver = e?.routed.filter((x) => x.to.includes(observer.spec.clientId)) ?? [];
    if (!e?.routed.length) {
      // (a QoS 2 message held at PUBREC when the broker lost its state must have been published again)
      const lost = ledger.lostBetween(rec.at, status.at, d.spec.clientId);
      if (lost && rec.qos === 2 && connackLost(ledger, d, rec.at, status.at)) {
        summary.brokerLost++;
        return;
      }
      world.fail(
        'no-loss',
        `${id} (QoS ${rec.qos}) reported delivered, but the broker never routed it${lost ? ' (the broker lost its state meanwhile)' : ''}`,
      );
    }
    if (!routedToObserver.length) {
      summary.brokerLost++; // the subscriber was not subscribed when it was routed (its session was lost)
      return;
    }
    const first = routedToObserver[0]!.at;
    const dropped = e!.outDropped.some((x) => x.to === observer.spec.clientId);
    if (dropped || ledger.lostBetween(first, world.now)) {
      summary.brokerLost++;
      return;
    }
    // its Message Expiry Interval ran out at the broker (MQTT 5): the broker may drop it
    if (e!.expiresAt && e!.expiresAt <= world.now) {
      summary.brokerExpired++;
      return;
    }
    // the broker has it still, queued for the subscriber: not lost, and not the clients' doing
    if (brokerHolds(observer.spec.clientId, id)) {
      summary.brokerHeld++;
      return;
    }
    world.fail('no-loss', `${id} (QoS ${rec.qos}) was delivered and routed to the subscriber, which never got it`);
  }
  // QoS 2 at most once, unless a session was lost past PUBREC and the client published it again as
  // a new message, as its status says (at least once beats lost, robust's documented rule)
  const twice = receipts.filter((x) => x.qos === 2).length;
  if (twice > 1 && !republished(rec) && !ledger.lostBetween(rec.at, world.now))
    world.fail('qos2-once', `${id} (QoS 2) reached the subscriber ${twice} times`);
}

/**
 * While 'connack-lost-session' is excluded: after the broker lost its state, a persistent connect
 * of the device made a new session whose CONNACK never reached it (the device did not come
 * online within connectTimeout), so its next connect is told session present and the client
 * releases (PUBREL) a QoS 2 message past PUBREC that the new session never had.
 */
function connackLost(ledger: BrokerLedger, d: Device, from: number, to: number): boolean {
  if (enabled('connack-lost-session')) return false;
  const loss = Math.max(...ledger.lossesOf(d.spec.clientId).filter((t) => t > from && t <= to));
  return (ledger.sessionsMade.get(d.spec.clientId) ?? []).some(
    (made) =>
      made > loss &&
      made <= to &&
      !d.states.some((s) => s.state === 'online' && s.at >= made && s.at <= made + d.spec.connectTimeout),
  );
}

/**
 * Published again as a new message after a session was lost past PUBREC, as its status says (the
 * mark is kept in the store with the message's stage, so a reboot keeps it too).
 */
function republished(rec: PubRecord | undefined): boolean {
  return !!rec?.statuses.some((s) => /session was lost/.test(s.reason ?? ''));
}

/** What a client received: QoS 2 at most once, across its reboots too with a flash store (the incoming ids held until PUBREL are in it). */
function checkReceived(world: World, ledger: BrokerLedger, d: Device, published: Map<string, PubRecord>): void {
  const seen = new Map<string, number>();
  for (const r of d.received) {
    if (r.qos !== 2) continue;
    const prev = seen.get(r.msgId);
    const rec = published.get(r.msgId);
    const excused = republished(rec) || (rec !== undefined && ledger.lostBetween(rec.at, r.at));
    // across a reboot only with a persistent store: a MemoryStore forgets the ids it held with the
    // rest of its RAM, as it forgets its queue (exempt, like the messages it held)
    if (prev !== undefined && !excused && (prev === r.boot || d.spec.store === 'flash'))
      world.fail(
        'qos2-once',
        `${d.spec.name} received ${r.msgId} (QoS 2) twice${prev !== r.boot ? ' across a reboot' : ''}`,
      );
    seen.set(r.msgId, r.boot);
  }
}

/**
 * Order, per topic (one publisher, one QoS, one priority each), in the two places a client
 * decides it: the publisher's messages are first routed by the broker in publish order, and the
 * subscriber hands them over in the order the broker first sent them. (Between the two the broker
 * may reorder: Mosquitto 2.0.11 puts a new message in flight ahead of older queued ones when an
 * acknowledgement left its send quota up and the window full; that is not the clients' doing.)
 * A message published again after its session was lost, or when the broker lost its state or the
 * device its memory, is exempt.
 */
function checkOrder(world: World, ledger: BrokerLedger, devices: Device[], observer: Device): void {
  const exempt = (rec: PubRecord, d: Device) =>
    rec.crashLost || republished(rec) || ledger.lostBetween(rec.at, world.now, d.spec.clientId);
  for (const d of devices) {
    const byTopic = new Map<string, { rec: PubRecord; seq: number }[]>();
    for (const rec of d.records) {
      const first = ledger.entries.get(rec.msgId)?.routed[0];
      if (!first || exempt(rec, d)) continue;
      let list = byTopic.get(rec.topic);
      if (!list) byTopic.set(rec.topic, (list = []));
      list.push({ rec, seq: first.seq });
    }
    for (const [topic, list] of byTopic) {
      list.sort((a, b) => a.seq - b.seq);
      for (let i = 1; i < list.length; i++) {
        const prev = list[i - 1]!.rec;
        const rec = list[i]!.rec;
        if (rec.serial < prev.serial)
          world.fail(
            'order',
            `on ${topic} the broker routed ${rec.msgId} after ${prev.msgId} (QoS ${rec.qos}, published in the other order)`,
          );
      }
    }
  }
  // the subscriber: first receipts in the order of the broker's first sends to it
  // (not after the broker lost the subscriber's session: what it sent before is not what it sends after)
  const to = observer.spec.clientId;
  if (ledger.lostBetween(0, world.now, to)) return;
  const last = new Map<string, { id: string; seq: number }>();
  const seen = new Set<string>();
  for (const r of observer.received) {
    if (seen.has(r.msgId)) continue;
    seen.add(r.msgId);
    const seq = ledger.entries.get(r.msgId)?.sent?.get(to);
    if (seq === undefined) continue;
    const prev = last.get(r.topic);
    if (prev && seq < prev.seq)
      world.fail(
        'order',
        `on ${r.topic} the subscriber handed over ${r.msgId} after ${prev.id}, which the broker sent after it`,
      );
    last.set(r.topic, { id: r.msgId, seq });
  }
}
