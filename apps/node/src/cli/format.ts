// `umqtt sub -F FORMAT`: mosquitto_sub's output format, the MQTT 3.1.1 part of it. `%t` topic,
// `%p` payload, `%q` QoS, `%r` retained flag, `%l` payload length, `%x`/`%X` payload in hex,
// `%I` ISO-8601 time, `%U` Unix time, `%j`/`%J` a JSON object, `%%`; optional flags `-` (left
// align) and `0` (zero pad), a width and a maximum width (`%-10.10t`); `@` + a strftime letter
// (`@Y-@m-@d @H:@M:@S`, `@N` nanoseconds, `@@`); escapes `\n \t \r \\ \0 \a \e \v`.
import type { Message } from '@umqtt/simple';
import { usage } from './errors.js';

type Received = Pick<Message, 'topic' | 'payload' | 'qos' | 'retain'>;
/** One message as its output bytes, or an error text when it cannot be shown (%J, a payload that is not JSON). */
export type Formatter = (m: Received, now: Date) => Buffer | { error: string };

const ESCAPES: Readonly<Record<string, string>> = Object.freeze({
  n: '\n',
  t: '\t',
  r: '\r',
  '\\': '\\',
  '0': '\0',
  a: '\x07',
  e: '\x1b',
  v: '\v',
});

const pad2 = (n: number) => String(n).padStart(2, '0');

/** strftime letters of `@`: local time, as mosquitto passes them to strftime(3). */
const TIME: Readonly<Record<string, (d: Date) => string>> = Object.freeze({
  Y: (d: Date) => String(d.getFullYear()),
  m: (d: Date) => pad2(d.getMonth() + 1),
  d: (d: Date) => pad2(d.getDate()),
  H: (d: Date) => pad2(d.getHours()),
  M: (d: Date) => pad2(d.getMinutes()),
  S: (d: Date) => pad2(d.getSeconds()),
  s: (d: Date) => String(Math.floor(d.getTime() / 1000)),
  N: (d: Date) => String((d.getTime() % 1000) * 1_000_000).padStart(9, '0'),
  z: (d: Date) => offset(d),
  '@': () => '@',
});

function offset(d: Date): string {
  const minutes = -d.getTimezoneOffset();
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}`;
}

/** ISO-8601 local time with its offset, as mosquitto's %I: 2016-08-10T09:47:38+0100. */
const iso = (d: Date) =>
  `${TIME.Y!(d)}-${TIME.m!(d)}-${TIME.d!(d)}T${TIME.H!(d)}:${TIME.M!(d)}:${TIME.S!(d)}${offset(d)}`;

const utf8 = new TextDecoder('utf-8', { fatal: true });
function text(payload: Uint8Array): string | undefined {
  try {
    return utf8.decode(payload);
  } catch {
    return undefined;
  }
}
const bytes = (p: Uint8Array) => Buffer.from(p.buffer, p.byteOffset, p.byteLength);

/** %j and %J: {"tst","topic","qos","retain","payloadlen","payload"}; a payload that is not UTF-8 as base64 with "base64":true. */
function json(m: Received, now: Date, raw: boolean): string | { error: string } {
  const head = `{"tst":${JSON.stringify(now.toISOString())},"topic":${JSON.stringify(m.topic)},"qos":${m.qos},"retain":${m.retain ? 1 : 0},"payloadlen":${m.payload.length},"payload":`;
  const body = text(m.payload);
  if (raw) {
    try {
      return `${head}${JSON.stringify(JSON.parse(body ?? '\u0000'))}}`;
    } catch {
      return { error: `the payload of the message on topic "${m.topic}" is not valid JSON (-F %J); skipped` };
    }
  }
  return body === undefined
    ? `${head}${JSON.stringify(bytes(m.payload).toString('base64'))},"base64":true}`
    : `${head}${JSON.stringify(body)}}`;
}

type Part = (m: Received, now: Date) => Buffer | string | { error: string };

/** A field with its flags: `-` left aligned, `0` zero padded, a width and a maximum width. */
function sized(value: Buffer | string, spec: { left: boolean; zero: boolean; width: number; max: number }) {
  let v = value;
  if (spec.max >= 0 && v.length > spec.max) v = typeof v === 'string' ? v.slice(0, spec.max) : v.subarray(0, spec.max);
  const fill = spec.width - v.length;
  if (fill <= 0) return v;
  const padding = (spec.zero && !spec.left ? '0' : ' ').repeat(fill);
  if (typeof v === 'string') return spec.left ? v + padding : padding + v;
  return Buffer.concat(spec.left ? [v, Buffer.from(padding)] : [Buffer.from(padding), v]);
}

const FIELDS: Readonly<Record<string, (m: Received, now: Date) => Buffer | string | { error: string }>> = Object.freeze(
  {
    t: (m: Received) => m.topic,
    p: (m: Received) => bytes(m.payload),
    q: (m: Received) => String(m.qos),
    r: (m: Received) => (m.retain ? '1' : '0'),
    l: (m: Received) => String(m.payload.length),
    x: (m: Received) => bytes(m.payload).toString('hex'),
    X: (m: Received) => bytes(m.payload).toString('hex').toUpperCase(),
    I: (_m: Received, now: Date) => iso(now),
    U: (_m: Received, now: Date) => `${Math.floor(now.getTime() / 1000)}.${TIME.N!(now)}`,
    j: (m: Received, now: Date) => json(m, now, false),
    J: (m: Received, now: Date) => json(m, now, true),
  },
);

/** Compiles a -F format; throws a usage error naming an unknown sequence. */
export function parseFormat(format: string): Formatter {
  const parts: Part[] = [];
  let literal = '';
  const flush = () => {
    if (!literal) return;
    const l = literal;
    parts.push(() => l);
    literal = '';
  };
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c === '\\' || c === '@') {
      const next = format[i + 1];
      const value = next === undefined ? undefined : c === '\\' ? ESCAPES[next] : TIME[next];
      if (value === undefined)
        throw usage(`-F: unknown sequence "${c}${next ?? ''}"`, `see umqtt sub --help for what -F understands`);
      i++;
      if (typeof value === 'string') literal += value;
      else {
        flush();
        parts.push((_m, now) => value(now));
      }
      continue;
    }
    if (c !== '%') {
      literal += c;
      continue;
    }
    const spec = /^([-0]*)(\d*)(?:\.(\d+))?(.)/.exec(format.slice(i + 1));
    const conv = spec?.[4];
    if (conv === '%' && spec![0] === '%') {
      literal += '%';
      i++;
      continue;
    }
    const field = conv === undefined ? undefined : FIELDS[conv];
    if (!spec || !field)
      throw usage(
        `-F: unknown sequence "%${spec?.[0] ?? ''}"`,
        'the MQTT 3.1.1 ones are %t %p %q %r %l %x %X %I %U %j %J and %%',
      );
    i += spec[0].length;
    flush();
    const size = {
      left: spec[1]!.includes('-'),
      zero: spec[1]!.includes('0'),
      width: spec[2] ? Number(spec[2]) : 0,
      max: spec[3] ? Number(spec[3]) : -1,
    };
    parts.push((m, now) => {
      const value = field(m, now);
      return typeof value === 'object' && !Buffer.isBuffer(value) ? value : sized(value, size);
    });
  }
  flush();
  return (m, now) => {
    const out: Buffer[] = [];
    for (const part of parts) {
      const value = part(m, now);
      if (typeof value === 'object' && !Buffer.isBuffer(value)) return value;
      out.push(typeof value === 'string' ? Buffer.from(value) : value);
    }
    return Buffer.concat(out);
  };
}
