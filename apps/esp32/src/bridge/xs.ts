// The XS driver: Moddable's XS engine, as npm @agoric/xsnap builds it from its C sources at
// install, in its own process. The harness is imported as a module file (its import of the
// device bundle by absolute path is resolved by XS itself); `issueCommand` inside XS reaches
// BridgeHost.request synchronously; events go in as xsnap commands, which XS hands to the
// global `handleCommand`, and it runs its promise jobs before answering.
//
// @agoric/xsnap's Node API needs SES: '@endo/init/debug.js' must be imported first (it locks
// down this process's intrinsics), which is why XS tests live in their own test file.
import '@endo/init/debug.js';
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import os from 'node:os';
import { xsnap } from '@agoric/xsnap';
import type { BridgeHost, EngineDriver } from './host.js';
import { measureSnapshot, type XsMemory } from './xs-memory.js';

export interface XsDriver extends EngineDriver {
  /** XS's own figures after the last event: heap slots in use, bytes allocated since start. */
  readonly meter: { currentHeapCount: number | null; allocate: number | null };
  /** Slots and chunks in use now (after a full garbage collection), read from a snapshot. */
  memory(): Promise<XsMemory>;
}

/** Starts XS, loads `harnessFile` and attaches it to `host`. */
export async function startXs(host: BridgeHost, harnessFile: string): Promise<XsDriver> {
  const debug = !!process.env.UMQTT_ENGINE_DEBUG;
  const worker = await xsnap({
    name: 'umqtt-xs',
    os: os.type(),
    spawn,
    fs: { ...fsp, createReadStream },
    meteringLimit: 0,
    stdout: debug ? 'inherit' : 'ignore',
    stderr: debug ? 'inherit' : 'ignore',
    handleCommand: async (request: Uint8Array) => host.request(request),
  });
  await worker.import(harnessFile);
  let closed = false;
  const driver: XsDriver = {
    name: 'xs',
    meter: { currentHeapCount: null, allocate: null },
    async deliver(frame) {
      const result = await worker.issueCommand(frame);
      driver.meter.currentHeapCount = result.meterUsage.currentHeapCount;
      driver.meter.allocate = result.meterUsage.allocate;
      return result.reply;
    },
    async memory() {
      const parts: Uint8Array[] = [];
      for await (const part of worker.makeSnapshotStream('umqtt memory')) parts.push(part);
      return measureSnapshot(Buffer.concat(parts));
    },
    async close() {
      if (closed) return;
      closed = true;
      await worker.terminate();
    },
  };
  host.attach(driver);
  return driver;
}
