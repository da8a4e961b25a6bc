// @umqtt/robust: sessions that survive the network, with per-message policies and no silent loss.
/**
 * MQTT sessions that survive the network, on top of `@umqtt/simple`: reconnect with capped,
 * jittered backoff and failover between brokers, an offline queue in a pluggable {@link Store}
 * with per-message policies, resend after reconnect with the same packet id and DUP, and
 * exactly one final status for every publish.
 *
 * ```sh
 * npm install @umqtt/robust @umqtt/store-memory
 * ```
 *
 * @example
 * ```ts
 * import { RobustClient, PRESETS } from '@umqtt/robust';
 * import { MemoryStore } from '@umqtt/store-memory';
 *
 * const client = new RobustClient({ socket: tcp, timers, servers: [{ host: 'localhost' }], clientId: 'dev-1', store: new MemoryStore() });
 * client.onStatus = (key, status, reason) => console.log(key, status, reason ?? '');
 * client.start();
 * client.publish('home/alarm', 'smoke', PRESETS.alarm); // kept while offline, sent once back
 * ```
 *
 * @module @umqtt/robust
 */
export {
  RobustClient,
  type RobustOptions,
  type RobustPublishOptions,
  type RobustState,
  type FinalStatus,
  type Counters,
  type Server,
  type Credentials,
  type CredentialsHook,
} from './client.js';
export {
  DEFAULT_POLICY,
  PRESETS,
  type QueuePolicy,
  type Overflow,
  type Admission,
  type AdmissionPolicy,
  type AdmissionContext,
  builtinAdmission,
} from './policy.js';
export {
  DEFAULT_BACKOFF,
  backoffDelay,
  exponentialBackoff,
  type Backoff,
  type ReconnectContext,
  type ReconnectStrategy,
} from './backoff.js';
export {
  ACK_TIMEOUT,
  GAVE_UP,
  REFUSED_RETRYING,
  STORE_DAMAGED,
  STORE_FULL,
  STORE_CLOSED,
  SUBSCRIBE_REFUSED,
} from './errors.js';
export {
  QUEUED,
  SENT,
  RELEASING,
  messageBytes,
  type Store,
  type StoredMessage,
  type NewMessage,
  type StoreDamage,
  type LostMessage,
} from './store.js';
