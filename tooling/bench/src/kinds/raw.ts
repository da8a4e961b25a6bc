// The raw reference: hand-written MQTT 3.1.1 bytes on a node:net socket, no client logic.
// PUBLISH packets are encoded before the timer starts and written in large chunks; at QoS 1/2
// it keeps at most the window's messages in flight and answers PUBREC with PUBREL; everything
// one input causes (acknowledgements, PUBRELs, the publishes the window then allows) leaves
// corked, in one write. This is the best a client could do on this machine and broker, not a
// usable client.
import { connect, type Socket } from 'node:net';
import {
  DONE_TOPIC,
  MARKER,
  TOPIC,
  WINDOW,
  deferred,
  gc,
  heapAndExternal,
  MB,
  type Broker,
  type Burst,
  type Conn,
  type Kind,
  type OfflineResult,
  type Payloads,
  type Progress,
  type QoS,
} from '../common.js';

const CHUNK = 64 * 1024;
/** Pre-encode the whole batch when it fits in this many bytes; beyond it, headers + payload views. */
const PREENCODE_LIMIT = 64 * MB;

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

/** The PUBLISH header (fixed header, topic, id) for a payload of `size` bytes; the id sits at `idAt`. */
function publishHeader(topic: string, qos: QoS, size: number): { header: Buffer; idAt: number } {
  const t = str(topic);
  const rem = t.length + (qos ? 2 : 0) + size;
  const bytes = [0x30 | (qos << 1), ...varint(rem), ...t];
  const idAt = bytes.length;
  if (qos) bytes.push(0, 0);
  return { header: Buffer.from(bytes), idAt };
}

/** One whole PUBLISH packet. */
function publishPacket(topic: string, qos: QoS, payload: Uint8Array, id: number): Buffer {
  const { header, idAt } = publishHeader(topic, qos, payload.length);
  const out = Buffer.allocUnsafe(header.length + payload.length);
  header.copy(out);
  out.set(payload, header.length);
  if (qos) out.writeUInt16BE(id, idAt);
  return out;
}

const nextId = (id: number) => (id % 65535) + 1;

