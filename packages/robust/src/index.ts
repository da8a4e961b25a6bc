// @umqtt/robust: sessions that survive the network, with per-message policies and no silent loss.
export {
  RobustClient,
  type RobustOptions,
  type RobustPublishOptions,
  type RobustState,
  type FinalStatus,
  type Counters,
  type Server,
} from './client.js';
export { DEFAULT_POLICY, PRESETS, type QueuePolicy, type Overflow, type Admission, type AdmissionPolicy } from './policy.js';
export { DEFAULT_BACKOFF, backoffDelay, type Backoff } from './backoff.js';
export { QUEUED, SENT, RELEASING, messageBytes, type Store, type StoredMessage, type NewMessage } from './store.js';
