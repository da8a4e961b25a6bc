// What one idle client of the gateway benchmark holds, by kind of object: N clients of a
// library connected to a fresh Mosquitto, a V8 heap snapshot before and after, the growth of
// each constructor's self size divided by N. A diagnostic beside gateway.ts, for finding what
// a client keeps that it does not need while idle.
//
//   node --expose-gc --import tsx tooling/bench/src/gateway-heap.ts umqtt-robust 500
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { startMosquitto } from '@umqtt/testkit';
import { openClient, type GatewayLibrary } from './gateway-clients.js';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size and count per "type:name" in a heap snapshot. */
function bySelfSize(file: string): Map<string, { size: number; count: number }> {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const [iType, iName, iSize] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const out = new Map<string, { size: number; count: number }>();
  for (let i = 0; i < s.nodes.length; i += fields.length) {
    const type = types[s.nodes[i + iType]!]!;
    const name = type === 'object' || type === 'closure' || type === 'native' ? s.strings[s.nodes[i + iName]!]! : '';
    const key = `${type}${name ? `:${name.slice(0, 60)}` : ''}`;
    const e = out.get(key) ?? { size: 0, count: 0 };
    e.size += s.nodes[i + iSize]!;
    e.count++;
    out.set(key, e);
  }
  return out;
}

function snapshot(): Map<string, { size: number; count: number }> {
  const g = (globalThis as { gc?: () => void }).gc!;
  g();
  g();
  const file = writeHeapSnapshot(join(tmpdir(), `gateway-${process.pid}-${Date.now()}.heapsnapshot`));
  try {
    return bySelfSize(file);
  } finally {
    rmSync(file);
  }
}

const library = (process.argv[2] ?? 'umqtt-robust') as GatewayLibrary;
const n = Number(process.argv[3] ?? 500);
const broker = await startMosquitto();
try {
  const before = snapshot();
  const clients = [];
  for (let i = 0; i < n; i++) clients.push(await openClient(library, broker.port, `heap-${i}`));
  await new Promise((resolve) => setTimeout(resolve, 500));
  const after = snapshot();
  const rows = [...after]
    .map(([key, a]) => {
      const b = before.get(key) ?? { size: 0, count: 0 };
      return { key, bytes: (a.size - b.size) / n, objects: (a.count - b.count) / n };
    })
    .filter((r) => r.bytes >= 16)
    .sort((x, y) => y.bytes - x.bytes);
  const total = rows.reduce((t, r) => t + r.bytes, 0);
  console.log(
    `${library}: ${n} idle clients, ${total.toFixed(0)} bytes of heap per client in kinds of 16 bytes or more:`,
  );
  for (const r of rows.slice(0, 40))
    console.log(`${r.bytes.toFixed(0).padStart(7)} B  ${r.objects.toFixed(2).padStart(6)} objects  ${r.key}`);
  for (const c of clients) c.close();
} finally {
  await broker.stop();
}
