// UTF-8 in plain code: device engines may have no TextEncoder/TextDecoder.
// MQTT strings [MQTT-1.5.3]: well-formed UTF-8, no U+D800..U+DFFF, no U+0000.
import { INVALID_UTF8, fail } from './errors.js';

const nul = (at: number) => fail(INVALID_UTF8, 'MQTT string', 'no U+0000', `U+0000 at ${at}`, 'MQTT-1.5.3-2');

/**
 * Byte length of `s` in UTF-8. Throws on a lone surrogate, and on U+0000 unless `allowNul`
 * (payloads may hold U+0000; MQTT strings may not).
 */
export function utf8Length(s: string, allowNul = false): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7ff) {
      n += 2;
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = s.charCodeAt(++i);
        if (c > 0xdbff || !(d >= 0xdc00 && d <= 0xdfff)) throw fail(INVALID_UTF8, 'string', 'no lone surrogate', `U+${c.toString(16)} at ${i - 1}`, 'MQTT-1.5.3-1');
      }
    } else if (c > 0x7f) n++;
    else if (!c && !allowNul) throw nul(i);
  }
  return n;
}

/** Writes `s` (already measured with utf8Length) at `pos`; returns the position after it. */
export function writeUtf8(s: string, out: Uint8Array, pos: number): number {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) out[pos++] = c;
    else {
      if (c < 0x800) out[pos++] = 0xc0 | (c >> 6);
      else {
        if (c >= 0xd800 && c <= 0xdbff) {
          c = 0x10000 + ((c - 0xd800) << 10) + s.charCodeAt(++i) - 0xdc00;
          out[pos++] = 0xf0 | (c >> 18);
          out[pos++] = 0x80 | ((c >> 12) & 63);
        } else out[pos++] = 0xe0 | (c >> 12);
        out[pos++] = 0x80 | ((c >> 6) & 63);
      }
      out[pos++] = 0x80 | (c & 63);
    }
  }
  return pos;
}

/** UTF-8 bytes of `s`, for payloads (U+0000 allowed, lone surrogates rejected). */
export function encodeUtf8(s: string): Uint8Array {
  const out = new Uint8Array(utf8Length(s, true));
  writeUtf8(s, out, 0);
  return out;
}

/**
 * Decodes `bytes[start, end)` as strict UTF-8: rejects overlong forms, surrogates, code
 * points over U+10FFFF, truncated sequences, and U+0000 unless `allowNul`.
 */
export function decodeUtf8(bytes: Uint8Array, start = 0, end = bytes.length, allowNul = false): string {
  let i = start;
  while (i < end && bytes[i]! < 0x80 && (bytes[i] || allowNul)) i++;
  if (i === end) return fromCodes(bytes.subarray(start, end)); // plain ASCII
  const codes: number[] = Array.prototype.slice.call(bytes, start, i);
  while (i < end) {
    const at = i - start;
    let c = bytes[i++]!;
    if (c > 0x7f) {
      const n = c > 0xef ? 3 : c > 0xdf ? 2 : 1;
      if (c < 0xc2 || c > 0xf4 || i + n > end) throw fail(INVALID_UTF8, 'UTF-8', 'a lead byte and its continuation', `0x${c.toString(16)} at ${at}`, 'MQTT-1.5.3-1');
      c &= 0x3f >> n;
      for (let k = 0; k < n; k++) {
        const d = bytes[i++]!;
        if ((d & 0xc0) !== 0x80) throw fail(INVALID_UTF8, 'UTF-8', 'a continuation byte', `0x${d.toString(16)} at ${i - 1 - start}`, 'MQTT-1.5.3-1');
        c = (c << 6) | (d & 0x3f);
      }
      if (c < (n === 1 ? 0x80 : n === 2 ? 0x800 : 0x10000) || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        throw fail(INVALID_UTF8, 'UTF-8', 'a shortest-form scalar value', `U+${c.toString(16)} at ${at}`, 'MQTT-1.5.3-1');
      if (c > 0xffff) {
        c -= 0x10000;
        codes.push(0xd800 + (c >> 10));
        c = 0xdc00 + (c & 0x3ff);
      }
    } else if (!c && !allowNul) throw nul(at);
    codes.push(c);
  }
  return fromCodes(codes);
}

function fromCodes(codes: Uint8Array | number[]): string {
  let s = '';
  for (let i = 0; i < codes.length; i += 8192) s += String.fromCharCode.apply(null, codes.slice(i, i + 8192) as number[]);
  return s;
}