class RawConn implements Conn {
  readonly sock: Socket;
  #rest: Buffer | undefined;
  #connack = deferred<void>();
  #suback = deferred<void>();
  /** Called for each PUBACK (4), PUBREC (5), PUBCOMP (7) with the id. */
  onAck: ((type: number, id: number) => void) | undefined;
  /** Called after each chunk of input was handled (write what the acks allowed, in one go). */
  afterInput: (() => void) | undefined;
  /** Called when the connection closes (a burst then fails instead of waiting for ever). */
  onClose: (() => void) | undefined;
  #closed = () => {
    this.#connack.reject(new Error('connection closed before CONNACK'));
    this.onClose?.();
  };
  #onMessage: ((payload: Uint8Array) => void) | undefined;
  #pubrels: number[] = [];
  #acks: number[] = [];
  // fixed-rate sending (latency test)
  #id = 0;
  #inflight = 0;
  #waiting: Buffer[] = [];
  #sendIds = new Set<number>();

  constructor(broker: Broker, clientId: string) {
    const sock = (this.sock = connect({ host: broker.host, port: broker.port }));
    sock.setNoDelay(true);
    sock.on('error', (e) => this.#connack.reject(e));
    sock.on('close', () => this.#closed());
    sock.on('data', (chunk: Buffer) => this.#input(chunk));
    // keepalive 0: no PINGREQ to send, and the broker never drops the connection while this
    // process waits for its turn (the others' runs can take minutes)
    const body = [...str('MQTT'), 4, 0x02, 0, 0, ...str(clientId)];
    sock.write(Buffer.from([0x10, ...varint(body.length), ...body]));
  }

  connected(): Promise<void> {
    return this.#connack.promise;
  }

  #input(chunk: Buffer): void {
    // Everything this input causes (acknowledgements, PUBRELs, the publishes the window now
    // allows) leaves in one write: corked until the end
    this.sock.cork();
    try {
      this.#handle(chunk);
    } finally {
      this.sock.uncork();
    }
  }

  #handle(chunk: Buffer): void {
    const buf = this.#rest ? Buffer.concat([this.#rest, chunk]) : chunk;
    let o = 0;
    while (buf.length - o >= 2) {
      let rem = 0;
      let mul = 1;
      let i = o + 1;
      let complete = false;
      while (i < buf.length) {
        const b = buf[i++]!;
        rem += (b & 127) * mul;
        mul *= 128;
        if (!(b & 128)) {
          complete = true;
          break;
        }
      }
      if (!complete || buf.length - i < rem) break;
      this.#packet(buf[o]!, buf.subarray(i, i + rem));
      o = i + rem;
    }
    this.#rest = o < buf.length ? Buffer.from(buf.subarray(o)) : undefined;
    if (this.#pubrels.length) {
      const out = Buffer.allocUnsafe(this.#pubrels.length * 4);
      this.#pubrels.forEach((id, k) => out.writeUInt32BE(0x62020000 | id, k * 4));
      this.#pubrels = [];
      this.sock.write(out);
    }
    if (this.#acks.length) {
      const out = Buffer.allocUnsafe(this.#acks.length * 4);
      this.#acks.forEach((id, k) => out.writeUInt32BE(0x40020000 | id, k * 4));
      this.#acks = [];
      this.sock.write(out);
    }
    this.afterInput?.();
  }

  #packet(first: number, body: Buffer): void {
    const type = first >> 4;
    switch (type) {
      case 2:
        if (body[1] !== 0) this.#connack.reject(new Error(`CONNACK refused: ${body[1]}`));
        else this.#connack.resolve();
        return;
      case 3: {
        const qos = (first >> 1) & 3;
        const tl = body.readUInt16BE(0);
        let o = 2 + tl;
        if (qos) {
          const id = body.readUInt16BE(o);
          o += 2;
          if (qos === 1) this.#acks.push(id);
        }
        this.#onMessage?.(body.subarray(o));
        return;
      }
      case 5:
        this.#pubrels.push(body.readUInt16BE(0));
        this.onAck?.(5, body.readUInt16BE(0));
        return;
      case 4:
      case 7: {
        const id = body.readUInt16BE(0);
        if (this.#sendIds.delete(id)) {
          this.#inflight--;
          const next = this.#waiting.shift();
          if (next) this.#write(next);
          return;
        }
        this.onAck?.(type, id);
        return;
      }
      case 9:
        this.#suback.resolve();
        return;
    }
  }

  prepare(count: number, qos: QoS, payloads: Payloads, progress: Progress, window: number): Burst {
    const size = payloads.size;
    const { header, idAt } = publishHeader(TOPIC, qos, size);
    const len = header.length + size;
    const idOf = (i: number) => (i % 65535) + 1; // message i has id i+1 (ids wrap after 65535)
    const large = size >= 4096;
    let all: Buffer | undefined;
    let headers: Buffer[] | undefined;
    let views: ((i: number) => Uint8Array) | undefined;
    if (count * len <= PREENCODE_LIMIT) {
      // every packet encoded now, into one buffer: the timed loop only writes slices of it
      all = Buffer.allocUnsafe(count * len);
      for (let i = 0; i < count; i++) {
        header.copy(all, i * len);
        if (qos) all.writeUInt16BE(idOf(i), i * len + idAt);
        all.set(payloads.at(i), i * len + header.length);
      }
    } else if (large) {
      // every header encoded now; each payload is written after its header without a copy
      headers = Array.from({ length: count }, (_, i) => {
        const h = Buffer.from(header);
        if (qos) h.writeUInt16BE(idOf(i), idAt);
        return h;
      });
      views = payloads.source();
    }
    // else (the memory row: a million small messages, more than PREENCODE_LIMIT): each chunk is
    // encoded when it is written, which is the least memory a sender can hold
    const markerId = qos ? idOf(count) : 1;
    const marker = publishPacket(DONE_TOPIC, 1, MARKER, markerId);
    const sock = this.sock;
    /** Writes messages [from, to); returns false once the socket wants no more. */
    const write = (from: number, to: number): boolean => {
      if (all) return sock.write(all.subarray(from * len, to * len));
      if (headers) {
        let ok = true;
        sock.cork();
        for (let i = from; i < to; i++) {
          sock.write(headers[i]!);
          ok = sock.write(views!(i));
        }
        sock.uncork();
        return ok;
      }
      const out = Buffer.allocUnsafe((to - from) * len);
      for (let i = from; i < to; i++) {
        const o = (i - from) * len;
        header.copy(out, o);
        if (qos) out.writeUInt16BE(idOf(i), o + idAt);
        out.set(payloads.at(i), o + header.length);
      }
      return sock.write(out);
    };
    return {
      run: () => {
        const done = deferred<void>();
        let next = 0;
        let acked = 0;
        let inflight = 0;
        let markerAcked = false;
        const finish = () => {
          if (markerAcked && acked === (qos ? count : 0)) done.resolve();
        };
        let markerSent = false;
        const sendMarker = () => {
          markerSent = true;
          sock.write(marker);
        };
        this.onAck = (type, id) => {
          // After the batch was handed over, a PUBACK for markerId is the marker's: the batch
          // message that had that id (65535 messages earlier) was acknowledged long before.
          if (type === 4 && markerSent && id === markerId && !markerAcked) {
            markerAcked = true;
            return finish();
          }
          if ((qos === 1 && type === 4) || (qos === 2 && type === 7)) {
            inflight--;
            acked++;
            finish();
          }
        };
        if (qos === 0) {
          this.afterInput = undefined;
          const loop = () => {
            while (next < count) {
              const to = Math.min(count, next + Math.max(1, Math.floor(CHUNK / len)));
              const ok = write(next, to);
              next = to;
              progress.sent = next;
              if (!ok) return void sock.once('drain', loop);
            }
            sendMarker();
          };
          loop();
        } else {
          const pump = () => {
            if (next < count && inflight < window) {
              const to = Math.min(count, next + window - inflight);
              inflight += to - next;
              write(next, to);
              next = to;
              progress.sent = next;
            }
            // the marker is a QoS 1 message like the others: it waits for room in the window
            if (next === count && !markerSent && inflight < window) {
              inflight++;
              sendMarker();
            }
          };
          this.afterInput = pump;
          sock.cork(); // the first window in one write, as after each input
          pump();
          sock.uncork();
        }
        this.onClose = () => done.reject(new Error('the broker closed the connection'));
        return done.promise.finally(() => {
          this.onClose = undefined;
          this.onAck = undefined;
          this.afterInput = undefined;
        });
      },
    };
  }

  #write(p: Buffer): void {
    this.#inflight++;
    this.sock.write(p);
  }

  send(topic: string, payload: Uint8Array, qos: QoS): void {
    let id = 0;
    if (qos) {
      do id = this.#id = nextId(this.#id);
      while (this.#sendIds.has(id));
      this.#sendIds.add(id);
    }
    const p = publishPacket(topic, qos, payload, id);
    if (!qos) this.sock.write(p);
    else if (this.#inflight < WINDOW) this.#write(p);
    else this.#waiting.push(p);
  }

  subscribe(topic: string, qos: QoS, onMessage: (payload: Uint8Array) => void): Promise<void> {
    this.#onMessage = onMessage;
    const body = [0, 1, ...str(topic), qos];
    this.sock.write(Buffer.from([0x82, ...varint(body.length), ...body]));
    return this.#suback.promise;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.sock.end(Buffer.from([0xe0, 0]), () => resolve());
      this.sock.destroySoon();
    });
  }
}

