// A readable record of a run: packets on the wire (decoded), faults, states and statuses, one
// line each. Only replays keep one (a run is deterministic, so a failing seed is simply run again
// with a trace), so seeds that pass pay nothing for it.
import { Parser, allDecoders, type Packet } from '@umqtt/codec';
import { Parser as Parser5, allDecoders as allDecoders5, type Packet as Packet5 } from '@umqtt/codec/v5';

export class Trace {
  readonly lines: string[] = [];
  /** Lines kept (the oldest give way). */
  readonly limit: number;
  dropped = 0;

  constructor(limit = 5000) {
    this.limit = limit;
  }

  note(time: number, who: string, text: string): void {
    if (this.lines.length >= this.limit) {
      this.lines.shift();
      this.dropped++;
    }
    this.lines.push(`${clock(time)}  ${who.padEnd(14)} ${text}`);
  }

  /** The last `n` lines, with a note of how many came before. */
  tail(n: number): string {
    const skipped = this.dropped + Math.max(0, this.lines.length - n);
    const head = skipped ? [`... ${skipped} earlier lines`] : [];
    return [...head, ...this.lines.slice(-n)].join('\n');
  }
}

/** `h:mm:ss.mmm` of a virtual time in ms. */
export function clock(ms: number): string {
  const t = Math.max(0, ms);
  const h = Math.floor(t / 3_600_000);
  const m = Math.floor((t % 3_600_000) / 60_000);
  const s = (t % 60_000) / 1000;
  return `${h}:${String(m).padStart(2, '0')}:${s.toFixed(3).padStart(6, '0')}`;
}

const NAMES = [
  '?',
  'CONNECT',
  'CONNACK',
  'PUBLISH',
  'PUBACK',
  'PUBREC',
  'PUBREL',
  'PUBCOMP',
  'SUBSCRIBE',
  'SUBACK',
  'UNSUBSCRIBE',
  'UNSUBACK',
  'PINGREQ',
  'PINGRESP',
  'DISCONNECT',
];

/** One line for a packet: its name and the fields that matter when reading a trace. */
export function describePacket(packet: Packet | Packet5): string {
  const p = packet as Packet & Packet5; // the fields either protocol has; MQTT 5's shown where present
  const name = NAMES[p.type] ?? `type ${p.type}`;
  const props = 'properties' in p && p.properties ? ` ${JSON.stringify(p.properties, bytesAsLength)}` : '';
  const rc = (code: number | undefined) => (code ? ` rc=0x${code.toString(16)}` : '');
  switch (p.type) {
    case 1:
      return `${name} id=${p.clientId} clean=${p.clean ? 1 : 0} keepAlive=${p.keepAlive}${props}`;
    case 2:
      return `${name} sp=${p.sessionPresent ? 1 : 0} rc=${p.returnCode ?? p.reasonCode}${props}`;
    case 3: {
      const text = printable(p.payload);
      return `${name} ${p.topic} q${p.qos ?? 0}${p.id ? ` #${p.id}` : ''}${p.dup ? ' dup' : ''}${p.retain ? ' retain' : ''} "${text}"${props}`;
    }
    case 8:
      return `${name} #${p.id} ${p.subscriptions.map((s) => `${s.topic}:q${s.qos}`).join(' ')}`;
    case 9:
    case 11: {
      const codes = (p as { granted?: number[] }).granted ?? (p as { reasonCodes?: number[] }).reasonCodes;
      return `${name} #${p.id}${codes ? ` [${codes.join(',')}]` : ''}`;
    }
    case 10:
      return `${name} #${p.id} ${p.topics.join(' ')}`;
    case 4:
    case 5:
    case 6:
    case 7:
      return `${name} #${p.id}${rc(p.reasonCode)}`;
    case 14:
      return `${name}${rc(p.reasonCode)}${props}`;
    default:
      return name;
  }
}

const bytesAsLength = (_: string, v: unknown) => (v instanceof Uint8Array ? `(${v.length} B)` : v);

/** The protocol level of a CONNECT at the start of `b` (4 or 5; 4 for anything else), or undefined until its bytes are there. */
export function protocolLevel(b: Uint8Array): number | undefined {
  if (b[0] !== 0x10) return b.length ? 4 : undefined;
  let i = 1;
  while (i < 5 && i < b.length && b[i]! & 0x80) i++;
  // after the remaining length: 00 04 'MQTT', then the level
  const at = i + 1 + 6;
  return b.length > at ? b[at] : undefined;
}

function printable(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length && i < 40; i++) {
    const c = b[i]!;
    s += c >= 32 && c < 127 ? String.fromCharCode(c) : '.';
  }
  return b.length > 40 ? `${s}...(${b.length} B)` : s;
}

/** Decodes one direction of a connection for the trace; bytes that do not parse are shown as such. */
export class WireTap {
  /** Made at the first bytes up (the CONNECT's protocol level), or down (the level the peer tap saw). */
  #parser: Parser | undefined;
  #pre: Uint8Array | undefined;
  #broken = false;
  /** The connection's protocol level, once the CONNECT showed it. */
  level: number | undefined;

  /** `up`: the device's direction (it reads the CONNECT); otherwise the tap of that direction. */
  constructor(
    readonly trace: Trace,
    readonly who: string,
    readonly up: WireTap | undefined = undefined,
  ) {}

  push(time: number, bytes: Uint8Array): void {
    if (this.#broken) return;
    if (!this.#parser) {
      const all = this.#pre ? Uint8Array.of(...this.#pre, ...bytes) : bytes.slice();
      const level = this.up ? this.up.level : (this.level = protocolLevel(all));
      if (level === undefined) {
        this.#pre = all;
        return;
      }
      this.#pre = undefined;
      this.#parser = level === 5 ? (new Parser5(allDecoders5) as unknown as Parser) : new Parser(allDecoders);
      bytes = all;
    }
    try {
      this.#parser.push(bytes.slice());
      for (let p = this.#parser.read(); p; p = this.#parser.read()) this.trace.note(time, this.who, describePacket(p));
    } catch (e) {
      this.#broken = true;
      this.trace.note(time, this.who, `bytes that do not parse: ${(e as Error).message}`);
    }
  }
}

const decoder = new TextDecoder();

/** A message's identity: the start of its payload, everything before the first space (`d1/17`). */
export function msgIdOf(payload: Uint8Array): string {
  let end = payload.indexOf(32);
  if (end < 0) end = Math.min(payload.length, 40);
  return decoder.decode(payload.subarray(0, end));
}
