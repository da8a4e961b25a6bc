// Encode and decode of PUBLISH packets, umqtt against mqtt-packet, in one process.
// Run: pnpm bench:codec (from the repository root) or pnpm --filter @umqtt/codec bench.
//
// Each case is warmed up, then timed over a fixed number of iterations per round with
// performance.now(); the table shows the median of the rounds. "copy" is the floor for
// encoding 64 KiB: one Uint8Array.set of the payload into a new array of the packet's size.
import { cpus } from 'node:os';
import * as mqtt from 'mqtt-packet';
import { Parser, clientDecoders, encodePublish, type Packet, type PublishPacket } from '../src/index.js';
import * as v5 from '../src/v5/index.js';

const ROUNDS = 11;
const topic = 'sensors/kitchen/temperature';

interface Case {
  name: string;
  bytes: number;
  iterations: number;
  umqtt: () => unknown;
  mqttPacket?: () => unknown;
}

function publishCases(size: number, label: string, iterations: number): Case[] {
  const payload = new Uint8Array(size).map((_, i) => i);
  const packet: PublishPacket = { type: 3, topic, payload, qos: 1, id: 42 };
  const theirPacket = {
    cmd: 'publish' as const,
    topic,
    payload: Buffer.from(payload),
    qos: 1 as const,
    messageId: 42,
    retain: false,
    dup: false,
  };
  const wire = encodePublish(packet);
  const wireBuffer = Buffer.from(wire);

  // Decoding: one long-lived parser each, fed whole packets, as a client would be.
  const ours = new Parser(clientDecoders);
  let last: Packet | undefined;
  const theirs = mqtt.parser({ protocolVersion: 4 });
  let theirLast: unknown;
  theirs.on('packet', (p: unknown) => (theirLast = p));
  theirs.on('error', (e: Error) => {
    throw e;
  });

  // A second topic, alternated with the first: defeats the encoder's last-topic memo.
  const other: PublishPacket = { ...packet, topic: 'sensors/kitchen/humidity___' };
  const theirOther = { ...theirPacket, topic: other.topic };
  let flip = false;
  const alternating: Case = {
    name: `encode PUBLISH ${label}, 2 topics alternating`,
    bytes: wire.length,
    iterations,
    umqtt: () => {
      flip = !flip;
      return encodePublish(flip ? packet : other);
    },
    mqttPacket: () => {
      flip = !flip;
      return mqtt.generate(flip ? theirPacket : theirOther);
    },
  };

  return [
    ...(size < 1024 ? [alternating] : []),
    {
      name: `encode PUBLISH ${label}`,
      bytes: wire.length,
      iterations,
      umqtt: () => encodePublish(packet),
      mqttPacket: () => mqtt.generate(theirPacket),
    },
    {
      name: `decode PUBLISH ${label}`,
      bytes: wire.length,
      iterations,
      umqtt: () => {
        ours.push(wire);
        last = ours.read();
        if (!last) throw new Error('umqtt decoded nothing');
        return last;
      },
      mqttPacket: () => {
        theirLast = undefined;
        theirs.parse(wireBuffer);
        if (!theirLast) throw new Error('mqtt-packet decoded nothing');
        return theirLast;
      },
    },
  ];
}

/** MQTT 5 PUBLISH at QoS 1, without properties and with three (expiry, content type, a user property). */
function v5Cases(size: number, label: string, iterations: number): Case[] {
  const payload = new Uint8Array(size).map((_, i) => i);
  const out: Case[] = [];
  for (const withProperties of [false, true]) {
    const properties = withProperties
      ? { messageExpiryInterval: 60, contentType: 'text/plain', userProperties: [['unit', 'C']] as [string, string][] }
      : undefined;
    const packet: v5.PublishPacket = { type: 3, topic, payload, qos: 1, id: 42, ...(properties ? { properties } : {}) };
    const theirPacket = {
      cmd: 'publish' as const,
      topic,
      payload: Buffer.from(payload),
      qos: 1 as const,
      messageId: 42,
      retain: false,
      dup: false,
      ...(properties
        ? { properties: { messageExpiryInterval: 60, contentType: 'text/plain', userProperties: { unit: 'C' } } }
        : {}),
    };
    const opts = { protocolVersion: 5 as const };
    const wire = v5.encodePublish(packet);
    const wireBuffer = Buffer.from(wire);
    const ours = new v5.Parser(v5.clientDecoders);
    const theirs = mqtt.parser(opts);
    let theirLast: unknown;
    theirs.on('packet', (p: unknown) => (theirLast = p));
    theirs.on('error', (e: Error) => {
      throw e;
    });
    const name = `${label}${withProperties ? ' + 3 properties' : ''}`;
    out.push(
      {
        name: `MQTT 5 encode PUBLISH ${name}`,
        bytes: wire.length,
        iterations,
        umqtt: () => v5.encodePublish(packet),
        mqttPacket: () => mqtt.generate(theirPacket, opts),
      },
      {
        name: `MQTT 5 decode PUBLISH ${name}`,
        bytes: wire.length,
        iterations,
        umqtt: () => {
          ours.push(wire);
          const p = ours.read();
          if (!p) throw new Error('umqtt decoded nothing');
          return p;
        },
        mqttPacket: () => {
          theirLast = undefined;
          theirs.parse(wireBuffer);
          if (!theirLast) throw new Error('mqtt-packet decoded nothing');
          return theirLast;
        },
      },
    );
  }
  return out;
}

