// The defaults of SessionOptions, each declared once. Both sessions (3.1.1 and MQTT 5) and the
// simple client's CONNECT read them from here; esbuild inlines them, so a name costs no byte.

/**
 * `clean`: a clean session. Read where the session is decided once per client: by the session
 * core (what CONNACK may answer, whether incoming QoS 2 ids survive a connection) and by the
 * CONNECT it answers (simple's `connectPacket`, for MQTT 3.1.1 and 5), from the same options.
 *
 * @example
 * const clean = options.clean ?? DEFAULT_CLEAN; // what CONNECT says and CONNACK is checked against
 */
export const DEFAULT_CLEAN = true;
/** `keepAlive`: seconds; also what CONNECT announces when none is given. */
export const DEFAULT_KEEPALIVE = 60;
/** `maxInflight`: QoS 1/2 messages awaiting their acknowledgement at once. */
export const DEFAULT_MAX_INFLIGHT = 16;
/** `maxPacketSize`: bytes, for what we send and what we accept (1 MiB). */
export const DEFAULT_MAX_PACKET_SIZE = 1_048_576;
/** `connectTimeout`: ms until CONNACK. */
export const DEFAULT_CONNECT_TIMEOUT = 10_000;
/** `messageTimeout`: ms until an acknowledgement. */
export const DEFAULT_MESSAGE_TIMEOUT = 30_000;
/** `maxQueued`: QoS 1/2 messages waiting for a place in the window. */
export const DEFAULT_MAX_QUEUED = 1000;
/** `maxUnacked`: messages the application may hold unacknowledged with `manualAcks`. */
export const DEFAULT_MAX_UNACKED = 16;
