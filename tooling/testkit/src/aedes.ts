// Tests use the same embedded aedes broker as `umqtt broker` and the demo (apps/node), on a
// free loopback port. Imported from its source, not through @umqtt/node: testkit is a dev
// dependency of the libraries @umqtt/node depends on.
import type { Aedes, AedesOptions, Client } from 'aedes';
import {
  startEmbeddedBroker,
  type EmbeddedBroker,
  type EmbeddedBrokerOptions,
} from '../../../apps/node/src/broker/embedded-broker.ts';

/** The embedded broker, with aedes' own type for `broker`. */
export type AedesHandle = Omit<EmbeddedBroker, 'broker'> & { broker: Aedes };
/** aedes' options, `authenticate` as a plain predicate; `ws` adds a WebSocket listener on a free port. */
export type AedesStartOptions = Omit<AedesOptions, 'authenticate'> & {
  authenticate?: (client: Client, username: string | undefined, password: Buffer | undefined) => boolean;
  ws?: EmbeddedBrokerOptions['ws'];
};

/** An in-process aedes broker on 127.0.0.1 and a free port. */
export async function startAedes(options: AedesStartOptions = {}): Promise<AedesHandle> {
  const { authenticate, ws, ...aedes } = options;
  const broker = await startEmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    ws,
    authenticate: authenticate as EmbeddedBrokerOptions['authenticate'],
    aedes: aedes as Record<string, unknown>,
  });
  return broker as unknown as AedesHandle;
}
