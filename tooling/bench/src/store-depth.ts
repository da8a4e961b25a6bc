// Depth rows: does queueing and draining cost the same per message at 10k, 100k and 1M held
// messages, for each Store, and for the robust client over them? And RSS with 1M queued.
// Run from the repository root after `pnpm build`:
//   node --import tsx tooling/bench/src/store-depth.ts            (every row; about 10 minutes)
//   node --import tsx tooling/bench/src/store-depth.ts --quick    (10k and 100k only)
// Each case runs in a child process of its own (`--case NAME N`), so RSS and heap are its own.
//
// Rows:
// - store (MemoryStore, FlashStore on SimulatedFlash, FlashStore on a FileFlash with sync:
//   'group'): `add` of N 64-byte QoS 1 messages, then the drain a robust client makes, oldest
//   first: payload read back (FlashStore), update to SENT, remove. Microseconds per message.
// - robust (RobustClient over MemoryStore or over FlashStore on FileFlash 'group'): N QoS 1
//   publishes while offline, then connect to an in-process peer that acknowledges at once (no
//   broker, no network: the client's and the store's own work), until every message is
//   delivered. Microseconds per message, and RSS once the N are queued.
// - subscribe: N filters subscribed one call at a time while offline. Microseconds per filter.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RobustClient, SENT, type Store } from '@umqtt/robust';
import type { Socket, SocketFactory, SocketOptions } from '@umqtt/simple';
import { FlashStore, SimulatedFlash } from '@umqtt/store-flash';
import { MemoryStore } from '@umqtt/store-memory';
import { FileFlash, nodeTimers } from '@umqtt/node';

const TOPIC = 'bench/depth';
const PAYLOAD = new Uint8Array(64).fill(0x61);
const BLOCK = 4 << 20;
const turn = () => new Promise((r) => setImmediate(r));

interface Opened {
  store: Store;
  close(): void;
}

