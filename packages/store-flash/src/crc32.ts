// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) in plain code: the checksum of every
// record and block header. The 1 KiB table is built on first use, not at import.

let table: Uint32Array | undefined;

/**
 * Continues a CRC-32 over `bytes[start, end)`. Start with `crc = 0`; the result of one call is
 * the `crc` of the next, so a checksum can run over pieces.
 *
 * @example crc32(new Uint8Array([0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39])) === 0xcbf43926
 */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length, crc = 0): number {
  let t = table;
  if (!t) {
    t = table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      t[n] = c;
    }
  }
  crc = ~crc;
  for (let i = start; i < end; i++) crc = t[(crc ^ bytes[i]!) & 255]! ^ (crc >>> 8);
  return ~crc >>> 0;
}