function copyCase(size: number, label: string, iterations: number): Case {
  const payload = new Uint8Array(size).map((_, i) => i);
  const total = encodePublish({ type: 3, topic, payload, qos: 1, id: 42 }).length;
  return {
    name: `copy ${label} (Uint8Array.set into a new array)`,
    bytes: total,
    iterations,
    umqtt: () => {
      const out = new Uint8Array(total);
      out.set(payload, total - size);
      return out;
    },
  };
}

let sink: unknown;

/**
 * Operations per second of each function: rounds interleaved (so GC and heap state are shared),
 * median of ROUNDS; and the range of the per-round ratios of the first two (same round, same heap).
 */
function measure(fs: Array<() => unknown>, iterations: number): { medians: number[]; ratioRange: [number, number] } {
  const gc = (globalThis as { gc?: () => void }).gc; // node --expose-gc: start each round from a collected heap
  for (const f of fs) for (let i = 0; i < iterations; i++) sink = f(); // warm up: lets the JIT optimize
  const rates: number[][] = fs.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    fs.forEach((f, k) => {
      gc?.();
      const t0 = performance.now();
      for (let i = 0; i < iterations; i++) sink = f();
      rates[k]!.push(iterations / ((performance.now() - t0) / 1000));
    });
  }
  const ratios = rates[0]!.map((a, r) => a / rates[1]![r]!);
  return {
    medians: rates.map((x) => [...x].sort((a, b) => a - b)[ROUNDS >> 1]!),
    ratioRange: [Math.min(...ratios), Math.max(...ratios)],
  };
}

const fmt = (n: number) =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0);
const mbps = (ops: number, bytes: number) => ((ops * bytes) / 1e6).toFixed(0);

const copy = copyCase(65536, '64 KiB', 2_000);
const cases = [
  ...publishCases(64, '64 B', 200_000),
  ...publishCases(65536, '64 KiB', 2_000),
  ...v5Cases(64, '64 B', 200_000),
  ...v5Cases(65536, '64 KiB', 2_000).filter((c) => !c.name.includes('properties')),
];

console.log(
  `umqtt codec vs mqtt-packet 9.0.2 - Node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`,
);
console.log(
  `median of ${ROUNDS} interleaved rounds, the range of the per-round ratios in brackets; "64 B" is the payload size (topic "${topic}", QoS 1); MQTT 5 rows: mqtt-packet with protocolVersion 5\n`,
);
const measured: { name: string; bytes: number; umqtt: number; mqttPacket: number; ratioRange: [number, number] }[] = [];
const rows: string[][] = [
  ['case', 'packet bytes', 'umqtt ops/s', 'umqtt MB/s', 'mqtt-packet ops/s', 'mqtt-packet MB/s', 'umqtt / mqtt-packet'],
];
for (const c of cases) {
  // The 64 KiB encode is timed together with the copy baseline.
  const withCopy = c.name === 'encode PUBLISH 64 KiB';
  const { medians, ratioRange } = measure([c.umqtt, c.mqttPacket!, ...(withCopy ? [copy.umqtt] : [])], c.iterations);
  const [a, b, k] = medians as [number, number, number?];
  measured.push({ name: c.name, bytes: c.bytes, umqtt: a, mqttPacket: b, ratioRange });
  const range = `${ratioRange[0].toFixed(2)}-${ratioRange[1].toFixed(2)}`;
  rows.push([
    c.name,
    String(c.bytes),
    fmt(a),
    mbps(a, c.bytes),
    fmt(b),
    mbps(b, c.bytes),
    `${(a / b).toFixed(2)}x (${range})`,
  ]);
  if (k !== undefined)
    rows.push([
      copy.name,
      String(copy.bytes),
      fmt(k),
      mbps(k, copy.bytes),
      '',
      '',
      `umqtt encode / copy: ${(a / k).toFixed(2)}`,
    ]);
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const [i, r] of rows.entries()) {
  console.log(`| ${r.map((cell, j) => (j ? cell.padStart(widths[j]!) : cell.padEnd(widths[j]!))).join(' | ')} |`);
  if (!i) console.log(`|${widths.map((w, j) => (j ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|')}|`);
}
if (sink === undefined) console.log('(unreachable)');
// --json: the figures once more, as the last line, for pnpm bench's table (tooling/bench)
if (process.argv.includes('--json')) console.log(JSON.stringify(measured));
