// The bits and fixed values of MQTT packets by name, for the codec's own use (not exported from
// the package). esbuild inlines these constants, so the names cost no bytes in a bundle: keep
// them number literals in a module without imports (esbuild stops inlining a module's constants
// after an import or a non-literal one; the size tests would show it).

/** Fixed header: the packet type in the high 4 bits of byte 1, its flags in the low 4 [MQTT-2.2]. */
export const TYPE_SHIFT = 4;
export const FLAGS_MASK = 15;
/** The types whose fixed header flags are 0010; the others have 0000, PUBLISH its own [MQTT-2.2.2-1]. */
export const FLAGS_0010 = 0x540; // bits PUBREL (6), SUBSCRIBE (8), UNSUBSCRIBE (10)

/** PUBLISH fixed header flags [MQTT-3.3.1]: DUP, QoS (2 bits), RETAIN. */
export const DUP = 8;
export const QOS_SHIFT = 1;
export const RETAIN = 1;

/** CONNECT flags [MQTT-3.1.2.3]. */
export const USERNAME = 128;
export const PASSWORD = 64;
export const WILL_RETAIN = 32;
export const WILL_QOS = 24;
export const WILL_QOS_SHIFT = 3;
export const WILL = 4;
export const CLEAN = 2;
export const CONNECT_RESERVED = 1;

/** CONNACK flags [MQTT-3.2.2.1]: session present; the other bits are reserved. */
export const SESSION_PRESENT = 1;

/** SUBACK return code of a refused filter (3.1.1) [MQTT-3.9.3]. */
export const FAILURE = 0x80;

/** A Variable Byte Integer: 7 value bits a byte, the top bit set when more bytes follow [MQTT-2.2.3, 1.5.5]. */
export const MORE = 128;
export const DIGIT = 127;

/** Protocol levels: 4 is 3.1.1, 5 is MQTT 5 [MQTT-3.1.2.2]. */
export const LEVEL_311 = 4;
export const LEVEL_5 = 5;

/** MQTT 5 subscription options [MQTT-3.8.3.1]: QoS (2 bits), no local, retain as published, retain handling (2 bits), reserved. */
export const NO_LOCAL = 4;
export const RETAIN_AS_PUBLISHED = 8;
export const RETAIN_HANDLING_SHIFT = 4;
export const OPTIONS_RESERVED = 0xc0;
