// Test support: opens a socket from a SocketFactory and records what its callbacks report.
import type { Socket, SocketFactory } from '@umqtt/simple';
import { waitFor } from '@umqtt/testkit';

export type ProbeEvent =
  { type: 'writable'; count: number } | { type: 'readable'; count: number } | { type: 'error'; error: unknown };

export interface Probe {
  socket: Socket;
  events: ProbeEvent[];
  /** True if a callback ran synchronously inside the factory call. */
  calledInsideFactory: boolean;
  /** Bytes read so far (only with autoRead). */
  received(): Uint8Array;
  next(type: ProbeEvent['type']): Promise<ProbeEvent>;
  receivedAtLeast(count: number): Promise<Uint8Array>;
}

const toBytes = (chunk: ArrayBuffer | Uint8Array) => (chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk));

/** With `autoRead` (default) every onReadable is answered with read(). */
export function probe(factory: SocketFactory, target: { host: string; port: number }, { autoRead = true } = {}): Probe {
  const events: ProbeEvent[] = [];
  const chunks: Uint8Array[] = [];
  let inFactory = true;
  let calledInsideFactory = false;
  const record = (event: ProbeEvent) => {
    if (inFactory) calledInsideFactory = true;
    events.push(event);
  };
  const socket = factory({
    host: target.host,
    port: target.port,
    onWritable: (count) => record({ type: 'writable', count }),
    onReadable: (count) => {
      record({ type: 'readable', count });
      const chunk = autoRead ? socket.read() : undefined;
      if (chunk !== undefined) chunks.push(toBytes(chunk));
    },
    onError: (error) => record({ type: 'error', error }),
  });
  inFactory = false;
  const received = () => Uint8Array.from(chunks.flatMap((chunk) => [...chunk]));
  return {
    socket,
    events,
    get calledInsideFactory() {
      return calledInsideFactory;
    },
    received,
    next: (type) => waitFor(() => events.find((event) => event.type === type), { message: type }),
    receivedAtLeast: (count) => waitFor(() => received().length >= count && received()),
  };
}
