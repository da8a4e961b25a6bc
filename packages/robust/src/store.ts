// The Store interface lives in @umqtt/session (stores implement it without depending on the
// robust client); robust uses it and re-exports it for its users.
export {
  QUEUED,
  SENT,
  RELEASING,
  messageBytes,
  type NewMessage,
  type StoredMessage,
  type Store,
  type StoreDamage,
  type LostMessage,
} from '@umqtt/session';
