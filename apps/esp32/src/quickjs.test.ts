// The device bundles inside QuickJS (quickjs-emscripten), with a 4 MiB memory limit on the
// runtime, and what they cost in memory there: printed, and written down in README.md.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAedes, waitFor, type AedesHandle } from '@umqtt/testkit';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildHarness } from './bridge/harness.js';
import { startQuickJs, type QuickJsDriver } from './bridge/quickjs.js';
import { SimulatedFlash } from '@umqtt/store-flash';
import { BUNDLES, engineSuite, prepareHarnesses, run, type BundleName } from './engine-scenarios.js';

const LIMIT = 4 * 1024 * 1024;
const start = (host: Parameters<typeof startQuickJs>[0], harness: string) =>
  startQuickJs(host, harness, { memoryLimit: LIMIT });

const peaks: string[] = [];
engineSuite('quickjs', start, {
  peaks: (label, r) => peaks.push(`${label}: peak ${(r.driver as QuickJsDriver).peak} B`),
});
afterAll(() => console.log(`QuickJS memory_used_size, peak after any event, per scenario:\n  ${peaks.join('\n  ')}`));

describe('quickjs: memory (runtime memory_used_size; measured, not timed)', () => {
  let dir = '';
  let harness: Record<BundleName, string>;
  let stub = '';
  let broker: AedesHandle;
  beforeAll(async () => {
    ({ dir, harness } = await prepareHarnesses());
    writeFileSync(join(dir, 'stub.js'), 'export {};\n');
    stub = await buildHarness(join(dir, 'stub.js'), join(dir, 'stub.harness.js'));
    broker = await startAedes();
  });
  afterAll(async () => {
    await broker?.close();
  });

  test('heap of the client after connect, and per queued 64-byte message', async () => {
    const base = await run(start, stub);
    const bridgeOnly = (base.driver as QuickJsDriver).memory();
    await base.stop();
    const rows: string[] = [];
    const figures: Record<string, Record<string, number>> = {};
    for (const name of BUNDLES) {
      const flash = name === 'robust-flash' ? new SimulatedFlash({ blockSize: 4096, blocks: 16 }) : undefined;
      const r = await run(start, harness[name], { flash });
      const d = r.driver as QuickJsDriver;
      const { host } = r;
      const loaded = d.memory();
      await host.call('open', {
        host: broker.host,
        port: broker.port,
        clientId: `mem-${name}`,
        backoff: { min: 100, max: 400 },
      });
      await waitFor(() => host.find('state', (s) => s.state === 'online').length, { timeout: 10_000 });
      await host.call('subscribe', { topic: `mem/${name}/#`, qos: 1 });
      await waitFor(() => host.find('status').length + host.find('subscribed').length, { timeout: 10_000 });
      const connected = d.memory();
      const f: Record<string, number> = { code: loaded - bridgeOnly, client: connected - loaded, peak: 0 };
      if (name !== 'simple-client') {
        await broker.pause();
        await waitFor(() => host.find('state', (s) => s.state === 'offline').length, { timeout: 10_000 });
        const before = d.memory();
        const N = 100;
        const topic = 'dev/m/';
        await host.call('fill', { topic, count: N, bytes: 64, qos: 1 });
        const after = d.memory();
        f.perMessage = Math.round((after - before) / N);
        f.beyond = f.perMessage - (topic.length + 3) - 64;
        await broker.resume();
        await waitFor(async () => (await host.call<{ held: number }>('info')).held === 0, { timeout: 15_000 });
      }
      f.peak = d.peak;
      figures[name] = f;
      rows.push(
        `${name.padEnd(14)} code ${String(f.code).padStart(6)} B   client after connect ${String(f.client).padStart(6)} B` +
          (f.perMessage === undefined
            ? ''
            : `   per queued 64-byte message ${f.perMessage} B (${f.beyond} B beyond topic + payload)`) +
          `   peak ${f.peak} B of ${LIMIT}`,
      );
      expect(host.find('error')).toEqual([]);
      await r.stop();
    }
    console.log(`QuickJS memory (runtime with the bridge alone: ${bridgeOnly} B):\n  ${rows.join('\n  ')}`);
    for (const f of Object.values(figures)) expect(f.peak).toBeLessThan(LIMIT);
    // Bounds in QuickJS's own accounting (relative figures: XS, what a device runs, counts
    // differently and is measured in xs-memory.test.ts, against the goals).
    expect(figures['robust-memory']!.client).toBeLessThan(24 * 1024);
    expect(figures['robust-flash']!.client).toBeLessThan(24 * 1024);
  });
});
