// The durable column: @umqtt/robust publishing 64-byte QoS 1 messages to Mosquitto, every
// message on the disk (the store's `durable` covers it) and delivered before the run counts as
// done, against the same client over a MemoryStore; beside it, the physical limit of the same
// disk: a loop that appends the same bytes to a file with one fdatasync per group, and SQLite in
// WAL mode with one transaction per group (when an SQLite binding is installed: better-sqlite3,
// which is not a dependency; `npm install --no-save better-sqlite3@12` in tooling/bench builds it
// from its sources).
// Run from the repository root after `pnpm build`: node --import tsx tooling/bench/src/store-durable.ts
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { RobustClient, type Store } from '@umqtt/robust';
import { FlashStore } from '@umqtt/store-flash';
import { MemoryStore } from '@umqtt/store-memory';
import { FileFlash, createTcpSocketFactory, nodeTimers } from '@umqtt/node';
import { startMosquitto } from '../../testkit/src/mosquitto.js';

const TOPIC = 'bench/durable';
const PAYLOAD = new Uint8Array(64).fill(0x62);
const BLOCK = 4 << 20;
/** Bytes FlashStore appends per QoS 1 message at 64 B on this topic: the record (28 + topic + payload), SENT (21), removal (14). */
const RECORD = 28 + TOPIC.length + 64 + 21 + 14;
const ROUNDS = 3;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const dir = mkdtempSync(join(tmpdir(), 'umqtt-durable-'));
let files = 0;

interface Run {
  perSecond: number;
  /** Messages per fdatasync (file store). */
  group?: number | undefined;
}

/** N QoS 1 publishes through a robust client, at the pace of `writable`; done when every one is delivered and durable. */
async function robust(broker: { host: string; port: number }, store: Store, n: number): Promise<number> {
  const c = new RobustClient({
    socket: createTcpSocketFactory(),
    timers: nodeTimers,
    servers: [broker],
    clientId: `durable-${files}`,
    clean: true,
    maxInflight: 20,
    store,
    policy: { maxMessages: 1_000_000, maxBytes: 2 ** 40 },
  });
  await new Promise<void>((resolve, reject) => {
    c.onState = (s) => (s === 'online' ? resolve() : s === 'closed' && reject(new Error('closed')));
    c.start();
  });
  let sent = 0;
  let delivered = 0;
  let last = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const check = () => delivered === n && (store.durable ?? Infinity) >= last && resolve();
    c.onStatus = (_k, status) => {
      if (status !== 'delivered') return reject(new Error(status));
      delivered++;
      check();
    };
    store.onDurable = check;
    const fill = () => {
      while (sent < n && c.writable) {
        last = c.publish(TOPIC, PAYLOAD, { qos: 1, copy: false });
        sent++;
      }
    };
    c.onWritable = fill;
    fill();
  });
  const ms = performance.now() - t0;
  c.stop();
  return (n / ms) * 1000;
}

function fileStore(sync: true | 'group', n: number) {
  const byteLength = Math.ceil((n * 200 + (64 << 20)) / BLOCK) * BLOCK;
  const flash = new FileFlash(join(dir, `f${files++}.flash`), { byteLength, blockSize: BLOCK, sync });
  const store = new FlashStore(flash, { maxRecords: 100_000, maxMessageBytes: 1024 });
  return { flash, store };
}

/** Appends `n` messages' bytes with one fdatasync per `group`: the disk's own limit for this work. */
function rawAppend(n: number, group: number): number {
  const fd = openSync(join(dir, `raw${files++}`), 'w');
  const bytes = new Uint8Array(RECORD * group).fill(0x63);
  const t0 = performance.now();
  for (let done = 0, at = 0; done < n; done += group) {
    at += writeSync(fd, bytes, 0, bytes.length, at);
    fdatasyncSync(fd);
  }
  const ms = performance.now() - t0;
  closeSync(fd);
  return (n / ms) * 1000;
}

interface Sqlite {
  exec(sql: string): void;
  pragma(s: string): unknown;
  prepare(sql: string): { run(...args: unknown[]): { lastInsertRowid: number | bigint } };
  transaction<T extends (...a: never[]) => unknown>(f: T): T;
  close(): void;
}

