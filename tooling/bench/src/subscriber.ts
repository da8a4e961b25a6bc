// The subscriber that counts what arrived: hand-written MQTT 3.1.1 on a node:net socket, the
// same for every client under test, in a process of its own. It subscribes to the burst's topic
// at the burst's QoS, acknowledges as a client must (PUBACK; PUBREC, then PUBCOMP for each
// PUBREL), corked, and reads only the first bytes of each payload: the stamp (sequence number,
// tag) that says which message of which run it is. Payload bytes past the stamp are skipped where
// they lie, never copied, so a 256 KiB message costs it what a 64-byte one does.
import { connect, type Socket } from 'node:net';
import { STAMP, deferred, now, type Broker, type QoS } from './common.js';

/** What arrived of one run (messages whose tag is the run's). */
export interface Arrivals {
  /** Messages the run published. */
  expected: number;
  /** Of them, how many arrived at least once. */
  distinct: number;
  /** Arrivals beyond the first of a message. */
  duplicates: number;
  /** Messages with another tag (a warm-up, an earlier run): not counted. */
  stale: number;
  /** Stamps that are not a message of this run (a sequence number out of range). */
  foreign: number;
  /** When the first and the last message of the run arrived (`now()`, shared by every process). */
  first: number;
  last: number;
}

function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n) b |= 128;
    out.push(b);
  } while (n);
  return out;
}

function str(s: string): number[] {
  const b = Buffer.from(s, 'utf8');
  return [b.length >> 8, b.length & 255, ...b];
}

/** The bytes of a packet body the subscriber reads before skipping the rest. */
const PREFIX = 1024;

export class Subscriber {
  readonly #sock: Socket;
  readonly #connack = deferred<void>();
  readonly #suback = deferred<void>();
  // parser state: the fixed header being read, then the body's prefix, then bytes to skip
  #first = -1;
  #rem = 0;
  #mul = 1;
  #inHeader = false;
  /** A PUBLISH's topic length was read (its prefix now reaches the stamp). */
  #lengthRead = false;
  readonly #pre = Buffer.allocUnsafe(PREFIX);
  #have = 0;
  #need = 0;
  #skip = 0;
  #acks: number[] = [];
  // the run being counted
  #tag = -1;
  #seen = new Uint8Array(0);
  #arrivals: Arrivals = { expected: 0, distinct: 0, duplicates: 0, stale: 0, foreign: 0, first: 0, last: 0 };
  /** `now()` of the last PUBLISH of any tag: the orchestrator waits until the stream goes quiet. */
  lastAny = 0;
  /** The broker closed the connection: nothing more will arrive. */
  closed = false;

