// The on-flash format of FlashStore (format 2; the picture is at the top of flash-store.ts and
// in README.md): block headers, record types, and the offset of each record field. In a module
// of their own so that a bundler inlines them where they are used: the names cost no bytes.

/** The on-flash format this version reads and writes: the last character of the magic. */
export const VERSION = 2;
export const MAGIC = 0x32465175; // "uQF2"
/** The magic's first three bytes, "uQF", the same in every format version. */
export const FAMILY = 0x465175;
/** Bytes before a block's data area: A (12) + B (16). */
export const HEADER = 28;
/** B again, in the last bytes of the block. */
export const TRAILER = 16;
export const MSG = 0x4d;
export const UPD = 0x55;
export const DEL = 0x44;
export const SKIP = 0x53;
/** An incoming QoS 2 packet id held until PUBREL, or released (Store.incoming). */
export const INC = 0x49;
export const UPD_LEN = 21; // commit, type, length, key, id u16, stage u8, attempts u32, CRC
export const DEL_LEN = 14; // commit, type, length, key, CRC
export const SKIP_LEN = 22; // commit, type, length, bytes skipped, keys accounted for below, next key, CRC
export const INC_LEN = 17; // commit, type, length, key (0), packet id u16, held u8, CRC
/** A message's bytes beyond its topic, payload, priority and expiry. */
export const MSG_FIXED = 28;

// Record layouts (see the top of flash-store.ts): offsets of each field from the record's start. Every record
// begins with commit, type and length; then comes its key, except in a SKIP (bytes skipped).
export const COMMIT = 0;
export const TYPE = 1;
export const LENGTH = 2;
export const KEY = 6;
// MSG: flags, topic length, topic; then header CRC, body CRC and the body, at MSG_BODY + the
// topic's length.
export const MSG_FLAGS = 10;
export const MSG_TOPIC_LENGTH = 11;
export const MSG_TOPIC = 13;
export const MSG_BODY = 21;
// A MSG body, from where it starts: id, stage, attempts, then [priority], [expiresAt], payload.
export const BODY_ID = 0;
export const BODY_STAGE = 2;
export const BODY_ATTEMPTS = 3;
export const BODY_EXTRAS = 7;
// UPD: a message's new id, stage and attempts (at other offsets than in a MSG body), then CRC.
export const UPD_ID = 10;
export const UPD_STAGE = 12;
export const UPD_ATTEMPTS = 13;
export const UPD_CRC = 17;
// DEL: the key, then CRC.
export const DEL_CRC = 10;
// SKIP: bytes skipped (+ REPORTED), keys accounted for below, next key, CRC.
export const SKIP_BYTES = 6;
export const SKIP_ACCOUNTED = 10;
export const SKIP_NEXT_KEY = 14;
export const SKIP_CRC = 18;
// INC: key 0 (no message), the incoming QoS 2 packet id, held (1) or released (0), CRC.
export const INC_ID = 10;
export const INC_HELD = 12;
export const INC_CRC = 13;
// Message flags: QoS (2 bits), retain, whether priority and expiresAt are in the body, copy.
export const QOS_MASK = 3;
export const RETAIN = 4;
export const HAS_PRIORITY = 8;
export const HAS_EXPIRY = 16;
/** Message flag: a copy made by compaction (not where the message was first written). */
export const COPY = 32;
/** Added to a SKIP's byte count: the damage before it was reported by a mount. */
export const REPORTED = 0x80000000; // 2^31
