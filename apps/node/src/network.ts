// The link state on Node.js for @umqtt/robust's setLink(): whether this machine has a network
// interface with a usable address. Node has no event for interface changes, so it is polled
// (os.networkInterfaces() reads the kernel's list: a few microseconds).
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

/**
 * Options of {@link watchNetwork}.
 *
 * @example
 * const stop = watchNetwork((up) => client.setLink(up), { interval: 5000 });
 */
export interface WatchNetworkOptions {
  /** Milliseconds between looks. Default 2000. */
  interval?: number | undefined;
  /** Where to look. Default `os.networkInterfaces` (tests pass their own). */
  interfaces?: (() => NodeJS.Dict<NetworkInterfaceInfo[]>) | undefined;
  /** Receives what `onChange` or `interfaces` threw (nothing escapes into the timer). Default `process.emitWarning`. */
  onError?: ((error: unknown) => void) | undefined;
}

/**
 * Whether an interface other than loopback has an address that can reach a broker (an IPv6
 * link-local address alone cannot leave the link).
 *
 * @example
 * if (!networkUp()) console.log('no network: the client will not try');
 */
export function networkUp(list: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()): boolean {
  for (const addresses of Object.values(list))
    for (const a of addresses ?? []) if (!a.internal && !/^fe80:/i.test(a.address)) return true;
  return false;
}

/**
 * Calls `onChange(up)` at once and then whenever {@link networkUp} changes, every `interval`
 * ms, until the returned function is called. The timer does not keep the process alive. Give it
 * a robust client's `setLink` so that it makes no attempt while the machine is offline and one
 * at once when a network comes back.
 *
 * @example
 * import { connect, watchNetwork } from '@umqtt/node';
 * const node = connect('mqtt://broker.local', { reconnect: true });
 * const stop = watchNetwork((up) => node.client.setLink(up));
 */
export function watchNetwork(onChange: (up: boolean) => void, options: WatchNetworkOptions = {}): () => void {
  const look = options.interfaces ?? networkInterfaces;
  const onError = options.onError ?? ((e: unknown) => process.emitWarning(`watchNetwork: ${String(e)}`));
  let last: boolean | undefined;
  const check = () => {
    try {
      const up = networkUp(look());
      if (up !== last) onChange((last = up));
    } catch (e) {
      onError(e);
    }
  };
  check();
  const timer = setInterval(check, options.interval ?? 2000);
  timer.unref();
  return () => clearInterval(timer);
}
