export { startAedes, type AedesHandle, type AedesStartOptions } from './aedes.js';
export { generateCertificates, type Certificates } from './certs.js';
export { CLOCK_HABITS, clockHabitsFromEnv, FakeClock, seeded, type ClockHabits, type Timers } from './fake-clock.js';
export { startFaultProxy, type Direction, type FaultCounters, type FaultProxy } from './fault-proxy.js';
export {
  mosquittoClients,
  mosquittoClientsOrSkip,
  mosquittoOrSkip,
  mosquittoPath,
  startMosquitto,
  type MosquittoHandle,
  type MosquittoOptions,
} from './mosquitto.js';
export { redisOrSkip, redisPath, startRedis, type RedisHandle } from './redis.js';
export { canConnect, ServerProcess, type ServerProcessOptions } from './server-process.js';
export {
  CONNACK_ACCEPTED,
  CONNACK_NOT_AUTHORIZED,
  connectPacket,
  exchange,
  type ExchangeOptions,
  type RawConnectOptions,
} from './raw-mqtt.js';
export { hex, ScriptedBroker, ScriptedSocket, settle, toHex, type ScriptedSocketOptions } from './scripted-socket.js';
export { freePort, once, waitFor, type Truthy, type WaitOptions } from './wait.js';
export {
  storeContract,
  type StoreContractOptions,
  type Store as ContractStore,
  type StoredMessage as ContractStoredMessage,
  type NewMessage as ContractNewMessage,
} from './store-contract.js';
