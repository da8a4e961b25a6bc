// Tests use the same embedded aedes broker as `umqtt broker` and the demo (apps/node), on a
// free loopback port.
import {
  startEmbeddedBroker,
  type EmbeddedBroker,
  type EmbeddedBrokerOptions,
} from '../../../apps/node/src/broker/embedded-broker.ts';

export type AedesHandle = EmbeddedBroker;
export type AedesStartOptions = Omit<EmbeddedBrokerOptions, 'host' | 'port'>;

/** An in-process aedes broker on 127.0.0.1 and a free port. */
export function startAedes(options: AedesStartOptions = {}): Promise<AedesHandle> {
  return startEmbeddedBroker({ ...options, host: '127.0.0.1', port: 0 });
}