export const raw: Kind = {
  id: 'raw',
  label: 'raw reference',
  async open(broker, clientId) {
    const c = new RawConn(broker, clientId);
    await c.connected();
    return c;
  },
  /** The floor for holding messages: one pre-encoded packet per message in an array; drained through the window. */
  async offline(broker, clientId, count, payloads): Promise<OfflineResult> {
    gc();
    const m0 = heapAndExternal();
    const r0 = process.memoryUsage.rss();
    const t0 = performance.now();
    const held: Buffer[] = [];
    for (let i = 0, id = 0; i < count; i++) held.push(publishPacket(TOPIC, 1, payloads.at(i), (id = nextId(id))));
    const enqueueMs = performance.now() - t0;
    gc();
    const bytesPerMessage = (heapAndExternal() - m0) / count;
    const rssGrowthMB = (process.memoryUsage.rss() - r0) / MB;
    const t1 = performance.now();
    const c = new RawConn(broker, clientId);
    await c.connected();
    const done = deferred<void>();
    let next = 0;
    let acked = 0;
    let inflight = 0;
    c.onAck = (type) => {
      if (type !== 4) return;
      inflight--;
      if (++acked === count) done.resolve();
    };
    c.afterInput = () => {
      if (next >= count || inflight >= WINDOW) return;
      c.sock.cork();
      while (next < count && inflight < WINDOW) {
        c.sock.write(held[next]!);
        held[next++] = undefined as unknown as Buffer; // sent: forget it
        inflight++;
      }
      c.sock.uncork();
    };
    c.afterInput();
    await done.promise;
    const drainMs = performance.now() - t1;
    await c.close();
    return { count, enqueueMs, bytesPerMessage, rssGrowthMB, drainMs, delivered: acked };
  },
};
