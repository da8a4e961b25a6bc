// UTF-8 in plain code: device engines may have no TextEncoder/TextDecoder.
// MQTT strings [MQTT-1.5.3]: well-formed UTF-8, no U+D800..U+DFFF, no U+0000.
import { INVALID_UTF8, fail } from './errors.js';

/** A zero-length array: writing past its end does nothing, so writeUtf8 into it only counts. */
export const EMPTY = /* @__PURE__ */ new Uint8Array(0);

const nul = (at: number) => fail(INVALID_UTF8, 'MQTT string', 'no U+0000', `U+0000 at ${at}`, '1.5.3-2');

/**
 * Writes `s` as UTF-8 at `pos` of `out`; returns the position after it. Throws on a lone
 * surrogate, and on U+0000 unless `allowNul` (payloads may hold U+0000; MQTT strings may not).
 * With `out` = EMPTY it writes nothing and returns the byte length.
 */
export function writeUtf8(s: string, out: Uint8Array, pos: number, allowNul?: boolean): number {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 128) {
      if (!c && !allowNul) throw nul(i);
      out[pos++] = c;
    } else {
      if (c < 2048) out[pos++] = 192 | (c >> 6);
      else {
        if ((c & 0xf800) === 0xd800) {
          // A high surrogate and then a low one: one code point over U+FFFF, 4 bytes.
          const d = s.charCodeAt(i + 1);
          if (c > 0xdbff || (d & 0xfc00) !== 0xdc00)
            throw fail(INVALID_UTF8, 'string', 'no lone surrogate', `U+${c.toString(16)} at ${i}`, '1.5.3-1');
          c = 0x10000 + ((c & 1023) << 10) + (d & 1023);
          i++;
          out[pos++] = 240 | (c >> 18);
          out[pos++] = 128 | ((c >> 12) & 63);
        } else out[pos++] = 224 | (c >> 12);
        out[pos++] = 128 | ((c >> 6) & 63);
      }
      out[pos++] = 128 | (c & 63);
    }
  }
  return pos;
}

/**
 * Byte length of `s` in UTF-8, with the checks of writeUtf8.
 *
 * @example
 * utf8Length('Grüße'); // 7
 */
export const utf8Length = (s: string, allowNul?: boolean): number => writeUtf8(s, EMPTY, 0, allowNul);

/**
 * UTF-8 bytes of `s`, for payloads (U+0000 allowed, lone surrogates rejected).
 *
 * @example
 * const payload = encodeUtf8('Grüße'); // Uint8Array of 7 bytes
 */
export function encodeUtf8(s: string): Uint8Array {
  const out = new Uint8Array(utf8Length(s, true));
  writeUtf8(s, out, 0, true);
  return out;
}

/**
 * Decodes `bytes[start, end)` as strict UTF-8: rejects overlong forms, surrogates, code
 * points over U+10FFFF, truncated sequences, and U+0000 unless `allowNul`.
 *
 * @example
 * decodeUtf8(message.payload); // 'Grüße' (throws INVALID_UTF8 on malformed bytes)
 */
export function decodeUtf8(bytes: Uint8Array, start = 0, end = bytes.length, allowNul?: boolean): string {
  let s = '';
  const codes: number[] = [];
  for (let i = start; i < end;) {
    const at = i;
    const lead = bytes[i++]!;
    let c = lead;
    if (c > 127) {
      // n continuation bytes (a bad one makes c negative); the value must need all n (not
      // overlong), and be a scalar value: at most U+10FFFF, not a surrogate.
      const n = c > 0xef ? 3 : c > 0xdf ? 2 : 1;
      c &= 63 >> n;
      for (let k = n; k--; i++) c = i < end && (bytes[i]! & 0xc0) === 0x80 ? (c << 6) | (bytes[i]! & 63) : -1;
      if (lead < 0xc2 || lead > 0xf4 || c < 1 << (5 * n + 1) || c > 0x10ffff || (c & 0xfff800) === 0xd800)
        throw fail(
          INVALID_UTF8,
          'UTF-8',
          'well-formed UTF-8 (RFC 3629)',
          `0x${lead.toString(16)} at ${at - start}`,
          '1.5.3-1',
        );
      if (c > 0xffff) {
        codes.push(0xd7c0 + (c >> 10)); // the surrogate pair of U+10000..U+10FFFF
        c = 0xdc00 | (c & 1023);
      }
    } else if (!c && !allowNul) throw nul(at - start);
    codes.push(c);
    if (codes.length > 8191) s += String.fromCharCode(...codes.splice(0));
  }
  return s + String.fromCharCode(...codes);
}
