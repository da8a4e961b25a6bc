// The bridge protocol between a JavaScript engine (XS through xsnap, QuickJS through
// quickjs-emscripten) and the Node.js test host that does the engine's I/O: TCP sockets to a
// real broker, timers, a clock, DNS, and a flash partition the host keeps. One protocol, used by
// both engine drivers; this file runs on both sides, so it is plain code (no TextEncoder, which
// QuickJS does not have).
//
// Every message is one frame: op (u8), id (u32 LE), arg (u32 LE), then data bytes.
// - Requests go from the engine to the host through the engine's synchronous
//   `issueCommand(ArrayBuffer): ArrayBuffer`; the host answers at once.
// - Events go from the host to the engine's global `handleCommand(ArrayBuffer): ArrayBuffer`,
//   one at a time, only while the engine is idle, and the engine drains its promise jobs after
//   each (as a device's event loop does between native callbacks).
// Every answer starts with a status byte: 0 = ok (data follows), 1 = failed (UTF-8 message).

// ---- requests: engine -> host ------------------------------------------------------------
/** id: socket, arg: port, data: IP address. Connects; WRITABLE follows, or ERROR. */
export const OPEN = 1;
/** id: socket, data: bytes (at most the free send buffer the last WRITABLE announced). */
export const WRITE = 2;
/** id: socket. Closes; no event for it follows. */
export const CLOSE = 3;
/** id: timer, arg: milliseconds. TIMER follows. */
export const TIMER_SET = 4;
/** id: timer. */
export const TIMER_CLEAR = 5;
/** Answer: the tick counter (ms, u32, wraps like a device's) as a float64. */
export const NOW = 6;
/** id: lookup, data: host name. RESOLVED follows. */
export const RESOLVE = 7;
/** data: partition name. Answer: blockSize u32, byteLength u32. */
export const FLASH_INFO = 8;
/** id: offset, arg: length. Answer: the bytes. */
export const FLASH_READ = 9;
/** id: offset, data: bytes (NOR: each byte becomes old & new). */
export const FLASH_WRITE = 10;
/** id: block. */
export const FLASH_ERASE = 11;
/** data: JSON of something that happened in the engine (a message, a status...). */
export const REPORT = 12;
/** Answer: JSON `{ sdk, dns }`: which SDK the stand-ins behave as, and `Net.get("DNS")`. */
export const CONFIG = 13;
/**
 * id: socket, arg: port, data: u32 length of a JSON `{ address, servername, verify, overhead }`,
 * the JSON, then the CA certificate (DER). Connects through TLS; WRITABLE after the handshake.
 */
export const OPEN_TLS = 14;
/** id: socket. The host delivers ERROR for it again (the SDK posts a new message for it). */
export const ERROR_AGAIN = 15;

// ---- events: host -> engine --------------------------------------------------------------
/** id: socket, data: bytes received. */
export const READABLE = 32;
/** id: socket, arg: free send buffer in bytes. The first one means "connected". */
export const WRITABLE = 33;
/** id: socket, data: why. The connection failed or ended. */
export const ERROR = 34;
/** id: timer. */
export const TIMER = 35;
/** id: lookup, data: IP address, or nothing when the name did not resolve. */
export const RESOLVED = 36;
/** data: JSON `{ fn, arg }`: calls the engine's test application. Answer: JSON of its result. */
export const CALL = 37;

export interface Frame {
  op: number;
  id: number;
  arg: number;
  data: Uint8Array;
}

const HEADER = 9;

export function frame(op: number, id = 0, arg = 0, data?: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + (data ? data.length : 0));
  out[0] = op;
  put32(out, 1, id);
  put32(out, 5, arg);
  if (data) out.set(data, HEADER);
  return out;
}

export function parse(bytes: Uint8Array): Frame {
  return { op: bytes[0]!, id: get32(bytes, 1), arg: get32(bytes, 5), data: bytes.subarray(HEADER) };
}

/** An answer: status 0 and data. */
export function ok(data?: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + (data ? data.length : 0));
  if (data) out.set(data, 1);
  return out;
}

/** An answer: status 1 and a message. */
export function failed(message: string): Uint8Array {
  const text = utf8(message);
  const out = new Uint8Array(1 + text.length);
  out[0] = 1;
  out.set(text, 1);
  return out;
}

export function put32(a: Uint8Array, i: number, v: number): void {
  a[i] = v;
  a[i + 1] = v >>> 8;
  a[i + 2] = v >>> 16;
  a[i + 3] = v >>> 24;
}

export function get32(a: Uint8Array, i: number): number {
  return (a[i]! | (a[i + 1]! << 8) | (a[i + 2]! << 16) | (a[i + 3]! << 24)) >>> 0;
}

export function float64(v: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setFloat64(0, v, true);
  return out;
}

export function getFloat64(a: Uint8Array): number {
  return new DataView(a.buffer, a.byteOffset, 8).getFloat64(0, true);
}

/** UTF-8 of a string (lone surrogates become U+FFFD). */
export function utf8(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c < 0xe000) c = 0xfffd;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}

/** The string of UTF-8 bytes (bad sequences become U+FFFD). */
export function text(a: Uint8Array): string {
  let s = '';
  for (let i = 0; i < a.length;) {
    const b = a[i++]!;
    let c = b;
    let more = 0;
    if (b >= 0x80 && (b < 0xc0 || b >= 0xf8)) c = 0xfffd;
    else if (b >= 0xf0) {
      c = b & 7;
      more = 3;
    } else if (b >= 0xe0) {
      c = b & 15;
      more = 2;
    } else if (b >= 0xc0) {
      c = b & 31;
      more = 1;
    }
    for (; more; more--) {
      const n = a[i];
      if (n === undefined || (n & 0xc0) !== 0x80) {
        c = 0xfffd;
        break;
      }
      c = (c << 6) | (n & 63);
      i++;
    }
    s += String.fromCodePoint(c > 0x10ffff ? 0xfffd : c);
  }
  return s;
}