/** SQLite in WAL mode (synchronous=FULL: the WAL is synced at each commit), one transaction per group: insert, update, delete each message. */
function sqlite(Database: new (path: string) => Sqlite, n: number, group: number): number {
  const db = new Database(join(dir, `q${files++}.db`));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE q (id INTEGER PRIMARY KEY, topic TEXT, payload BLOB, stage INTEGER)');
  const ins = db.prepare('INSERT INTO q (topic, payload, stage) VALUES (?, ?, 0)');
  const upd = db.prepare('UPDATE q SET stage = 1 WHERE id = ?');
  const del = db.prepare('DELETE FROM q WHERE id = ?');
  const payload = Buffer.from(PAYLOAD);
  const batch = db.transaction((k: number) => {
    const ids = [];
    for (let i = 0; i < k; i++) ids.push(ins.run(TOPIC, payload).lastInsertRowid);
    for (const id of ids) upd.run(id);
    for (const id of ids) del.run(id);
  });
  const t0 = performance.now();
  for (let done = 0; done < n; done += group) batch(group);
  const ms = performance.now() - t0;
  db.close();
  return (n / ms) * 1000;
}

function loadSqlite(): (new (path: string) => Sqlite) | string {
  try {
    return createRequire(import.meta.url)('better-sqlite3') as new (path: string) => Sqlite;
  } catch (e) {
    return `no SQLite binding (${(e as Error).message.split('\n')[0]})`;
  }
}

const broker = await startMosquitto({ extraConfig: ['max_inflight_messages 20'] });
try {
  console.log(
    `durable column: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, Node ${process.version}, load ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}; 64-byte QoS 1 to Mosquitto (max_inflight_messages 20), medians of ${ROUNDS}`,
  );
  const N = 50_000;
  const rows: [string, Run][] = [];
  const rounds = async (label: string, f: () => Promise<Run> | Run) => {
    const runs: Run[] = [];
    for (let i = 0; i < ROUNDS; i++) runs.push(await f());
    const r = { perSecond: median(runs.map((x) => x.perSecond)), group: runs[0]!.group };
    rows.push([label, r]);
    const each = runs.map((x) => x.perSecond);
    console.log(
      `${label}: ${Math.round(r.perSecond)} msg/s (rounds ${Math.round(Math.min(...each))}-${Math.round(Math.max(...each))})${r.group ? `, ${r.group.toFixed(1)} messages per fdatasync` : ''}`,
    );
    return r;
  };
  const memory = await rounds('robust + MemoryStore', async () => ({
    perSecond: await robust(broker, new MemoryStore({ capacity: 2 ** 40 }), N),
  }));
  const grouped = await rounds("robust + FlashStore on FileFlash, sync: 'group' (durable before done)", async () => {
    const { flash, store } = fileStore('group', N);
    const perSecond = await robust(broker, store, N);
    const group = N / flash.syncs;
    store.close();
    flash.close();
    return { perSecond, group };
  });
  await rounds('robust + FlashStore on FileFlash, sync: true (fdatasync per call)', async () => {
    const { flash, store } = fileStore(true, 2000);
    const perSecond = await robust(broker, store, 2000);
    store.close();
    flash.close();
    return { perSecond };
  });
  console.log(`durable / memory: ${((grouped.perSecond / memory.perSecond) * 100).toFixed(0)}%`);
  const groups = [Math.max(1, Math.round(grouped.group ?? 20)), 64, 256];
  for (const g of groups)
    await rounds(`anchor: append ${RECORD} B per message, one fdatasync per ${g}`, () => ({
      perSecond: rawAppend(N, g),
    }));
  const Database = loadSqlite();
  if (typeof Database === 'string') console.log(`anchor: SQLite WAL: ${Database}`);
  else
    for (const g of groups)
      await rounds(`anchor: SQLite WAL (better-sqlite3), one transaction per ${g}`, () => ({
        perSecond: sqlite(Database, N, g),
      }));
} finally {
  await broker.stop();
  rmSync(dir, { recursive: true, force: true });
}
