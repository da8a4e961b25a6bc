// Test support: connect() that remembers each client, so one afterEach ends them all.
import { connect, type NodeClient } from './connect.js';

/** A connect() whose clients `endAll()` ends (forced: nothing waits). */
export function clientTracker(): { open: typeof connect; endAll(): Promise<void> } {
  const clients: NodeClient[] = [];
  const open = ((url: string, options?: Parameters<typeof connect>[1]) => {
    const client = connect(url, options);
    clients.push(client);
    return client;
  }) as typeof connect;
  return {
    open,
    endAll: async () => void (await Promise.all(clients.splice(0).map((c) => c.end(true).catch(() => {})))),
  };
}