  constructor(broker: Broker, clientId: string) {
    const sock = (this.#sock = connect({ host: broker.host, port: broker.port }));
    sock.setNoDelay(true);
    sock.on('error', (e) => {
      this.#connack.reject(e);
      this.#suback.reject(e);
    });
    sock.on('data', (chunk: Buffer) => this.#input(chunk));
    sock.on('close', () => {
      this.closed = true;
      this.#connack.reject(new Error('connection closed'));
    });
    // keepalive 0: no PINGREQ to send, and the broker never drops the connection while the
    // subscriber has nothing to acknowledge (QoS 0, or runs of other kinds of rows)
    const body = [...str('MQTT'), 4, 0x02, 0, 0, ...str(clientId)];
    sock.write(Buffer.from([0x10, ...varint(body.length), ...body]));
  }

  async subscribe(topic: string, qos: QoS): Promise<void> {
    await this.#connack.promise;
    const body = [0, 1, ...str(topic), qos];
    this.#sock.write(Buffer.from([0x82, ...varint(body.length), ...body]));
    await this.#suback.promise;
  }

  /** Starts counting a run of `expected` messages stamped with `tag`. */
  expect(tag: number, expected: number): void {
    this.#tag = tag;
    if (this.#seen.length < expected) this.#seen = new Uint8Array(expected);
    else this.#seen.fill(0, 0, expected);
    this.#arrivals = { expected, distinct: 0, duplicates: 0, stale: 0, foreign: 0, first: 0, last: 0 };
  }

  get arrivals(): Arrivals {
    return { ...this.#arrivals };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#sock.end(Buffer.from([0xe0, 0]), () => resolve());
      this.#sock.destroySoon();
    });
  }

  #input(chunk: Buffer): void {
    let o = 0;
    const n = chunk.length;
    while (o < n) {
      if (this.#skip) {
        const k = Math.min(this.#skip, n - o);
        this.#skip -= k;
        o += k;
        continue;
      }
      if (this.#first < 0) {
        this.#first = chunk[o++]!;
        this.#rem = 0;
        this.#mul = 1;
        this.#inHeader = true;
        continue;
      }
      if (this.#inHeader) {
        const b = chunk[o++]!;
        this.#rem += (b & 127) * this.#mul;
        this.#mul *= 128;
        if (b & 128) continue;
        this.#inHeader = false;
        this.#lengthRead = false;
        this.#have = 0;
        this.#need = this.#first >> 4 === 3 ? Math.min(this.#rem, 2) : this.#rem;
        if (this.#need > PREFIX) throw new Error(`packet ${this.#first >> 4} of ${this.#rem} bytes: unexpected here`);
        if (this.#need === 0) this.#packet();
        continue;
      }
      const k = Math.min(this.#need - this.#have, n - o);
      chunk.copy(this.#pre, this.#have, o, o + k);
      this.#have += k;
      o += k;
      if (this.#have < this.#need) continue;
      if (this.#first >> 4 === 3 && !this.#lengthRead && this.#rem > 2) {
        // the topic's length is known: read the topic, the id and the stamp
        this.#lengthRead = true;
        const qos = (this.#first >> 1) & 3;
        const upTo = 2 + this.#pre.readUInt16BE(0) + (qos ? 2 : 0) + STAMP;
        this.#need = Math.min(this.#rem, upTo);
        if (this.#need > PREFIX) throw new Error(`topic of ${this.#pre.readUInt16BE(0)} bytes: unexpected here`);
        if (this.#have < this.#need) continue;
      }
      this.#packet();
    }
    if (this.#acks.length) {
      const out = Buffer.allocUnsafe(this.#acks.length * 4);
      for (let k = 0; k < this.#acks.length; k++) out.writeUInt32BE(this.#acks[k]!, k * 4);
      this.#acks = [];
      this.#sock.write(out);
    }
  }

  /** The prefix of a packet is read: handle it, then skip the rest of its body. */
  #packet(): void {
    const first = this.#first;
    const type = first >> 4;
    const pre = this.#pre;
    this.#skip = this.#rem - this.#need;
    this.#first = -1;
    switch (type) {
      case 2:
        if (pre[1] !== 0) this.#connack.reject(new Error(`CONNACK refused: ${pre[1]}`));
        else this.#connack.resolve();
        return;
      case 9:
        if (pre[2]! >= 0x80) this.#suback.reject(new Error('SUBACK refused the subscription'));
        else this.#suback.resolve();
        return;
      case 6: // PUBREL: PUBCOMP
        this.#acks.push(0x70020000 | pre.readUInt16BE(0));
        return;
      case 3:
        break;
      default:
        return;
    }
    const qos = (first >> 1) & 3;
    let o = 2 + pre.readUInt16BE(0);
    if (qos) {
      const id = pre.readUInt16BE(o);
      o += 2;
      this.#acks.push((qos === 1 ? 0x40020000 : 0x50020000) | id);
    }
    const t = now();
    this.lastAny = t;
    if (this.#need - o < STAMP) return void this.#arrivals.foreign++;
    const seq = pre.readUInt32LE(o);
    const tag = pre.readUInt32LE(o + 4);
    const a = this.#arrivals;
    if (tag !== this.#tag) return void a.stale++;
    if (seq >= a.expected) return void a.foreign++;
    if (!a.first) a.first = t;
    a.last = t;
    if (this.#seen[seq]) a.duplicates++;
    else {
      this.#seen[seq] = 1;
      a.distinct++;
    }
  }
}
