// Error codes of @umqtt/node, each declared once here with what it means and its place. Every
// error is a UmqttError (from @umqtt/codec) with one of these codes or one of the libraries'
// (ACK_TIMEOUT and SUBSCRIBE_REFUSED are @umqtt/robust's, re-exported by the package's entry:
// the promises of a client reject with them as the robust client records them) and the place it
// happened. This module imports no library but the codec: the test kit reaches it through the
// embedded broker before the libraries are built.
import { UmqttError } from '@umqtt/codec';

/**
 * A broker URL that cannot be used: no or an unknown scheme, a bad port, no host.
 *
 * @example
 * try { connect('http://broker'); } catch (e) { if ((e as UmqttError).code === INVALID_URL) showUsage(); }
 */
export const INVALID_URL = 'UMQTT_INVALID_URL';
/**
 * The connection ended before the acknowledgement: the broker may or may not have the message.
 *
 * @example
 * await client.publish('a', 'x', { qos: 1 }).catch((e) => e.code === ABORTED && console.warn('maybe not delivered'));
 */
export const ABORTED = 'UMQTT_ABORTED';
/**
 * A message of a reconnecting client reached its time to live unsent (final status `expired`).
 *
 * @example
 * await client.publish('button', 'pressed', { qos: 1, ttl: 15_000 }).catch((e) => e.code === EXPIRED && beep());
 */
export const EXPIRED = 'UMQTT_EXPIRED';
/**
 * The queue policy of a reconnecting client gave the message up (final status `dropped`: offline
 * QoS 0, a duplicate, overflow, replaced by a newer retained message, discarded).
 *
 * @example
 * await client.publish('t', 'x').catch((e) => e.code === DROPPED && console.log(e.message));
 */
export const DROPPED = 'UMQTT_DROPPED';
/**
 * The queue of a reconnecting client refused the message (final status `rejected`: too large,
 * full with the `reject` overflow rule, the store failed).
 *
 * @example
 * await client.publish('alarm', 'smoke', PRESETS.alarm).catch((e) => e.code === REJECTED && soundSiren());
 */
export const REJECTED = 'UMQTT_REJECTED';
/**
 * The client was ended: a call after `end()`, or what a forced `end()` left unsettled.
 *
 * @example
 * await client.end(true); // pending publishes reject with CLIENT_ENDED (or DROPPED, for a memory queue)
 */
export const CLIENT_ENDED = 'UMQTT_CLIENT_ENDED';
/**
 * The embedded broker needs the optional `aedes` package, which is not installed.
 *
 * @example
 * await startEmbeddedBroker().catch((e) => e.code === AEDES_MISSING && console.log('npm install aedes'));
 */
export const AEDES_MISSING = 'UMQTT_AEDES_MISSING';
/**
 * Cluster mode of the embedded broker (`cluster`, `umqtt broker --redis`) needs the optional
 * packages `mqemitter-redis` and `aedes-persistence-redis`, and one of them is not installed.
 *
 * @example
 * await startEmbeddedBroker({ cluster: { redis } }).catch((e) => e.code === CLUSTER_MISSING && console.log(e.message));
 */
export const CLUSTER_MISSING = 'UMQTT_CLUSTER_MISSING';
/**
 * A cluster node could not open a connection to its Redis (refused, unknown host, no answer
 * within 5 s).
 *
 * @example
 * await startEmbeddedBroker({ cluster: { redis: 'redis://10.0.0.5' } }).catch((e) => e.code === REDIS_UNREACHABLE && retryLater());
 */
export const REDIS_UNREACHABLE = 'UMQTT_REDIS_UNREACHABLE';
/**
 * The WebSocket peer broke MQTT over WebSocket: a text frame [MQTT-6.0.0-1], or no `mqtt`
 * subprotocol [MQTT-6.0.0-3].
 *
 * @example
 * client.onClose = (e) => e?.message.includes(WEBSOCKET_PROTOCOL) && console.log('not an MQTT WebSocket endpoint');
 */
export const WEBSOCKET_PROTOCOL = 'UMQTT_WEBSOCKET_PROTOCOL';

/**
 * The peer closed the connection without an error: the `code` of the `SocketClosedError` a
 * socket reports (the client then ends with `UMQTT_CONNECTION_LOST`, place `read`).
 *
 * @example
 * client.onClose = (e) => e?.message.includes(SOCKET_CLOSED) && console.log('the broker closed the connection');
 */
export const SOCKET_CLOSED = 'UMQTT_SOCKET_CLOSED';
/**
 * `FileFlash` read fewer bytes than the file holds (the file was cut short under it). Place
 * `flash`.
 *
 * @example
 * try { new FlashStore(new FileFlash(path)); } catch (e) { if ((e as UmqttError).code === FLASH_READ) restoreBackup(); }
 */
export const FLASH_READ = 'UMQTT_FLASH_READ';
/**
 * A `FileFlash` was used after `close()`. Place `flash`.
 *
 * @example
 * flash.close(); flash.read(0, 16); // throws UmqttError { code: FLASH_CLOSED }
 */
export const FLASH_CLOSED = 'UMQTT_FLASH_CLOSED';
/**
 * Writing a `FileFlash`'s file or flushing it to the disk failed (pwrite, fdatasync, at once or in
 * the background): what was written since the last good flush may not be on the disk, and a later
 * flush that succeeds would not say so (Linux reports a write-back error once and marks the pages
 * clean). So the flash is poisoned: that call and every later one (read, write, erase, sync)
 * throws this error, naming the first cause, and no later grouped flush is reported (FlashStore's
 * `durable` stays where it was). Close it and open the file again to go on from what the file
 * holds. Place `flash`.
 *
 * @example
 * try { store.add(message); } catch (e) { if ((e as UmqttError).code === FLASH_SYNC) alarm('disk failing'); }
 */
export const FLASH_SYNC = 'UMQTT_FLASH_SYNC';

/** A UmqttError with one of this package's codes (internal shorthand). */
export function nodeError(code: string, message: string, place: string, clause?: string): UmqttError {
  return new UmqttError({ code, message, clause, place });
}