/** A store able to hold `n` 64-byte messages. */
function openStore(kind: string, n: number): Opened {
  if (kind === 'memory') {
    const store = new MemoryStore({ capacity: 2 ** 40 });
    return { store, close: () => store.close() };
  }
  const byteLength = Math.ceil((n * 160 + (64 << 20)) / BLOCK) * BLOCK;
  const options = { maxRecords: n + 10, maxMessageBytes: 1024 };
  if (kind === 'flash-sim') {
    const store = new FlashStore(new SimulatedFlash({ blockSize: BLOCK, blocks: byteLength / BLOCK }), options);
    return { store, close: () => store.close() };
  }
  const dir = mkdtempSync(join(tmpdir(), 'umqtt-depth-'));
  const flash = new FileFlash(join(dir, 'q.flash'), { byteLength, blockSize: BLOCK, sync: 'group' });
  const store = new FlashStore(flash, options);
  return {
    store,
    close() {
      store.close();
      flash.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const message = { topic: TOPIC, payload: PAYLOAD, qos: 1 as const, retain: false, priority: 0, expiresAt: 0 };

async function storeCase(kind: string, n: number) {
  const { store, close } = openStore(kind, n);
  const keys = new Uint32Array(n);
  let t = performance.now();
  for (let i = 0; i < n; i++) {
    keys[i] = store.add(message);
    if (i % 1000 === 999) await turn(); // a file writes out, and groups its syncs, per turn
  }
  const queueUs = ((performance.now() - t) * 1000) / n;
  const rssMB = process.memoryUsage.rss() / 2 ** 20;
  t = performance.now();
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    if (store.payload?.(k)?.length !== 64 && !store.get?.(k)) throw new Error(`message ${k} lost`);
    store.update(k, 1 + (i % 65535), SENT, 1);
    store.remove(k);
    if (i % 1000 === 999) await turn();
  }
  const drainUs = ((performance.now() - t) * 1000) / n;
  if (store.count) throw new Error(`${store.count} left`);
  close();
  return { queueUs, drainUs, rssMB };
}

/** An in-process peer that answers CONNECT, PUBLISH (QoS 1, 2), PUBREL, SUBSCRIBE and PINGREQ at once. */
const ackingPeer: SocketFactory = (o: SocketOptions): Socket => {
  let pending: Buffer = Buffer.alloc(0);
  const out: Buffer[] = [];
  let open = true;
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (open && out.length) o.onReadable(out.reduce((a, b) => a + b.length, 0));
  };
  const answer = (bytes: number[]) => {
    out.push(Buffer.from(bytes));
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  setImmediate(() => open && o.onWritable(1 << 20));
  return {
    read() {
      if (!out.length) return undefined;
      const all = Buffer.concat(out.splice(0));
      return new Uint8Array(all.buffer, all.byteOffset, all.length);
    },
    write(bytes) {
      pending = pending.length ? Buffer.concat([pending, bytes]) : Buffer.from(bytes);
      let at = 0;
      for (;;) {
        if (pending.length - at < 2) break;
        let len = 0;
        let mul = 1;
        let i = at + 1;
        for (; i < pending.length; i++) {
          len += (pending[i]! & 127) * mul;
          mul *= 128;
          if (!(pending[i]! & 128)) break;
        }
        if (i >= pending.length || i + 1 + len > pending.length) break;
        const body = i + 1;
        const type = pending[at]! >> 4;
        const qos = (pending[at]! >> 1) & 3;
        if (type === 1) answer([0x20, 2, 0, 0]);
        else if (type === 3 && qos) {
          const p = body + 2 + pending.readUInt16BE(body);
          answer([qos === 1 ? 0x40 : 0x50, 2, pending[p]!, pending[p + 1]!]);
        } else if (type === 6) answer([0x70, 2, pending[body]!, pending[body + 1]!]);
        else if (type === 8) answer([0x90, 3, pending[body]!, pending[body + 1]!, 1]);
        else if (type === 12) answer([0xd0, 0]);
        at = body + len;
      }
      pending = pending.subarray(at);
      return 1 << 20;
    },
    close() {
      open = false;
    },
  };
};

function robustClient(store: Store): RobustClient {
  return new RobustClient({
    socket: ackingPeer,
    timers: nodeTimers,
    servers: [{ host: 'peer' }],
    clientId: 'depth',
    store,
    policy: { maxMessages: 10_000_000, maxBytes: 2 ** 40 },
    keepAlive: 0,
    messageTimeout: 0,
  });
}

async function robustCase(kind: string, n: number) {
  const { store, close } = openStore(kind, n);
  const c = robustClient(store);
  let delivered = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((r) => (done = r));
  c.onStatus = (_k, status) => {
    if (status !== 'delivered') throw new Error(status);
    if (++delivered === n) done();
  };
  let t = performance.now();
  for (let i = 0; i < n; i++) {
    c.publish(TOPIC, PAYLOAD, { qos: 1 });
    if (i % 1000 === 999) await turn();
  }
  const queueUs = ((performance.now() - t) * 1000) / n;
  await turn();
  const rssMB = process.memoryUsage.rss() / 2 ** 20;
  t = performance.now();
  c.start();
  await all;
  const drainUs = ((performance.now() - t) * 1000) / n;
  c.stop();
  close();
  return { queueUs, drainUs, rssMB };
}

function subscribeCase(n: number) {
  const c = robustClient(new MemoryStore());
  const t = performance.now();
  for (let i = 0; i < n; i++) c.subscribe(`sensors/${i}/#`, 1);
  return { queueUs: ((performance.now() - t) * 1000) / n, drainUs: 0, rssMB: process.memoryUsage.rss() / 2 ** 20 };
}

const args = process.argv.slice(2);
if (args[0] === '--case') {
  const [what, kind] = args[1]!.split(':') as [string, string];
  const n = Number(args[2]);
  const r =
    what === 'store' ? await storeCase(kind, n) : what === 'robust' ? await robustCase(kind, n) : subscribeCase(n);
  process.stdout.write(`${JSON.stringify(r)}\n`);
  process.exit(0);
}

const quick = args.includes('--quick');
const depths = quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];
const me = fileURLToPath(import.meta.url);
const run = (c: string, n: number) =>
  JSON.parse(
    execFileSync(process.execPath, ['--import', 'tsx', '--max-old-space-size=8192', me, '--case', c, String(n)], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    }),
  ) as { queueUs: number; drainUs: number; rssMB: number };

console.log(
  `store depth rows: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.version}; 64-byte QoS 1 messages`,
);
const rows: string[][] = [['case', ...depths.map((n) => `${n / 1000}k: queue / drain us per msg, RSS MB`)]];
const cases: [string, string][] = [
  ['store:memory', 'MemoryStore'],
  ['store:flash-sim', 'FlashStore, SimulatedFlash (4 MiB blocks)'],
  ['store:flash-file', "FlashStore, FileFlash sync: 'group' (4 MiB blocks)"],
  ['robust:memory', 'RobustClient + MemoryStore (offline, then drained)'],
  ['robust:flash-file', "RobustClient + FlashStore on FileFlash 'group'"],
];
for (const [c, label] of cases) {
  const row = [label];
  for (const n of depths) {
    const r = run(c, n);
    row.push(`${r.queueUs.toFixed(2)} / ${r.drainUs.toFixed(2)}, ${r.rssMB.toFixed(0)}`);
  }
  rows.push(row);
  console.log(row.join(' | '));
}
const subs = [1_000, 10_000, 100_000];
const row = ['RobustClient.subscribe() offline, us per filter'];
for (const n of subs) row.push(`${n / 1000}k filters: ${run('subscribe:-', n).queueUs.toFixed(2)}`);
console.log(row.join(' | '));
